"""Project-level views: the health check."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


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
