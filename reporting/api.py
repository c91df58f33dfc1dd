"""API: mandatory reports (强制报告), exactly as api.md "Mandatory reports"."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts import permissions
from accounts.permissions import Capability
from children import selectors as child_selectors

from . import intake, selectors, services
from .models import MandatoryReport

router = Router(tags=["reports"])

SituationCode = Literal[
    "living_alone",
    "missing",
    "guardian_incapable",
    "abandonment",
    "sexual_abuse",
    "domestic_violence",
    "serious_harm",
    "organised_begging",
    "accidental_injury",
    "other_harm",
]
StageCode = Literal[
    "reported", "police_received", "emergency_handled", "assessed", "intervention", "closed"
]


class ReportIn(Schema):
    situation: SituationCode
    discovered_at: datetime
    description: str = Field(..., min_length=1)
    location: str | None = None
    child_id: str | None = None
    child_name: str | None = None
    reporter_org_type: (
        Literal[
            "school",
            "kindergarten",
            "medical",
            "village_committee",
            "social_work",
            "rescue_institution",
            "welfare_institution",
            "other",
        ]
        | None
    ) = None
    police_notified_at: datetime | None = None
    police_receipt: str | None = None
    # The child's township or village, within the filer's area (else 404); none: the filer's own
    # area. A report of a county or above goes to county civil affairs at once.
    area_code: str | None = None
    # The 12355 line's and the police's (reporting.intake): required of them, refused to others.
    incident_number: str | None = None
    parent_detained: bool = False


SourceCode = Literal["reporting_body", "hotline_12355", "police_110"]


class IntakeIn(Schema):
    """POST /api/v1/intake: a report of the 12355 line or the police, routed to the child's
    township (or village) — one of the two codes, within the user's area (else 404)."""

    source: SourceCode | None = None
    incident_number: str
    township_code: str | None = None
    village_code: str | None = None
    # Required, but for a detained parent's report (then guardian_incapable).
    situation: SituationCode | None = None
    discovered_at: datetime
    description: str = Field(..., min_length=1)
    location: str | None = None
    child_name: str | None = None
    child_id: str | None = None
    police_notified_at: datetime | None = None
    police_receipt: str | None = None
    parent_detained: bool = False


class DetentionCheckIn(Schema):
    outcome: str = Field(..., description="safe | placed_with_relatives | needs_action")
    note: str = ""


class TransitionIn(Schema):
    to: StageCode
    note: str = ""
    actions: list[str] | None = None
    service_plan: list[str] | None = None
    intervention_type: str | None = None
    outcome: str | None = None
    police_notified_at: datetime | None = None
    police_receipt: str | None = None


class TransitionOut(Schema):
    from_stage: str
    to_stage: str
    at: datetime
    by: str | None
    note: str


class ReportOut(Schema):
    id: str
    stage: str
    situation: str
    discovered_at: datetime
    description: str
    location: str
    child_id: str | None
    child_name: str
    area_code: str | None = Field(None, description="Not for reporters (the child's village)")
    reporter_org_type: str
    reporter: str | None = Field(None, description="Only for supervisors and civil affairs")
    filed_at: datetime
    police_notified_at: datetime | None
    police_receipt: str
    emergency_actions: list[str]
    service_plan: list[str]
    intervention_type: str
    outcome: str
    stage_changed_at: datetime
    transitions: list[TransitionOut]
    source: str
    incident_number: str
    township_code: str | None = Field(
        None, description="Where the report was routed (a reporter: in the filing's answer only)"
    )
    parent_detained: bool
    detention_checked_at: datetime | None
    detention_check_outcome: str | None = Field(None, description="Not for reporters")


class ReportList(Schema):
    items: list[ReportOut]
    count: int


