"""API: children (一人一档) and their family members, exactly as api.md "Children"."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import field_validator

from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import AuditAction
from accounts.services import audit_log
from core import clock
from core.masking import PHONE

from . import rules, selectors, services, subsidy_rules
from .models import Child, Enrolment, FamilyMember, SubsidyApplication, SubsidyStandard

router = Router(tags=["children"])

CategoryCode = Literal[
    "left_behind",
    "orphan",
    "de_facto_unsupported",
    "hiv_affected",
    "severe_disability",
    "serious_illness",
    "low_income_family",
    "guardian_abuse",
    "street_child",
    "emergency_affected",
    "single_parent",
]
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
    created_at: datetime
    updated_at: datetime
    version: int


class ChildList(Schema):
    items: list[ChildOut]
    count: int


class CloseIn(Schema):
    reason: Literal["turned_18", "parents_returned", "moved_away", "deceased", "other"]
    note: str | None = None


class FamilyMemberIn(Schema):
    relation: Literal["father", "mother", "grandparent", "other"]
    name: str = Field(..., min_length=1, max_length=50)
    phone: str | None = None
    id_number: str | None = None
    status: Literal[
        "at_home", "working_away", "imprisoned", "in_rehab", "deceased", "missing", "other"
    ]
    has_guardian_capacity: bool
    work_place: str | None = None
    employer: str | None = None
    away_since: date | None = None


class FamilyMemberPatch(Schema):
    relation: Literal["father", "mother", "grandparent", "other"] | None = None
    name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = None
    id_number: str | None = None
    status: (
        Literal["at_home", "working_away", "imprisoned", "in_rehab", "deceased", "missing", "other"]
        | None
    ) = None
    has_guardian_capacity: bool | None = None
    work_place: str | None = None
    employer: str | None = None
    away_since: date | None = None


class FamilyMemberOut(Schema):
    id: str
    child_id: str
    relation: str
    name: str
    phone: str = Field(description="full or masked, as the user's role may see it")
    phone_masked: str
    id_number_masked: str
    status: str
    has_guardian_capacity: bool
    work_place: str
    employer: str
    away_since: date | None
    child: ChildOut


class FamilyMemberList(Schema):
    items: list[FamilyMemberOut]
    count: int


def child_out(user, child: Child) -> dict:
    full = selectors.can_see_full_id(user, child)
    return {
        "id": str(child.pk),
        "name": child.name,
        "gender": child.gender,
        "birth_date": child.birth_date,
        "age": rules.age_on(child.birth_date, clock.today()),
        "id_number_masked": child.id_number_masked,
        "id_number": selectors.id_number_for(user, child) if full else None,
        "village_code": child.village_id,
        "village_name": child.village.name,
        "categories": child.categories,
        "focus_flags": child.focus_flags,
        "is_key_child": child.is_key_child,
        "school_status": child.school_status,
        "risk_level": child.risk_level,
        "status": child.status,
        "left_behind_reasons": child.left_behind_reasons,
        "parent_contact_overdue": selectors.parent_contact_overdue(child, clock.today()),
        "hukou_registered": child.hukou_registered,
        "disability": child.disability_type or None,
        "illness": child.illness or None,
        "closed_reason": child.closed_reason or None,
        "created_at": child.created_at,
        "updated_at": child.updated_at,
        "version": child.version,
    }


def member_out(user, member: FamilyMember, child: Child) -> dict:
    from .idcard import mask_phone

    return {
        "phone": scope.shown_number(user, PHONE, member.phone, child.village_id),
        "id": str(member.pk),
        "child_id": str(member.child_id),
        "relation": member.relation,
        "name": member.name,
        "phone_masked": mask_phone(member.phone),
        "id_number_masked": member.id_number_masked,
        "status": member.status,
        "has_guardian_capacity": member.has_guardian_capacity,
        "work_place": member.work_place,
        "employer": member.employer,
        "away_since": member.away_since,
        "child": child_out(user, child),
    }


def _audit_read(request: HttpRequest, children: list[Child]) -> None:
    audit_log(
        user=request.auth,
        action=AuditAction.API_READ,
        object_type="child",
        records=[(str(c.pk), c.village_id) for c in children],
        request=request,
        detail={"path": request.path},
    )


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
    queryset = selectors.child_list_for_user(user=request.auth, filters=filters)
    count = queryset.count()
    start = (params.page - 1) * params.page_size
    children = list(queryset[start : start + params.page_size])
    _audit_read(request, children)
    return {"items": [child_out(request.auth, c) for c in children], "count": count}


@router.get("/children/{child_id}", response=ChildOut)
def child_detail(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    _audit_read(request, [child])
    return child_out(request.auth, child)


@router.patch("/children/{child_id}", response=ChildOut)
def child_patch(request: HttpRequest, child_id: str, payload: ChildPatch):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.WRITE_ROLES
    )
    child = services.child_update(
        user=request.auth, child=child, changes=_child_payload(payload), version=payload.version
    )
    return child_out(request.auth, child)


@router.post("/children/{child_id}/close", response=ChildOut)
def child_close(request: HttpRequest, child_id: str, payload: CloseIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.WRITE_ROLES
    )
    child = services.child_close(
        user=request.auth, child=child, reason=payload.reason, note=payload.note or ""
    )
    return child_out(request.auth, child)


@router.post("/children/{child_id}/family-members", response={201: FamilyMemberOut})
def family_member_create(request: HttpRequest, child_id: str, payload: FamilyMemberIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.WRITE_ROLES
    )
    member = services.family_member_add(user=request.auth, child=child, **payload.dict())
    child.refresh_from_db()
    return Status(201, member_out(request.auth, member, child))


@router.get("/children/{child_id}/family-members", response=FamilyMemberList)
def family_member_list(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    members = selectors.family_for(child)
    _audit_read(request, [child])
    return {"items": [member_out(request.auth, m, child) for m in members], "count": len(members)}


def _member_or_404(request: HttpRequest, member_id: str) -> FamilyMember:
    return selectors.child_record_or_404(
        FamilyMember.objects.select_related("child", "child__village"),
        user=request.auth,
        pk=member_id,
    )


@router.patch("/family-members/{member_id}", response=FamilyMemberOut)
def family_member_patch(request: HttpRequest, member_id: str, payload: FamilyMemberPatch):
    member = _member_or_404(request, member_id)
    scope.require_role(request.auth, services.WRITE_ROLES)
    member = services.family_member_update(
        user=request.auth, member=member, changes=payload.dict(exclude_unset=True)
    )
    child = Child.objects.select_related("village").get(pk=member.child_id)
    return member_out(request.auth, member, child)


@router.delete("/family-members/{member_id}", response={204: None})
def family_member_delete(request: HttpRequest, member_id: str):
    member = _member_or_404(request, member_id)
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


def agreement_out(user, agreement) -> dict:
    area = agreement.child.village_id
    return {
        "id": str(agreement.pk),
        "child_id": str(agreement.child_id),
        "status": agreement.status,
        "caregiver_name": agreement.caregiver_name,
        "caregiver_relation": agreement.caregiver_relation,
        "caregiver_phone": scope.shown_number(user, PHONE, agreement.caregiver_phone, area),
        "caregiver_id_number_masked": agreement.caregiver_id_number_masked,
        "caregiver_birth_date": agreement.caregiver_birth_date,
        "start_date": agreement.start_date,
        "end_date": agreement.end_date,
        "parent_work_place": agreement.parent_work_place,
        "parent_phone": scope.shown_number(user, PHONE, agreement.parent_phone, area),
        "status_reason": agreement.status_reason,
        "replacement_due": agreement.replacement_due,
        "created_at": agreement.created_at,
    }


@router.post("/children/{child_id}/care-agreements", response={201: CareAgreementOut})
def care_agreement_create(request: HttpRequest, child_id: str, payload: CareAgreementIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.WRITE_ROLES
    )
    agreement = services.care_agreement_create(user=request.auth, child=child, **payload.dict())
    return Status(201, agreement_out(request.auth, agreement))


@router.get("/children/{child_id}/care-agreements", response=CareAgreementList)
def care_agreement_list(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    agreements = list(child.care_agreements.all())
    _audit_read(request, [child])
    return {"items": [agreement_out(request.auth, a) for a in agreements], "count": len(agreements)}


@router.post("/care-agreements/{agreement_id}/terminate", response=CareAgreementOut)
def care_agreement_terminate(request: HttpRequest, agreement_id: str, payload: TerminateIn):
    agreement = _agreement_or_404(request, agreement_id)
    scope.require_role(request.auth, services.WRITE_ROLES)
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
    scope.require_role(request.auth, services.WRITE_ROLES)
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
        user=request.auth, child_id=child_id, roles=services.WRITE_ROLES
    )
    parent = None
    if payload.parent_id:
        parent = child.family_members.filter(pk=payload.parent_id).first()
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


# --- Subsidies (补贴纳入) ---------------------------------------------------------------------

ProgrammeCode = Literal[
    "orphan_allowance",
    "de_facto_unsupported_allowance",
    "hiv_affected_allowance",
    "minimum_living",
    "extreme_poverty_support",
    "temporary_assistance",
    "medical_assistance",
    "disability_rehabilitation",
    "education_aid",
]


class SubsidyApplicationIn(Schema):
    programme: ProgrammeCode
    note: str | None = None


class SubsidyDecisionIn(Schema):
    decision: Literal["approve", "return", "reject"]
    note: str = ""


class SubsidyApplicationOut(Schema):
    id: str
    child_id: str
    programme: str
    status: str
    note: str
    submitted_at: datetime
    township_approved_on: date | None
    decided_on: date | None


def application_out(application) -> dict:
    return {
        "id": str(application.pk),
        "child_id": str(application.child_id),
        "programme": application.programme,
        "status": application.status,
        "note": application.note,
        "submitted_at": application.submitted_at,
        "township_approved_on": application.township_approved_on,
        "decided_on": application.decided_on,
    }


@router.post("/children/{child_id}/subsidy-applications", response={201: SubsidyApplicationOut})
def subsidy_application_create(request: HttpRequest, child_id: str, payload: SubsidyApplicationIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.SUBMITTER_ROLES
    )
    application = services.subsidy_apply(
        user=request.auth, child=child, programme=payload.programme, note=payload.note or ""
    )
    return Status(201, application_out(application))


@router.get("/children/{child_id}/subsidy-applications", response=list[SubsidyApplicationOut])
def subsidy_application_list(request: HttpRequest, child_id: str):
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    return [application_out(a) for a in child.subsidy_applications.all()]


@router.post("/subsidy-applications/{application_id}/decisions", response=SubsidyApplicationOut)
def subsidy_decision(request: HttpRequest, application_id: str, payload: SubsidyDecisionIn):
    application = selectors.child_record_or_404(
        SubsidyApplication.objects.select_related("child"), user=request.auth, pk=application_id
    )
    application = services.subsidy_decide(
        user=request.auth, application=application, decision=payload.decision, note=payload.note
    )
    return application_out(application)


# Everything below reads and writes benefits through the same selectors and services as the pages.
# Amounts are Decimal, rendered as strings ("1350.00") so no client sees a float's rounding.

ApplicationStatusCode = Literal[
    "submitted", "township_approved", "approved", "rejected", "returned"
]
ExitReasonCode = Literal[
    "turned_18",
    "deceased",
    "adopted",
    "moved_away",
    "parent_regained_capacity",
    "file_closed",
    "other",
]  # ExitReason without one_off, which only the approval of temporary assistance records


class PageParams(Schema):
    # Bounded so the offset stays a PostgreSQL bigint: a larger page would be a 500, not a 422.
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def _page(queryset, params: PageParams) -> tuple[list, int]:
    start = (params.page - 1) * params.page_size
    return list(queryset[start : start + params.page_size]), queryset.count()


class SubsidyApplicationRow(SubsidyApplicationOut):
    child_name: str
    village_code: str
    submitted_by: str
    # The first day the county may approve a programme with public notice (None otherwise).
    notice_ends: date | None


class SubsidyApplicationList(Schema):
    items: list[SubsidyApplicationRow]
    count: int


class SubsidyDecisionOut(Schema):
    decision: str
    from_status: str
    to_status: str
    by: str
    by_name: str
    at: datetime
    note: str


class SubsidyEvidenceOut(Schema):
    id: str
    application_id: str
    description: str
    content_type: str
    uploaded_at: datetime


class SubsidyApplicationDetail(SubsidyApplicationRow):
    decisions: list[SubsidyDecisionOut]
    evidence: list[SubsidyEvidenceOut]
    reasons: list[str]
    enrolment_id: str | None


class ApplicationListParams(PageParams):
    status: ApplicationStatusCode | None = None
    programme: ProgrammeCode | None = None
    area: str | None = None


class ResubmitIn(Schema):
    note: str | None = None


def application_row(application) -> dict:
    notice_ends = None
    if (
        subsidy_rules.PROGRAMMES[application.programme].public_notice
        and application.township_approved_on is not None
    ):
        notice_ends = subsidy_rules.notice_ends(application.township_approved_on)
    return {
        **application_out(application),
        "child_name": application.child.name,
        "village_code": application.child.village_id,
        "submitted_by": application.submitted_by.username,
        "notice_ends": notice_ends,
    }


def evidence_out(evidence) -> dict:
    return {
        "id": str(evidence.pk),
        "application_id": str(evidence.application_id),
        "description": evidence.description,
        "content_type": evidence.content_type,
        "uploaded_at": evidence.uploaded_at,
    }


def _audit_applications(request: HttpRequest, applications: list) -> None:
    _audit_read(request, [a.child for a in applications])


@router.get("/subsidy-applications", response=SubsidyApplicationList)
def subsidy_application_scoped_list(request: HttpRequest, params: Query[ApplicationListParams]):
    """Applications in the user's area subtree (or the ``area`` within it), oldest first."""
    area = scope.area_for_user_or_404(user=request.auth, code=params.area) if params.area else None
    scope.require_role(request.auth, selectors.READ_ROLES)
    queryset = selectors.child_records_in_scope(
        SubsidyApplication.objects.select_related("child", "submitted_by"), user=request.auth
    )
    if area is not None:
        queryset = queryset.filter(scope.subtree_q(area.code, selectors.CHILD_RECORD_AREA_FIELD))
    if params.status:
        queryset = queryset.filter(status=params.status)
    if params.programme:
        queryset = queryset.filter(programme=params.programme)
    applications, count = _page(queryset.order_by("submitted_at", "id"), params)
    _audit_applications(request, applications)
    return {"items": [application_row(a) for a in applications], "count": count}


