"""Every indicator of domain.md §8 and api.md ``/stats`` for any area subtree, read with
set-based SQL: the per-village counts of the summary table summed by child area in one query,
plus open reports and pending benefit applications grouped in one query each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from core import replica
from reporting import deadlines

from . import rules
from .indicator_sql import CATEGORIES, CHILD_COUNTS, RISKS, TABLE, sum_sql
from .services import village_stats_refresh

# The summary is refreshed every 10 minutes by Celery beat; a page finding it older than this
# recounts before answering, so no number shown is more than 15 minutes behind the data.
MAX_AGE = timedelta(minutes=15)
OPEN_STAGES = ("reported", "police_received", "emergency_handled", "assessed", "intervention")
PENDING_STATUSES = ("submitted", "township_approved")
CHILD_LEVEL = {"province": "city", "city": "county", "county": "township", "township": "village"}


@dataclass
class Indicators:
    """The numbers of one area subtree."""

    code: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHILD_COUNTS, 0))
    reports_open_by_stage: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(OPEN_STAGES, 0)
    )
    reports_late: int = 0  # open longer than their stage's limit
    # Days the open report longest in its current stage has been there: the queue's count.
    reports_longest_in_stage_days: int | None = None
    subsidy_pending_by_status: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(PENDING_STATUSES, 0)
    )
    # Open 劝返复学 cases (控辍保学, children.dropouts), counted live.
    return_to_school_open: int = 0
    area: Area | None = None

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("counts", {})
        if name in counts:
            return counts[name]
        raise AttributeError(name)

    @property
    def left_behind(self) -> int:
        return self.counts["category_left_behind"]

    @property
    def agreement_coverage_pct(self) -> float | None:
        """Left-behind children with an active care agreement, in per cent of all left-behind
        children (None when there are none)."""
        if not self.left_behind:
            return None
        return round(100 * self.counts["left_behind_with_agreement"] / self.left_behind, 1)

    @property
    def on_time_pct(self) -> float | None:
        """Children whose home visit is not overdue, in per cent of all children."""
        total = self.counts["children_total"]
        if not total:
            return None
        return round(100 * (total - self.counts["home_visits_overdue"]) / total, 1)

    @property
    def reports_open(self) -> int:
        return sum(self.reports_open_by_stage.values())

    @property
    def subsidy_applications_pending(self) -> int:
        return sum(self.subsidy_pending_by_status.values())

    @property
    def by_category(self) -> dict[str, int]:
        return {code: self.counts[f"category_{code}"] for code in CATEGORIES}

    @property
    def by_risk(self) -> dict[str, int]:
        return {code: self.counts[f"risk_{code}"] for code in RISKS}


@dataclass
class Dashboard:
    area: Area
    total: Indicators
    rows: list[Indicators]  # one per child area, in code order (empty for a village)
    as_of: datetime | None


def _summary_as_of(alias: str) -> datetime | None:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT max(as_of) FROM {TABLE}")
        return cursor.fetchone()[0]


def _fresh(as_of: datetime | None) -> bool:
    return as_of is not None and timezone.now() - as_of <= MAX_AGE


def ensure_fresh() -> tuple[datetime, str]:
    """The summary's time and the database to read it from: where reads go now (the replica,
    inside core.replica.reading_from_replica), unless its copy is older than MAX_AGE (beat down).
    Then the primary's, recounted first if it is old too: a replica cannot be written, and the
    primary holds the new counts at once; the replica has them once it has replayed them."""
    alias = replica.read_alias()
    as_of = _summary_as_of(alias)
    if _fresh(as_of):
        return as_of, alias
    if alias != DEFAULT_DB_ALIAS:
        as_of = _summary_as_of(DEFAULT_DB_ALIAS)
        if _fresh(as_of):
            return as_of, DEFAULT_DB_ALIAS
    now = timezone.now()
    village_stats_refresh(now=now)
    # With no active child anywhere the summary has no rows, yet its zeros are as of now.
    return _summary_as_of(DEFAULT_DB_ALIAS) or now, DEFAULT_DB_ALIAS


def _child_prefix_length(area: Area, children: list[Area]) -> int:
    """How many leading digits tell the rows apart: those of the level below, or of the child
    areas' own level (a city without counties has its towns straight under it, domain §1)."""
    levels = {child.level for child in children}
    child_level = levels.pop() if len(levels) == 1 else CHILD_LEVEL.get(area.level, area.level)
    return area_rules.PREFIX_LENGTH[child_level]


def _like(area: Area) -> str:
    return area_rules.prefix(area.code, area.level) + "%"


def _reports_sql(length: int) -> str:
    return f"""
SELECT left(area_id, {length}) AS code, stage, count(*)::int,
       count(*) FILTER (WHERE {deadlines.late_sql("")})::int,
       max({deadlines.days_in_stage_sql("")})
FROM reporting_mandatoryreport
WHERE area_id LIKE %(prefix)s AND stage <> 'closed'
GROUP BY GROUPING SETS ((left(area_id, {length}), stage), (stage))
"""


