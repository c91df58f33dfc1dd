"""Absolute session lifetime and "end all sessions" (issue 9, acceptance point 2).

A session ends:

* after ``SESSION_IDLE_SECONDS`` (30 minutes) without a request. The time of the last request is
  written into the session at most every ``SESSION_TOUCH_SECONDS`` (a minute), so most requests
  write nothing, and the idle time is measured to within that minute;

* a session ends ``SESSION_ABSOLUTE_SECONDS`` (12 hours) after the sign-in, however busy;
* a session ends when it began before the user's *session epoch*, a timestamp an administrator
  sets with ``accounts.services.user_sessions_end`` (kept in the cache: no model, no migration).

The sign-in time is written into the session by the ``user_logged_in`` signal. Pages are sent to
the sign-in page with a message; the API, whose session authentication then finds nobody, answers
401.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

SIGNED_IN_AT = "signed_in_at"  # session key: POSIX time of the sign-in (float)
LAST_SEEN = "last_seen"  # session key: POSIX time of a request at most a minute before the last
API_PREFIX = "/api/"
# At most this many session keys are remembered per user (the epoch covers any beyond).
_TRACKED_KEYS = 50

logger = logging.getLogger(__name__)


def epoch_key(user_id: int) -> str:
    return f"session_epoch:{user_id}"


def session_keys_key(user_id: int) -> str:
    return f"session_keys:{user_id}"


def _cache_timeout() -> int:
    # After the absolute lifetime no session older than the epoch can be alive: the entry can go.
    return settings.SESSION_ABSOLUTE_SECONDS + 3600


def _now() -> float:
    return timezone.now().timestamp()


def session_epoch(user_id: int) -> float | None:
    try:
        return cache.get(epoch_key(user_id))
    except Exception:  # Redis down: pages must keep working; the 12-hour limit still holds
        logger.warning("cache unavailable: session epoch of user %s not checked", user_id)
        return None


def set_session_epoch(user_id: int) -> float:
    now = _now()
    cache.set(epoch_key(user_id), now, timeout=_cache_timeout())
    return now


def pop_session_keys(user_id: int) -> list[str]:
    """The keys of the user's sessions remembered since sign-in, forgotten as they are returned."""
    keys = cache.get(session_keys_key(user_id)) or []
    cache.delete(session_keys_key(user_id))
    return keys


def _remember_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    session[SIGNED_IN_AT] = session[LAST_SEEN] = _now()
    if session.session_key is None:
        session.save()
    # Not atomic: two sign-ins at the same instant may lose one key, which the epoch still ends.
    try:
        keys = cache.get(session_keys_key(user.pk)) or []
        keys = [k for k in keys if k != session.session_key][-(_TRACKED_KEYS - 1) :]
        cache.set(session_keys_key(user.pk), [*keys, session.session_key], timeout=_cache_timeout())
    except Exception:  # Redis down: signing in must still work; the epoch will end it if needed
        logger.warning("cache unavailable: session of user %s not remembered", user.pk)


user_logged_in.connect(_remember_sign_in, dispatch_uid="accounts_session_signed_in_at")


def session_renew(request: HttpRequest) -> None:
    """A new session id (and CSRF token) for the same session, as the sign-in itself gets one:
    called when the second factor is given, so an id seen before that step (a shared computer,
    a fixation attempt) is worth nothing after it. The remembered key follows."""
    from django.middleware.csrf import rotate_token

    old_key = request.session.session_key
    request.session.cycle_key()
    rotate_token(request)
    user_id = getattr(request.user, "pk", None)
    if user_id is None:
        return
    try:
        keys = [k for k in cache.get(session_keys_key(user_id)) or [] if k != old_key]
        keys = keys[-(_TRACKED_KEYS - 1) :]
        cache.set(
            session_keys_key(user_id),
            [*keys, request.session.session_key],
            timeout=_cache_timeout(),
        )
    except Exception:  # Redis down: the epoch still ends this session if needed
        logger.warning("cache unavailable: renewed session of user %s not remembered", user_id)


class SessionLimitMiddleware:
    """Ends sessions older than the absolute lifetime or begun before the user's session epoch."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Loaded now (is_authenticated): the rest of the request reads the user itself, not
            # Django's lazy wrapper, whose every attribute costs three calls (a page reads a
            # hundred or so).
            user = request.user = getattr(user, "_wrapped", user)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            reason = self._ended(request, user.pk)
            if reason is None:
                self._touch(request)
            else:
                logout(request)
                if not request.path.startswith(API_PREFIX):
                    messages.info(request, reason)
                    return redirect_to_login(request.get_full_path())
                # The API goes on as an anonymous request: session authentication answers 401.
        return self.get_response(request)

    @staticmethod
    def _ended(request: HttpRequest, user_id: int) -> str | None:
        """Why the session has ended, or None while it may go on."""
        signed_in_at = request.session.get(SIGNED_IN_AT)
        epoch = session_epoch(user_id)
        if signed_in_at is None:
            if epoch is not None:
                # Signed in before sign-in times were recorded, so before the epoch too.
                return _("An administrator ended your session. Please sign in again.")
            # A session from before this middleware: its lifetime starts now.
            request.session[SIGNED_IN_AT] = _now()
            return None
        if epoch is not None and signed_in_at <= epoch:
            return _("An administrator ended your session. Please sign in again.")
        last_seen = request.session.get(LAST_SEEN, signed_in_at)
        if _now() - last_seen >= settings.SESSION_IDLE_SECONDS:
            return _(
                "You were signed out after %(minutes)d minutes without activity. "
                "Please sign in again."
            ) % {"minutes": settings.SESSION_IDLE_SECONDS // 60}
        if _now() - signed_in_at >= settings.SESSION_ABSOLUTE_SECONDS:
            return _("You have been signed in for too long. Please sign in again.")
        return None

    @staticmethod
    def _touch(request: HttpRequest) -> None:
        """Record this request's time if the recorded one is a minute old (saving the session,
        which also pushes the row's expiry forward)."""
        now = _now()
        if now - request.session.get(LAST_SEEN, 0) >= settings.SESSION_TOUCH_SECONDS:
            request.session[LAST_SEEN] = now


# --- Answers to a request sent before the key changed ---------------------------------------------
# The session key changes at sign-in and at the second factor (session_renew), the CSRF secret with
# it. Requests the phone sent meanwhile (the service worker installing, a prefetch) carry the old
# cookies; answered after the answer that set the new ones, they must not undo it.


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that an answer never undoes cookies the browser may have been given
    since the request left (it sits above CsrfViewMiddleware, so it sees that one's cookie too):

    * an unknown session key the request did not change leaves the cookie alone. Django deletes
      it, and the browser would delete the newer one it holds by then; the old key names no
      session, sent again it is simply nobody's. Signing out still deletes it;
    * the CSRF cookie is not sent back as the request sent it. Django sends it again with every
      form (to push its expiry forward): an answer to a request sent before the secret was rotated
      would put the old one back, and the next form would be refused as forged."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        stale = (
            session is not None
            and settings.SESSION_COOKIE_NAME in request.COOKIES
            and not session.modified
            and session.is_empty()
        )
        response = super().process_response(request, response)
        if stale and settings.SESSION_COOKIE_NAME in response.cookies:
            del response.cookies[settings.SESSION_COOKIE_NAME]
        csrf = response.cookies.get(settings.CSRF_COOKIE_NAME)
        if csrf is not None and csrf.value == request.COOKIES.get(settings.CSRF_COOKIE_NAME):
            del response.cookies[settings.CSRF_COOKIE_NAME]
        return response