@router.get("/subsidy-applications/{application_id}", response=SubsidyApplicationDetail)
def subsidy_application_detail(request: HttpRequest, application_id: str):
    """One application with its decisions, its evidence and the child's eligibility now."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    scope.require_role(request.auth, selectors.READ_ROLES)
    decisions = application.decisions.select_related("by")
    enrolment = Enrolment.objects.filter(application=application).only("pk").first()
    _audit_applications(request, [application])
    return {
        **application_row(application),
        "decisions": [
            {
                "decision": d.decision,
                "from_status": d.from_status,
                "to_status": d.to_status,
                "by": d.by.username,
                "by_name": d.by.display_name,
                "at": d.at,
                "note": d.note,
            }
            for d in decisions
        ],
        "evidence": [evidence_out(e) for e in application.evidence.all()],
        "reasons": services.subsidy_eligibility(
            child=application.child, programme=application.programme
        ),
        "enrolment_id": str(enrolment.pk) if enrolment else None,
    }


@router.post("/subsidy-applications/{application_id}/resubmit", response=SubsidyApplicationOut)
def subsidy_application_resubmit(request: HttpRequest, application_id: str, payload: ResubmitIn):
    """A returned application goes back to the township (409 from any other status)."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    application = services.subsidy_resubmit(
        user=request.auth, application=application, note=payload.note or ""
    )
    return application_out(application)


