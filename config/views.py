"""Project-level views: the health check, and Django's sign-in views held to our `next` rule."""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core import replica
from core.redirects import SafeNextMixin, safe_next

logger = logging.getLogger(__name__)


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


def _replica() -> dict[str, Any] | None:
    try:
        found = replica.health()
    except Exception:
        # A fault in reporting the replica must not take the web out of rotation.
        logger.exception("health check: the read replica's state could not be read")
        return {"state": replica.DOWN, "lag_seconds": None, "reads_from": "primary"}
    return None if found is None else found.as_json()


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """``{"database": "ok", "broker": "ok", "outbox_waiting": 0}``, and with a read replica
    configured ``"replica": {"state": "ok", "lag_seconds": 0.0, "reads_from": "replica"}``.

    503 only when the database is down: that is when this web process cannot serve. With the broker
    down it still serves everything (tasks wait in the outbox), so it answers 200 with
    ``"broker": "down"`` and how many tasks wait, for monitoring to alert on without the load
    balancer taking the web out of rotation. Likewise a replica that is ``"lagging"`` or
    ``"down"`` never changes the code: its reads go to the primary (``"reads_from": "primary"``).
    The replica is asked as the pages ask it (core.replica.health): at most the connect timeout,
    and not again while it is remembered down or behind.
    """
    database = _database_ok()
    status: dict[str, Any] = {
        "database": "ok" if database else "down",
        "broker": "ok" if _broker_ok() else "down",
        "outbox_waiting": _outbox_waiting() if database else None,
    }
    replica_state = _replica()
    if replica_state is not None:
        status["replica"] = replica_state
    return JsonResponse(status, status=200 if database else 503)
