"""Child directors' performance for their supervisor (domain §8 "directors' on-time rate", issue 8):
per active director, their village's visit schedule today and the visits they recorded per month.

Definitions ("today" and every month are Asia/Shanghai calendar dates; ``visited_on`` is already the
local date of the visit, so grouping it by month needs no time-zone conversion):

- Period: the last N calendar months (1 ≤ N ≤ 12, default 6) ending with the current month, which
  is counted up to today.
- Visits per month: visits whose ``visitor`` is the director, by month of ``visited_on``, split into
  home visits and other contacts (phone, video, school, other).
- Children: the village's active files of children under 18 (children.schedule.under_18_q; a file
  kept open past 18 for full-time education is not counted), as on the dashboard.
- Home visits overdue: the village's active children with ``next_home_visit_due < today``; never
  visited: those with no home visit at all (``last_home_visit_on IS NULL``) — both exactly as on
  the dashboard (indicator_sql.py).
- On-time rate: the share of the village's active children whose home visit is not overdue today
  (due today still counts as on time). The due date in force when each past visit was made is not
  stored — it depended on a risk colour that may have changed since — so "was each visit made by
  its due date" cannot be recomputed fairly; today's status can, from the indexed due date, and is
  the same number as the dashboard's "On time" column.
- Key children seen monthly (the period-based companion figure): over every pair (active key
  child, month of the period in which the child was on file from the month's first day), the share
  with at least one visit of any kind recorded by a child director. The month in progress enters a
  pair only once the child has been seen in it, so nobody is marked down for a month not yet over.
  Any contact counts because every child is due one at least every 30 days (domain §3).

Both village figures are shared by every director of the village; visits per month are each
director's own. Directors are sorted by on-time rate, lowest first (who needs help first).
A fixed number of queries whatever the number of directors: townships (county and above, one page
of them), directors, children counts, visits per month, key-child months. They read where reads go
now (the replica inside core.replica.reading_from_replica, as the page does), so the figures are as
of that read, less the replica's lag (``as_of``, dashboards.rules.data_as_of).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, Role, User
from accounts.permissions import Capability
from children import schedule
from children.models import Child, ChildStatus
from core import replica
from visits.models import Visit, VisitKind

from . import rules

DEFAULT_MONTHS = 6
MAX_MONTHS = 12
TOWNSHIPS_PER_PAGE = 10  # county and above: a page of townships, each with all its directors

# Per village, pairs (active key child, month on file from its first day) of the period, and the
# pairs in which a child director recorded a visit. The month in progress counts only once met.
# Children under 18 today, as everywhere on the dashboards.
_KEY_MONTHS_SQL = f"""
SELECT village_id,
       count(*) FILTER (WHERE month_start < %(current)s OR seen)::int AS due,
       count(*) FILTER (WHERE seen)::int AS seen
FROM (
    SELECT c.village_id, g.day::date AS month_start,
           EXISTS (
               SELECT 1 FROM visits_visit v
               WHERE v.child_id = c.id AND v.visitor_role = %(director)s
                 AND v.visited_on >= g.day::date
                 AND v.visited_on < (g.day + interval '1 month')::date
           ) AS seen
    FROM children_child c
    CROSS JOIN generate_series(
        %(start)s::timestamp, %(current)s::timestamp, interval '1 month'
    ) AS g(day)
    WHERE c.status = 'active' AND c.is_key_child AND c.village_id = ANY(%(villages)s)
      AND {schedule.under_18_sql("c.")}
      AND (c.created_at AT TIME ZONE %(tz)s)::date <= g.day::date
) pairs
GROUP BY village_id
"""


def parse_months(raw: str | None) -> int:
    """The period length from the query string: a whole number clamped to 1…12, else 6."""
    try:
        months = int(raw) if raw else DEFAULT_MONTHS
    except ValueError:
        return DEFAULT_MONTHS
    return min(max(months, 1), MAX_MONTHS)


def period_months(today: date, months: int) -> list[date]:
    """First days of the ``months`` calendar months ending with today's month, oldest first."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


