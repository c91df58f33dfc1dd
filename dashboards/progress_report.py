"""The yearly progress report (年度工作进展报告, S2: due 30 November) of an area subtree, pre-filled
from the dashboard's indicators and from what was done in the year: visits, mandatory reports
and benefits, each counted with one grouped query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum

from accounts import selectors as scope
from accounts.models import Area, User
from benefits import rules as benefit_rules
from benefits.models import ApplicationStatus, Entitlement, SubsidyApplication
from children import exports as child_exports
from children import selectors as child_selectors
from core.clock import today as local_today
from reporting.models import MandatoryReport, Situation, Stage
from visits.models import Visit, VisitKind

from . import indicators
from .exports import Period, programme_names, zh_labels

DUE = (11, 30)  # month and day the report is due (S2)
FIRST_YEAR = 2000


@dataclass(frozen=True)
class CountRow:
    label: str
    count: int
    code: str = ""


@dataclass(frozen=True)
class VisitRow:
    label: str
    code: str
    visits: int
    children: int  # distinct children seen this way


@dataclass(frozen=True)
class SituationRow:
    label: str
    code: str
    filed: int  # filed in the year
    closed: int  # closed in the year (whenever filed)


@dataclass(frozen=True)
class ProgrammeRow:
    label: str
    approved: int  # approved by the county in the year
    paid: Decimal  # the ledger's total for the year's months


@dataclass
class ProgressReport:
    area: Area
    year: int
    start: date
    end: date  # the last day counted: 31 December, or today in the current year
    today: date
    board: indicators.Dashboard
    categories: list[CountRow] = field(default_factory=list)
    risks: list[CountRow] = field(default_factory=list)
    visits_by_kind: list[VisitRow] = field(default_factory=list)
    reports_by_situation: list[SituationRow] = field(default_factory=list)
    benefits_by_programme: list[ProgrammeRow] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.area.name}{self.year}年农村留守儿童和困境儿童关爱保护工作进展报告"

    @property
    def due(self) -> date:
        return date(self.year, *DUE)

    @property
    def total(self) -> indicators.Indicators:
        return self.board.total

    @property
    def home_visits(self) -> int:
        return sum(row.visits for row in self.visits_by_kind if row.code == VisitKind.HOME)

    @property
    def children_visited_at_home(self) -> int:
        return sum(row.children for row in self.visits_by_kind if row.code == VisitKind.HOME)

    @property
    def other_contacts(self) -> int:
        return sum(row.visits for row in self.visits_by_kind if row.code != VisitKind.HOME)

    @property
    def reports_filed(self) -> int:
        return sum(row.filed for row in self.reports_by_situation)

    @property
    def reports_closed(self) -> int:
        return sum(row.closed for row in self.reports_by_situation)

    @property
    def benefits_approved(self) -> int:
        return sum(row.approved for row in self.benefits_by_programme)

    @property
    def paid_total(self) -> Decimal:
        return sum((row.paid for row in self.benefits_by_programme), Decimal("0.00"))


def year_choices(today: date | None = None, *, count: int = 5) -> list[int]:
    """This year and the few before it, newest first (the year pickers)."""
    today = today or local_today()
    return list(range(today.year, max(FIRST_YEAR, today.year - count + 1) - 1, -1))


def parse_year(raw: str | None, today: date | None = None) -> int:
    """The year asked for, or this year when it is missing, malformed or not yet begun."""
    today = today or local_today()
    try:
        year = int((raw or "").strip())
    except ValueError:
        return today.year
    return year if FIRST_YEAR <= year <= today.year else today.year


def progress_report_for(*, user: User, area: Area, year: int) -> ProgressReport:
    """The figures of the yearly report: the dashboard's indicators as of now, and what was done
    in the year (visits, reports, benefits), each read with one grouped query."""
    today = local_today()
    start = date(year, 1, 1)
    end = min(date(year, 12, 31), today)
    period = Period(start, end)
    board = indicators.dashboard_for(user=user, area_code=area.code, with_rows=True)
    report = ProgressReport(area=area, year=year, start=start, end=end, today=today, board=board)
    total = board.total
    report.categories = [
        CountRow(child_exports.CATEGORY_ZH[code], count)
        for code, count in total.by_category.items()
    ]
    report.risks = [
        CountRow(child_exports.RISK_ZH[code], count, code=code)
        for code, count in total.by_risk.items()
    ]
    report.visits_by_kind = _visits_by_kind(user=user, area=area, period=period)
    report.reports_by_situation = _reports_by_situation(user=user, area=area, period=period)
    report.benefits_by_programme = _benefits_by_programme(user=user, area=area, period=period)
    return report


def _visits_by_kind(*, user: User, area: Area, period: Period) -> list[VisitRow]:
    """Visits of the year per kind (every kind listed, in the order of the choices, so an empty
    year still reads as a table), with the number of children seen that way: one query."""
    kinds = zh_labels(VisitKind.choices)
    rows = {
        row["kind"]: row
        for row in child_selectors.child_records_in_scope(Visit.objects.all(), user=user)
        .filter(
            scope.subtree_q(area.code, "child__village__code"),
            visited_on__range=(period.start, period.end),
        )
        .order_by()
        .values("kind")
        .annotate(visits=Count("id"), children=Count("child_id", distinct=True))
    }
    return [
        VisitRow(
            label=kinds[code],
            code=code,
            visits=rows.get(code, {}).get("visits", 0),
            children=rows.get(code, {}).get("children", 0),
        )
        for code in VisitKind.values
    ]


def _reports_by_situation(*, user: User, area: Area, period: Period) -> list[SituationRow]:
    start, end = period.bounds()
    filed = Q(filed_at__gte=start, filed_at__lt=end)
    # Closed is the last stage: the time it was entered is when the report was closed.
    closed = Q(stage=Stage.CLOSED, stage_changed_at__gte=start, stage_changed_at__lt=end)
    rows = {
        row["situation"]: row
        for row in scope.scope_queryset(
            MandatoryReport.objects.all(), user=user, area_field="area__code"
        )
        .filter(scope.subtree_q(area.code, "area__code"))
        .filter(filed | closed)
        .order_by()
        .values("situation")
        .annotate(filed=Count("id", filter=filed), closed=Count("id", filter=closed))
    }
    situations = zh_labels(Situation.choices)
    return [
        SituationRow(situations[code], code, rows[code]["filed"], rows[code]["closed"])
        for code in Situation.values
        if code in rows
    ]


def _benefits_by_programme(*, user: User, area: Area, period: Period) -> list[ProgrammeRow]:
    """Applications approved by the county in the year, and the ledger's total for the year's
    months, per programme (two grouped queries)."""
    applications = child_selectors.child_records_in_scope(
        SubsidyApplication.objects.all(), user=user
    ).filter(scope.subtree_q(area.code, "child__village__code"))
    approved = dict(
        applications.filter(
            status=ApplicationStatus.APPROVED, decided_on__range=(period.start, period.end)
        )
        .order_by()
        .values("programme")
        .annotate(n=Count("id"))
        .values_list("programme", "n")
    )
    first_month, last_month = date(period.start.year, 1, 1), date(period.start.year, 12, 1)
    paid = dict(
        scope.scope_queryset(
            Entitlement.objects.all(), user=user, area_field="enrolment__child__village__code"
        )
        .filter(
            scope.subtree_q(area.code, "enrolment__child__village__code"),
            month__range=(first_month, last_month),
        )
        .order_by()
        .values("enrolment__programme")
        .annotate(total=Sum("amount"))
        .values_list("enrolment__programme", "total")
    )
    names = programme_names()
    codes = [code for code in benefit_rules.PROGRAMMES if code in approved or code in paid]
    codes += sorted((set(approved) | set(paid)) - set(codes))
    return [
        ProgrammeRow(
            label=names.get(code, code),
            approved=approved.get(code, 0),
            paid=paid.get(code) or Decimal("0.00"),
        )
        for code in codes
    ]
