"""The Redis cache, tolerant of Redis being down.

Nothing the cache holds is a record: session end-times, API rate-limit counters, the statistics
lock. When Redis is unreachable a read is a miss and a write is dropped (logged at most once a
minute), so pages and the API keep answering — directors keep logging visits — instead of every
request failing with a 500. Rate limits are not enforced while Redis is down (the sign-in lockout
is kept in PostgreSQL by django-axes and stays in force).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_last_warning = 0.0


def _warn(exc: Exception) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        logger.warning("Redis cache unavailable (%s): serving without it", exc)


def _tolerant(default: Callable[..., Any]) -> Callable:
    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except _UNAVAILABLE as exc:
                _warn(exc)
                return default(*args, **kwargs)

        return wrapper

    return decorate


def _default_arg(key: str, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return kwargs.get("default", default)


class _KeptClient(RedisCacheClient):
    """Django's client makes a new ``redis.Redis`` for every operation, and building one (its
    table of reply handlers) costs 50 µs, more than a GET on the socket; this keeps one per
    connection pool (redis-py's clients are safe to share between threads)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class ResilientRedisCache(RedisCache):
    """Django's RedisCache whose operations degrade to a miss when Redis cannot be reached."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _KeptClient

    get = _tolerant(_default_arg)(RedisCache.get)
    get_many = _tolerant(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _tolerant(lambda *a, **k: False)(RedisCache.has_key)
    set = _tolerant(lambda *a, **k: None)(RedisCache.set)
    add = _tolerant(lambda *a, **k: False)(RedisCache.add)
    touch = _tolerant(lambda *a, **k: False)(RedisCache.touch)
    set_many = _tolerant(lambda *a, **k: [])(RedisCache.set_many)
    delete = _tolerant(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _tolerant(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _tolerant(lambda *a, **k: False)(RedisCache.clear)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().incr(key, delta, version)
        except _UNAVAILABLE as exc:
            _warn(exc)
            raise ValueError(f"Key '{key}' not found (cache unavailable)") from exc
