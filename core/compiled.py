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
  level, which filter is on); ``rows(*shape, **values)``. Each shape is compiled once.
* A ``Param``'s value goes to the database as it is given (``uuid.UUID``, ``date``, ``int``,
  ``str``, a list): nothing converts it the way a lookup converts a plain value.
* No ``prefetch_related`` (it runs queries of its own) and no ``.count()``.

``COMPILED_QUERIES_CHECK`` (on in the test settings) compiles every run again and fails if the
statement differs from the kept one: a ``build`` that reads the clock or a user is caught by the
first test that runs it twice with another.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Expression, Field, Model, QuerySet

M = TypeVar("M", bound=Model)


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


class Compiled(Generic[M]):
    """The queryset ``build(*shape)`` returns, compiled once per shape."""

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[tuple[Hashable, ...], _Compiled] = {}

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
        compiled = self._compile(shape)
        using = using or router.db_for_read(compiled.queryset.model)
        if compiled.slots != values.keys():
            raise TypeError(f"values for {sorted(compiled.slots)}, given {sorted(values)}")
        params = [values[p.name] if type(p) is _Slot else p for p in compiled.params]
        # A shallow copy: this run's connection and parameters, the kept select and columns.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[using]
        compiler.as_sql = lambda *args, **kwargs: (compiled.sql, params)
        queryset = compiled.queryset
        shim = _QuerySet(queryset, _Query(queryset.query, compiler), using)
        rows = list(queryset._iterable_class(shim))
        for name, obj in (attach or {}).items():
            field = queryset.model._meta.get_field(name)
            for row in rows:
                if getattr(row, field.attname) == obj.pk:
                    field.set_cached_value(row, obj)
        return rows

    def first(self, *shape: Hashable, using: str | None = None, **values: Any) -> Any:
        """The first row, or None (build the queryset with ``[:1]``)."""
        rows = self.rows(*shape, using=using, **values)
        return rows[0] if rows else None

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
        return self._compiled.setdefault(key, fresh)
