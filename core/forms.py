"""Form helpers every app's pages share: a service's ValidationError shown to the person."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError


def add_service_errors(
    form: forms.Form, exc: ValidationError, field_map: dict | None = None
) -> None:
    """Show a service's ValidationError next to the fields it names."""
    field_map = field_map or {}
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            target = field_map.get(field, field)
            for message in messages:
                form.add_error(target if target in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def add_service_messages(request, exc: ValidationError) -> None:
    """Show a service's ValidationError as page messages (for small action forms)."""
    problems = exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]
    for group in problems:
        for problem in group:
            messages.error(request, problem)
