"""Querysets compiled once per process, then run with each request's values.

The ORM compiles a queryset to SQL every time it runs: 0.2–1 ms of CPU for the queries of the
hot pages (the worklist, a child's file), more than PostgreSQL takes to answer them. A
``Compiled`` keeps the compiled statement of a queryset built by a pure function, and runs it
with new values in the places marked ``Param``::

    RETURNED = Compiled(
        lambda: Visit.objects.filter(visitor_id=Param("user"), review_status="returned")
        .select_related("child")
        .order_by("-reviewed_at")[:20]
    )
    visits = RETURNED.rows(user=request.user.pk)

What it gives back is what the queryset would give (model instances with their
``select_related`` objects and annotations, or the rows of ``values_list``), through the ORM's
own iterables and converters.

Rules, because the SQL is kept:

* ``build`` is pure: it reads nothing but its arguments and constants (no user, no clock, no
  setting that changes). Every value that differs between runs is a ``Param``.
* Its positional arguments are the *shape*, for what changes the statement itself (an area's
  level, which filter is on); ``rows(*shape, **values)``. Each shape is compiled once; the
  last ``MAX_SHAPES`` are kept. A page of rows is a ``window`` (limit, offset), not a slice.
* A ``Param``'s value goes to the database as it is given (``uuid.UUID``, ``date``, ``int``,
  ``str``, a list): nothing converts it the way a lookup converts a plain value.
* No ``prefetch_related`` (it runs queries of its own) and no ``.count()``: a count is
  ``Compiled(lambda: counted(queryset))`` and ``.count(**values)``.

Several reads a page makes every time go to the database in one round trip: ``read()`` gives
a ``Read`` instead of the rows, and ``together(a, b, c)`` sends their statements in one pipeline
and reads one result each (about 0.1 ms less a statement, in the client and in PostgreSQL, for
the worklist's three). ``run(read)`` runs one. A key lookup whose plan does not depend on its
values is kept ``Compiled(..., prepared=True)``: a prepared statement, which PostgreSQL parses
and plans once per connection rather than on every page (core.prepared).

``COMPILED_QUERIES_CHECK`` (on in the test settings) compiles every run again and fails if the
statement differs from the kept one: a ``build`` that reads the clock or a user is caught by the
first test that runs it twice with another.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import BooleanField, Expression, F, Field, IntegerField, Model, QuerySet
from django.db.models.expressions import RawSQL

from . import prepared

M = TypeVar("M", bound=Model)
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Read(Generic[T]):
    """A statement and what its rows make (``make(rows, columns)``), to run alone (``run``) or
    with others in one round trip (``together``). No statement (``sql`` empty): ``make(None,
    None)`` without going to the database (``Read.of``). ``columns`` is the result's column
    names when ``named``, else None: psycopg builds them anew from the result on each reading,
    about 50 µs a statement that most reads (a queryset's, which knows its columns) never use."""

    sql: str
    params: Any
    using: str
    make: Callable[[Any, Any], T]
    named: bool = False
    # A prepared statement (core.prepared), alone or sent with others: for a read whose plan
    # does not depend on its values (a key lookup, one village's rows).
    prepared: bool = False

    @classmethod
    def of(cls, value: T) -> Read[T]:
        """A read already answered (nobody in scope: no statement to send)."""
        return cls("", None, DEFAULT_DB_ALIAS, lambda rows, columns: value)

    def then(self, after: Callable[[T], U]) -> Read[U]:
        make = self.make
        return Read(
            self.sql,
            self.params,
            self.using,
            lambda rows, cols: after(make(rows, cols)),
            self.named,
            self.prepared,
        )


def _columns(description: Any, read: Read[Any]) -> list[str] | None:
    return [column.name for column in description] if read.named else None


def run(read: Read[T]) -> T:
    """What ``read`` makes of its rows."""
    if not read.sql:
        return read.make(None, None)
    if read.prepared:
        rows, description = prepared.fetch(read.sql, read.params, using=read.using)
        return read.make(rows, _columns(description, read))
    with connections[read.using].cursor() as cursor:
        cursor.execute(read.sql, read.params)
        return read.make(cursor.fetchall(), _columns(cursor.description, read))


def together(*reads: Read[Any]) -> list[Any]:
    """What each of ``reads`` makes, their statements sent in one round trip (core.prepared:
    a pipeline), one result each: a ``prepared`` read as a prepared statement, the others with
    their values bound in the client, as the ORM binds them here. Reads of different databases
    run one by one."""
    sent = [read for read in reads if read.sql]
    if len(sent) < 2 or len({read.using for read in sent}) > 1:
        return [run(read) for read in reads]
    fetched = prepared.fetch_together(
        [(read.sql, read.params, read.prepared) for read in sent], using=sent[0].using
    )
    results = {
        id(read): read.make(rows, _columns(description, read))
        for read, (rows, description) in zip(sent, fetched, strict=True)
    }
    return [results[id(read)] if read.sql else read.make(None, None) for read in reads]


@dataclass(frozen=True)
class _Slot:
    """Where a ``Param``'s value goes among a compiled statement's parameters."""

    name: str


class Param(Expression):
    """A value given at each run of a ``Compiled``: ``filter(child_id=Param("child"))``."""

    def __init__(self, name: str, output_field: Field | None = None) -> None:
        super().__init__(output_field=output_field or Field())
        self.name = name

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [_Slot(self.name)]

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


class AnyOf(Expression):
    """``filter(AnyOf("pk", Param("ids")))``: the field's value is one of a list given at each
    run (``= ANY(%s)``; a lookup's ``__in`` would want the values when compiling)."""

    output_field = BooleanField()

    def __init__(self, field: str, values: Param) -> None:
        super().__init__()
        self.column = F(field)
        self.values = values

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.values]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        self.column, self.values = exprs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> AnyOf:
        resolved = copy.copy(self)
        resolved.column = self.column.resolve_expression(*args, **kwargs)
        resolved.values = self.values.resolve_expression(*args, **kwargs)
        return resolved

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        field_sql, field_params = compiler.compile(self.column)
        values_sql, values_params = compiler.compile(self.values)
        return f"{field_sql} = ANY({values_sql})", [*field_params, *values_params]


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet
    compiler: Any
    sql: str
    params: tuple[Any, ...]
    slots: frozenset[str]


