"""Reads of the quarterly verification (季度核查, domain §10), always scoped: a village's
checklist (the children on it and their confirmations), the verifications of an area, the
township's and county's overview of a quarter in one query, and the reminder sweep's SELECT.

Who is on a checklist is one definition (verification_rules), written here once as a queryset
filter (``on_list_q``) and once as SQL (``on_list_sql``) for the set-based readers; the tests hold
them to agree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Area, AreaLevel, Role, User
from accounts.permissions import Capability
from children import schedule
from children import selectors as child_selectors
from children.models import Child, ChildStatus

from . import verification_rules as rules
from .models import QuarterlyVerification, VerificationItem, VerificationStatus

VERIFICATION_AREA_FIELD = "village__code"


# --- Who is on a checklist --------------------------------------------------------------------


def on_list_q(as_of: date) -> Q:
    """Child files on a checklist drawn on ``as_of`` (the village is filtered apart): open,
    in difficulty, under 18 and registered by then."""
    in_difficulty = Q(categories__overlap=list(rules.IN_DIFFICULTY)) | Q(
        categories_pending__overlap=list(rules.IN_DIFFICULTY)
    )
    return (
        Q(status=ChildStatus.ACTIVE)
        & in_difficulty
        & schedule.under_18_q(as_of)
        & Q(created_at__date__lte=as_of)
    )


def _difficulty_array() -> str:
    return "ARRAY[" + ", ".join(f"'{code}'" for code in rules.IN_DIFFICULTY) + "]::varchar[]"


def on_list_sql(c: str = "c.", as_of: str = "%(as_of)s") -> str:
    """``on_list_q`` in SQL, on the child row ``c`` and the date expression ``as_of``."""
    categories = _difficulty_array()
    return (
        f"({c}status = '{ChildStatus.ACTIVE.value}'"
        f" AND ({c}categories && {categories} OR {c}categories_pending && {categories})"
        f" AND {schedule.under_18_sql(c, f'({as_of})')}"
        f" AND ({c}created_at AT TIME ZONE '{settings.TIME_ZONE}')::date <= ({as_of})::date)"
    )


def checklist_children(*, village_code: str, as_of: date) -> QuerySet[Child]:
    """The children on the village's checklist drawn on ``as_of``, by name."""
    return (
        Child.objects.filter(village_id=village_code)
        .filter(on_list_q(as_of))
        .select_related("village")
        .order_by("name", "birth_date", "id")
    )


# --- One village's verification ---------------------------------------------------------------


def village_for_user_or_404(
    *, user: User, code: str, capability: Capability = Capability.VERIFICATION_READ
) -> Area:
    """A village of the user's area (404 elsewhere, or not a village), then 403 unless the
    user's role holds ``capability``."""
    if not scope.code_in_scope(user, code or "-"):
        # Case data: the area must be the user's to read its children (404 as for any record).
        scope.area_for_user_or_404(user=user, code=code)  # audits an attempt on a real area
        raise Http404
    area = scope.area_for_user_or_404(user=user, code=code)
    if area.level != AreaLevel.VILLAGE:
        raise Http404
    permissions.require(user, capability)
    return area


def verification_of(*, village_code: str, year: int, quarter: int) -> QuarterlyVerification | None:
    return _verifications().filter(village_id=village_code, year=year, quarter=quarter).first()


def due_of(verification: QuarterlyVerification | None, year: int, quarter: int) -> date:
    """The day the verification is due (verification_rules.due_date), re-opening included."""
    reopened = verification.reopened_at if verification is not None else None
    return rules.due_date(
        year, quarter, reopened_on=timezone.localdate(reopened) if reopened else None
    )


def _verifications() -> QuerySet[QuarterlyVerification]:
    return QuarterlyVerification.objects.select_related(
        "village", "village__parent", "created_by", "submitted_by", "reopened_by"
    )


def verification_for_user_or_404(
    *,
    user: User,
    verification_id: Any,
    capability: Capability = Capability.VERIFICATION_READ,
) -> QuarterlyVerification:
    """One verification of a village in the user's area (404 otherwise, or unknown), then 403
    unless the role holds ``capability``."""
    try:
        pk = uuid.UUID(str(verification_id))
    except ValueError:
        raise Http404 from None
    verification = scope.get_in_scope_or_404(
        _verifications(), user=user, area_field=VERIFICATION_AREA_FIELD, pk=pk
    )
    permissions.require(user, capability)
    return verification


