"""API of the quarterly verification (季度核查, domain §10), in api.md's conventions: scoped
(404 outside the user's area), 403 for a role that may not, 409 for a workflow that does not
allow it, 422 naming each bad field.

- ``GET /verifications?year=&quarter=&area=&status=`` the verifications of the user's area
- ``POST /verifications {village_code, year, quarter}`` the village's verification of the
  quarter: 201 when started now, 200 with the one already started (idempotent)
- ``GET /verifications/overview?area=&year=&quarter=`` where each area below stands
- ``GET /verifications/{id}`` with its checklist (``items``)
- ``POST /verifications/{id}/items/{child_id}`` confirm one child
- ``POST /verifications/{id}/submit`` · ``POST /verifications/{id}/reopen {reason}``
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts import selectors as scope
from accounts.models import AreaLevel
from accounts.permissions import Capability
from accounts.services import audit_api_read
from children import rules as child_rules
from core import clock
from core.api import PageParams, page_of

from . import verification_rules as rules
from . import verification_selectors as selectors
from . import verification_services as services
from .models import QuarterlyVerification

router = Router(tags=["verifications"])

School = Literal["preschool", "in_school", "not_enrolled", "dropped_out", "suspended", "graduated"]


class VerificationIn(Schema):
    village_code: str = Field(..., min_length=12, max_length=12)
    year: int = Field(..., ge=rules.EARLIEST_YEAR, le=2100)
    quarter: int = Field(..., ge=1, le=4)


class ItemIn(Schema):
    family_ok: bool
    guardianship_ok: bool
    schooling_ok: bool
    benefits_received: Literal["yes", "no", "none_due"]
    changes_found: str | None = None
    # A new school status is written to the file (children.services.child_update); ``version``,
    # when given, must be the file's (else 409).
    school_status: School | None = None
    version: int | None = Field(None, ge=0, le=2_147_483_647)


class ReopenIn(Schema):
    reason: str


class ListParams(PageParams):
    year: int | None = Field(None, ge=rules.EARLIEST_YEAR, le=2100)
    quarter: int | None = Field(None, ge=1, le=4)
    area: str | None = Field(None, max_length=12)
    status: Literal["draft", "submitted"] | None = None


class OverviewParams(Schema):
    area: str | None = Field(None, max_length=12)
    year: int | None = Field(None, ge=rules.EARLIEST_YEAR, le=2100)
    quarter: int | None = Field(None, ge=1, le=4)


class ItemOut(Schema):
    child_id: str
    name: str
    gender: str
    birth_date: date
    age: int
    id_number_masked: str
    categories: list[str]
    categories_pending: list[str]
    school_status: str
    risk_level: str
    confirmed: bool
    family_ok: bool | None
    guardianship_ok: bool | None
    schooling_ok: bool | None
    benefits_received: str | None
    changes_found: str
    changed_fields: list[str]
    confirmed_at: datetime | None
    confirmed_by: str | None


class VerificationOut(Schema):
    id: str
    village_code: str
    village_name: str
    year: int
    quarter: int
    status: str
    as_of: date
    due_date: date
    children_count: int
    confirmed_count: int
    created_at: datetime
    created_by: str
    submitted_at: datetime | None
    submitted_by: str | None
    reopened_at: datetime | None
    reopen_reason: str


class VerificationDetail(VerificationOut):
    items: list[ItemOut]


class VerificationList(Schema):
    items: list[VerificationOut]
    count: int


class OverviewRowOut(Schema):
    code: str
    name: str
    level: str
    villages: int
    submitted: int
    in_progress: int
    not_started: int
    children: int
    confirmed: int
    state: str | None  # a village's: submitted, in_progress, not_started, nothing_to_verify
    submitted_at: datetime | None


class OverviewOut(Schema):
    area_code: str
    area_name: str
    year: int
    quarter: int
    as_of: date
    due_date: date
    items: list[OverviewRowOut]
    count: int


def _name(user) -> str | None:
    return user.display_name if user is not None else None


def _verification_out(verification: QuarterlyVerification, *, listed: int, confirmed: int):
    today = clock.today()
    return {
        "id": str(verification.pk),
        "village_code": verification.village_id,
        "village_name": verification.village.name,
        "year": verification.year,
        "quarter": verification.quarter,
        "status": verification.status,
        "as_of": rules.as_of(verification.year, verification.quarter, today),
        "due_date": selectors.due_of(verification, verification.year, verification.quarter),
        "children_count": listed,
        "confirmed_count": confirmed,
        "created_at": verification.created_at,
        "created_by": verification.created_by.display_name,
        "submitted_at": verification.submitted_at,
        "submitted_by": _name(verification.submitted_by),
        "reopened_at": verification.reopened_at,
        "reopen_reason": verification.reopen_reason,
    }


def _item_out(row, today: date) -> dict:
    child, item = row.child, row.item
    return {
        "child_id": str(child.pk),
        "name": child.name,
        "gender": child.gender,
        "birth_date": child.birth_date,
        "age": child_rules.age_on(child.birth_date, today),
        "id_number_masked": child.id_number_masked,
        "categories": child.categories,
        "categories_pending": child.categories_pending,
        "school_status": child.school_status,
        "risk_level": child.risk_level,
        "confirmed": item is not None,
        "family_ok": item.family_ok if item else None,
        "guardianship_ok": item.guardianship_ok if item else None,
        "schooling_ok": item.schooling_ok if item else None,
        "benefits_received": item.benefits_received if item else None,
        "changes_found": item.changes_found if item else "",
        "changed_fields": item.changed_fields if item else [],
        "confirmed_at": item.confirmed_at if item else None,
        "confirmed_by": item.confirmed_by.display_name if item else None,
    }


def _detail(request: HttpRequest, verification: QuarterlyVerification) -> dict:
    """The verification with its checklist; a read of each child's file, audited."""
    today = clock.today()
    rows = selectors.checklist_for(
        village_code=verification.village_id,
        year=verification.year,
        quarter=verification.quarter,
        verification=verification,
        today=today,
    )
    audit_api_read(request, [row.child for row in rows])
    return {
        **_verification_out(
            verification,
            listed=len(rows),
            confirmed=sum(1 for row in rows if row.confirmed),
        ),
        "items": [_item_out(row, today) for row in rows],
    }


