"""Statements that PostgreSQL plans once per connection instead of on every call.

Django sends every statement with its values written in (psycopg's client-side binding), so
PostgreSQL plans it afresh each time. For an ordinary query that costs a fraction of a
millisecond; for the reminders' refresh of one child (every rule of the sweep in one statement:
some thirty SELECTs and a hundred and fifty joins) planning took 15–100 ms of the database's CPU
on every visit recorded, fifty times its execution. ``execute`` sends such a statement with its
values apart (server-side binding) as a prepared statement, planned once per connection
(Django keeps connections for CONN_MAX_AGE) without its values and reused for any: every
connection is opened with plan_cache_mode=force_generic_plan (config.settings), which only
prepared statements follow. ``fetchall`` reads such a statement; ``fetch_together`` sends
several reads in one round trip.

Use it only for a statement whose plan does not depend on its values (a key looked up, one
village's rows): a generic plan is made without them. The statement runs on the same
connection and in the same transaction as the ORM's, and is logged where Django logs queries
(``connection.queries``, the tests' query counts). Django's execute wrappers do not see it: it is
sent as one statement (a prepared statement cannot carry pghistory's ``set_config`` prefix), so a
statement writing to a table that keeps history must not use it.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.db import connections

_ONLY_WHEN_ASKED = 2**31 - 1  # executions before psycopg would prepare a statement by itself


def execute(sql: str, params: dict[str, Any] | list[Any], *, using: str = "default") -> int:
    """Run ``sql`` (a write of the same shape every time: ``%(name)s`` or ``%s`` placeholders,
    every value cast in the text) as a prepared statement, with its generic plan (the
    connection's plan_cache_mode: config.settings); return the rows it affected. One statement:
    in the caller's transaction, if any, else its own. Not for a table that keeps history (the
    module's docstring)."""
    connection = connections[using]
    started = time.monotonic()
    # Not raw.cursor(): Django makes that a ClientCursor, which binds values client-side.
    with connection.wrap_database_errors, psycopg.Cursor(_raw(connection)) as cursor:
        cursor.execute(sql, params, prepare=True)
        rowcount = cursor.rowcount
    _log(connection, sql, started)
    return rowcount


def _raw(connection: Any) -> Any:
    """The connection's psycopg connection, asked to prepare only what says ``prepare=True``:
    Django turns psycopg's preparing off (for connection poolers in transaction mode, which
    docker-compose.yml does not run); the ORM's client-side cursors never prepare."""
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    return raw


def _log(connection: Any, sql: str, started: float, *, prefix: str = "/* prepared */ ") -> None:
    """Where Django logs queries (connection.queries, the tests' query counts)."""
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{prefix}{sql}", "time": f"{time.monotonic() - started:.3f}"}
        )


def fetch(sql: str, params: Any, *, using: str = "default") -> tuple[list[tuple], Any]:
    """(rows, the cursor's description) of a fixed read of one key (the session, the signed-in
    user, an API token, a child's file), as a prepared statement: PostgreSQL plans a key lookup
    on each call when its values are written in (0.2–0.4 ms, several times the lookup), and
    plans a prepared statement once per connection (its generic plan: the module's
    docstring). Only for a statement whose plan does not depend on its values. In the caller's
    transaction, if any; logged where Django logs queries."""
    connection = connections[using]
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(_raw(connection)) as cursor:
        cursor.execute(sql, params, prepare=True)
        found = cursor.fetchall(), cursor.description
    _log(connection, sql, started)
    return found


def fetchall(sql: str, params: Any, *, using: str = "default") -> list[tuple]:
    """The rows of ``fetch``."""
    return fetch(sql, params, using=using)[0]


def fetch_together(
    statements: list[tuple[str, Any, bool]], *, using: str = "default"
) -> list[tuple[list[tuple], Any]]:
    """(rows, the cursor's description) of each of ``statements`` — (sql, params, prepare) —
    all sent in one round trip: psycopg's pipeline mode, a Parse/Bind/Execute each and one Sync.
    Those marked ``prepare`` are prepared statements (as ``fetchall``: for a read whose plan
    does not depend on its values); the others are bound in the client, as the ORM binds
    them. In the caller's transaction, if any; logged as one entry where Django logs queries
    (one round trip, as a text of several statements would be)."""
    connection = connections[using]
    started = time.monotonic()
    raw = _raw(connection)
    cursors: list[psycopg.Cursor] = []
    try:
        with connection.wrap_database_errors:
            with raw.pipeline():
                for sql, params, prepare in statements:
                    cursor = psycopg.Cursor(raw) if prepare else psycopg.ClientCursor(raw)
                    cursors.append(cursor)
                    cursor.execute(sql, params, prepare=prepare)
            # Leaving the pipeline sent its Sync and read every result into its cursor.
            results = [(cursor.fetchall(), cursor.description) for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()
    if connection.queries_logged:
        shown = ";\n".join(_shown(raw, *statement) for statement in statements)
        _log(connection, shown, started, prefix="")
    return results


def _shown(raw: Any, sql: str, params: Any, prepare: bool) -> str:
    # As Django's log shows a statement: its values written in, unless sent apart.
    if prepare:
        return f"/* prepared */ {sql}"
    return psycopg.ClientCursor(raw).mogrify(sql, params)


def fetchone(sql: str, params: list[Any], *, using: str = "default") -> tuple | None:
    """The first row of ``fetchall``."""
    rows = fetchall(sql, params, using=using)
    return rows[0] if rows else None
