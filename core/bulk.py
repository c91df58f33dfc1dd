"""Many new rows in one COPY (issue 20: the census import's 10,000 children were INSERTs of up to
47,000 placeholders, each compiled and parsed again per 1,000 rows), their history included."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import date

import pghistory.config
import pgtrigger
from django.db import connections, models
from django.db.models.expressions import DatabaseDefault
from pghistory.trigger import Event as HistoryEvent

# Fields whose get_db_prep_save gives back a value of these exact types unchanged (issue 20: a
# call per value was a fifth of the import's COPY); any other field, or value, goes through it.
_PLAIN: dict[type[models.Field], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.BooleanField: (bool,),
    models.DateField: (date,),
    models.PositiveSmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.UUIDField: (uuid.UUID,),
}


def copy_insert(objs: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert new model instances, all of one model, with ``COPY … FROM STDIN``: what
    ``bulk_create`` writes (each field's ``pre_save`` and ``get_db_prep_save``: defaults,
    ``auto_now_add``, encrypted fields encrypted), streamed in one statement. Primary keys must
    be set already (UUIDs). No signals are sent, as with bulk_create.

    The model's django-pghistory insert events are written as its row triggers write them — the
    same columns, label, time and context — but by one INSERT … SELECT after the COPY, the
    triggers told to stand aside (``pgtrigger.ignore``) for it: each of them opens two
    subtransactions per row (the exception blocks of ``_pgtrigger_should_ignore`` and
    ``_pgh_attach_context``), 7 s of a 10,000-row census import's 30,000 rows. Any other trigger
    fires as for an INSERT. The history context (pghistory sets it per statement through Django's
    execute wrappers, which a COPY bypasses) is set first by a statement of its own."""
    if not objs:
        return
    model = type(objs[0])
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated]
    connection = connections[using]
    # Field.pre_save is the attribute itself; a field of its own (auto_now, encrypted, files)
    # is asked.
    saves = [(f, type(f).pre_save is not models.Field.pre_save) for f in fields]
    rows = []
    for obj in objs:
        if type(obj) is not model:
            raise TypeError("copy_insert: instances of one model only")
        if obj.pk is None:
            raise ValueError("copy_insert: the primary key must be set")
        obj._prepare_related_fields_for_save(operation_name="copy_insert")
        rows.append([f.pre_save(obj, True) if own else getattr(obj, f.attname) for f, own in saves])
    # A column left to its database default (db_default) is left out, for every row or none.
    defaulted = [isinstance(rows[0][i], DatabaseDefault) for i in range(len(fields))]
    for row in rows:
        if [isinstance(v, DatabaseDefault) for v in row] != defaulted:
            raise ValueError("copy_insert: a db_default column set on some rows only")
    columns = [(i, f) for i, f in enumerate(fields) if not defaulted[i]]
    names = ", ".join(connection.ops.quote_name(f.column) for _i, f in columns)
    table = connection.ops.quote_name(opts.db_table)
    events = _insert_events(model)
    ignored = [f"{opts.app_label}.{opts.object_name}:{trigger.name}" for trigger in events]
    with connection.cursor() as cursor:
        with pgtrigger.ignore(*ignored) if ignored else contextlib.nullcontext():
            # A statement that does nothing, through Django's cursor and so its execute
            # wrappers: pghistory's context and pgtrigger's ignore are set for the transaction.
            cursor.execute("DO $$BEGIN END$$")
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                plain = [(i, f, _PLAIN.get(type(f), ())) for i, f in columns]
                for row in rows:
                    copy.write_row(
                        [
                            value
                            if (value := row[i]) is None or type(value) in types
                            else f.get_db_prep_save(value, connection)
                            for i, f, types in plain
                        ]
                    )
        pks = [obj.pk for obj in objs]
        for trigger in events:
            _write_insert_events(cursor, connection, model, trigger, pks)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def _insert_events(model: type[models.Model]) -> list[HistoryEvent]:
    """The model's pghistory insert triggers that copy_insert writes itself: after insert, for
    each row, of the new row, with no condition, into an event model with a context key."""
    found = []
    for trigger in getattr(model._meta, "triggers", []):
        if (
            isinstance(trigger, HistoryEvent)
            and str(trigger.operation) == str(pgtrigger.Insert)
            and str(trigger.when) == str(pgtrigger.After)
            and trigger.level == pgtrigger.Row
            and trigger.row == "NEW"
            and trigger.condition is None
            and hasattr(trigger.event_model, "pgh_obj")
            and isinstance(trigger.event_model._meta.get_field("pgh_context"), models.ForeignKey)
        ):
            found.append(trigger)
    return found


def _write_insert_events(cursor, connection, model, trigger: HistoryEvent, pks: list) -> None:
    """One INSERT … SELECT of the events the trigger would have written for the rows ``pks``,
    in their order: the columns pghistory.trigger.Event.get_func copies, its time function,
    label, object and context (``_pgh_attach_context()``, the function the trigger calls)."""
    event_model = trigger.event_model
    tracked = {f.name for f in model._meta.fields}
    quote = connection.ops.quote_name
    copied = [
        f.column
        for f in event_model._meta.fields
        if not isinstance(f, models.AutoField)
        and not isinstance(f, models.GeneratedField)
        and f.name in tracked
        and f.concrete
    ]
    pk_column = event_model._meta.get_field("pgh_obj").related_model._meta.pk.column
    pk_type = model._meta.pk.db_type(connection)
    cursor.execute("SELECT _pgh_attach_context()")
    (context_id,) = cursor.fetchone()
    targets = [*copied, "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context_id"]
    values = [f"t.{quote(c)}" for c in copied]
    values += [pghistory.config.created_at_function(), "%s", f"t.{quote(pk_column)}", "%s"]
    cursor.execute(
        f"INSERT INTO {quote(event_model._meta.db_table)} "
        f"({', '.join(quote(c) for c in targets)}) "
        f"SELECT {', '.join(values)} "
        f"FROM unnest(%s::{pk_type}[]) WITH ORDINALITY AS new (pk, n) "
        f"JOIN {quote(model._meta.db_table)} t ON t.{quote(pk_column)} = new.pk ORDER BY new.n",
        [trigger.label, context_id, pks],
    )