class _Query:
    """The kept query, handing out the kept compiler (ModelIterable asks it for one)."""

    def __init__(self, query: Any, compiler: Any) -> None:
        self._query = query
        self._compiler = compiler

    def get_compiler(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._query, name)


class _QuerySet:
    """What the ORM's iterables read of a queryset."""

    def __init__(self, queryset: QuerySet, query: _Query, using: str) -> None:
        self.query = query
        self.db = using
        self.model = queryset.model
        self._fields = queryset._fields
        self._known_related_objects = queryset._known_related_objects


def counted(queryset: QuerySet) -> QuerySet:
    """The number of rows of ``queryset``, as a statement a ``Compiled`` can keep (run it with
    ``Compiled.count``): ``SELECT COUNT(*) … WHERE …``, one row, as ``QuerySet.count()`` sends
    it (a window's ``COUNT(*) OVER ()`` would keep every row to count them: a province's
    million). Not for a queryset whose rows are not its table's rows (distinct, sliced,
    grouped): those would be counted wrong."""
    query = queryset.query
    if query.distinct or query.is_sliced or query.group_by is not None:
        raise ValueError("counted() counts a plain filtered queryset only")
    return (
        queryset.order_by()
        .annotate(_counted=RawSQL("COUNT(*)", (), output_field=IntegerField()))
        .values_list("_counted", flat=True)
    )


