"""API: children (一人一档) and their family members, exactly as api.md "Children"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts import permissions
from accounts import selectors as scope
from accounts.permissions import Capability
from accounts.services import audit_api_read
from core import clock
from core.api import attributes
from core.masking import PHONE

from . import rules, selectors, services
from .models import Category, Child, FamilyMember

router = Router(tags=["children"])

# The category codes, in their order (children.models.Category): the API's enum.
CategoryCode = Literal[tuple(Category.values)]  # type: ignore[valid-type]
SchoolCode = Literal[
    "preschool", "in_school", "not_enrolled", "dropped_out", "suspended", "graduated"
]
RiskCode = Literal["low", "medium", "high"]


class _ChildOptional(Schema):
    """Fields that are optional both when registering and when changing a child."""

    id_number: str | None = None
    address: str | None = None
    categories: list[CategoryCode] | None = None
    school_status: SchoolCode | None = None
    risk_level: RiskCode | None = None
    disability: str | None = None
    illness: str | None = None
    notes: str | None = None
    ethnicity: str | None = None
    hukou_place: str | None = None
    school_name: str | None = None
    grade: str | None = None


class ChildIn(_ChildOptional):
    name: str = Field(..., min_length=1, max_length=50)
    gender: Literal["male", "female"]
    birth_date: date
    hukou_registered: bool = True
    village_code: str
    # A child without an ID number like one on file (409 possible_duplicate): "not the same".
    confirm_possible_duplicate: bool = False


class ChildPatch(_ChildOptional):
    version: int | None = None
    name: str | None = Field(None, min_length=1, max_length=50)
    gender: Literal["male", "female"] | None = None
    birth_date: date | None = None
    hukou_registered: bool | None = None
    village_code: str | None = None


class ChildOut(Schema):
    id: str
    name: str
    gender: str
    birth_date: date
    age: int
    id_number_masked: str
    id_number: str | None = Field(None, description="Full number, only for roles that may see it")
    village_code: str
    village_name: str
    categories: list[str]
    categories_pending: list[str]
    focus_flags: list[str]
    is_key_child: bool
    school_status: str
    risk_level: str
    status: str
    left_behind_reasons: list[str]
    parent_contact_overdue: bool
    hukou_registered: bool
    disability: str | None
    illness: str | None
    closed_reason: str | None
    household_id: str
    created_at: datetime
    updated_at: datetime
    version: int


class ChildList(Schema):
    items: list[ChildOut]
    count: int


class CloseIn(Schema):
    reason: Literal["turned_18", "parents_returned", "moved_away", "deceased", "other"]
    note: str | None = None


MemberStatusCode = Literal[
    "at_home",
    "working_away",
    "imprisoned",
    "in_rehab",
    "deceased",
    "missing",
    "lost_contact",
    "declared_missing",
    "other",
]


class FamilyMemberIn(Schema):
    relation: Literal["father", "mother", "grandparent", "other"]
    name: str = Field(..., min_length=1, max_length=50)
    phone: str | None = None
    id_number: str | None = None
    status: MemberStatusCode
    has_guardian_capacity: bool
    has_serious_disability: bool = False
    has_serious_illness: bool = False
    status_since: date | None = None
    work_place: str | None = None
    employer: str | None = None
    away_since: date | None = None


class FamilyMemberPatch(Schema):
    relation: Literal["father", "mother", "grandparent", "other"] | None = None
    name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = None
    id_number: str | None = None
    status: MemberStatusCode | None = None
    has_guardian_capacity: bool | None = None
    has_serious_disability: bool | None = None
    has_serious_illness: bool | None = None
    status_since: date | None = None
    work_place: str | None = None
    employer: str | None = None
    away_since: date | None = None


class FamilyMemberOut(Schema):
    id: str
    child_id: str = Field(description="the child the member is shown with (siblings share it)")
    household_id: str
    relation: str
    name: str
    phone: str = Field(description="full or masked, as the user's role may see it")
    phone_masked: str
    id_number_masked: str
    status: str
    has_guardian_capacity: bool
    has_serious_disability: bool
    has_serious_illness: bool
    status_since: date | None
    work_place: str
    employer: str
    away_since: date | None
    child: ChildOut


class FamilyMemberList(Schema):
    items: list[FamilyMemberOut]
    count: int


def child_facts(child: Child, today: date) -> dict:
    """What the API and the hand-over (dashboards.exports) both say of a file, numbers masked."""
    return {
        "id": str(child.pk),
        "name": child.name,
        "gender": child.gender,
        "birth_date": child.birth_date,
        "age": rules.age_on(child.birth_date, today),
        "id_number_masked": child.id_number_masked,
        "village_code": child.village_id,
        "categories": child.categories,
        "focus_flags": child.focus_flags,
        "is_key_child": child.is_key_child,
        "school_status": child.school_status,
        "risk_level": child.risk_level,
        "status": child.status,
        "left_behind_reasons": child.left_behind_reasons,
        "hukou_registered": child.hukou_registered,
        "disability": child.disability_type or None,
        "illness": child.illness or None,
        "closed_reason": child.closed_reason or None,
        "created_at": child.created_at,
        "updated_at": child.updated_at,
        "version": child.version,
    }


def child_out(user, child: Child) -> dict:
    today = clock.today()
    full = selectors.can_see_full_id(user, child)
    return {
        **child_facts(child, today),
        "id_number": selectors.id_number_for(user, child) if full else None,
        "village_name": child.village.name,
        "categories_pending": child.categories_pending,
        "parent_contact_overdue": selectors.parent_contact_overdue(child, today),
        "household_id": str(child.household_id),
    }


def member_fields(member: FamilyMember, child_id: Any) -> dict:
    """Who the member is and their situation, numbers masked: the API's and the hand-over's."""
    from core.masking import mask_phone

    return {
        "id": str(member.pk),
        "child_id": str(child_id),
        "household_id": str(member.household_id),
        "relation": member.relation,
        "name": member.name,
        "phone_masked": mask_phone(member.phone),
        "id_number_masked": member.id_number_masked,
        "status": member.status,
        "has_guardian_capacity": member.has_guardian_capacity,
    }


def member_out(user, member: FamilyMember, child: Child) -> dict:
    return {
        "phone": scope.shown_number(user, PHONE, member.phone, child.village_id),
        **member_fields(member, child.pk),
        "has_serious_disability": member.has_serious_disability,
        "has_serious_illness": member.has_serious_illness,
        "status_since": member.status_since,
        "work_place": member.work_place,
        "employer": member.employer,
        "away_since": member.away_since,
        "child": child_out(user, child),
    }


def _child_payload(payload: Schema) -> dict:
    data = payload.dict(exclude_unset=True)
    data.pop("version", None)
    if "disability" in data:
        data["disability_type"] = data.pop("disability") or ""
    for text_field in (
        "address",
        "illness",
        "notes",
        "ethnicity",
        "hukou_place",
        "school_name",
        "grade",
    ):
        if text_field in data and data[text_field] is None:
            data[text_field] = ""
    return data


class ListParams(Schema):
    village: str | None = None
    category: str | None = None
    risk: str | None = None
    flag: str | None = None
    school_status: str | None = None
    status: str | None = None
    visit_status: str | None = None
    q: str | None = None
    # Bounded so the offset stays a PostgreSQL bigint: a larger page would be a 500, not a 422.
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


@router.post("/children", response={201: ChildOut})
def child_create(request: HttpRequest, payload: ChildIn):
    data = _child_payload(payload)
    child = services.child_create(user=request.auth, **data)
    return Status(201, child_out(request.auth, child))


@router.get("/children", response=ChildList)
def child_list(request: HttpRequest, params: Query[ListParams]):
    filters = selectors.ChildFilters.from_params(
        {k: v for k, v in params.dict().items() if v is not None}
    )
    count, children = selectors.child_list_page(
        user=request.auth,
        filters=filters,
        offset=(params.page - 1) * params.page_size,
        limit=params.page_size,
    )
    audit_api_read(request, children)
    return {"items": [child_out(request.auth, c) for c in children], "count": count}


@router.get("/children/{child_id}", response=ChildOut)
def child_detail(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    audit_api_read(request, [child])
    return child_out(request.auth, child)


@router.patch("/children/{child_id}", response=ChildOut)
def child_patch(request: HttpRequest, child_id: str, payload: ChildPatch):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    child = services.child_update(
        user=request.auth, child=child, changes=_child_payload(payload), version=payload.version
    )
    return child_out(request.auth, child)


@router.post("/children/{child_id}/close", response=ChildOut)
def child_close(request: HttpRequest, child_id: str, payload: CloseIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    child = services.child_close(
        user=request.auth, child=child, reason=payload.reason, note=payload.note or ""
    )
    return child_out(request.auth, child)


class CategoryDecisionIn(Schema):
    category: str
    decision: str
    note: str = ""


@router.post("/children/{child_id}/category-confirmations", response=ChildOut)
def category_confirmation(request: HttpRequest, child_id: str, payload: CategoryDecisionIn):
    """County civil affairs confirm or reject a category waiting for them (403 for others)."""
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_CONFIRM_CATEGORY
    )
    child = services.category_decide(
        user=request.auth,
        child=child,
        category=payload.category,
        decision=payload.decision,
        note=payload.note,
    )
    return child_out(request.auth, child)


@router.post("/children/{child_id}/family-members", response={201: FamilyMemberOut})
def family_member_create(request: HttpRequest, child_id: str, payload: FamilyMemberIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    member = services.family_member_add(user=request.auth, child=child, **payload.dict())
    child.refresh_from_db()
    return Status(201, member_out(request.auth, member, child))


@router.get("/children/{child_id}/family-members", response=FamilyMemberList)
def family_member_list(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    members = selectors.family_for(child)
    audit_api_read(request, [child])
    return {"items": [member_out(request.auth, m, child) for m in members], "count": len(members)}


@router.patch("/family-members/{member_id}", response=FamilyMemberOut)
def family_member_patch(request: HttpRequest, member_id: str, payload: FamilyMemberPatch):
    member, child = selectors.member_for_user_or_404(user=request.auth, member_id=member_id)
    permissions.require(request.auth, Capability.CHILD_WRITE)
    member = services.family_member_update(
        user=request.auth, member=member, changes=payload.dict(exclude_unset=True)
    )
    child.refresh_from_db()
    return member_out(request.auth, member, child)


@router.delete("/family-members/{member_id}", response={204: None})
def family_member_delete(request: HttpRequest, member_id: str):
    member, _child = selectors.member_for_user_or_404(user=request.auth, member_id=member_id)
    services.family_member_delete(user=request.auth, member=member)
    return Status(204, None)


# --- Care agreements (委托照护) -------------------------------------------------------------------


class CareAgreementIn(Schema):
    caregiver_name: str = Field(..., min_length=1, max_length=50)
    caregiver_relation: Literal["grandparent", "other_relative", "other_adult"]
    caregiver_phone: str
    caregiver_id_number: str | None = None
    caregiver_birth_date: date | None = None
    start_date: date
    end_date: date
    parent_work_place: str
    parent_phone: str
    caregiver_health: str | None = None
    caregiver_address: str | None = None
    caregiver_declares_record: bool | None = None
    parent_employer: str | None = None
    parent_departure_date: date | None = None
    duties: str | None = None
    weekly_contact: bool | None = None
    signed_on: date | None = None
    filed_on: date | None = None


class CareAgreementOut(Schema):
    id: str
    child_id: str
    status: str
    caregiver_name: str
    caregiver_relation: str
    caregiver_phone: str = Field(description="full or masked, as the user's role may see it")
    caregiver_id_number_masked: str
    caregiver_birth_date: date | None
    start_date: date
    end_date: date
    parent_work_place: str
    parent_phone: str = Field(description="full or masked, as the user's role may see it")
    status_reason: str
    replacement_due: date | None
    created_at: datetime


class CareAgreementList(Schema):
    items: list[CareAgreementOut]
    count: int


class TerminateIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


def agreement_facts(agreement) -> dict:
    """What the API and the hand-over (dashboards.exports) both say of an agreement, without its
    phone numbers (shown as the role may see them, or masked)."""
    return {
        "id": str(agreement.pk),
        "child_id": str(agreement.child_id),
        **attributes(
            agreement,
            "status caregiver_name caregiver_relation caregiver_id_number_masked"
            " caregiver_birth_date start_date end_date parent_work_place status_reason"
            " replacement_due created_at",
        ),
    }


def agreement_out(user, agreement) -> dict:
    area = agreement.child.village_id
    return {
        **agreement_facts(agreement),
        "caregiver_phone": scope.shown_number(user, PHONE, agreement.caregiver_phone, area),
        "parent_phone": scope.shown_number(user, PHONE, agreement.parent_phone, area),
    }


@router.post("/children/{child_id}/care-agreements", response={201: CareAgreementOut})
def care_agreement_create(request: HttpRequest, child_id: str, payload: CareAgreementIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    agreement = services.care_agreement_create(user=request.auth, child=child, **payload.dict())
    return Status(201, agreement_out(request.auth, agreement))


@router.get("/children/{child_id}/care-agreements", response=CareAgreementList)
def care_agreement_list(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    agreements = list(child.care_agreements.all())
    audit_api_read(request, [child])
    return {"items": [agreement_out(request.auth, a) for a in agreements], "count": len(agreements)}


@router.post("/care-agreements/{agreement_id}/terminate", response=CareAgreementOut)
def care_agreement_terminate(request: HttpRequest, agreement_id: str, payload: TerminateIn):
    agreement = _agreement_or_404(request, agreement_id)
    permissions.require(request.auth, Capability.CHILD_WRITE)
    agreement = services.care_agreement_terminate(
        user=request.auth, agreement=agreement, reason=payload.reason
    )
    return agreement_out(request.auth, agreement)


class CaregiverUnableIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


@router.post("/care-agreements/{agreement_id}/caregiver-unable", response=CareAgreementOut)
def care_agreement_caregiver_unable(
    request: HttpRequest, agreement_id: str, payload: CaregiverUnableIn
):
    """The caregiver can no longer care: the agreement needs replacing and the parents are told."""
    agreement = _agreement_or_404(request, agreement_id)
    permissions.require(request.auth, Capability.CHILD_WRITE)
    agreement = services.care_agreement_caregiver_unable(
        user=request.auth, agreement=agreement, reason=payload.reason
    )
    return agreement_out(request.auth, agreement)


def _agreement_or_404(request: HttpRequest, agreement_id: str):
    from .models import CareAgreement

    return selectors.child_record_or_404(
        CareAgreement.objects.select_related("child"), user=request.auth, pk=agreement_id
    )


class ParentContactIn(Schema):
    date: date
    channel: Literal["phone", "video", "sms", "wechat", "in_person", "letter"]
    note: str | None = None
    parent_id: str | None = None


class ParentContactOut(Schema):
    id: str
    child_id: str
    date: date
    channel: str
    note: str


@router.post("/children/{child_id}/parent-contacts", response={201: ParentContactOut})
def parent_contact_create(request: HttpRequest, child_id: str, payload: ParentContactIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    parent = None
    if payload.parent_id:
        parent = FamilyMember.objects.filter(
            pk=payload.parent_id, household_id=child.household_id
        ).first()
    contact = services.parent_contact_record(
        user=request.auth,
        child=child,
        contacted_on=payload.date,
        channel=payload.channel,
        note=payload.note or "",
        parent=parent,
    )
    return Status(
        201,
        {
            "id": str(contact.pk),
            "child_id": str(child.pk),
            "date": contact.contacted_on,
            "channel": contact.channel,
            "note": contact.note,
        },
    )
