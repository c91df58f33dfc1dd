"""Model instances from the row of a written-out statement, exactly as the ORM would make them.

Every request loads its session's user (and an API request its token's): a fixed statement run
on every request, where compiling the equivalent queryset cost more CPU (0.3–0.5 ms) than
PostgreSQL's answer. ``columns(Model, "u")`` writes a model's columns for a ``SELECT``;
``instance(Model, values, using)`` makes the instance from them, each value through the same
converters the ORM applies (the fields' ``from_db_value``, the database backend's own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)

_Converter = Callable[[Any, Any, Any], Any]
_converters: dict[tuple[type[Model], str], list[tuple[int, Any, list[_Converter]]]] = {}


def columns(model: type[Model], alias: str) -> str:
    """``u."id", u."password", …``: every concrete column, in the order ``instance`` reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values ``columns`` selects."""
    return len(model._meta.concrete_fields)


def instance(model: type[M], values: Sequence[Any], using: str) -> M:
    """The instance of ``model`` whose columns (as ``columns`` lists them) hold ``values``."""
    connection = connections[using]
    values = list(values)
    for index, expression, converters in _converters_of(model, connection):
        value = values[index]
        for convert in converters:
            value = convert(value, expression, connection)
        values[index] = value
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(using, names, values)


def _converters_of(model: type[Model], connection) -> list[tuple[int, Any, list[_Converter]]]:
    key = (model, connection.vendor)
    found = _converters.get(key)
    if found is None:
        found = []
        for index, field in enumerate(model._meta.concrete_fields):
            expression = field.get_col(model._meta.db_table)
            converters = connection.ops.get_db_converters(expression)
            converters += field.get_db_converters(connection)
            if converters:
                found.append((index, expression, converters))
        _converters[key] = found
    return found
