"""Reads of a person's reminders (the inbox, the bell, the API, the home page)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, QuerySet, Window

from accounts.models import User
from core.compiled import Compiled, Param, Read, counted, together

from .models import Notification

OPEN = "open"
RESOLVED = "resolved"
STATUSES = (OPEN, RESOLVED)


def reminders_for(*, user: User, status: str | None = None) -> QuerySet[Notification]:
    """The person's reminders. Open ones by urgency: the earliest due first (overdue before due
    soon), undated last; resolved ones the latest resolved first; all of them open first."""
    return _reminders(user.pk, status)


def _reminders(recipient: Any, status: str | None, *, child: bool = True) -> QuerySet[Notification]:
    queryset = Notification.objects.filter(recipient_id=recipient)
    if child:
        queryset = queryset.select_related("child")
    if status == OPEN:
        return queryset.filter(resolved_at__isnull=True).order_by(
            F("due_date").asc(nulls_last=True), "-created_on", "kind", "pk"
        )
    if status == RESOLVED:
        return queryset.filter(resolved_at__isnull=False).order_by("-resolved_at", "pk")
    return queryset.order_by(
        F("resolved_at").desc(nulls_first=True),
        F("due_date").asc(nulls_last=True),
        "-created_on",
        "pk",
    )


# What the API gives of a reminder (reminders.api): its own columns, not its child's file.
API_FIELDS = (
    "id",
    "kind",
    "child_id",
    "report_id",
    "due_date",
    "created_on",
    "read_at",
    "resolved_at",
)
_API_PAGE = Compiled(
    lambda status: _reminders(Param("user"), status, child=False).values_list(*API_FIELDS),
    prepared=True,
)
_API_COUNT = Compiled(
    lambda status: counted(_reminders(Param("user"), status, child=False)), prepared=True
)


def reminders_page(
    *, user: User, status: str | None, offset: int, limit: int
) -> tuple[list[tuple], int]:
    """A page of ``reminders_for`` as rows of API_FIELDS, and how many there are in all: two
    kept statements in one round trip."""
    rows, count = together(
        _API_PAGE.read(status, user=user.pk, window=(limit, offset)),
        _API_COUNT.count_read(status, user=user.pk),
    )
    return rows, count


# The first few open reminders, each carrying the number of all of them (the home page's panel).
# Only what the panel shows: the child's name, not its whole file (a case note decrypted each).
_OPEN_FIRST = Compiled(
    lambda limit: (
        _reminders(Param("user"), OPEN)
        .only("kind", "detail", "due_date", "report_id", "child__name")
        .annotate(open_total=Window(Count("id")))[:limit]
    ),
    prepared=True,
)


def open_first_read(user: User, limit: int) -> Read[list[Notification]]:
    """The ``limit`` most urgent open reminders, each with ``open_total``: how many are open
    (a read to send with the page's others: core.compiled.together)."""
    return _OPEN_FIRST.read(limit, user=user.pk)


_OPEN_COUNT = Compiled(
    lambda: counted(
        Notification.objects.filter(recipient_id=Param("user"), resolved_at__isnull=True)
    ),
    prepared=True,
)


def open_count(user: User) -> int:
    """The bell: open reminders only (done work leaves it at once)."""
    return _OPEN_COUNT.count(user=user.pk)