@router.post("/subsidy-applications/{application_id}/evidence", response={201: SubsidyEvidenceOut})
def subsidy_evidence_upload(
    request: HttpRequest,
    application_id: str,
    file: File[UploadedFile],
    description: Form[str],
):
    """A supporting document (multipart ``file`` and ``description``): JPEG, PNG or PDF by its
    bytes, at most 10 MB, else 422."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    evidence = services.subsidy_evidence_attach(
        user=request.auth, application=application, upload=file, description=description
    )
    return Status(201, evidence_out(evidence))


# --- Enrolments and the ledger ------------------------------------------------------------------


class EntitlementOut(Schema):
    month: date
    amount: Decimal


class EnrolmentOut(Schema):
    id: str
    application_id: str
    child_id: str
    programme: str
    start_month: date
    end_month: date | None
    exit_reason: str
    end_reason: str
    ended_on: date | None
    ended_by: str | None
    next_review_on: date | None
    last_reviewed_on: date | None
    payee_name: str
    payee_account_masked: str
    entitlements: list[EntitlementOut]


class EnrolmentList(Schema):
    items: list[EnrolmentOut]
    count: int


class EnrolmentExitIn(Schema):
    reason: ExitReasonCode
    note: str | None = None
    on: date | None = None


class EnrolmentReviewIn(Schema):
    note: str | None = None


def enrolment_out(enrolment, entitlements) -> dict:
    return {
        "id": str(enrolment.pk),
        "application_id": str(enrolment.application_id),
        "child_id": str(enrolment.child_id),
        "programme": enrolment.programme,
        "start_month": enrolment.start_month,
        "end_month": enrolment.end_month,
        "exit_reason": enrolment.exit_reason,
        "end_reason": enrolment.end_reason,
        "ended_on": enrolment.ended_on,
        "ended_by": enrolment.ended_by.username if enrolment.ended_by_id else None,
        "next_review_on": enrolment.next_review_on,
        "last_reviewed_on": enrolment.last_reviewed_on,
        "payee_name": enrolment.payee_name,
        "payee_account_masked": enrolment.payee_account_masked,
        "entitlements": [{"month": e.month, "amount": e.amount} for e in entitlements],
    }


def _enrolment_reloaded(enrolment) -> dict:
    """A changed enrolment as the API shows it, its ledger newest month first as in the list."""
    fresh = Enrolment.objects.select_related("ended_by").get(pk=enrolment.pk)
    return enrolment_out(fresh, fresh.entitlements.order_by("-month"))


@router.get("/children/{child_id}/enrolments", response=EnrolmentList)
def enrolment_list(request: HttpRequest, child_id: str, params: Query[PageParams]):
    """The child's benefits, newest first, each with its ledger (newest month first)."""
    child = selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    enrolments = selectors.enrolments_for(child)
    start = (params.page - 1) * params.page_size
    page = enrolments[start : start + params.page_size]
    _audit_read(request, [child])
    return {
        "items": [enrolment_out(e, e.entitlements.all()) for e in page],
        "count": len(enrolments),
    }