@router.get("/verifications", response=VerificationList)
def verification_list(request: HttpRequest, params: Query[ListParams]) -> dict:
    """The verifications of the user's area (``area``: a code within it, else 404), newest
    quarter first."""
    user = request.auth
    area = scope.area_for_user_or_404(user=user, code=params.area) if params.area else None
    found = selectors.verifications_for_user(
        user=user,
        today=clock.today(),
        year=params.year,
        quarter=params.quarter,
        area=area,
        status=params.status,
    )
    page, count = page_of(found, params)
    return {
        "items": [_verification_out(v, listed=v.listed, confirmed=v.confirmed) for v in page],
        "count": count,
    }


@router.post("/verifications", response={200: VerificationDetail, 201: VerificationDetail})
def verification_start(request: HttpRequest, payload: VerificationIn):
    """The village's verification of the quarter: started now (201) or the one already there
    (200). Only the quarter under way or the one before may be started (else 422); a code that
    is not a village → 422; outside the user's area → 404; a role that reads only → 403."""
    user = request.auth
    area = scope.area_for_user_or_404(user=user, code=payload.village_code)
    if area.level != AreaLevel.VILLAGE:
        raise ValidationError({"village_code": ["Choose a village."]})
    village = selectors.village_for_user_or_404(
        user=user, code=area.code, capability=Capability.VERIFICATION_RECORD
    )
    verification, created = services.verification_open(
        user=user, village=village, year=payload.year, quarter=payload.quarter
    )
    return Status(201 if created else 200, _detail(request, verification))


