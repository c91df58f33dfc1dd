"""API: the user's reminders, exactly as api.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from core.api import PageParams, page_of

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
    rows, count = page_of(selectors.reminders_for(user=request.auth, status=params.status), params)
    items = [
        {
            "id": str(n.pk),
            "kind": n.kind,
            "child_id": str(n.child_id) if n.child_id else None,
            "report_id": str(n.report_id) if n.report_id else None,
            "due_date": n.due_date,
            "created_on": n.created_on,
            "read": n.read_at is not None,
            "resolved_at": n.resolved_at,
        }
        for n in rows
    ]
    return {"items": items, "count": count}
