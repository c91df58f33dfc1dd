"""Issue 20, "past one machine": reads from a streaming replica only where asked for
(core.replica), writes always to the primary, and the primary when the replica does not answer.

The test settings define the replica's alias as a mirror of the test database (a second connection
to it), off unless a test sets DATABASE_READ_REPLICA. A mirror sees committed rows only, hence
``transaction=True``. The replica drill (tests/drills/test_drill_replica.py) runs a real standby.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, router
from django.test.utils import CaptureQueriesContext

from accounts.models import Area
from core import replica

from ..factories import AreaFactory

REPLICA = "replica"
both_databases = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@pytest.fixture
def with_replica(settings) -> Iterator[None]:
    settings.DATABASE_READ_REPLICA = REPLICA
    cache.delete(replica.state_key(REPLICA))
    yield
    cache.delete(replica.state_key(REPLICA))


def closed_port() -> int:
    """A TCP port on which nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def replica_unreachable() -> Iterator[None]:
    """The replica's address pointed at a closed port: every connection to it is refused."""
    connection = connections[REPLICA]
    connection.close()
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@both_databases
def test_reads_inside_go_to_the_replica_and_writes_to_the_primary(with_replica):
    with replica.reading_from_replica() as read:
        assert (read.alias, read.lag, read.fallback) == (REPLICA, timedelta(0), "")
        assert router.db_for_read(Area) == REPLICA
        assert router.db_for_write(Area) == DEFAULT_DB_ALIAS
        assert replica.read_alias() == REPLICA
        with (
            CaptureQueriesContext(connections[REPLICA]) as on_replica,
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        ):
            AreaFactory(code="341800000000", name="宣城市")
            assert Area.objects.filter(code="341800000000").count() == 1
        # Nested uses share the outer check.
        with replica.reading_from_replica() as inner:
            assert inner is read
    assert [q["sql"] for q in on_replica.captured_queries if "INSERT" in q["sql"]] == []
    assert any('FROM "accounts_area"' in q["sql"] for q in on_replica.captured_queries)
    assert any('INSERT INTO "accounts_area"' in q["sql"] for q in on_primary.captured_queries)
    assert not any("SELECT COUNT" in q["sql"] for q in on_primary.captured_queries)
    # Outside, every read is the primary's again, also of a row read from the replica.
    assert router.db_for_read(Area) == DEFAULT_DB_ALIAS
    assert replica.read_alias() == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_without_a_replica_everything_reads_the_primary(settings):
    settings.DATABASE_READ_REPLICA = ""
    with replica.reading_from_replica() as read:
        assert read.alias == DEFAULT_DB_ALIAS and not read.on_replica and read.fallback == ""
        assert router.db_for_read(Area) == DEFAULT_DB_ALIAS
        Area.objects.count()  # the test may not touch "replica": this would fail if it did


@both_databases
def test_the_lag_of_a_primary_is_zero():
    assert replica.measure_lag(DEFAULT_DB_ALIAS) == timedelta(0)
    assert replica.measure_lag(REPLICA) == timedelta(0)  # the mirror is the primary itself


@both_databases
def test_a_replica_that_does_not_answer_is_left_alone_for_a_while(with_replica, settings):
    settings.DATABASE_REPLICA_RETRY_SECONDS = 30
    with replica_unreachable():
        started = time.monotonic()
        with replica.reading_from_replica() as read:
            assert (read.alias, read.fallback) == (DEFAULT_DB_ALIAS, replica.DOWN)
            assert router.db_for_read(Area) == DEFAULT_DB_ALIAS
            assert Area.objects.count() == 0  # answered by the primary
        assert time.monotonic() - started < settings.DATABASE_REPLICA_CONNECT_TIMEOUT + 0.5
        assert cache.get(replica.state_key(REPLICA)) == replica.DOWN
    # Back, but remembered as down: the next reads do not even try it until the time is up.
    with replica.reading_from_replica() as read:
        assert (read.alias, read.fallback) == (DEFAULT_DB_ALIAS, replica.DOWN)
    assert connections[REPLICA].connection is None
    cache.delete(replica.state_key(REPLICA))
    with replica.reading_from_replica() as read:
        assert read.alias == REPLICA


@both_databases
def test_a_replica_further_behind_than_allowed_is_not_read(with_replica, settings):
    # The mirror is 0 s behind; a limit below zero stands for a replica hours behind.
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = -1
    with replica.reading_from_replica() as read:
        assert (read.alias, read.fallback) == (DEFAULT_DB_ALIAS, replica.BEHIND)
    assert cache.get(replica.state_key(REPLICA)) == replica.BEHIND


@both_databases
def test_a_replica_lost_midway_is_marked_down_and_the_reads_run_again_on_the_primary(
    with_replica,
):
    calls: list[str] = []

    @replica.reads_from_replica
    def count_areas() -> int:
        calls.append(replica.read_alias())
        if len(calls) == 1:
            # The replica goes away after the check: its backend ends, it takes no new connection.
            pid = connections[REPLICA].cursor().connection.info.backend_pid
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            connections[REPLICA].settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
        return Area.objects.count()

    saved = {key: connections[REPLICA].settings_dict[key] for key in ("HOST", "PORT")}
    try:
        assert count_areas() == 0
    finally:
        connections[REPLICA].close()
        connections[REPLICA].settings_dict.update(saved)
    assert calls == [REPLICA, DEFAULT_DB_ALIAS]
    assert cache.get(replica.state_key(REPLICA)) == replica.DOWN


@both_databases
def test_an_error_of_the_primary_is_not_taken_for_the_replica(with_replica):
    @replica.reads_from_replica
    def fails() -> None:
        raise OperationalError("the primary restarting")

    with pytest.raises(OperationalError):
        fails()
    assert cache.get(replica.state_key(REPLICA)) is None  # the replica answers: not marked
