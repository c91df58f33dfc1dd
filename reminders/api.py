"""API: the user's reminders, exactly as api.md."""

from __future__ import annotations

from datetime import date

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


class ReminderList(Schema):
    items: list[ReminderOut]
    count: int


@router.get("/reminders", response=ReminderList)
def reminders(request: HttpRequest, params: Query[PageParams]):
    rows, count = page_of(selectors.reminders_for(user=request.auth), params)
    items = [
        {
            "id": str(n.pk),
            "kind": n.kind,
            "child_id": str(n.child_id) if n.child_id else None,
            "report_id": str(n.report_id) if n.report_id else None,
            "due_date": n.due_date,
            "created_on": n.created_on,
            "read": n.read_at is not None,
        }
        for n in rows
    ]
    return {"items": items, "count": count}
