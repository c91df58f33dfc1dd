"""``/healthz`` with a read replica (issue 20, "past one machine"): the replica's state beside the
primary's, asked as the pages ask it (core.replica.health) — never more than the connect timeout,
not again while remembered down or behind — and never deciding the answer's code.

The replica is the test settings' mirror of the test database (tests/core/test_replica.py); a
closed port stands for one that is down. The replica drill (tests/drills/test_drill_replica.py)
checks the same against a real standby stopped with ``pg_ctl stop``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

from core import replica

from ..core.test_replica import replica_unreachable

REPLICA = "replica"
HEALTHY = {"database": "ok", "broker": "ok", "outbox_waiting": 0}
both_databases = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@pytest.fixture
def with_replica(settings) -> Iterator[None]:
    settings.DATABASE_READ_REPLICA = REPLICA
    cache.delete(replica.state_key(REPLICA))
    yield
    cache.delete(replica.state_key(REPLICA))


@both_databases
def test_a_replica_that_answers_is_ok_and_read(client, with_replica):
    with CaptureQueriesContext(connections[REPLICA]) as asked:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        **HEALTHY,
        "replica": {"state": "ok", "lag_seconds": 0.0, "reads_from": "replica"},
    }
    # One question, the pages' own (core.replica.LAG_SQL).
    assert len(asked.captured_queries) == 1
    assert "pg_last_xact_replay_timestamp()" in asked.captured_queries[0]["sql"]


@both_databases
def test_a_replica_down_is_named_and_the_answer_is_a_quick_200(client, with_replica, settings):
    settings.DATABASE_REPLICA_RETRY_SECONDS = 30
    down = {**HEALTHY, "replica": {"state": "down", "lag_seconds": None, "reads_from": "primary"}}
    with replica_unreachable():
        started = time.monotonic()
        response = client.get("/healthz")
        took = time.monotonic() - started
    assert response.status_code == 200  # the primary serves: the load balancer keeps the web
    assert response.json() == down
    assert took < settings.DATABASE_REPLICA_CONNECT_TIMEOUT
    # What the health check found counts for the pages too: they read the primary meanwhile.
    assert cache.get(replica.state_key(REPLICA)) == replica.DOWN
    with replica.reading_from_replica() as read:
        assert (read.alias, read.fallback) == (DEFAULT_DB_ALIAS, replica.DOWN)
    # Back, but remembered as down: not even connected to until the memory lapses.
    again = client.get("/healthz")
    assert (again.status_code, again.json()) == (200, down)
    assert connections[REPLICA].connection is None
    cache.delete(replica.state_key(REPLICA))
    assert client.get("/healthz").json()["replica"]["state"] == "ok"


@both_databases
def test_a_replica_behind_shows_its_lag_and_lagging_past_the_limit(
    client, with_replica, settings, monkeypatch
):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 300
    lag = timedelta(seconds=12.3)
    monkeypatch.setattr(replica, "measure_lag", lambda alias: lag)
    response = client.get("/healthz")
    assert (response.status_code, response.json()["replica"]) == (
        200,
        {"state": "ok", "lag_seconds": 12.3, "reads_from": "replica"},
    )
    lag = timedelta(seconds=301)
    lagging = {"state": "lagging", "lag_seconds": 301.0, "reads_from": "primary"}
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {**HEALTHY, "replica": lagging})
    assert cache.get(replica.state_key(REPLICA)) == replica.BEHIND

    def not_asked(alias: str) -> timedelta:
        raise AssertionError("a replica remembered behind was asked again")

    # Remembered with its lag: reported so without asking it again while the memory lasts.
    monkeypatch.setattr(replica, "measure_lag", not_asked)
    assert client.get("/healthz").json()["replica"] == lagging


@both_databases
def test_the_primary_alone_decides_the_code(client, with_replica, monkeypatch):
    from django.db.utils import OperationalError

    class Unreachable:
        """The primary refusing connections, for the health view's own check only."""

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("config.views.connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["replica"]["state"] == "ok"  # a replica up does not make it 200


@both_databases
def test_a_fault_in_reporting_the_replica_does_not_fail_the_health_check(
    client, with_replica, monkeypatch
):
    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(replica, "health", broken)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["replica"] == {
        "state": "down",
        "lag_seconds": None,
        "reads_from": "primary",
    }


@pytest.mark.django_db  # the default database only: asking the replica would fail the test
def test_without_a_replica_the_answer_is_as_before(client, settings):
    settings.DATABASE_READ_REPLICA = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == HEALTHY  # no "replica" key: nothing is configured to report