@dataclass
class ChecklistRow:
    child: Child
    item: VerificationItem | None

    @property
    def confirmed(self) -> bool:
        return self.item is not None


def checklist_for(
    *,
    village_code: str,
    year: int,
    quarter: int,
    verification: QuarterlyVerification | None,
    today: date,
) -> list[ChecklistRow]:
    """The checklist as it stands, by name: a submitted verification's reported children; else
    the children on the list today with their confirmation, if any. Nothing for a quarter too old
    to start that was never started. Two queries."""
    if verification is not None and verification.submitted:
        items = (
            verification.items.filter(reported=True)
            .select_related("child__village", "confirmed_by")
            .order_by("child__name", "child__birth_date", "child_id")
        )
        return [ChecklistRow(item.child, item) for item in items]
    if verification is None and not rules.may_open(year, quarter, today):
        return []
    children = list(
        checklist_children(village_code=village_code, as_of=rules.as_of(year, quarter, today))
    )
    items: dict[uuid.UUID, VerificationItem] = {}
    if verification is not None and children:
        items = {
            item.child_id: item
            for item in verification.items.filter(
                child_id__in=[c.pk for c in children]
            ).select_related("confirmed_by")
        }
    return [ChecklistRow(child, items.get(child.pk)) for child in children]


def checklist_child_or_404(
    *,
    user: User,
    village_code: str,
    year: int,
    quarter: int,
    verification: QuarterlyVerification | None,
    child_id: Any,
    today: date,
) -> tuple[Child, VerificationItem | None]:
    """A child of the checklist, with its confirmation: 404 outside the user's area or when the
    child is not on this checklist."""
    child = child_selectors.child_for_user_or_404(
        user=user, child_id=child_id, capability=Capability.VERIFICATION_READ
    )
    item = None
    if verification is not None:
        item = verification.items.filter(child=child).select_related("confirmed_by").first()
    if verification is not None and verification.submitted:
        if item is None or not item.reported:
            raise Http404
        return child, item
    if child.village_id != village_code:
        raise Http404
    if verification is None and not rules.may_open(year, quarter, today):
        raise Http404
    as_of = rules.as_of(year, quarter, today)
    if (
        not Child.objects.filter(pk=child.pk, village_id=village_code)
        .filter(on_list_q(as_of))
        .exists()
    ):
        raise Http404
    return child, item


# --- The verifications of an area ------------------------------------------------------------


def _quarter_end_sql(v: str) -> str:
    return (
        f"(make_date({v}.year, {v}.quarter * 3 - 2, 1) + interval '3 months'"
        f" - interval '1 day')::date"
    )


def listed_sql(v: str, today: date) -> str:
    """SQL: how many children the verification ``v`` holds — its reported children once
    submitted, else those on its checklist today."""
    as_of = f"least('{today.isoformat()}'::date, {_quarter_end_sql(v)})"
    return (
        f"CASE WHEN {v}.status = 'submitted' THEN (SELECT count(*) FROM visits_verificationitem ri"
        f" WHERE ri.verification_id = {v}.id AND ri.reported)"
        f" ELSE (SELECT count(*) FROM children_child lc WHERE lc.village_id = {v}.village_id"
        f" AND {on_list_sql('lc.', as_of)}) END"
    )


def confirmed_sql(v: str, today: date) -> str:
    """SQL: how many of them are confirmed."""
    as_of = f"least('{today.isoformat()}'::date, {_quarter_end_sql(v)})"
    return (
        f"CASE WHEN {v}.status = 'submitted' THEN (SELECT count(*) FROM visits_verificationitem ri"
        f" WHERE ri.verification_id = {v}.id AND ri.reported)"
        f" ELSE (SELECT count(*) FROM visits_verificationitem ci"
        f" JOIN children_child lc ON lc.id = ci.child_id"
        f" WHERE ci.verification_id = {v}.id AND lc.village_id = {v}.village_id"
        f" AND {on_list_sql('lc.', as_of)}) END"
    )


