"""API: visits, their corrections and amendments, and the visit schedule, as api.md (the visit's
own GET, PATCH and amendments are additions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from accounts.permissions import Capability
from accounts.services import audit_api_read
from children import selectors as child_selectors
from core import clock
from core.api import PageParams, page_of

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
    # The phone's id of the visit: a retried upload answers 200 with the first visit.
    client_id: UUID | None = None
    findings: FindingsIn | None = None
    seen: list[Literal["child", "parent", "caregiver", "teacher", "other"]] | None = None
    safety_hazards: (
        list[Literal["drowning", "electricity", "traffic", "bullying", "online", "other"]] | None
    ) = None
    actions_taken: str | None = None
    follow_up_on: date | None = None


Day = date
Seen = Literal["child", "parent", "caregiver", "teacher", "other"]
Hazard = Literal["drowning", "electricity", "traffic", "bullying", "online", "other"]


class VisitPatch(Schema):
    """The fields sent are changed; the others stay as they are."""

    # ``Day``: a field named ``date`` with a default would hide the type in this namespace.
    date: Day | None = None
    kind: Literal["home", "phone", "video", "school", "other"] | None = None
    notes: str | None = None
    findings: FindingsIn | None = None
    seen: list[Seen] | None = None
    safety_hazards: list[Hazard] | None = None
    actions_taken: str | None = None
    follow_up_on: Day | None = None


class CorrectionsIn(Schema):
    """The findings an amendment corrects on the visit (those sent; null clears one)."""

    seen: list[Seen] | None = None
    guardian_present: bool | None = None
    caregiver_capable: bool | None = None
    in_school: bool | None = None
    safety_concern: bool | None = None
    safety_hazards: list[Hazard] | None = None
    family_situation: str | None = None
    health: str | None = None
    needs: str | None = None
    actions_taken: str | None = None
    follow_up_on: date | None = None
    follow_up_note: str | None = None


class AmendmentIn(Schema):
    text: str
    corrections: CorrectionsIn | None = None


class AmendmentOut(Schema):
    id: str
    visit_id: str
    text: str
    corrected_fields: list[str]
    by: str
    at: datetime
    visit_review_status: str


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
    client_id: str | None = None
    amendments: list[AmendmentOut] = []


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


def visit_out(visit, *, amendments: bool = False) -> dict:
    """The API's visit; with ``amendments`` its amendments too (prefetch them for a list: the
    handover export calls this per visit without them)."""
    out = {
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
        "client_id": str(visit.client_id) if visit.client_id else None,
    }
    if amendments:
        out["amendments"] = [amendment_out(a, visit) for a in visit.amendments.all()]
    return out


def amendment_out(amendment, visit) -> dict:
    return {
        "id": str(amendment.pk),
        "visit_id": str(amendment.visit_id),
        "text": amendment.text,
        "corrected_fields": amendment.corrected_fields,
        "by": amendment.by.display_name,
        "at": amendment.at,
        "visit_review_status": visit.review_status,
    }


@router.post("/children/{child_id}/visits", response={200: VisitOut, 201: VisitOut})
def visit_create(request: HttpRequest, child_id: str, payload: VisitIn):
    child = child_selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.VISIT_RECORD
    )
    findings = payload.findings.dict() if payload.findings else {}
    values = dict(
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
    if payload.client_id is None:
        visit, created = services.visit_record(user=request.auth, child=child, **values), True
    else:
        visit, created = services.visit_record_once(
            user=request.auth, child=child, client_id=payload.client_id, **values
        )
    return Status(201 if created else 200, visit_out(visit))


@router.get("/children/{child_id}/visits", response=VisitList)
def visit_list(request: HttpRequest, child_id: str, params: Query[PageParams]):
    child = child_selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    visits, count = page_of(selectors.visits_for_child(child=child), params)
    audit_api_read(request, [child])
    return {"items": [visit_out(v, amendments=True) for v in visits], "count": count}


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


@router.get("/visits/{visit_id}", response=VisitOut)
def visit_detail(request: HttpRequest, visit_id: str):
    visit = selectors.visit_for_user_or_404(user=request.auth, visit_id=visit_id)
    audit_api_read(request, [visit.child])
    return visit_out(visit, amendments=True)


def _patch_changes(payload: VisitPatch) -> dict:
    """The service's names for the fields sent (api.md's ``date`` and ``findings``)."""
    sent = payload.dict(exclude_unset=True)
    findings = sent.pop("findings", None) or {}
    changes = {("visited_on" if name == "date" else name): value for name, value in sent.items()}
    changes.update(findings)
    for name in ("notes", "actions_taken", "needs"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    for name in ("seen", "safety_hazards"):
        if name in changes and changes[name] is None:
            changes[name] = []
    return changes


@router.patch("/visits/{visit_id}", response=VisitOut)
def visit_patch(request: HttpRequest, visit_id: str, payload: VisitPatch):
    """The visitor corrects a visit awaiting review or returned; a reviewed one → 409 (add an
    amendment)."""
    visit = selectors.visit_for_user_or_404(
        user=request.auth, visit_id=visit_id, capability=Capability.VISIT_RECORD
    )
    visit = services.visit_update(user=request.auth, visit=visit, changes=_patch_changes(payload))
    return visit_out(visit, amendments=True)


@router.post("/visits/{visit_id}/amendments", response={201: AmendmentOut})
def visit_amendment_create(request: HttpRequest, visit_id: str, payload: AmendmentIn):
    """补充说明: the visit goes back to the review queue; the corrections change its findings."""
    visit = selectors.visit_for_user_or_404(
        user=request.auth, visit_id=visit_id, capability=Capability.VISIT_RECORD
    )
    corrections = payload.corrections.dict(exclude_unset=True) if payload.corrections else {}
    amendment = services.visit_amend(
        user=request.auth, visit=visit, text=payload.text, corrections=corrections
    )
    visit.refresh_from_db(fields=["review_status"])
    return Status(201, amendment_out(amendment, visit))
