"""API: visits, the visit schedule and the user's reminders, exactly as api.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts.models import AuditAction
from accounts.services import audit_log
from children import selectors as child_selectors
from core import clock

from . import selectors, services

router = Router(tags=["visits"])


class FindingsIn(Schema):
    guardian_present: bool | None = None
    caregiver_capable: bool | None = None
    in_school: bool | None = None
    safety_concern: bool | None = None
    needs: str | None = None


class VisitIn(Schema):
    date: date
    kind: Literal["home", "phone", "video", "school", "other"]
    notes: str | None = None
    findings: FindingsIn | None = None
    seen: list[Literal["child", "parent", "caregiver", "teacher", "other"]] | None = None
    safety_hazards: (
        list[Literal["drowning", "electricity", "traffic", "bullying", "online", "other"]] | None
    ) = None
    actions_taken: str | None = None
    follow_up_on: date | None = None


class FindingsOut(Schema):
    guardian_present: bool | None
    caregiver_capable: bool | None
    in_school: bool | None
    safety_concern: bool | None
    needs: str


class VisitOut(Schema):
    id: str
    child_id: str
    date: date
    kind: str
    notes: str
    findings: FindingsOut
    seen: list[str]
    safety_hazards: list[str]
    actions_taken: str
    follow_up_on: date | None
    visitor: str
    review_status: str
    review_comment: str
    created_at: datetime


class VisitList(Schema):
    items: list[VisitOut]
    count: int


class ScheduleOut(Schema):
    next_contact_due: date | None
    next_home_visit_due: date | None
    home_visit_interval_days: int | None
    contact_interval_days: int | None
    status: str
    reason: str
    last_contact_on: date | None
    last_home_visit_on: date | None


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


class PageParams(Schema):
    # Bounded so the offset stays a PostgreSQL bigint: a larger page would be a 500, not a 422.
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def visit_out(visit) -> dict:
    return {
        "id": str(visit.pk),
        "child_id": str(visit.child_id),
        "date": visit.visited_on,
        "kind": visit.kind,
        "notes": visit.notes,
        "findings": {
            "guardian_present": visit.guardian_present,
            "caregiver_capable": visit.caregiver_capable,
            "in_school": visit.in_school,
            "safety_concern": visit.safety_concern,
            "needs": visit.needs,
        },
        "seen": visit.seen,
        "safety_hazards": visit.safety_hazards,
        "actions_taken": visit.actions_taken,
        "follow_up_on": visit.follow_up_on,
        "visitor": visit.visitor.display_name,
        "review_status": visit.review_status,
        "review_comment": visit.review_comment,
        "created_at": visit.created_at,
    }


@router.post("/children/{child_id}/visits", response={201: VisitOut})
def visit_create(request: HttpRequest, child_id: str, payload: VisitIn):
    child = child_selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.VISITOR_ROLES
    )
    findings = payload.findings.dict() if payload.findings else {}
    visit = services.visit_record(
        user=request.auth,
        child=child,
        visited_on=payload.date,
        kind=payload.kind,
        notes=payload.notes or "",
        needs=findings.pop("needs", None) or "",
        seen=payload.seen or [],
        safety_hazards=payload.safety_hazards or [],
        actions_taken=payload.actions_taken or "",
        follow_up_on=payload.follow_up_on,
        **findings,
    )
    return Status(201, visit_out(visit))


@router.get("/children/{child_id}/visits", response=VisitList)
def visit_list(request: HttpRequest, child_id: str, params: Query[PageParams]):
    child = child_selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    queryset = selectors.visits_for_child(child=child)
    count = queryset.count()
    start = (params.page - 1) * params.page_size
    visits = list(queryset[start : start + params.page_size])
    audit_log(
        user=request.auth,
        action=AuditAction.API_READ,
        object_type="child",
        records=[(str(child.pk), child.village_id)],
        request=request,
        detail={"path": request.path},
    )
    return {"items": [visit_out(v) for v in visits], "count": count}


@router.get("/children/{child_id}/schedule", response=ScheduleOut)
def schedule(request: HttpRequest, child_id: str):
    child = child_selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    return {
        "next_contact_due": child.next_contact_due,
        "next_home_visit_due": child.next_home_visit_due,
        "home_visit_interval_days": child.home_visit_interval_days,
        "contact_interval_days": child.contact_interval_days,
        "status": selectors.status_of(child, clock.today()),
        "reason": child.schedule_reason,
        "last_contact_on": child.last_contact_on,
        "last_home_visit_on": child.last_home_visit_on,
    }


@router.get("/reminders", response=ReminderList)
def reminders(request: HttpRequest, params: Query[PageParams]):
    queryset = selectors.reminders_for(user=request.auth)
    count = queryset.count()
    start = (params.page - 1) * params.page_size
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
        for n in queryset[start : start + params.page_size]
    ]
    return {"items": items, "count": count}
