"""Field capture from a phone that may be offline (README "Offline capture").

The visit, contact and parent-contact forms are sent by the page's script (static/js/capture.js)
as they are typed offline and uploaded later, perhaps twice. Two pieces every floor shares:

- ``record_once``: a record carries the phone's ``client_id``; a repeat of it finds the first
  record instead of creating a second (a unique constraint settles two at once).
- the answers to a script's upload (``X-Shouwang-Sync: 1``): JSON with a ``status`` the script
  acts on — created, duplicate, invalid (with the page re-rendered), conflict (with both
  versions), login — instead of a redirect or a page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext

from .errors import Conflict

T = TypeVar("T")

# The conflicts a phone acts on (Conflict.code): the file was closed, or changed since the form
# was filled in; the visit being corrected was changed elsewhere, or reviewed.
CHILD_CLOSED = "child_closed"
FILE_CHANGED = "file_changed"
VISIT_EDITED = "visit_edited"
VISIT_REVIEWED = "visit_reviewed"

SYNC_HEADER = "HTTP_X_SHOUWANG_SYNC"
INTERACTIVE_HEADER = "HTTP_X_SHOUWANG_INTERACTIVE"


def record_once(
    *,
    client_id: uuid.UUID,
    find: Callable[[uuid.UUID], T | None],
    create: Callable[[], T],
    same: Callable[[T], bool],
) -> tuple[T, bool]:
    """(record, True) when ``create()`` made it; (the earlier record, False) when ``find`` knows
    ``client_id`` already — also when the same upload raced this one and won. A ``client_id``
    whose record is not ``same`` (another person's, another child's) is a Conflict."""
    existing = find(client_id)
    if existing is None:
        try:
            with transaction.atomic():
                return create(), True
        except IntegrityError:
            existing = find(client_id)
            if existing is None:
                raise
    if not same(existing):
        raise Conflict(
            gettext("This record id is already used by another record"),
            field="client_id",
            code="client_id_reused",
        )
    return existing, False


def is_sync(request: HttpRequest) -> bool:
    """The page's script sent this form (and wants JSON back)."""
    return request.META.get(SYNC_HEADER) == "1"


def is_interactive(request: HttpRequest) -> bool:
    """The person pressed Save on the page (not a background upload): say what was done on the
    next page as a form would."""
    return request.META.get(INTERACTIVE_HEADER) == "1"


def saved(*, created: bool, record_id: Any, redirect_to: str, message: str = "") -> JsonResponse:
    """201 for a new record, 200 for a repeat of one (nothing new was created)."""
    return JsonResponse(
        {
            "status": "created" if created else "duplicate",
            "id": str(record_id),
            "redirect": resolve_url(redirect_to),
            "message": str(message),
        },
        status=201 if created else 200,
    )


def saved_edit(*, record_id: Any, redirect_to: str, message: str = "") -> JsonResponse:
    """200: a correction was saved."""
    return JsonResponse(
        {
            "status": "saved",
            "id": str(record_id),
            "redirect": resolve_url(redirect_to),
            "message": str(message),
        }
    )


def invalid(form, page: HttpResponse) -> JsonResponse:
    """422: what is wrong, field by field, and the page re-rendered with the errors for the
    script to show in place of its own."""
    page_html = page.content.decode(page.charset or "utf-8") if hasattr(page, "content") else ""
    return JsonResponse(
        {
            "status": "invalid",
            "errors": {field: [str(e) for e in errors] for field, errors in form.errors.items()},
            "html": page_html,
        },
        status=422,
    )


# What the phone's conflict screen is told happened (the others: "refused").
REASONS = {
    CHILD_CLOSED: "closed",
    FILE_CHANGED: "changed",
    VISIT_EDITED: "edited",
    VISIT_REVIEWED: "reviewed",
}


def conflict(
    exc: Conflict, *, title: str, rows: Iterable[tuple[str, str, Any, str]]
) -> JsonResponse:
    """409: what happened meanwhile (``reason``), what the server holds now (``server``: a
    title and labelled fields, ``fields_out``) and the version to send back (with ``force``)
    to keep the phone's own."""
    version = exc.data.get("version")
    return JsonResponse(
        {
            "status": "conflict",
            "reason": REASONS.get(exc.code, "refused"),
            "message": str(exc.message),
            "base": "" if version is None else str(version),
            "server": fields_out(title, rows),
            "then": None,
        },
        status=409,
    )


def file_version(form) -> int | None:
    """The version of the child's file a record was typed on (its form's ``base``); None when
    not said, or when the director chose to keep their record after seeing the change
    (``force``)."""
    base = form.cleaned_data.get("base") or ""
    if form.cleaned_data.get("force") or not base.isdigit():
        return None
    return int(base)


def fields_out(title: str, rows: Iterable[tuple[str, str, Any, str]]) -> dict:
    """The ``server`` part of a conflict: (name, label, value as the form takes it, display)."""
    return {
        "title": str(title),
        "fields": [
            {"name": name, "label": str(label), "value": value, "display": str(display)}
            for name, label, value, display in rows
        ],
    }


class SyncLoginMiddleware:
    """A script's upload whose session has ended gets 401 ``{"status": "login"}`` rather than the
    sign-in page (a redirect the script would follow and take for a success): the phone keeps
    the item and asks the person to sign in again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_sync(request) and response.status_code in (301, 302, 303):
            target = response.get("Location", "")
            login = resolve_url(settings.LOGIN_URL)
            if target.startswith(login) or "/two-factor/" in target:
                return JsonResponse({"status": "login"}, status=401)
        return response
