"""API authentication: bearer tokens (hashed at rest) and the session for the pages' own calls."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken, User

# Recording every use would write on every request; once every few minutes is enough.
_TOUCH_EVERY = timedelta(minutes=5)


class BearerTokenAuth(HttpBearer):
    """Bearer tokens need no second factor: they are machine credentials that an administrator
    creates on the server (create_api_token), shown once and revocable."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        record = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if record is None:
            return None
        now = timezone.now()
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        request.user = record.user
        return record.user


class ActiveSessionAuth(SessionAuth):
    """Session auth (with CSRF) that refuses deactivated users and sessions that have not yet
    given their second factor (accounts.mfa): those get 401 like a missing session."""

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        from .mfa import session_pending

        user = super().authenticate(request, key)
        if user is not None and (not user.is_active or session_pending(request)):
            return None
        return user
