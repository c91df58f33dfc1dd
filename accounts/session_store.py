"""Django's database sessions (``SESSION_ENGINE``), the session read by a written-out statement.

Every signed-in request reads its session; compiling Django's ``Session.objects.get(...)`` took
more CPU (about 0.3 ms) than the read itself; it is a prepared statement (core.prepared), so
PostgreSQL does not plan it anew either. The row, its expiry and everything else are
Django's: the same table, written by Django's own code.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from core import prepared

_READ = (
    'SELECT "session_data", "expire_date" FROM "django_session"'
    ' WHERE "session_key" = %s AND "expire_date" > %s'
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        key = self.session_key
        if not key:
            self._session_key = None
            return None
        model = self.model
        row = prepared.fetchone(_READ, [key, timezone.now()], using=model.objects.db)
        if row is None:
            # As Django's: an unknown or expired key is forgotten (a new one is made on save).
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0], expire_date=row[1])