class ReportParams(Schema):
    stage: StageCode | None = None
    # Bounded so the offset stays a PostgreSQL bigint: a larger page would be a 500, not a 422.
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def report_facts(report: MandatoryReport) -> dict:
    """What was reported, where it stands: the same for everyone who may see the report (the
    API's and the hand-over's)."""
    return {
        "id": str(report.pk),
        "stage": report.stage,
        "situation": report.situation,
        "discovered_at": report.discovered_at,
        "description": report.description,
        "location": report.location,
    }


def report_out(
    user, report: MandatoryReport, *, with_transitions: bool = True, typed: ReportIn | None = None
) -> dict:
    """The report as ``user`` may see it. A reporter gets back what they typed (``typed``: the
    body they just sent) and the progress, nothing of the child's file or of its handling."""
    identity = selectors.can_see_reporter(user)
    details = selectors.sees_case_details(user)
    transitions = []
    if with_transitions:
        transitions = [
            {
                "from_stage": t.from_stage,
                "to_stage": t.to_stage,
                "at": t.at,
                "by": t.by.display_name if identity else None,
                "note": t.note if details else "",
            }
            for t in report.transitions.select_related("by")
            # The children's check (reporting.intake) is said below, not as a move.
            if t.from_stage != t.to_stage
        ]
    child_id = str(report.child_id) if report.child_id else None
    child_name = selectors.child_name_for(user, report)
    if not details:
        child_id = typed.child_id if typed is not None else None
        if typed is not None:
            child_name = (typed.child_name or "").strip()
    return {
        **report_handling(report, identity=identity, details=details),
        "child_id": child_id,
        "child_name": child_name,
        "transitions": transitions,
        **intake_out(report, details=details, with_check=with_transitions, typed=typed),
    }


def intake_out(
    report: MandatoryReport, *, details: bool, with_check: bool = True, typed=None
) -> dict:
    """Where a report came in and a detained parent's children's check, for everyone who may
    read the report; what the check found for the case side only. The township it went to is
    the case side's too (a file linked later may place it elsewhere): the filer gets back the
    township they chose in the answer to their filing."""
    if details:
        area = report.area_id or ""
    else:
        area = next(
            (
                code
                for name in ("village_code", "township_code", "area_code")
                if (code := getattr(typed, name, None) or "")
            ),
            "",
        )
    check = intake.detention_check_of(report) if details and with_check else None
    return {
        "source": report.source,
        "incident_number": report.incident_number,
        "township_code": area[:9] + "000" if len(area) == 12 and area[6:9] != "000" else None,
        "parent_detained": report.parent_detained,
        "detention_checked_at": report.detention_checked_at,
        "detention_check_outcome": check.data["detention_check"] if check else None,
    }


def report_handling(report: MandatoryReport, *, identity: bool, details: bool) -> dict:
    """The report's facts and its handling, as the API and the hand-over (dashboards.exports)
    say them: the reporter named only with ``identity``, the handling only with ``details``."""
    return {
        **report_facts(report),
        "area_code": report.area_id if details else None,
        "reporter_org_type": report.reporter_org_type,
        "reporter": report.reporter.display_name if identity else None,
        "filed_at": report.filed_at,
        "police_notified_at": report.police_notified_at,
        "police_receipt": report.police_receipt,
        "emergency_actions": report.emergency_actions if details else [],
        "service_plan": report.service_plan if details else [],
        "intervention_type": report.intervention_type if details else "",
        "outcome": report.outcome if details else "",
        "stage_changed_at": report.stage_changed_at,
    }


@router.post("/reports", response={201: ReportOut})
def report_create(request: HttpRequest, payload: ReportIn):
    from accounts import selectors as scope

    permissions.require(request.auth, Capability.REPORT_FILE)
    child = _named_child(request.auth, payload.child_id)
    area = (
        scope.area_for_user_or_404(user=request.auth, code=payload.area_code)
        if payload.area_code
        else None
    )
    report = intake.report_submit(
        user=request.auth,
        area=area,
        situation=payload.situation,
        discovered_at=payload.discovered_at,
        description=payload.description,
        location=payload.location or "",
        child=child,
        child_name=payload.child_name or "",
        reporter_org_type=payload.reporter_org_type or "",
        police_notified_at=payload.police_notified_at,
        police_receipt=payload.police_receipt or "",
        incident_number=payload.incident_number or "",
        parent_detained=payload.parent_detained,
    )
    return Status(201, report_out(request.auth, report, typed=payload))


