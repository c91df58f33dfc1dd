"""API: statistics, exactly as api.md "Statistics"."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema

from core import replica

from . import indicators

router = Router(tags=["statistics"])


class StatsOut(Schema):
    area_code: str
    children_total: int
    by_category: dict[str, int]
    by_risk: dict[str, int]
    home_visits_overdue: int
    contacts_overdue: int
    never_visited: int
    left_behind_without_agreement: int
    agreement_coverage_pct: float | None = Field(
        ..., description="with an active agreement ÷ left-behind × 100; null with none left behind"
    )
    reports_open_by_stage: dict[str, int]
    out_of_school: int
    no_hukou: int
    subsidy_applications_pending: int
    as_of: datetime
    key_children: int
    unsupervised: int
    parent_contact_overdue: int
    reports_late: int
    subsidy_pending_by_status: dict[str, int]
    return_to_school_open: int = Field(..., description="open 劝返复学 cases (控辍保学)")


# The operation id is the one the OpenAPI document gave when this lived in reporting/api.py:
# clients generated from the document keep their method name.
@router.get("/stats", response=StatsOut, operation_id="reporting_api_stats")
@replica.reads_from_replica
def stats(request: HttpRequest, area: str | None = None):
    """Indicators for the area subtree (default: the user's own area); 404 outside the user's
    area. Counts are as of ``as_of`` (at most 15 minutes old; read from the replica, when there
    is one, no later than the replica had reached)."""
    dashboard = indicators.dashboard_for(user=request.auth, area_code=area, with_rows=False)
    return indicators.stats_payload(dashboard)