class Compiled(Generic[M]):
    """The queryset ``build(*shape)`` returns, compiled once per shape."""

    # Shapes kept per statement, the oldest dropped first: a shape may carry a date (a list
    # filtered by "overdue today"), so a process running for months would otherwise keep one
    # per day.
    MAX_SHAPES = 256

    def __init__(self, build: Callable[..., QuerySet[M]], *, prepared: bool = False) -> None:
        """``prepared``: each run alone is a prepared statement (``Read.prepared``)."""
        self._build = build
        self._prepared = prepared
        self._compiled: dict[tuple[Hashable, ...], _Compiled] = {}
        self._lock = threading.Lock()  # a threaded server adds and drops shapes at once

    def rows(
        self,
        *shape: Hashable,
        using: str | None = None,
        attach: dict[str, Model] | None = None,
        **values: Any,
    ) -> list[Any]:
        """The rows of the queryset for ``shape`` with ``values`` in its ``Param`` places, read
        where the ORM would read them (``using``, else the database router's choice: a replica
        inside core.replica's reading block). ``attach``: objects already loaded that rows point
        to (``{"child": child}``), set on the rows whose foreign key holds their key, as a
        related manager's queryset does."""
        return run(self.read(*shape, using=using, attach=attach, **values))

    def read(
        self,
        *shape: Hashable,
        using: str | None = None,
        attach: dict[str, Model] | None = None,
        window: tuple[int, int] | None = None,
        prepared: bool | None = None,
        **values: Any,
    ) -> Read[list[Any]]:
        """``rows`` as a ``Read``, to send with others (``together``). ``window``: (limit,
        offset), a page of the rows, for a queryset built without a slice (the page's numbers
        are values, not a shape: one statement for every page). ``prepared``: this shape's
        statement is (or is not) a prepared one, whatever the ``Compiled`` says (a shape whose
        plan does not depend on its values, of a statement where others' do)."""
        compiled = self._compile(shape)
        using = using or router.db_for_read(compiled.queryset.model)
        if compiled.slots != values.keys():
            raise TypeError(f"values for {sorted(compiled.slots)}, given {sorted(values)}")
        params = [values[p.name] if type(p) is _Slot else p for p in compiled.params]
        sql = compiled.sql
        if window is not None:
            if compiled.queryset.query.is_sliced:
                raise ValueError("a window of a sliced queryset")
            sql = f"{sql} LIMIT %s OFFSET %s"
            params = [*params, *window]

        def make(fetched: list[tuple], columns: list[str]) -> list[Any]:
            # A shallow copy: this run's connection and rows, the kept select and columns. The
            # ORM's iterable converts the rows and makes the objects as for a queryset.
            compiler = copy.copy(compiled.compiler)
            compiler.connection = connections[using]
            if compiler.has_extra_select:
                fetched = [row[: compiler.col_count] for row in fetched]
            compiler.execute_sql = lambda *args, **kwargs: iter([fetched] if fetched else [])
            queryset = compiled.queryset
            shim = _QuerySet(queryset, _Query(queryset.query, compiler), using)
            rows = list(queryset._iterable_class(shim))
            for name, obj in (attach or {}).items():
                field = queryset.model._meta.get_field(name)
                for row in rows:
                    if getattr(row, field.attname) == obj.pk:
                        field.set_cached_value(row, obj)
            return rows

        return Read(
            sql, params, using, make, prepared=self._prepared if prepared is None else prepared
        )

    def first(self, *shape: Hashable, using: str | None = None, **values: Any) -> Any:
        """The first row, or None (build the queryset with ``[:1]``)."""
        rows = self.rows(*shape, using=using, **values)
        return rows[0] if rows else None

    def count(self, *shape: Hashable, using: str | None = None, **values: Any) -> int:
        """What a ``counted`` queryset counts (0 when it has no row)."""
        return run(self.count_read(*shape, using=using, **values))

    def count_read(
        self,
        *shape: Hashable,
        using: str | None = None,
        prepared: bool | None = None,
        **values: Any,
    ) -> Read[int]:
        """``count`` as a ``Read``."""
        read = self.read(*shape, using=using, prepared=prepared, **values)
        return read.then(lambda rows: rows[0] if rows else 0)

    def _compile(self, shape: tuple[Hashable, ...]) -> _Compiled:
        """The statement for ``shape``, compiled for the default database (every database of
        this project is PostgreSQL with the same tables: a replica runs it as it is)."""
        key = shape
        kept = self._compiled.get(key)
        if kept is not None and not settings.COMPILED_QUERIES_CHECK:
            return kept
        queryset = self._build(*shape)
        if queryset._prefetch_related_lookups:
            raise ValueError("a compiled queryset cannot prefetch_related")
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        fresh = _Compiled(
            queryset=queryset,
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            slots=frozenset(p.name for p in params if type(p) is _Slot),
        )
        if kept is not None and (kept.sql, kept.params) != (fresh.sql, fresh.params):
            raise AssertionError(
                "a compiled queryset compiled to another statement: its build reads something "
                f"other than its arguments\nkept:  {kept.sql} {kept.params}\n"
                f"fresh: {fresh.sql} {fresh.params}"
            )
        with self._lock:
            if key not in self._compiled and len(self._compiled) >= self.MAX_SHAPES:
                del self._compiled[next(iter(self._compiled))]  # dicts keep their order
            return self._compiled.setdefault(key, fresh)