def _subsidies_sql(length: int) -> str:
    return f"""
SELECT left(c.village_id, {length}) AS code, a.status, count(*)::int
FROM children_subsidyapplication a JOIN children_child c ON c.id = a.child_id
WHERE c.village_id LIKE %(prefix)s AND a.status IN ('submitted', 'township_approved')
GROUP BY GROUPING SETS ((left(c.village_id, {length}), a.status), (a.status))
"""


def _return_to_school_sql(length: int) -> str:
    """Open return-to-school cases of the children below the prefix: few rows, counted live (the
    summary table has no column for them)."""
    return f"""
SELECT left(c.village_id, {length}) AS code, count(*)::int
FROM children_returntoschoolcase r JOIN children_child c ON c.id = r.child_id
WHERE c.village_id LIKE %(prefix)s AND r.status = 'open'
GROUP BY GROUPING SETS ((left(c.village_id, {length})), ())
"""


def indicators_for_area(area: Area, *, with_rows: bool = True) -> Dashboard:
    """Every indicator of ``area``'s subtree and of each of its child areas: five queries
    whatever the size of the area (child areas, child counts, reports, benefit applications,
    open return-to-school cases).
    Its time is the summary's, or earlier when it was read from a replica further behind."""
    read = replica.current()
    summary_as_of, alias = ensure_fresh()
    children = list(Area.objects.filter(parent=area).order_by("code")) if with_rows else []
    length = _child_prefix_length(area, children)
    rows = {a.code[:length]: Indicators(code=a.code, area=a) for a in children}
    total = Indicators(code=area.code, area=area)
    params = {"prefix": _like(area), "now": timezone.now()}
    with connections[alias].cursor() as cursor:
        cursor.execute(sum_sql(length), params)
        columns = [c.name for c in cursor.description]
        for record in cursor.fetchall():
            values = dict(zip(columns, record, strict=True))
            target = total if values["code"] is None else rows.get(values["code"])
            if target is not None:
                target.counts = {name: values[name] or 0 for name in CHILD_COUNTS}
        cursor.execute(_reports_sql(length), params)
        for code, stage, count, late, oldest in cursor.fetchall():
            target = total if code is None else rows.get(code)
            if target is None:
                continue
            target.reports_open_by_stage[stage] = count
            target.reports_late += late
            if oldest is not None and (target.reports_longest_in_stage_days or -1) < oldest:
                target.reports_longest_in_stage_days = oldest
        cursor.execute(_subsidies_sql(length), params)
        for code, status, count in cursor.fetchall():
            target = total if code is None else rows.get(code)
            if target is not None:
                target.subsidy_pending_by_status[status] = count
        cursor.execute(_return_to_school_sql(length), params)
        for code, count in cursor.fetchall():
            target = total if code is None else rows.get(code)
            if target is not None:
                target.return_to_school_open = count
    on_replica = alias == read.alias and read.on_replica
    as_of = rules.data_as_of(
        summary_as_of=summary_as_of,
        read_at=read.checked_at if on_replica else timezone.now(),
        lag=read.lag if on_replica else timedelta(0),
    )
    return Dashboard(area=area, total=total, rows=list(rows.values()), as_of=as_of)


def dashboard_for(*, user: User, area_code: str | None = None, with_rows: bool = True) -> Dashboard:
    """The dashboard of an area in the user's scope (404 outside it; 403 for reporters)."""
    permissions.require(user, Capability.STATS_READ)
    if not area_code and user.area_id is None:
        # An administrator with no area starts from the first province.
        area_code = (
            Area.objects.filter(level="province")
            .order_by("code")
            .values_list("code", flat=True)
            .first()
        )
    area = scope.area_for_user_or_404(user=user, code=area_code or user.area_id or "")
    return indicators_for_area(area, with_rows=with_rows)


def stats_payload(dashboard: Dashboard) -> dict:
    """api.md ``GET /stats``, exactly, with a few extra fields."""
    total = dashboard.total
    return {
        "area_code": dashboard.area.code,
        "children_total": total.children_total,
        "by_category": total.by_category,
        "by_risk": total.by_risk,
        "home_visits_overdue": total.home_visits_overdue,
        "contacts_overdue": total.contacts_overdue,
        "never_visited": total.never_visited,
        "left_behind_without_agreement": total.left_behind_without_agreement,
        "agreement_coverage_pct": total.agreement_coverage_pct,
        "reports_open_by_stage": total.reports_open_by_stage,
        "out_of_school": total.out_of_school,
        "no_hukou": total.no_hukou,
        "subsidy_applications_pending": total.subsidy_applications_pending,
        "as_of": dashboard.as_of,
        # Beyond the contract:
        "key_children": total.key_children,
        "unsupervised": total.unsupervised,
        "parent_contact_overdue": total.parent_contact_overdue,
        "reports_late": total.reports_late,
        "subsidy_pending_by_status": total.subsidy_pending_by_status,
        "return_to_school_open": total.return_to_school_open,
    }
