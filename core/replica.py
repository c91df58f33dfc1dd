"""Reads served by a streaming replica (issue 20, "past one machine"), only where asked for.

With ``DATABASE_REPLICA_URL`` set, the pages that only count and copy — dashboards, exports,
``/api/v1/stats`` and the hand-over — run inside ``reading_from_replica()`` (or under
``@reads_from_replica``): there ``ReplicaRouter`` sends the ORM's reads to the replica and every
write (audit records, an export's progress, sessions) to the primary. Everything else reads the
primary, so nobody reads a record older than their own last change. Raw SQL asks
``read_alias()`` which connection to use.

Entering checks the replica once: it must answer within ``connect_timeout`` and be at most
``DATABASE_REPLICA_MAX_LAG_SECONDS`` behind. A replica that is down or too far behind is noted in
the cache for ``DATABASE_REPLICA_RETRY_SECONDS`` (shared by every web and worker process, so no
request waits on a dead server), and the reads go to the primary meanwhile. The lag measured at
the check is kept with the read (``current()``), so the "as of" time shown with what was read can
say how old the replica's copy was. ``health()`` makes the same check, under the same memory, for
``/healthz``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

DOWN = "down"  # did not answer
BEHIND = "behind"  # answered, but further behind than DATABASE_REPLICA_MAX_LAG_SECONDS

# Seconds since the last transaction the replica replayed; 0 on a primary, and 0 on a replica that
# is streaming and has replayed all it received (an idle primary commits nothing, and its last
# commit would otherwise look older and older). NULL when it cannot tell (never replayed one).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))
END
"""


@dataclass(frozen=True)
class ReplicaRead:
    """Where the reads of one ``reading_from_replica()`` go, and how far behind that copy was
    when it was checked (``checked_at``)."""

    alias: str
    lag: timedelta
    checked_at: datetime
    fallback: str = ""  # why the primary serves reads meant for the replica: DOWN, BEHIND

    @property
    def on_replica(self) -> bool:
        return self.alias != DEFAULT_DB_ALIAS


_current: ContextVar[ReplicaRead | None] = ContextVar("replica_read", default=None)


def replica_alias() -> str:
    """The replica's alias in DATABASES, or "" when there is none."""
    return settings.DATABASE_READ_REPLICA


def state_key(alias: str) -> str:
    """The cache key that remembers a replica found down or behind."""
    return f"replica-unusable:{alias}"


def lag_key(alias: str) -> str:
    """The cache key that remembers, beside ``state_key``, how far behind a replica found behind
    was (seconds; None when it could not tell)."""
    return f"replica-unusable-lag:{alias}"


def measure_lag(alias: str) -> timedelta | None:
    """How far behind the primary the database ``alias`` is (zero for a primary), None when it
    cannot tell; raises DatabaseError when it does not answer."""
    with connections[alias].cursor() as cursor:
        cursor.execute(LAG_SQL)
        seconds = cursor.fetchone()[0]
    return None if seconds is None else timedelta(seconds=float(seconds))


def mark_unusable(alias: str, reason: str, lag: timedelta | None = None) -> None:
    """Send this replica's reads to the primary for the next DATABASE_REPLICA_RETRY_SECONDS
    (``lag``: how far behind it was found, for ``health()`` meanwhile)."""
    logger.warning(
        "read replica %r %s: reading from the primary for %d s",
        alias,
        reason,
        settings.DATABASE_REPLICA_RETRY_SECONDS,
    )
    with contextlib.suppress(DatabaseError):
        connections[alias].close()
    seconds = None if lag is None else lag.total_seconds()
    cache.set_many(
        {state_key(alias): reason, lag_key(alias): seconds},
        settings.DATABASE_REPLICA_RETRY_SECONDS,
    )


def _primary(fallback: str = "") -> ReplicaRead:
    return ReplicaRead(DEFAULT_DB_ALIAS, timedelta(0), timezone.now(), fallback)


