"""API: the registry of organisations and the referrals of children to them (domain §10), in the
style of api.md: lists ``{"items": [...], "count": N}``, 404 outside the user's area (or, for an
organisation's staff, another organisation's referral), 403 for a role that may not, 409 for an
answer that does not follow, 422 naming each bad field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts import organisations as registry
from accounts import permissions
from accounts import selectors as scope
from accounts.models import Organisation
from accounts.permissions import Capability
from accounts.services import audit_api_read
from children import selectors as child_selectors
from core import clock
from core.api import PageParams, page_of

from . import referral_rules, referrals, selectors
from .models import Referral

router = Router(tags=["referrals"])

KindCode = Literal["protection_agency", "social_work", "hospital", "other"]
AnswerCode = Literal["accepted", "declined", "service_given", "closed"]
StatusCode = Literal["sent", "accepted", "declined", "service_given", "closed", "withdrawn"]


# --- Organisations ----------------------------------------------------------------------------


class OrganisationOut(Schema):
    id: str
    name: str
    kind: str
    services: str
    contact_name: str
    phone: str = Field(description="the organisation's service number, in full (not personal)")
    address: str
    area_code: str
    area_name: str
    active: bool


class OrganisationList(Schema):
    items: list[OrganisationOut]
    count: int


class OrganisationParams(PageParams):
    q: str | None = Field(None, max_length=50)
    active: bool | None = Field(None, description="omitted: both active and inactive")
    child_id: str | None = Field(
        None, description="only the active organisations that serve this child"
    )


class OrganisationIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: KindCode = "other"
    services: str = Field("", max_length=2000)
    contact_name: str = Field("", max_length=50)
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200)
    area_code: str | None = Field(
        None, description="a county, city or province within the user's area; default: theirs"
    )


class OrganisationPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: KindCode | None = None
    services: str | None = Field(None, max_length=2000)
    contact_name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=20)
    address: str | None = Field(None, max_length=200)
    active: bool | None = None


def organisation_out(organisation: Organisation) -> dict:
    return {
        "id": str(organisation.pk),
        "name": organisation.name,
        "kind": organisation.kind,
        "services": organisation.services,
        "contact_name": organisation.contact_name,
        "phone": organisation.phone,
        "address": organisation.address,
        "area_code": organisation.area_id,
        "area_name": organisation.area.name,
        "active": organisation.active,
    }


@router.get("/organisations", response=OrganisationList)
def organisation_list(request: HttpRequest, params: Query[OrganisationParams]) -> dict:
    """The registry as the user may read it: the organisations serving their area (registered
    there or above) and those registered below it; ``child_id``: the active ones that serve
    that child (404 for a child outside the area)."""
    user = request.auth
    permissions.require(user, Capability.ORGANISATION_READ)
    organisations = registry.organisations_for(user=user)
    if params.child_id:
        child = child_selectors.child_for_user_or_404(user=user, child_id=params.child_id)
        organisations = organisations.filter(
            registry.serving_q(child.village_id), active=True
        ).order_by("-area_id", "name")
    if params.active is not None:
        organisations = organisations.filter(active=params.active)
    if params.q:
        organisations = organisations.filter(name__icontains=params.q.strip())
    page, count = page_of(organisations, params)
    return {"items": [organisation_out(o) for o in page], "count": count}


@router.post("/organisations", response={201: OrganisationOut})
def organisation_create(request: HttpRequest, payload: OrganisationIn):
    """Civil affairs register an organisation (at their area, or a county or city below it)."""
    user = request.auth
    permissions.require(user, Capability.ORGANISATION_EDIT)
    values = payload.dict()
    code = values.pop("area_code", None)
    area = scope.area_for_user_or_404(user=user, code=code) if code else None
    organisation = registry.organisation_create(user=user, area=area, **values)
    return Status(201, organisation_out(organisation))


@router.get("/organisations/{organisation_id}", response=OrganisationOut)
def organisation_detail(request: HttpRequest, organisation_id: str) -> dict:
    return organisation_out(
        registry.organisation_for_user_or_404(user=request.auth, organisation_id=organisation_id)
    )


@router.patch("/organisations/{organisation_id}", response=OrganisationOut)
def organisation_patch(request: HttpRequest, organisation_id: str, payload: OrganisationPatch):
    """Civil affairs change an organisation of their area; ``active: false`` deactivates it."""
    organisation = registry.organisation_for_user_or_404(
        user=request.auth,
        organisation_id=organisation_id,
        capability=Capability.ORGANISATION_EDIT,
    )
    values = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    registry.organisation_update(user=request.auth, organisation=organisation, **values)
    return organisation_out(organisation)


# --- Referrals --------------------------------------------------------------------------------


class ChildBrief(Schema):
    name: str
    gender: str
    age: int
    village_name: str


class OrganisationBrief(Schema):
    id: str
    name: str
    kind: str


class PersonBrief(Schema):
    name: str
    phone: str = Field(description="in full to the organisation's staff, who call back")


class EventOut(Schema):
    from_status: str
    to_status: str
    by: str
    at: datetime
    note: str


class ReferralOut(Schema):
    id: str
    status: str
    child: ChildBrief
    child_id: str | None = Field(None, description="the file's id; not for the organisation")
    report_id: str | None = Field(None, description="the report it came from, if the user may")
    organisation: OrganisationBrief
    reason: str
    referred_by: PersonBrief
    referred_at: datetime
    answer_due: date
    overdue: bool
    status_changed_at: datetime
    next_answers: list[str] = Field(description="what the organisation may answer next")
    events: list[EventOut]


class ReferralList(Schema):
    items: list[ReferralOut]
    count: int


class ReferralParams(PageParams):
    status: StatusCode | Literal["open"] | None = None
    overdue: bool = False
    child_id: str | None = None
    organisation_id: str | None = None


class ReferralIn(Schema):
    child_id: str
    report_id: str | None = None
    organisation_id: str | int
    reason: str = Field(..., max_length=referral_rules.MAX_TEXT)


class AnswerIn(Schema):
    status: AnswerCode
    note: str = Field("", max_length=referral_rules.MAX_TEXT)


class WithdrawIn(Schema):
    note: str = Field("", max_length=referral_rules.MAX_TEXT)


def referral_out(user, referral: Referral, *, with_events: bool = True) -> dict:
    """The referral as ``user`` may see it: the organisation's staff get the child's name,
    gender, age and village, the reason and who to call back — no file id, no report."""
    by_organisation = referrals.sees_by_organisation(user)
    events = []
    if with_events:
        events = [
            {
                "from_status": e.from_status,
                "to_status": e.to_status,
                "by": e.by.display_name,
                "at": e.at,
                "note": e.note,
            }
            for e in referrals.events_of(referral)
        ]
    return {
        "id": str(referral.pk),
        "status": referral.status,
        "child": referrals.child_summary(referral),
        "child_id": None if by_organisation else str(referral.child_id),
        "report_id": str(referral.report_id) if referrals.report_visible(user, referral) else None,
        "organisation": {
            "id": str(referral.organisation_id),
            "name": referral.organisation.name,
            "kind": referral.organisation.kind,
        },
        "reason": referral.reason,
        "referred_by": {
            "name": referral.referred_by.display_name,
            "phone": referrals.referrer_phone_for(user, referral),
        },
        "referred_at": referral.referred_at,
        "answer_due": referral.answer_due,
        "overdue": referral_rules.is_overdue(referral.status, referral.answer_due, clock.today()),
        "status_changed_at": referral.status_changed_at,
        "next_answers": list(referral_rules.answers_from(referral.status)),
        "events": events,
    }


def _detail(request: HttpRequest, referral_id) -> dict:
    referral = referrals.referral_for_user_or_404(user=request.auth, referral_id=referral_id)
    audit_api_read(request, [referral.child])
    return referral_out(request.auth, referral)


@router.get("/referrals", response=ReferralList)
def referral_list(request: HttpRequest, params: Query[ReferralParams]) -> dict:
    """Case workers: the referrals of children of their area; an organisation's staff: those
    sent to it. ``status=open``: not ended; ``overdue``: no answer after its last day."""
    user = request.auth
    permissions.require(user, Capability.REFERRAL_READ)
    queryset = referrals.filtered(
        referrals.referrals_for(user=user),
        referrals.ReferralFilters(
            status=params.status or "",
            overdue=params.overdue,
            child_id=params.child_id,
            organisation_id=params.organisation_id,
        ),
    )
    page, count = page_of(queryset, params)
    audit_api_read(request, [r.child for r in page])
    return {"items": [referral_out(user, r, with_events=False) for r in page], "count": count}


@router.post("/referrals", response={201: ReferralOut})
def referral_create(request: HttpRequest, payload: ReferralIn):
    """Refer a child of the user's area (404 outside it) to an organisation serving the child
    (else 422 on ``organisation_id``), optionally from a report of that child."""
    user = request.auth
    permissions.require(user, Capability.REFERRAL_MAKE)
    child = child_selectors.child_for_user_or_404(
        user=user, child_id=payload.child_id, capability=Capability.REFERRAL_MAKE
    )
    report = (
        selectors.report_for_user_or_404(
            user=user, report_id=payload.report_id, capability=Capability.REFERRAL_MAKE
        )
        if payload.report_id
        else None
    )
    referral = referrals.referral_create(
        user=user,
        child=child,
        organisation=payload.organisation_id,
        reason=payload.reason,
        report=report,
    )
    return Status(201, _detail(request, referral.pk))


@router.get("/referrals/{referral_id}", response=ReferralOut)
def referral_detail(request: HttpRequest, referral_id: str) -> dict:
    return _detail(request, referral_id)


@router.post("/referrals/{referral_id}/answers", response=ReferralOut)
def referral_answer(request: HttpRequest, referral_id: str, payload: AnswerIn) -> dict:
    """The organisation's answer, by its staff (403 for anyone else): accepted or declined
    first, then service given and closed; 409 when it does not follow; a note is required."""
    referral = referrals.referral_for_user_or_404(
        user=request.auth, referral_id=referral_id, capability=Capability.REFERRAL_ANSWER
    )
    referrals.referral_answer(
        user=request.auth, referral=referral, status=payload.status, note=payload.note
    )
    return _detail(request, referral.pk)


@router.post("/referrals/{referral_id}/withdraw", response=ReferralOut)
def referral_withdraw(request: HttpRequest, referral_id: str, payload: WithdrawIn) -> dict:
    """The referring side withdraws a referral not answered yet, saying why (409 once
    answered)."""
    referral = referrals.referral_for_user_or_404(
        user=request.auth, referral_id=referral_id, capability=Capability.REFERRAL_MAKE
    )
    referrals.referral_withdraw(user=request.auth, referral=referral, note=payload.note)
    return _detail(request, referral.pk)