@router.post("/enrolments/{enrolment_id}/exit", response=EnrolmentOut)
def enrolment_exit(request: HttpRequest, enrolment_id: str, payload: EnrolmentExitIn):
    """County civil affairs stop a benefit: paid up to the month of ``on`` (default today)."""
    enrolment = selectors.enrolment_for_user_or_404(user=request.auth, enrolment_id=enrolment_id)
    enrolment = services.enrolment_end(
        user=request.auth,
        enrolment=enrolment,
        reason=payload.reason,
        note=payload.note or "",
        on=payload.on,
    )
    return _enrolment_reloaded(enrolment)


@router.post("/enrolments/{enrolment_id}/review", response=EnrolmentOut)
def enrolment_review(request: HttpRequest, enrolment_id: str, payload: EnrolmentReviewIn):
    """The six-monthly review found the child still eligible (422 with the reasons if not)."""
    enrolment = selectors.enrolment_for_user_or_404(user=request.auth, enrolment_id=enrolment_id)
    enrolment = services.enrolment_review(
        user=request.auth, enrolment=enrolment, note=payload.note or ""
    )
    return _enrolment_reloaded(enrolment)


class EducationRecordIn(Schema):
    year: int
    school: str = Field(..., max_length=100)


class EducationRecordOut(Schema):
    id: int
    child_id: str
    year: int
    school: str
    recorded_at: datetime


