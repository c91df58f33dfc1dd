"""``get_FOO_display`` with its labels looked up in a table made once.

Django's ``Model._get_FIELD_display`` rebuilds a dict of the field's choices on every call:
20 µs for a field of a few choices, 0.2 ms for a reminder's kind (sixty). A page that shows a
label per row paid for it per row (the worklist's reminders, a file's visits). ``keep_labels``
(CoreConfig.ready, once every model is loaded) gives each model field with fixed choices a
``get_FOO_display`` that reads a table built once. The labels stay lazy translations, so each
call still gives the current language's text; a value not among the choices is shown as it is,
as Django's does. Fields whose choices are computed (a callable) keep Django's method.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partialmethod
from typing import Any

from django.apps import apps
from django.db.models import Field, Model
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


def keep_labels() -> None:
    """Replace Django's ``get_FOO_display`` of every model field with fixed choices."""
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.fields:
            name = f"get_{field.name}_display"
            if isinstance(model.__dict__.get(name), partialmethod) and isinstance(
                field.choices, (list, tuple)
            ):
                setattr(model, name, _display(field))


def _display(field: Field) -> Callable[[Model], Any]:
    labels = dict(make_hashable(field.flatchoices))
    attname = field.attname

    def display(self: Model) -> Any:
        value = getattr(self, attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)

    display.__name__ = f"get_{field.name}_display"
    return display
