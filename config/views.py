"""Project-level views: the health check, and Django's sign-in views held to our `next` rule."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.redirects import SafeNextMixin, safe_next


class LoginView(SafeNextMixin, auth_views.LoginView):
    """Django's sign-in page; ``next`` only to a path of this site (core.redirects)."""


class LogoutView(SafeNextMixin, auth_views.LogoutView):
    """Django's sign-out; ``next`` only to a path of this site (core.redirects)."""


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; ``next`` only to a path of this site, else the home page."""
    from django.views.i18n import set_language as django_set_language

    request.POST = request.POST.copy()
    request.POST["next"] = safe_next(request.POST.get("next"), "home")
    return django_set_language(request)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    timeout = settings.HEALTHCHECK_TIMEOUT_SECONDS
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def _outbox_waiting() -> int | None:
    from accounts.outbox import pending_count

    try:
        return pending_count()
    except Exception:
        return None


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """``{"database": "ok", "broker": "ok", "outbox_waiting": 0}``.

    503 only when the database is down: that is when this web process cannot serve. With the broker
    down it still serves everything (tasks wait in the outbox), so it answers 200 with
    ``"broker": "down"`` and how many tasks wait, for monitoring to alert on without the load
    balancer taking the web out of rotation.
    """
    database = _database_ok()
    status = {
        "database": "ok" if database else "down",
        "broker": "ok" if _broker_ok() else "down",
        "outbox_waiting": _outbox_waiting() if database else None,
    }
    return JsonResponse(status, status=200 if database else 503)