@dataclass
class MonthVisits:
    month: date
    home: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.home + self.other


@dataclass
class VillageFigures:
    """The schedule of a village's active children today, and its key-child months."""

    children: int = 0
    key_children: int = 0
    overdue: int = 0
    never_visited: int = 0
    key_months_due: int = 0
    key_months_seen: int = 0

    @property
    def on_time_pct(self) -> float | None:
        if not self.children:
            return None
        return round(100 * (self.children - self.overdue) / self.children, 1)

    @property
    def key_seen_pct(self) -> float | None:
        if not self.key_months_due:
            return None
        return round(100 * self.key_months_seen / self.key_months_due, 1)


@dataclass
class DirectorRow:
    director: User
    village: Area
    figures: VillageFigures
    months: list[MonthVisits]

    @property
    def home_visits(self) -> int:
        return sum(m.home for m in self.months)

    @property
    def other_contacts(self) -> int:
        return sum(m.other for m in self.months)

    def sort_key(self) -> tuple:
        # Lowest on-time rate first; a village with no children needs no help with visits.
        on_time = self.figures.on_time_pct
        seen = self.figures.key_seen_pct
        return (
            on_time is None,
            on_time or 0.0,
            seen if seen is not None else 101.0,
            -self.figures.overdue,
            self.village.code,
            self.director.display_name,
        )


@dataclass
class TownshipGroup:
    township: Area
    rows: list[DirectorRow] = field(default_factory=list)
    # Villages with active children and no active director: nobody's row shows them.
    uncovered: list[tuple[str, str, int]] = field(default_factory=list)  # code, name, children


@dataclass
class DirectorPerformance:
    area: Area
    today: date
    months: list[date]
    groups: list[TownshipGroup]
    page: Page | None  # townships, for a county or above
    as_of: datetime  # what was read is true of this time (dashboards.rules.data_as_of)

    @property
    def busiest_month(self) -> int:
        """The largest monthly count on the page: one scale for every sparkline."""
        return max(
            (m.total for group in self.groups for row in group.rows for m in row.months),
            default=0,
        )


def _townships(area: Area, page_number: str | int | None) -> tuple[list[Area], Page | None]:
    if area.level == area_rules.TOWNSHIP:
        return [area], None
    if area.level == area_rules.VILLAGE:
        return [area.parent], None
    has_director = User.objects.filter(
        role=Role.DIRECTOR, is_active=True, area__parent_id=OuterRef("pk")
    )
    has_children = Child.objects.filter(
        status=ChildStatus.ACTIVE, village__parent_id=OuterRef("pk")
    )
    townships = (
        Area.objects.filter(scope.subtree_q(area.code, "code"), level=area_rules.TOWNSHIP)
        .filter(Exists(has_director) | Exists(has_children))
        .select_related("parent")
        .order_by("code")
    )
    page = Paginator(townships, TOWNSHIPS_PER_PAGE).get_page(page_number)
    return list(page.object_list), page


def _village_figures(
    area: Area, township_codes: list[str], today: date
) -> tuple[dict[str, VillageFigures], dict[str, str]]:
    """Schedule counts of every village of the townships that has active children (one query)."""
    figures: dict[str, VillageFigures] = {}
    names: dict[str, str] = {}
    rows = (
        Child.objects.filter(
            scope.subtree_q(area.code, "village__code"),
            schedule.under_18_q(today),
            status=ChildStatus.ACTIVE,
            village__parent_id__in=township_codes,
        )
        .values("village_id", "village__name")
        .annotate(
            children=Count("id"),
            key_children=Count("id", filter=Q(is_key_child=True)),
            overdue=Count("id", filter=schedule.overdue_q("next_home_visit_due", today)),
            never_visited=Count("id", filter=Q(last_home_visit_on__isnull=True)),
        )
        .order_by()
    )
    for row in rows:
        names[row["village_id"]] = row["village__name"]
        figures[row["village_id"]] = VillageFigures(
            children=row["children"],
            key_children=row["key_children"],
            overdue=row["overdue"],
            never_visited=row["never_visited"],
        )
    return figures, names