@router.get("/verifications/overview", response=OverviewOut)
def verification_overview(request: HttpRequest, params: Query[OverviewParams]) -> dict:
    """Where each area one level below ``area`` (the user's own by default) stands in the
    quarter (the one under way by default): villages submitted, in progress, not started."""
    user = request.auth
    today = clock.today()
    current = rules.quarter_of(today)
    year = params.year or current[0]
    quarter = params.quarter or current[1]
    if not rules.valid_quarter(year, quarter, today):
        raise ValidationError({"quarter": ["Not a quarter that has begun."]})
    picker = scope.area_picker_for(user=user, code=params.area or "")
    if picker is None:
        raise ValidationError({"area": ["Your account has no area."]})
    overview = selectors.overview_for(
        user=user, area=picker.current, rows=picker.choices, year=year, quarter=quarter, today=today
    )
    items = [
        {
            "code": row.area.code,
            "name": row.area.name,
            "level": row.area.level,
            "villages": row.villages,
            "submitted": row.submitted,
            "in_progress": row.in_progress,
            "not_started": row.not_started,
            "children": row.children,
            "confirmed": row.confirmed,
            "state": row.state if row.is_village else None,
            "submitted_at": row.submitted_at,
        }
        for row in overview.rows
    ]
    return {
        "area_code": picker.current.code,
        "area_name": picker.current.name,
        "year": year,
        "quarter": quarter,
        "as_of": overview.as_of,
        "due_date": overview.due,
        "items": items,
        "count": len(items),
    }


@router.get("/verifications/{verification_id}", response=VerificationDetail)
def verification_detail(request: HttpRequest, verification_id: str) -> dict:
    verification = selectors.verification_for_user_or_404(
        user=request.auth, verification_id=verification_id
    )
    return _detail(request, verification)


@router.post("/verifications/{verification_id}/items/{child_id}", response=ItemOut)
def verification_item_confirm(
    request: HttpRequest, verification_id: str, child_id: str, payload: ItemIn
) -> dict:
    """Confirm one child of the checklist (again: the latest stands). A child outside the user's
    area or not on this checklist → 404; a submitted verification → 409."""
    user = request.auth
    verification = selectors.verification_for_user_or_404(
        user=user, verification_id=verification_id, capability=Capability.VERIFICATION_RECORD
    )
    today = clock.today()
    child, _item = selectors.checklist_child_or_404(
        user=user,
        village_code=verification.village_id,
        year=verification.year,
        quarter=verification.quarter,
        verification=verification,
        child_id=child_id,
        today=today,
    )
    item = services.verification_item_confirm(
        user=user,
        verification=verification,
        child=child,
        family_ok=payload.family_ok,
        guardianship_ok=payload.guardianship_ok,
        schooling_ok=payload.schooling_ok,
        benefits_received=payload.benefits_received,
        changes_found=payload.changes_found or "",
        school_status=payload.school_status,
        file_version=payload.version,
    )
    child.refresh_from_db()
    return _item_out(selectors.ChecklistRow(child, item), today)


@router.post("/verifications/{verification_id}/submit", response=VerificationDetail)
def verification_submit(request: HttpRequest, verification_id: str) -> dict:
    """Submit to the township: 409 ``unconfirmed`` (with their ids) while a child of the
    checklist is not confirmed, 409 ``submitted`` when it already is."""
    verification = selectors.verification_for_user_or_404(
        user=request.auth,
        verification_id=verification_id,
        capability=Capability.VERIFICATION_RECORD,
    )
    verification = services.verification_submit(user=request.auth, verification=verification)
    return _detail(request, verification)


@router.post("/verifications/{verification_id}/reopen", response=VerificationDetail)
def verification_reopen(request: HttpRequest, verification_id: str, payload: ReopenIn) -> dict:
    """The township re-opens a submitted verification (the village's own director → 403; a
    draft → 409; no reason → 422)."""
    verification = selectors.verification_for_user_or_404(
        user=request.auth,
        verification_id=verification_id,
        capability=Capability.VERIFICATION_RECORD,
    )
    verification = services.verification_reopen(
        user=request.auth, verification=verification, reason=payload.reason
    )
    return _detail(request, verification)