def verifications_for_user(
    *,
    user: User,
    today: date,
    year: int | None = None,
    quarter: int | None = None,
    area: Area | None = None,
    status: str | None = None,
) -> QuerySet[QuarterlyVerification]:
    """The verifications of the user's area (or of ``area`` within it, already checked), newest
    quarter first, each with ``listed`` and ``confirmed`` counted in SQL. 403 for a role that
    reads none."""
    permissions.require(user, Capability.VERIFICATION_READ)
    table = QuarterlyVerification._meta.db_table
    found = scope.scope_queryset(
        _verifications(), user=user, area_field=VERIFICATION_AREA_FIELD
    ).annotate(
        listed=RawSQL(listed_sql(table, today), [], output_field=IntegerField()),
        confirmed=RawSQL(confirmed_sql(table, today), [], output_field=IntegerField()),
    )
    if year is not None:
        found = found.filter(year=year)
    if quarter is not None:
        found = found.filter(quarter=quarter)
    if area is not None:
        found = found.filter(scope.subtree_q(area.code, VERIFICATION_AREA_FIELD))
    if status in VerificationStatus.values:
        found = found.filter(status=status)
    return found.order_by("-year", "-quarter", "village_id")


# --- The township's and county's overview of a quarter ---------------------------------------


@dataclass
class OverviewRow:
    """An area below the one shown: its villages' verifications of the quarter. For a village,
    ``state`` says where it stands (verification_rules)."""

    area: Area
    villages: int  # villages with children to verify, or a verification started
    submitted: int
    in_progress: int
    not_started: int
    children: int
    confirmed: int
    status: str | None = None
    submitted_at: datetime | None = None

    @property
    def is_village(self) -> bool:
        return self.area.level == AreaLevel.VILLAGE

    @property
    def state(self) -> str:
        return rules.village_state(self.status, self.children)


@dataclass
class Overview:
    rows: list[OverviewRow]
    year: int
    quarter: int
    as_of: date
    due: date

    def total(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.rows)

    @property
    def villages(self) -> int:
        return self.total("villages")

    @property
    def submitted(self) -> int:
        return self.total("submitted")

    @property
    def in_progress(self) -> int:
        return self.total("in_progress")

    @property
    def not_started(self) -> int:
        return self.total("not_started")

    @property
    def children(self) -> int:
        return self.total("children")

    @property
    def confirmed(self) -> int:
        return self.total("confirmed")


def _villages_sql(area: Area) -> str:
    """Each village of ``area`` with children on its checklist or a verification of the
    quarter: its status, and how many children it lists and has confirmed."""
    return f"""
        SELECT coalesce(ch.village_id, qv.village_id) AS village_id, qv.status, qv.submitted_at,
               CASE WHEN qv.status = 'submitted' THEN qv.reported ELSE coalesce(ch.listed, 0)
               END AS listed,
               CASE WHEN qv.status = 'submitted' THEN qv.reported ELSE coalesce(ch.confirmed, 0)
               END AS confirmed
        FROM (
            SELECT c.village_id, count(*) AS listed,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM visits_verificationitem i
                       JOIN visits_quarterlyverification w ON w.id = i.verification_id
                       WHERE i.child_id = c.id AND w.village_id = c.village_id
                         AND w.year = %(year)s AND w.quarter = %(quarter)s
                   )) AS confirmed
            FROM children_child c
            WHERE {scope.subtree_sql("c.village_id", area.code)}
              AND {on_list_sql("c.", "%(as_of)s")}
            GROUP BY c.village_id
        ) ch
        FULL JOIN (
            SELECT v.village_id, v.status, v.submitted_at,
                   (SELECT count(*) FROM visits_verificationitem r
                    WHERE r.verification_id = v.id AND r.reported) AS reported
            FROM visits_quarterlyverification v
            WHERE v.year = %(year)s AND v.quarter = %(quarter)s
              AND {scope.subtree_sql("v.village_id", area.code)}
        ) qv ON qv.village_id = ch.village_id
    """


def _overview_sql(area: Area) -> str:
    return f"""
        SELECT r.code,
               count(vl.village_id) AS villages,
               count(vl.village_id) FILTER (WHERE vl.status = 'submitted') AS submitted,
               count(vl.village_id) FILTER (WHERE vl.status = 'draft') AS in_progress,
               count(vl.village_id) FILTER (WHERE vl.status IS NULL AND vl.listed > 0)
                   AS not_started,
               coalesce(sum(vl.listed), 0) AS children,
               coalesce(sum(vl.confirmed), 0) AS confirmed,
               max(vl.status) AS status,
               max(vl.submitted_at) AS submitted_at
        FROM unnest(%(codes)s::varchar[], %(lows)s::varchar[], %(highs)s::varchar[])
             AS r(code, low, high)
        LEFT JOIN ({_villages_sql(area)}) vl ON vl.village_id BETWEEN r.low AND r.high
        GROUP BY r.code
    """


