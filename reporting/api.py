"""API: mandatory reports (强制报告), exactly as api.md "Mandatory reports"."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts import permissions
from accounts.permissions import Capability
from children import selectors as child_selectors

from . import selectors, services
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
    child = None
    if payload.child_id:
        # The child must be in the filer's area (a reporter cannot read the file, but may name it).
        child = scope.get_in_scope_or_404(
            child_selectors.Child.objects.select_related("village"),
            user=request.auth,
            area_field=child_selectors.CHILD_AREA_FIELD,
            pk=payload.child_id,
        )
    area = (
        scope.area_for_user_or_404(user=request.auth, code=payload.area_code)
        if payload.area_code
        else None
    )
    report = services.report_file(
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
    )
    return Status(201, report_out(request.auth, report, typed=payload))


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
