"""API authentication: bearer tokens (hashed at rest) and the session for the pages' own calls."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken, User

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Recording every use would write on every request; once every few minutes is enough.
_TOUCH_EVERY = timedelta(minutes=5)


class AreaModelBackend(ModelBackend):
    """Django's password backend, loading the user's area with the user: every page names the
    area and scopes by it, so it comes in the same query as the session's user."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("area").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class BearerTokenAuth(HttpBearer):
    """Bearer tokens need no second factor: they are machine credentials created on the server
    (create_api_token), shown once, revocable, and ending after 90 days by default. Every
    request that may change something is audited with the token that made it (issue 14, M1)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        from .staff import api_token_used_for_write

        now = timezone.now()
        record = (
            ApiToken.objects.select_related("user", "user__area")
            .filter(
                key_hash=ApiToken.hash(token),
                revoked_at__isnull=True,
                expires_at__gt=now,
                user__is_active=True,
            )
            .first()
        )
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
