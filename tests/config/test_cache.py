"""Redis down: the cache degrades to misses, so pages and the API keep answering."""

import time

import pytest
from django.core.cache import caches
from django.test import override_settings

DEAD_REDIS = {
    "default": {
        "BACKEND": "config.cache.ResilientRedisCache",
        "LOCATION": "unix:///nonexistent/redis.sock",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@override_settings(CACHES=DEAD_REDIS)
def test_an_unreachable_redis_is_a_quick_miss():
    cache = caches["default"]
    started = time.monotonic()
    assert cache.get("k") is None and cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is None and cache.add("k", 1) is False
    assert cache.get_many(["a", "b"]) == {} and cache.delete("k") is False
    with pytest.raises(ValueError):
        cache.incr("k")
    assert time.monotonic() - started < 5


def test_a_reachable_redis_works_as_before():
    cache = caches["default"]
    cache.set("shouwang-resilient", "守望", 10)
    assert cache.get("shouwang-resilient") == "守望"
    cache.set("shouwang-count", 1, 10)
    assert cache.incr("shouwang-count") == 2


def test_one_redis_client_serves_every_operation():
    """Issue 20 (request CPU): Django's client built a redis.Redis for each operation (50 µs,
    more than the GET); the cache keeps one per connection pool, reading and writing alike."""
    cache = caches["default"]
    cache.set("shouwang-kept", "守望", 10)
    client = cache._cache.get_client("shouwang-kept", write=True)
    assert cache._cache.get_client("other", write=True) is client
    assert cache._cache.get_client("shouwang-kept") is cache._cache.get_client("x")
    assert cache.get("shouwang-kept") == "守望" and cache.delete("shouwang-kept")
    assert cache._cache.get_client(write=True) is client