def _choose() -> ReplicaRead:
    alias = replica_alias()
    if not alias:
        return _primary()
    known = cache.get(state_key(alias))
    if known:
        return _primary(known)
    checked_at = timezone.now()
    try:
        lag = _measure_fresh(alias)
    except DatabaseError as exc:
        logger.warning("read replica %r unreachable: %s", alias, exc)
        mark_unusable(alias, DOWN)
        return _primary(DOWN)
    if lag is None or lag > timedelta(seconds=settings.DATABASE_REPLICA_MAX_LAG_SECONDS):
        mark_unusable(alias, BEHIND, lag)
        return _primary(BEHIND)
    return ReplicaRead(alias, lag, checked_at)


def _measure_fresh(alias: str) -> timedelta | None:
    """``measure_lag``; a kept connection that fails (the replica restarted since) is opened
    afresh once before the replica counts as down."""
    connection = connections[alias]
    reused = connection.connection is not None
    try:
        return measure_lag(alias)
    except DatabaseError:
        if not reused:
            raise
        with contextlib.suppress(DatabaseError):
            connection.close()
        return measure_lag(alias)


def current() -> ReplicaRead:
    """The read in force: the innermost ``reading_from_replica()``, else the primary now."""
    return _current.get() or _primary()


def read_alias() -> str:
    """The database reads go to now (for raw SQL: ``connections[read_alias()]``)."""
    read = _current.get()
    return read.alias if read is not None else DEFAULT_DB_ALIAS


@contextlib.contextmanager
def reading_from_replica() -> Iterator[ReplicaRead]:
    """Inside, the ORM reads from the replica when it is configured, answering and close enough
    behind, else from the primary; writes always go to the primary. Nested uses share the
    outer check. Enter it after the session and the user are loaded (a view's body, not a
    middleware): they must be read from the primary."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    token = _current.set(_choose())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def reads_from_replica(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside ``reading_from_replica()``. If the replica stops answering while
    ``func`` reads from it, the replica is marked down and ``func`` runs again, on the primary:
    for views and jobs that only read (their audit records are written once more for the rows
    read twice, as on any redelivered job)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        if _current.get() is not None:  # an outer call decides and retries
            return func(*args, **kwargs)
        with reading_from_replica() as read:
            try:
                return func(*args, **kwargs)
            except OperationalError:
                if not read.on_replica or _answers(read.alias):
                    raise
                mark_unusable(read.alias, DOWN)
        with reading_from_replica():
            return func(*args, **kwargs)

    return wrapper


def _answers(alias: str) -> bool:
    connection = connections[alias]
    with contextlib.suppress(DatabaseError):
        connection.close()
    try:
        measure_lag(alias)
    except DatabaseError:
        return False
    return True


@dataclass(frozen=True)
class ReplicaHealth:
    """What ``/healthz`` says of the replica: its ``state`` ("ok"; "lagging": answered, but further
    behind than DATABASE_REPLICA_MAX_LAG_SECONDS; "down": did not answer), its lag when known, and
    whether the reads meant for it go to the primary now."""

    state: str
    lag: timedelta | None
    fallback: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "lag_seconds": None if self.lag is None else round(self.lag.total_seconds(), 1),
            "reads_from": "primary" if self.fallback else "replica",
        }


def health() -> ReplicaHealth | None:
    """The replica's state now, None when none is configured. The reads' own check and memory:
    a replica found down or behind in the last DATABASE_REPLICA_RETRY_SECONDS is reported so
    without being asked again, else it is asked once (DATABASE_REPLICA_CONNECT_TIMEOUT to
    connect) and what it answers counts for the reads too. So a dead replica costs a health check
    at most the connect timeout, once in that time, as it costs a page."""
    alias = replica_alias()
    if not alias:
        return None
    read = _choose()
    if read.on_replica:
        return ReplicaHealth("ok", read.lag, fallback=False)
    if read.fallback == BEHIND:
        seconds = cache.get(lag_key(alias))
        lag = None if seconds is None else timedelta(seconds=seconds)
        return ReplicaHealth("lagging", lag, fallback=True)
    return ReplicaHealth(DOWN, None, fallback=True)


class ReplicaRouter:
    """Inside ``reading_from_replica()``: reads to the chosen database. Everywhere: writes, and
    every other read, to the primary (explicitly, so a row read from the replica does not carry
    later reads of its relations there). Migrations run on the primary only."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return None if db == DEFAULT_DB_ALIAS else False