def _named_child(user, child_id: str | None):
    """The child a report names: in the filer's area (404 otherwise). A reporter, the line or
    the police cannot read the file, but may name it."""
    from accounts import selectors as scope

    if not child_id:
        return None
    return scope.get_in_scope_or_404(
        child_selectors.Child.objects.select_related("village"),
        user=user,
        area_field=child_selectors.CHILD_AREA_FIELD,
        pk=child_id,
    )


@router.post("/intake", response={201: ReportOut})
def intake_create(request: HttpRequest, payload: IntakeIn):
    """一门受理: a report of the 12355 line or the police into the child's township (or village)."""
    permissions.require(request.auth, Capability.REPORT_INTAKE)
    child = _named_child(request.auth, payload.child_id)
    area = intake.intake_destination(
        user=request.auth, township_code=payload.township_code, village_code=payload.village_code
    )
    try:
        report = intake.report_submit(
            user=request.auth,
            area=area,
            child=child,
            source=payload.source,
            incident_number=payload.incident_number,
            situation=payload.situation or "",
            discovered_at=payload.discovered_at,
            description=payload.description,
            location=payload.location or "",
            child_name=payload.child_name or "",
            police_notified_at=payload.police_notified_at,
            police_receipt=payload.police_receipt or "",
            parent_detained=payload.parent_detained,
        )
    except ValidationError as exc:
        # The service names the form's field; this body has two.
        if hasattr(exc, "error_dict") and "area_code" in exc.error_dict:
            exc.error_dict["township_code"] = exc.error_dict.pop("area_code")
        raise
    return Status(201, report_out(request.auth, report, typed=payload))


@router.post("/reports/{report_id}/detention-check", response=ReportOut)
def report_detention_check(request: HttpRequest, report_id: str, payload: DetentionCheckIn):
    """The children of a detained parent were checked on: 409 when there is no check to do."""
    report = selectors.report_for_user_or_404(
        user=request.auth, report_id=report_id, capability=Capability.VISIT_RECORD
    )
    report = intake.detention_check_record(
        user=request.auth, report=report, outcome=payload.outcome, note=payload.note
    )
    return report_out(request.auth, report)


@router.get("/reports", response=ReportList)
def report_list(request: HttpRequest, params: Query[ReportParams]):
    permissions.require(request.auth, Capability.REPORT_READ)
    queryset = selectors.reports_for(user=request.auth)
    if params.stage:
        queryset = queryset.filter(stage=params.stage)
    count = queryset.count()
    start = (params.page - 1) * params.page_size
    items = [
        report_out(request.auth, r, with_transitions=False)
        for r in queryset[start : start + params.page_size]
    ]
    return {"items": items, "count": count}


@router.get("/reports/{report_id}", response=ReportOut)
def report_detail(request: HttpRequest, report_id: str):
    report = selectors.report_for_user_or_404(user=request.auth, report_id=report_id)
    return report_out(request.auth, report)


@router.post("/reports/{report_id}/transitions", response=ReportOut)
def report_transition(request: HttpRequest, report_id: str, payload: TransitionIn):
    report = selectors.report_for_user_or_404(user=request.auth, report_id=report_id)
    data = payload.dict(exclude={"to", "note"})
    report = services.report_transition(
        user=request.auth,
        report=report,
        to=payload.to,
        note=payload.note,
        **{k: v for k, v in data.items() if v is not None},
    )
    return report_out(request.auth, report)