def _key_months(figures: dict[str, VillageFigures], months: list[date], today: date) -> None:
    villages = [code for code, f in figures.items() if f.key_children]
    if not villages:
        return
    current = date(today.year, today.month, 1)
    with connections[replica.read_alias()].cursor() as cursor:
        cursor.execute(
            _KEY_MONTHS_SQL,
            {
                "start": months[0],
                "current": current,
                "villages": villages,
                "director": Role.DIRECTOR.value,
                "tz": settings.TIME_ZONE,
                "today": today,
            },
        )
        for village_id, due, seen in cursor.fetchall():
            figures[village_id].key_months_due = due
            figures[village_id].key_months_seen = seen


def _visits_by_month(directors: list[User], months: list[date]) -> dict[tuple[int, date], dict]:
    """(director id, first day of month) → home and other counts: one GROUP BY visitor, month."""
    if not directors:
        return {}
    rows = (
        Visit.objects.filter(visitor_id__in=[d.pk for d in directors], visited_on__gte=months[0])
        .annotate(month=TruncMonth("visited_on"))
        .values("visitor_id", "month")
        .annotate(
            home=Count("id", filter=Q(kind=VisitKind.HOME)),
            other=Count("id", filter=~Q(kind=VisitKind.HOME)),
        )
        .order_by()
    )
    return {(row["visitor_id"], row["month"]): row for row in rows}


def directors_performance(
    area: Area, *, months: int = DEFAULT_MONTHS, page_number: str | int | None = None
) -> DirectorPerformance:
    """Every active director of a village below ``area`` with their figures; for a county or
    above, one page of townships. No scope check here: see ``director_performance_for``."""
    read = replica.current()
    today = timezone.localdate()
    period = period_months(today, months)
    townships, page = _townships(area, page_number)
    township_codes = [t.code for t in townships]
    directors = list(
        User.objects.filter(
            scope.subtree_q(area.code, "area__code"),
            role=Role.DIRECTOR,
            is_active=True,
            area__level=area_rules.VILLAGE,
            area__parent_id__in=township_codes,
        ).select_related("area")
    )
    figures, village_names = _village_figures(area, township_codes, today)
    _key_months(figures, period, today)
    visits = _visits_by_month(directors, period)
    groups = {
        code: TownshipGroup(township=t) for code, t in zip(township_codes, townships, strict=True)
    }
    for director in directors:
        counts = [visits.get((director.pk, month), {}) for month in period]
        groups[director.area.parent_id].rows.append(
            DirectorRow(
                director=director,
                village=director.area,
                figures=figures.get(director.area_id, VillageFigures()),
                months=[
                    MonthVisits(month, c.get("home", 0), c.get("other", 0))
                    for month, c in zip(period, counts, strict=True)
                ],
            )
        )
    covered = {d.area_id for d in directors}
    for code in sorted(set(figures) - covered):
        groups[area_rules.parent_code(code)].uncovered.append(
            (code, village_names[code], figures[code].children)
        )
    for group in groups.values():
        group.rows.sort(key=DirectorRow.sort_key)
    return DirectorPerformance(
        area=area,
        today=today,
        months=period,
        groups=list(groups.values()),
        page=page,
        as_of=rules.data_as_of(summary_as_of=None, read_at=read.checked_at, lag=read.lag),
    )


def director_performance_for(
    *,
    user: User,
    area_code: str,
    months: int = DEFAULT_MONTHS,
    page_number: str | int | None = None,
) -> DirectorPerformance:
    """The page for an area in the user's scope: 404 outside it, then 403 for a role that does
    not supervise directors (directors, reporters)."""
    area = scope.area_for_user_or_404(user=user, code=area_code)
    permissions.require(user, Capability.PERFORMANCE_READ)
    return directors_performance(area, months=months, page_number=page_number)