@router.post("/children/{child_id}/education-records", response={201: EducationRecordOut})
def education_record_create(request: HttpRequest, child_id: str, payload: EducationRecordIn):
    """Full-time education for a year: benefits continue past 18 that year (and one stopped at
    the 18th birthday resumes)."""
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, roles=services.WRITE_ROLES
    )
    record = services.education_record_add(
        user=request.auth, child=child, year=payload.year, school=payload.school
    )
    return Status(
        201,
        {
            "id": record.pk,
            "child_id": str(record.child_id),
            "year": record.year,
            "school": record.school,
            "recorded_at": record.recorded_at,
        },
    )


# --- Standards ------------------------------------------------------------------------------------


class SubsidyStandardIn(Schema):
    area_code: str
    programme: ProgrammeCode
    month: date
    amount: Decimal = Field(..., decimal_places=2)

    @field_validator("month")
    @classmethod
    def first_of_month(cls, value: date) -> date:
        # A standard runs from a whole month; a mid-month day is a typing mistake, not a rule.
        if value.day != 1:
            raise ValueError("应为某月1日，如 2027-07-01")
        return value


class SubsidyStandardOut(Schema):
    id: int
    area_code: str
    area_name: str
    area_level: str
    programme: str
    month: date
    amount: Decimal
    set_by: str | None
    created_at: datetime