def overview_for(
    *, user: User, area: Area, rows: list[Area], year: int, quarter: int, today: date
) -> Overview:
    """The quarter's verifications of the areas ``rows`` one level below ``area`` (both already
    in the user's scope: accounts.selectors.area_picker_for): one query, whatever the number of
    villages."""
    permissions.require(user, Capability.VERIFICATION_READ)
    as_of = rules.as_of(year, quarter, today)
    found: dict[str, tuple] = {}
    if rows:
        ranges = [scope.subtree_range(row.code) or ("000000000000", "999999999999") for row in rows]
        with connection.cursor() as cursor:
            cursor.execute(
                _overview_sql(area),
                {
                    "codes": [row.code for row in rows],
                    "lows": [low for low, _high in ranges],
                    "highs": [high for _low, high in ranges],
                    "year": year,
                    "quarter": quarter,
                    "as_of": as_of,
                },
            )
            found = {code: values for code, *values in cursor.fetchall()}
    result = []
    for row in rows:
        villages, submitted, in_progress, not_started, children, confirmed, status, at = found.get(
            row.code, (0, 0, 0, 0, 0, 0, None, None)
        )
        result.append(
            OverviewRow(
                area=row,
                villages=villages,
                submitted=submitted,
                in_progress=in_progress,
                not_started=not_started,
                children=children,
                confirmed=confirmed,
                status=status if row.level == AreaLevel.VILLAGE else None,
                submitted_at=at if row.level == AreaLevel.VILLAGE else None,
            )
        )
    return Overview(
        rows=result,
        year=year,
        quarter=quarter,
        as_of=as_of,
        due=rules.due_date(year, quarter),
    )


# --- The reminder sweep ------------------------------------------------------------------------

# The reminder's detail line, in Chinese as every detail (reminders.details says it again in the
# reader's language): "困境儿童季度核查（截至2026-09-30）".
DETAIL_PREFIX = "困境儿童季度核查（截至"
DETAIL_SUFFIX = "）"


def verification_due_select_sql() -> str:
    """The reminder sweep's SELECT (recipient, child, report, due date, detail) of
    ``verification_due``, as of ``%(today)s``: the directors in post of every village with
    children on its checklist whose verification of the quarter is not submitted — the
    quarter under way from NOTICE_DAYS before it ends, and the quarter before (due on the
    DUE_DAYS_AFTER_QUARTER-th day after it ended, overdue then) until the next one ends
    (verification_rules.reminded). Submitting resolves it; re-opening raises it again, due
    REOPEN_DAYS after the re-opening when that is later (verification_rules.due_date): a new due
    date, so a new reminder rather than the one already answered."""
    quarters = """
        SELECT extract(year FROM s)::int AS year, extract(quarter FROM s)::int AS quarter,
               (s + interval '3 months' - interval '1 day')::date AS q_end
        FROM (VALUES (date_trunc('quarter', %(today)s::date)),
                     (date_trunc('quarter', %(today)s::date) - interval '3 months')) AS t(s)
    """
    reopened_on = f"(v.reopened_at AT TIME ZONE '{settings.TIME_ZONE}')::date"
    due = f"l.q_end + {int(rules.DUE_DAYS_AFTER_QUARTER)}"
    return f"""
        SELECT u.id, NULL::uuid, NULL::uuid,
               CASE WHEN v.reopened_at IS NULL THEN {due}
                    ELSE greatest({due}, {reopened_on} + {int(rules.REOPEN_DAYS)}) END,
               '{DETAIL_PREFIX}' || to_char(l.q_end, 'YYYY-MM-DD') || '{DETAIL_SUFFIX}'
        FROM (
            SELECT DISTINCT q.year, q.quarter, q.q_end, c.village_id
            FROM ({quarters}) q
            JOIN children_child c ON {on_list_sql("c.", "least(%(today)s::date, q.q_end)")}
            WHERE %(today)s::date >= q.q_end - {int(rules.NOTICE_DAYS)}
        ) l
        LEFT JOIN visits_quarterlyverification v
          ON v.village_id = l.village_id AND v.year = l.year AND v.quarter = l.quarter
        JOIN accounts_user u
          ON u.area_id = l.village_id AND u.role = '{Role.DIRECTOR.value}'
         AND {scope.in_post_sql("u")}
        WHERE v.status IS DISTINCT FROM '{VerificationStatus.SUBMITTED.value}'
    """
