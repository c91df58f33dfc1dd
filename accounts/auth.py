"""API authentication: bearer tokens (hashed at rest) and the session for the pages' own calls."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from core import prepared, rows

from .models import ApiToken, Area, User

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Recording every use would write on every request; once every few minutes is enough.
_TOUCH_EVERY = timedelta(minutes=5)


class AreaModelBackend(ModelBackend):
    """Django's password backend, loading the user's area with the user: every page names the
    area and scopes by it, so it comes in the same query as the session's user."""

    def get_user(self, user_id):
        user = user_with_area(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


# The session's user and an API token's, each with the user's area: a fixed statement on every
# request, written out (core.rows) rather than compiled from a queryset each time, and prepared
# (core.prepared) rather than planned each time.
_USER_WITH_AREA = (
    f"SELECT {rows.columns(User, 'u')}, {rows.columns(Area, 'a')} FROM accounts_user u"
    " LEFT JOIN accounts_area a ON a.code = u.area_id WHERE u.id = %s"
)
_TOKEN_WITH_USER = (
    f"SELECT {rows.columns(User, 'u')}, {rows.columns(Area, 'a')}, {rows.columns(ApiToken, 't')}"
    " FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id"
    " LEFT JOIN accounts_area a ON a.code = u.area_id"
    " WHERE t.key_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.is_active"
)


def _fetch(sql: str, params: list) -> tuple[User, ApiToken | None] | None:
    """The user (with the area, as ``select_related("area")`` loads it) and the token, if the
    statement selects one, of the first row."""
    using = User._default_manager.db
    row = prepared.fetchone(sql, params, using=using)
    if row is None:
        return None
    users, areas = rows.width(User), rows.width(Area)
    user = rows.instance(User, row[:users], using)
    area = rows.instance(Area, row[users : users + areas], using) if row[users] else None
    User._meta.get_field("area").set_cached_value(user, area)
    if len(row) == users + areas:
        return user, None
    token = rows.instance(ApiToken, row[users + areas :], using)
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    return user, token


def user_with_area(user_id) -> User | None:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    found = _fetch(_USER_WITH_AREA, [user_id])
    return found[0] if found else None


def live_token(raw: str, now) -> ApiToken | None:
    """The token ``raw`` names if it is neither revoked nor expired and its user is active, with
    the user and the user's area."""
    found = _fetch(_TOKEN_WITH_USER, [ApiToken.hash(raw), now])
    return found[1] if found else None


class BearerTokenAuth(HttpBearer):
    """Bearer tokens need no second factor: they are machine credentials created on the server
    (create_api_token), shown once, revocable, and ending after 90 days by default. Every
    request that may change something is audited with the token that made it (issue 14, M1)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        from .staff import api_token_used_for_write

        now = timezone.now()
        record = live_token(token, now)
        if record is None:
            return None
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        if request.method not in SAFE_METHODS:
            api_token_used_for_write(token=record, request=request)
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