class SubsidyStandardList(Schema):
    items: list[SubsidyStandardOut]
    count: int


class StandardListParams(PageParams):
    area: str | None = None
    programme: ProgrammeCode | None = None


def standard_out(standard) -> dict:
    return {
        "id": standard.pk,
        "area_code": standard.area_id,
        "area_name": standard.area.name,
        "area_level": standard.area.level,
        "programme": standard.programme,
        "month": standard.effective_month,
        "amount": standard.amount,
        "set_by": standard.set_by.username if standard.set_by_id else None,
        "created_at": standard.created_at,
    }


@router.get("/subsidy-standards", response=SubsidyStandardList)
def subsidy_standard_list(request: HttpRequest, params: Query[StandardListParams]):
    """The standards that bear on ``area`` (default: the user's own): those set on it or above
    it, which it inherits, and those set inside it. By programme, area code (province first)
    and month."""
    code = params.area or request.auth.area_id
    area = scope.area_for_user_or_404(user=request.auth, code=code) if code else None
    scope.require_role(request.auth, selectors.READ_ROLES)
    queryset = SubsidyStandard.objects.select_related("area", "set_by")
    if area is not None:
        queryset = queryset.filter(
            Q(area_id__in=[area.code, *area_rules.ancestor_codes(area.code)])
            | scope.subtree_q(area.code, "area__code")
        )
    if params.programme:
        queryset = queryset.filter(programme=params.programme)
    standards, count = _page(
        queryset.order_by("programme", "area_id", "effective_month", "id"), params
    )
    return {"items": [standard_out(s) for s in standards], "count": count}


@router.post("/subsidy-standards", response={201: SubsidyStandardOut})
def subsidy_standard_create(request: HttpRequest, payload: SubsidyStandardIn):
    """Civil affairs set a programme's amount for a province, city or county in their area from a
    month on (the one-off sum for temporary assistance). The same month again replaces it."""
    scope.area_for_user_or_404(user=request.auth, code=payload.area_code)
    standard = services.subsidy_standard_set(
        user=request.auth,
        area_code=payload.area_code,
        programme=payload.programme,
        month=payload.month,
        amount=payload.amount,
    )
    standard = SubsidyStandard.objects.select_related("area", "set_by").get(pk=standard.pk)
    return Status(201, standard_out(standard))
