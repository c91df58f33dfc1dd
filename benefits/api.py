"""The benefits API (补贴纳入, api.md "Subsidies"): applications and decisions, evidence,
enrolments and the ledger, full-time education and the standards. Mounted beside the child file's
router, so every path is what it was when benefits lived in children."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import field_validator

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.permissions import Capability
from accounts.services import audit_api_read
from children import selectors as child_selectors
from core.api import PageParams, attributes, page_of

from . import rules, selectors, services
from .models import Enrolment, SubsidyApplication, SubsidyStandard

router = Router(tags=["benefits"])


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


NoticePlaceCode = Literal["village_board", "online", "both"]


class SubsidyDecisionIn(Schema):
    decision: Literal["approve", "return", "reject"]
    note: str = ""
    # The township's approval of minimum_living or extreme_poverty_support posts the 7-day
    # public notice: here (default village_board) from this day (default the approval's).
    notice_place: NoticePlaceCode | None = None
    notice_starts_on: date | None = None


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
        **attributes(
            application, "programme status note submitted_at township_approved_on decided_on"
        ),
    }


@router.post("/children/{child_id}/subsidy-applications", response={201: SubsidyApplicationOut})
def subsidy_application_create(request: HttpRequest, child_id: str, payload: SubsidyApplicationIn):
    child = child_selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.BENEFIT_SUBMIT
    )
    application = services.subsidy_apply(
        user=request.auth, child=child, programme=payload.programme, note=payload.note or ""
    )
    return Status(201, application_out(application))


@router.get("/children/{child_id}/subsidy-applications", response=list[SubsidyApplicationOut])
def subsidy_application_list(request: HttpRequest, child_id: str):
    child = child_selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    return [application_out(a) for a in child.subsidy_applications.all()]


@router.post("/subsidy-applications/{application_id}/decisions", response=SubsidyApplicationOut)
def subsidy_decision(request: HttpRequest, application_id: str, payload: SubsidyDecisionIn):
    application = child_selectors.child_record_or_404(
        SubsidyApplication.objects.select_related("child"), user=request.auth, pk=application_id
    )
    application = services.subsidy_decide(
        user=request.auth,
        application=application,
        decision=payload.decision,
        note=payload.note,
        notice_place=payload.notice_place or "",
        notice_starts_on=payload.notice_starts_on,
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
    kind: str
    description: str
    content_type: str
    uploaded_at: datetime


class NoticeObjectionOut(Schema):
    id: str
    received_on: date
    outcome: str  # "" until handled, then upheld or dismissed
    handled_on: date | None


class PublicNoticeOut(Schema):
    starts_on: date
    ends_on: date  # the notice's last day: the county may approve from the next
    place: str
    objections: list[NoticeObjectionOut]


class SubsidyApplicationDetail(SubsidyApplicationRow):
    decisions: list[SubsidyDecisionOut]
    evidence: list[SubsidyEvidenceOut]
    # What the programme requires before county approval, and what is still missing (api.md).
    documents_required: str
    documents_missing: list[str]
    reasons: list[str]
    enrolment_id: str | None
    public_notice: PublicNoticeOut | None


class ApplicationListParams(PageParams):
    status: ApplicationStatusCode | None = None
    programme: ProgrammeCode | None = None
    area: str | None = None


class ResubmitIn(Schema):
    note: str | None = None


def application_row(application) -> dict:
    notice_ends_on = selectors.notice_ends_on(application)
    notice_ends = rules.county_may_approve_from(notice_ends_on) if notice_ends_on else None
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
        "kind": evidence.kind,
        "description": evidence.description,
        "content_type": evidence.content_type,
        "uploaded_at": evidence.uploaded_at,
    }


def _audit_applications(request: HttpRequest, applications: list) -> None:
    audit_api_read(request, [a.child for a in applications])


@router.get("/subsidy-applications", response=SubsidyApplicationList)
def subsidy_application_scoped_list(request: HttpRequest, params: Query[ApplicationListParams]):
    """Applications in the user's area subtree (or the ``area`` within it), oldest first."""
    area = scope.area_for_user_or_404(user=request.auth, code=params.area) if params.area else None
    permissions.require(request.auth, Capability.CHILD_READ)
    queryset = child_selectors.child_records_in_scope(
        SubsidyApplication.objects.select_related("child", "submitted_by", "public_notice"),
        user=request.auth,
    )
    if area is not None:
        queryset = queryset.filter(
            scope.subtree_q(area.code, child_selectors.CHILD_RECORD_AREA_FIELD)
        )
    if params.status:
        queryset = queryset.filter(status=params.status)
    if params.programme:
        queryset = queryset.filter(programme=params.programme)
    applications, count = page_of(queryset.order_by("submitted_at", "id"), params)
    _audit_applications(request, applications)
    return {"items": [application_row(a) for a in applications], "count": count}


