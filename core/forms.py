"""Form helpers every app's pages share: a service's refusal shown to the person, next to the
field it names or as a page message, and the small action forms posted with a page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from .errors import Conflict


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


@contextmanager
def refusals_on_form(
    form: forms.Form,
    field_map: dict | None = None,
    *,
    conflict_on_field: bool = False,
    raise_conflicts: bool = False,
) -> Iterator[None]:
    """Run a service call for a checked form: a ValidationError is shown next to the fields it
    names, a Conflict above the form (next to its field with ``conflict_on_field``), and the code
    after the call in the block is skipped, so the page is shown again with them. With
    ``raise_conflicts`` a Conflict goes on to the caller (a script's upload: core.capture)."""
    try:
        yield
    except ValidationError as exc:
        add_service_errors(form, exc, field_map)
    except Conflict as exc:
        if raise_conflicts:
            raise
        on_field = conflict_on_field and exc.field in form.fields
        form.add_error(exc.field if on_field else None, exc.message)


@contextmanager
def refusals_as_messages(request: HttpRequest) -> Iterator[None]:
    """As ``refusals_on_form``, for a small action form whose page is shown after a redirect:
    a service's refusal becomes page messages."""
    try:
        yield
    except ValidationError as exc:
        add_service_messages(request, exc)
    except Conflict as exc:
        messages.error(request, exc.message)


def run_small_form(request, form_class, action, done: Callable[[Any], str] | None = None) -> bool:
    """Check a small action form posted with the page, run ``action(cleaned_data)`` (a service
    call) and report the outcome as page messages (``done(result)`` says what was done; else
    "Saved."). True when the action ran."""
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return False
    with refusals_as_messages(request):
        result = action(form.cleaned_data)
        messages.success(request, done(result) if done is not None else gettext("Saved."))
        return True
    return False


def small_form_view(
    form_class: type[forms.Form],
    service: Callable[..., object],
    *,
    fetch: Callable[..., Any],
    record: str,
    back: Callable[[Any], HttpResponse],
    done: Callable[[Any], str] | None = None,
) -> Callable[..., HttpResponse]:
    """A signed-in POST action on one record, as a view: ``fetch(request, **url_kwargs)`` finds
    the record (scoped: 404, 403), ``service(user=…, <record>=…, **cleaned_data)`` runs through
    ``run_small_form`` (``done`` words its outcome), and ``back(record)`` returns to the record's
    page."""

    @login_required
    @require_POST
    def view(request: HttpRequest, **url_kwargs: Any) -> HttpResponse:
        found = fetch(request, **url_kwargs)
        run_small_form(
            request,
            form_class,
            lambda data: service(user=request.user, **{record: found}, **data),
            done,
        )
        return back(found)

    return view


def form_page_view(
    form_class: type[forms.Form],
    service: Callable[..., object],
    *,
    fetch: Callable[..., Any],
    record: str,
    template: str,
    done: str,
    back: Callable[[Any], HttpResponse],
) -> Callable[..., HttpResponse]:
    """A signed-in page with one form about one record, as a view: ``fetch(request, **url_kwargs)``
    finds the record (scoped: 404, 403); a valid POST runs ``service(user=…, <record>=…,
    **cleaned_data)``, says ``done`` and returns ``back(record)``; a refusal is shown on the form
    (``refusals_on_form``), and the page is ``template`` with ``form`` and the record."""

    @login_required
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest, **url_kwargs: Any) -> HttpResponse:
        found = fetch(request, **url_kwargs)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            with refusals_on_form(form):
                service(user=request.user, **{record: found}, **form.cleaned_data)
                messages.success(request, done)
                return back(found)
        return render(request, template, {"form": form, record: found})

    return view


def phone_field(label: str, *, required: bool = True, **kwargs: Any) -> forms.CharField:
    """A phone number as the forms ask it: up to 20 characters, the phone's number keypad."""
    return forms.CharField(
        label=label,
        max_length=20,
        required=required,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
        **kwargs,
    )
