"""Record history (who, when, before → after) read from django-pghistory event rows, for any
tracked model: the label a stored value is shown with, and the fields changed between two
snapshots of one record. No model of ours is known here; children.selectors adds the authors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from core.text import join_list

# pghistory's own columns on every event row.
EVENT_FIELDS = frozenset({"pgh_id", "pgh_created_at", "pgh_label", "pgh_obj", "pgh_context"})
# The label of the snapshot a migration takes of the rows that existed when tracking began: the
# "before" of their first change, never shown as a change itself.
BASELINE = "baseline"

Change = tuple[str, str, str]  # (field label, before, after)


def _name_of(obj: Any) -> str:
    for attribute in ("display_name", "name"):
        value = getattr(obj, attribute, None)
        if value:
            return str(value)
    return str(obj)


class RelatedLabels:
    """The names of related rows (a user, a village, a child) by primary key, each looked up once
    however many events name it."""

    def __init__(self) -> None:
        self._names: dict[tuple[type[models.Model], Any], str] = {}

    def __call__(self, model_field: models.Field, pk: Any) -> str:
        key = (model_field.related_model, pk)
        if key not in self._names:
            found = model_field.related_model._default_manager.filter(pk=pk).first()
            self._names[key] = _name_of(found) if found is not None else str(pk)
        return self._names[key]


def value_label(
    model: type[models.Model],
    field_name: str,
    value: Any,
    *,
    related: RelatedLabels | None = None,
    choices: Mapping[str, Mapping[Any, Any]] | None = None,
) -> str:
    """A stored value as a person reads it: "—" when empty, 是/否, the choice's label (from the
    field, or ``choices[field_name]`` for codes kept without choices), the related row's name,
    local date and time."""
    try:
        model_field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return str(value)
    if value in (None, "", []):
        return "—"
    if isinstance(model_field, models.BooleanField):
        return _("Yes") if value else _("No")
    if model_field.many_to_one:
        return (related or RelatedLabels())(model_field, value)
    base = getattr(model_field, "base_field", None)
    labels = dict((choices or {}).get(field_name) or (base or model_field).choices or [])
    if isinstance(value, list):
        return join_list(labels.get(item, item) for item in value) or "—"
    if labels:
        return str(labels.get(value, value))
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _default(model: type[models.Model], field_name: str) -> Any:
    try:
        return model._meta.get_field(field_name).get_default()
    except FieldDoesNotExist:
        return None


def field_changes(
    model: type[models.Model],
    event_model: type[models.Model],
    previous: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    *,
    hidden: Iterable[str] = (),
    transform: Mapping[str, Callable[[Any], Any]] | None = None,
    related: RelatedLabels | None = None,
    choices: Mapping[str, Mapping[Any, Any]] | None = None,
) -> list[Change]:
    """The fields of ``current`` (an event row as ``.values()`` gives it) that differ from
    ``previous``, each (label, before, after) for display; with no ``previous`` (the record's
    creation) the fields set to something other than their default, with an empty "before".
    ``transform[field](value)`` is applied before display (e.g. a phone number masked for a user
    who may not see it in full)."""
    hidden = set(hidden)
    related = related or RelatedLabels()
    changes: list[Change] = []
    for event_field in event_model._meta.concrete_fields:
        name, attname = event_field.name, event_field.attname
        if name in EVENT_FIELDS or name in hidden or attname in hidden:
            continue
        try:
            label = str(model._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            continue  # a column the model no longer has
        old = previous.get(attname) if previous is not None else None
        new = current.get(attname)
        if previous is None and (new in (None, "", []) or new == _default(model, name)):
            continue
        if previous is not None and old == new:
            continue
        if transform and name in transform:
            old, new = transform[name](old), transform[name](new)

        def shown(value: Any, name: str = name) -> str:
            return value_label(model, name, value, related=related, choices=choices)

        changes.append((label, shown(old) if previous is not None else "", shown(new)))
    return changes


def snapshot_existing_rows(apps, schema_editor, app_label: str, model_name: str) -> None:
    """For a migration that starts tracking a model: one ``baseline`` event per existing row, so
    that the first change of an older record still shows what it was before (RunPython)."""
    model = apps.get_model(app_label, model_name)
    event_model = apps.get_model(app_label, f"{model_name}Event")
    columns = [
        field.column
        for field in event_model._meta.concrete_fields
        if field.name not in EVENT_FIELDS
    ]
    quote = schema_editor.quote_name
    listed = ", ".join(quote(column) for column in columns)
    schema_editor.execute(
        f"INSERT INTO {quote(event_model._meta.db_table)} "
        f"({listed}, pgh_obj_id, pgh_label, pgh_created_at, pgh_context_id) "
        f"SELECT {listed}, {quote(model._meta.pk.column)}, %s, NOW(), NULL "
        f"FROM {quote(model._meta.db_table)}",
        [BASELINE],
    )