@router.get("/subsidy-applications/{application_id}", response=SubsidyApplicationDetail)
def subsidy_application_detail(request: HttpRequest, application_id: str):
    """One application with its decisions, its evidence and the child's eligibility now."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    permissions.require(request.auth, Capability.CHILD_READ)
    decisions = application.decisions.select_related("by")
    enrolment = Enrolment.objects.filter(application=application).only("pk").first()
    documents = selectors.document_check(application)
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
        "documents_required": documents.required,
        "documents_missing": documents.missing,
        "reasons": services.subsidy_eligibility(
            child=application.child, programme=application.programme
        ),
        "enrolment_id": str(enrolment.pk) if enrolment else None,
        "public_notice": public_notice_out(selectors.public_notice_of(application)),
    }


def objection_out(objection) -> dict:
    return {
        "id": str(objection.pk),
        "received_on": objection.received_on,
        "outcome": objection.outcome,
        "handled_on": objection.handled_on,
    }


def public_notice_out(notice) -> dict | None:
    if notice is None:
        return None
    return {
        "starts_on": notice.starts_on,
        "ends_on": notice.ends_on,
        "place": notice.place,
        "objections": [objection_out(o) for o in notice.objections.all()],
    }


class PublicNoticeIn(Schema):
    starts_on: date
    ends_on: date
    place: NoticePlaceCode


class NoticeObjectionIn(Schema):
    received_on: date
    content: str


class ObjectionHandlingIn(Schema):
    outcome: Literal["upheld", "dismissed"]
    handling: str


@router.put("/subsidy-applications/{application_id}/public-notice", response=PublicNoticeOut)
def public_notice_update(request: HttpRequest, application_id: str, payload: PublicNoticeIn):
    """The village or the township corrects the public notice's dates or place while it awaits
    the county (409 otherwise); at least 7 days, from the township's approval on (else 422)."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    notice = services.public_notice_update(
        user=request.auth,
        application=application,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        place=payload.place,
    )
    return public_notice_out(notice)


@router.post(
    "/subsidy-applications/{application_id}/objections", response={201: NoticeObjectionOut}
)
def notice_objection_create(request: HttpRequest, application_id: str, payload: NoticeObjectionIn):
    """An objection to the public notice: the county may not approve until it is handled."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    objection = services.notice_objection_add(
        user=request.auth,
        application=application,
        received_on=payload.received_on,
        content=payload.content,
    )
    return Status(201, objection_out(objection))


@router.post(
    "/subsidy-applications/{application_id}/objections/{objection_id}/handling",
    response=NoticeObjectionOut,
)
def notice_objection_handling(
    request: HttpRequest, application_id: str, objection_id: str, payload: ObjectionHandlingIn
):
    """How an objection was handled: upheld or dismissed, with what was found (409 once
    handled)."""
    objection = selectors.objection_for_user_or_404(
        user=request.auth, application_id=application_id, objection_id=objection_id
    )
    objection = services.notice_objection_handle(
        user=request.auth, objection=objection, outcome=payload.outcome, handling=payload.handling
    )
    return objection_out(objection)


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
    description: Form[str] = "",
    kind: Form[str] = "other",
):
    """A supporting document (multipart ``file``, ``kind`` of api.md's EVIDENCE KIND and
    ``description``): JPEG, PNG or PDF by its bytes, at most 10 MB, else 422."""
    application = selectors.application_for_user_or_404(
        user=request.auth, application_id=application_id
    )
    evidence = services.subsidy_evidence_attach(
        user=request.auth,
        application=application,
        upload=file,
        description=description,
        kind=kind,
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
    child = child_selectors.child_for_user_or_404(user=request.auth, child_id=child_id)
    enrolments = selectors.enrolments_for(child)
    start = (params.page - 1) * params.page_size
    page = enrolments[start : start + params.page_size]
    audit_api_read(request, [child])
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
    child = child_selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
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
    permissions.require(request.auth, Capability.CHILD_READ)
    queryset = SubsidyStandard.objects.select_related("area", "set_by")
    if area is not None:
        queryset = queryset.filter(
            Q(area_id__in=[area.code, *area_rules.ancestor_codes(area.code)])
            | scope.subtree_q(area.code, "area__code")
        )
    if params.programme:
        queryset = queryset.filter(programme=params.programme)
    standards, count = page_of(
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
