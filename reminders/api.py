"""API: the user's reminders, exactly as api.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from core.api import PageParams

from . import selectors

router = Router(tags=["reminders"])


class ReminderOut(Schema):
    id: str
    kind: str
    child_id: str | None
    report_id: str | None
    due_date: date | None
    created_on: date
    read: bool
    resolved_at: datetime | None


class ReminderList(Schema):
    items: list[ReminderOut]
    count: int


class ReminderParams(PageParams):
    # open: not yet answered by the work it asks for; resolved: answered. Absent: both.
    status: Literal["open", "resolved"] | None = None


@router.get("/reminders", response=ReminderList)
def reminders(request: HttpRequest, params: Query[ReminderParams]):
    rows, count = selectors.reminders_page(
        user=request.auth,
        status=params.status,
        offset=(params.page - 1) * params.page_size,
        limit=params.page_size,
    )
    items = [
        {
            "id": str(pk),
            "kind": kind,
            "child_id": str(child_id) if child_id else None,
            "report_id": str(report_id) if report_id else None,
            "due_date": due_date,
            "created_on": created_on,
            "read": read_at is not None,
            "resolved_at": resolved_at,
        }
        for pk, kind, child_id, report_id, due_date, created_on, read_at, resolved_at in rows
    ]
    return {"items": items, "count": count}
