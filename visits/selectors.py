"""Reads for visits, worklists, supervisor overviews and patrols — always scoped."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, Role, User
from accounts.permissions import Capability
from children import rules as child_rules
from children import schedule
from children import selectors as child_selectors
from children.models import AgreementStatus, CareAgreement, Child, ChildStatus
from children.selectors import TimelineEntry, children_in_scope, record_history
from core import web
from core.compiled import AnyOf, Compiled, Param, Read, run
from core.text import labelled

from . import rules
from .models import ReviewStatus, Visit, VisitAmendment, VisitEvent


def status_of(child: Child, today: date) -> str:
    if child.next_home_visit_due is None:
        return schedule.OK
    return schedule.schedule_status(
        next_home_visit_due=child.next_home_visit_due,
        last_home_visit_on=child.last_home_visit_on,
        today=today,
    )


def found_alone(visit: Visit, child: Child) -> bool:
    """rules.found_alone for a recorded visit: the child's age on the day of the visit."""
    return rules.found_alone(
        kind=visit.kind,
        guardian_present=visit.guardian_present,
        seen=visit.seen,
        age=child_rules.age_on(child.birth_date, visit.visited_on),
    )


def visits_for_child(*, child: Child) -> QuerySet[Visit]:
    return child.visits.select_related("visitor", "reviewed_by").prefetch_related(
        "photos", _amendments()
    )


def recent_visits_for_child(*, child: Child, limit: int = 20) -> list[Visit]:
    """The latest visits for the list on the child's file: the visitor with each, nothing the
    list does not show (photos and amendments are on the visit's own page)."""
    return run(recent_visits_read(child=child, limit=limit))


def recent_visits_read(*, child: Child, limit: int = 20) -> Read[list[Visit]]:
    return _RECENT.read(limit, child=child.pk, attach={"child": child})


# What the file's list of visits shows (templates/children/child_detail.html): of the case notes
# only ``notes`` is decrypted, not the four others of every visit.
_LISTED = (
    *("child", "visited_on", "kind", "safety_concern", "review_status", "notes"),
    *("visitor__name", "visitor__first_name", "visitor__last_name", "visitor__username"),
)


_RECENT = Compiled(
    lambda limit: (
        Visit.objects.filter(child_id=Param("child"))
        .select_related("visitor")
        .only(*_LISTED)[:limit]
    ),
    prepared=True,
)


def _amendments() -> Prefetch:
    return Prefetch("amendments", queryset=VisitAmendment.objects.select_related("by"))


def visit_for_user_or_404(
    *, user: User, visit_id, capability: Capability = Capability.VISIT_READ
) -> Visit:
    visit = child_selectors.child_record_or_404(
        Visit.objects.select_related("child", "child__village", "visitor"), user=user, pk=visit_id
    )
    permissions.require(user, capability)
    return visit


WORKLIST_LIMIT = 200


_WORKLISTS = (schedule.OVERDUE, schedule.DUE_SOON, schedule.NEVER_VISITED)
# The worklist's one statement: the children of the scope (and of the village or area chosen)
# that are overdue, due soon or never visited (children.schedule.status_sql: the status in the
# same words as everywhere), each with its village and its place in its list, cut at
# WORKLIST_LIMIT per list. Written out rather than built by the ORM: the page runs it on every
# load, and compiling the equivalent queryset cost more CPU than the rest of the query.
_WORKLIST_SQL_TEMPLATE = f"""
    SELECT w.*, a.name AS village_name FROM (
        SELECT c.id, c.name, c.gender, c.birth_date, c.village_id, c.risk_level, c.categories,
               c.focus_flags, c.schedule_reason, c.next_home_visit_due, c.next_contact_due,
               c.last_home_visit_on, c.last_contact_on, c.status, s.worklist,
               row_number() OVER (
                   PARTITION BY s.worklist ORDER BY c.next_home_visit_due, c.name, c.id
               ) AS place
        FROM children_child c
        CROSS JOIN LATERAL (SELECT {schedule.status_sql()} AS worklist) s
        WHERE c.status = '{ChildStatus.ACTIVE}' AND {schedule.under_18_sql()}
          AND s.worklist IN ({", ".join(f"'{w}'" for w in _WORKLISTS)})
          AND {{reach}}
          AND (%(village)s::varchar IS NULL OR c.village_id = %(village)s::varchar)
    ) w
    JOIN accounts_area a ON a.code = w.village_id
    WHERE w.place <= {WORKLIST_LIMIT}
    ORDER BY w.next_home_visit_due, w.name, w.id
"""
# A reach of one village (a director's) compares its key with =: a prepared statement, whose
# generic plan is that of any one village. A wider one is a range, planned with its values each
# time (a township's and a province's are not one plan).
_WORKLIST_SQL = _WORKLIST_SQL_TEMPLATE.replace(
    "{reach}", "c.village_id BETWEEN %(low)s AND %(high)s"
)
_WORKLIST_VILLAGE_SQL = _WORKLIST_SQL_TEMPLATE.replace("{reach}", "c.village_id = %(low)s")
_ALL_CODES = ("000000000000", "999999999999")


@dataclass
class Worklist:
    """The worklist statement's rows as they came (``key``: what a kept fragment showing them is
    kept by, core.web.content_key), and the three lists of children made of them when a page
    renders them (``lists``): a page whose fragment is kept never makes the children."""

    columns: list[str]
    rows: list[tuple]
    today: date
    using: str

    @property
    def key(self) -> str:
        """Another day is another key: the rows say how many days overdue."""
        return web.content_key([self.today, *self.rows])

    @cached_property
    def lists(self) -> dict[str, list[Child]]:
        lists: dict[str, list[Child]] = {status: [] for status in _WORKLISTS}
        # The child's own columns, in the model's order (as Model.from_db takes them).
        place = {name: i for i, name in enumerate(self.columns)}
        fields = [f.attname for f in Child._meta.concrete_fields if f.attname in place]
        for row in self.rows:
            child = Child.from_db(self.using, fields, [row[place[name]] for name in fields])
            child.village = Area(code=child.village_id, name=row[place["village_name"]])
            # Days past the due date (negative: days left).
            child.days = (self.today - child.next_home_visit_due).days
            lists[row[place["worklist"]]].append(child)
        return lists


def worklist_read(
    *, user: User, today: date, village: str | None = None, area: str | None = None
) -> Read[Worklist]:
    """Active children in scope that need attention: overdue, due soon, never visited (under 18:
    a file kept open past 18 for education is on no worklist), each list by due date.

    One statement (_WORKLIST_SQL), whatever the number of children; a read to send with the
    page's others (core.compiled.together). ``area``: an area of the user's chosen on the
    overview (checked in scope by the caller)."""
    prefix = scope.scope_prefix(user)
    if prefix is None:
        return Read.of(Worklist(columns=["worklist"], rows=[], today=today, using=DEFAULT_DB_ALIAS))
    low, high = scope.prefix_range(prefix) or _ALL_CODES
    if area:
        area_low, area_high = scope.subtree_range(area) or _ALL_CODES
        low, high = max(low, area_low), min(high, area_high)
    using = router.db_for_read(Child)
    values = {"today": today, "low": low, "village": village or None}
    one_village = low == high
    if not one_village:
        values["high"] = high
    return Read(
        _WORKLIST_VILLAGE_SQL if one_village else _WORKLIST_SQL,
        values,
        using,
        lambda rows, columns: Worklist(columns=columns, rows=rows, today=today, using=using),
        named=True,
        prepared=one_village,
    )


def worklist_for(
    *, user: User, today: date, village: str | None = None, area: str | None = None
) -> dict[str, list[Child]]:
    """The three lists of ``worklist_read``, read now."""
    return run(worklist_read(user=user, today=today, village=village, area=area)).lists


def worklist_counts(*, user: User, today: date) -> dict[str, int]:
    base = children_in_scope(user=user).filter(
        schedule.under_18_q(today), status=ChildStatus.ACTIVE
    )
    return base.aggregate(
        overdue=Count("id", filter=schedule.status_q(schedule.OVERDUE, today)),
        due_soon=Count("id", filter=schedule.status_q(schedule.DUE_SOON, today)),
        never_visited=Count("id", filter=schedule.status_q(schedule.NEVER_VISITED, today)),
    )


@dataclass(frozen=True)
class ReturnedVisit:
    """What the worklist shows of a returned visit: its child's name, its date, the comment and
    who wrote it. Plain values, so that the rows are also the key of the page's kept fragment
    (core.web.content_key)."""

    pk: uuid.UUID
    child_name: str
    visited_on: date
    comment: str
    reviewer: str


_RETURNED = Compiled(
    lambda limit: (
        Visit.objects.filter(visitor_id=Param("user"), review_status=ReviewStatus.RETURNED)
        .order_by("-reviewed_at")
        .values_list("pk")[:limit]
    ),
    prepared=True,
)
# Their lines, when there are any (a second statement: the first, on the visits alone, is
# planned in a fifth of the time of a join to children and staff, and most days finds none).
_RETURNED_LINES = Compiled(
    lambda: (
        Visit.objects.filter(AnyOf("pk", Param("visits")))
        .order_by("-reviewed_at")
        .values_list(
            "pk",
            "child__name",
            "visited_on",
            "review_comment",
            "reviewed_by__name",
            "reviewed_by__first_name",
            "reviewed_by__last_name",
            "reviewed_by__username",
        )
    )
)


def returned_visits_read(*, user: User, limit: int) -> Read[list[ReturnedVisit]]:
    """The latest ``limit`` visits a supervisor returned to this director, awaiting correction
    (a read to send with the page's others: core.compiled.together)."""
    return _RETURNED.read(limit, user=user.pk).then(_returned_lines)


def _returned_lines(visits: list[tuple]) -> list[ReturnedVisit]:
    if not visits:
        return []
    return [
        ReturnedVisit(
            pk,
            child_name,
            visited_on,
            comment,
            area_rules.display_name(*reviewer) if reviewer[3] is not None else "",
        )
        for pk, child_name, visited_on, comment, *reviewer in _RETURNED_LINES.rows(
            visits=[pk for (pk,) in visits]
        )
    ]


# The overview counts children live by area for a county or a township (a city's or a
# province's numbers are the statistics pages': dashboards keep per-village counts), and lists
# the children to visit of a township or a village (a county's hundreds are found a township
# at a time).
COUNTED_LEVELS = frozenset({area_rules.COUNTY, area_rules.TOWNSHIP})
LISTED_LEVELS = frozenset({area_rules.TOWNSHIP, area_rules.VILLAGE})


def township_overview(*, user: User, today: date, area: Area, rows: list[Area]) -> list[dict]:
    """Per area of ``rows`` (the areas just below ``area``, inside the user's): overdue /
    due-soon / never-visited counts when ``area`` is a county or a township (one query grouped
    by the rows' code prefix), and for villages their directors (one query)."""
    if not rows:
        return []
    counts: dict[str, dict] = {}
    if area.level in COUNTED_LEVELS:
        length = len(area_rules.prefix(rows[0].code, rows[0].level))
        counts = {
            row["part"]: row
            for row in children_in_scope(user=user)
            .filter(
                scope.subtree_q(area.code, "village__code"),
                schedule.under_18_q(today),
                status=ChildStatus.ACTIVE,
            )
            .annotate(part=Substr("village_id", 1, length))
            .values("part")
            .annotate(
                total=Count("id"),
                overdue=Count("id", filter=schedule.status_q(schedule.OVERDUE, today)),
                due_soon=Count("id", filter=schedule.status_q(schedule.DUE_SOON, today)),
                never_visited=Count("id", filter=schedule.status_q(schedule.NEVER_VISITED, today)),
                # Left-behind children with no active care agreement and no capable parent home.
                unsupervised=Count("id", filter=Q(focus_flags__contains=["unsupervised"])),
            )
        }
    directors: dict[str, list[str]] = {}
    if rows[0].level == area_rules.VILLAGE:
        for director in scope.staff_for_user(user=user).filter(
            role=Role.DIRECTOR, area__parent_id=area.code
        ):
            directors.setdefault(director.area_id, []).append(director.display_name)
    empty = {"total": 0, "overdue": 0, "due_soon": 0, "never_visited": 0, "unsupervised": 0}
    return [
        {
            "area": row,
            "directors": directors.get(row.code, []),
            "counted": area.level in COUNTED_LEVELS,
            **counts.get(area_rules.prefix(row.code, row.level), empty),
        }
        for row in rows
    ]


# The review queue's order: visits that prompt a mandatory report first — a safety concern, or
# a child found alone (rules.prompts_report) — then the oldest. ``priority`` is 0 for those.
REVIEW_ORDER = ("priority", "visited_on", "created_at", "pk")
CONCERN, ROUTINE = 0, 1


def _prompts_report() -> str:
    """SQL: the visit row (the queryset's own table) prompts a report (rules.prompts_report)."""
    visit, child = Visit._meta.db_table, Child._meta.db_table
    concern = rules.prompts_report_sql(f"{visit}.", "rc.")
    return f"EXISTS (SELECT 1 FROM {child} rc WHERE rc.id = {visit}.child_id AND {concern})"


def _review_priority() -> RawSQL:
    return RawSQL(
        f"CASE WHEN {_prompts_report()} THEN {CONCERN} ELSE {ROUTINE} END",
        [],
        output_field=IntegerField(),
    )


def review_priority(visit: Visit) -> int:
    """The queue's ``priority`` of one visit, in Python (rules.prompts_report, as the SQL)."""
    concern = rules.prompts_report(
        kind=visit.kind,
        safety_concern=visit.safety_concern,
        guardian_present=visit.guardian_present,
        seen=visit.seen,
        age=child_rules.age_on(visit.child.birth_date, visit.visited_on),
    )
    return CONCERN if concern else ROUTINE


def _awaiting_review(*, user: User) -> QuerySet[Visit]:
    return (
        child_selectors.child_records_in_scope(Visit.objects.all(), user=user)
        .filter(review_status=ReviewStatus.PENDING)
        .exclude(visitor=user)
        .exclude(Exists(VisitAmendment.objects.filter(visit=OuterRef("pk"), by=user)))
    )


def visits_to_review(*, user: User, concerns_only: bool = False) -> QuerySet[Visit]:
    """Visits awaiting review in the user's area, but none the user recorded or amended; an
    amended visit is back here, marked ``amended``. Those that prompt a report first (a safety
    concern, a child found alone: ``priority`` 0), then the oldest; ``concerns_only``: those
    only."""
    queryset = (
        _awaiting_review(user=user)
        .annotate(
            amended=Exists(VisitAmendment.objects.filter(visit=OuterRef("pk"))),
            priority=_review_priority(),
        )
        .select_related("child", "child__village", "visitor")
        .order_by(*REVIEW_ORDER)
    )
    if concerns_only:
        queryset = queryset.filter(priority=CONCERN)
    return queryset


def review_counts(*, user: User) -> dict[str, int]:
    """How many visits wait for the user's review, and how many of them prompt a report."""
    concern = RawSQL(_prompts_report(), [], output_field=BooleanField())
    return _awaiting_review(user=user).aggregate(
        total=Count("id"), concerns=Count("id", filter=Q(concern))
    )


def next_to_review(*, user: User, after: Visit) -> Visit | None:
    """The visit that follows ``after`` in the user's review queue (in the queue's order, as
    it was when ``after`` was opened), else the queue's first: where "审核通过" leads."""
    priority, day, created = review_priority(after), after.visited_on, after.created_at
    later = (
        Q(priority__gt=priority)
        | Q(priority=priority, visited_on__gt=day)
        | Q(priority=priority, visited_on=day, created_at__gt=created)
        | Q(priority=priority, visited_on=day, created_at=created, pk__gt=after.pk)
    )
    queue = visits_to_review(user=user).exclude(pk=after.pk)
    return queue.filter(later).first() or queue.first()


def may_review(*, user: User, visit: Visit) -> bool:
    """Nobody reviews a visit they recorded or added an amendment to (the role is checked apart:
    Capability.VISIT_REVIEW)."""
    if visit.visitor_id == user.pk:
        return False
    return not VisitAmendment.objects.filter(visit=visit, by=user).exists()


def amendments_for(visit: Visit) -> list[VisitAmendment]:
    return list(visit.amendments.select_related("by"))


def _patrolled(start: date, end: date) -> Exists:
    """The child (the outer row) was seen in person by a supervisor between ``start`` and
    ``end`` (督导巡查; a phone or video call is not a patrol)."""
    return Exists(
        Visit.objects.filter(
            child=OuterRef("pk"),
            visitor_role=rules.PATROL_ROLE,
            kind__in=rules.PATROL_KINDS,
            visited_on__range=(start, end),
        )
    )


def _key_children(*, user: User) -> QuerySet[Child]:
    return children_in_scope(user=user).filter(status=ChildStatus.ACTIVE, is_key_child=True)


def patrol_for_quarter(*, user: User, year: int, quarter: int) -> dict:
    """Key children in scope and whether a supervisor saw each in person this quarter (督导巡查;
    a phone or video call is not a patrol)."""
    start, end = rules.quarter_bounds(year, quarter)
    children = (
        _key_children(user=user)
        .annotate(patrolled=_patrolled(start, end))
        .select_related("village")
        .order_by("patrolled", "village_id", "name")
    )
    rows = list(children)
    return {
        "start": start,
        "end": end,
        "children": rows,
        "total": len(rows),
        "patrolled": sum(1 for c in rows if c.patrolled),
    }


def patrol_progress(*, user: User, today: date) -> dict[str, int]:
    """This quarter's patrol in one query: key children, and how many were patrolled (the
    numbers of the patrol page)."""
    start, end = rules.quarter_bounds(*rules.quarter_of(today))
    return _key_children(user=user).aggregate(
        total=Count("id"), patrolled=Count("id", filter=_patrolled(start, end))
    )


# --- History -------------------------------------------------------------------------------------

# Left out of a visit's history: bookkeeping, and what the entry's own who and when say.
HISTORY_HIDDEN = {"id", "child", "visitor", "visitor_role", "created_at", "reviewed_at"}
EDIT, REVIEW, AMENDMENT = "visit-edit", "visit-review", "visit-amendment"


def _describe(event: dict, previous: dict | None, changes: list) -> tuple[str, str]:
    if previous is None:
        return _("Visit recorded"), "visit"
    status = event["review_status"]
    if status != previous["review_status"] and status == ReviewStatus.REVIEWED:
        return _("Review passed"), REVIEW
    if status != previous["review_status"] and status == ReviewStatus.RETURNED:
        return _("Returned for changes"), REVIEW
    return _("Visit changed"), EDIT


def _history(visits: list[Visit], amendments: list[VisitAmendment]) -> list[TimelineEntry]:
    """The entries of the visits' histories, oldest first: recorded, edited, reviewed, returned,
    amended. An amendment and the change it made to its visit are one entry."""
    events = list(
        VisitEvent.objects.filter(pgh_obj_id__in=[visit.pk for visit in visits])
        .order_by("pgh_id")
        .values()
    )
    entries = record_history(
        Visit,
        VisitEvent,
        events,
        describe=_describe,
        hidden=HISTORY_HIDDEN,
        creation_changes=False,
    )
    by_amendment = {
        entry.meta["amendment"]: entry for entry in entries if "amendment" in entry.meta
    }
    label = str(VisitAmendment._meta.get_field("text").verbose_name)
    for amendment in amendments:
        entry = by_amendment.get(str(amendment.pk))
        if entry is None:  # nothing of the visit changed (it was awaiting review already)
            entry = TimelineEntry(amendment.at, amendment.by.display_name, "", [], AMENDMENT)
            entry.record = amendment.visit_id
            entries.append(entry)
        entry.title, entry.kind = _("Amendment added"), AMENDMENT
        entry.changes.insert(0, (label, "", amendment.text))
    entries.sort(key=lambda entry: entry.at)
    return entries


def visit_history(*, visit: Visit) -> list[TimelineEntry]:
    """Who changed what of the visit and when, newest first (the visit's page)."""
    return list(reversed(_history([visit], amendments_for(visit))))


def timeline_entries(*, child: Child) -> list:
    """The child's visits as entries of the file's timeline, with their edits and amendments."""
    visits = list(child.visits.select_related("visitor").order_by("-visited_on")[:200])
    titles = {
        visit.pk: _("%(kind)s (%(date)s)")
        % {"kind": visit.get_kind_display(), "date": f"{visit.visited_on:%Y-%m-%d}"}
        for visit in visits
    }
    entries = []
    for visit in visits:
        changes = []
        if visit.notes:
            changes.append((_("What was found"), "", visit.notes[:120]))
        if visit.safety_concern:
            changes.append((_("Safety concern"), "", _("Yes")))
        entries.append(
            TimelineEntry(
                visit.created_at, visit.visitor.display_name, titles[visit.pk], changes, "visit"
            )
        )
    amendments = list(
        VisitAmendment.objects.filter(visit__in=visits).select_related("by").order_by("at")
    )
    for entry in _history(visits, amendments):
        if entry.kind in (EDIT, AMENDMENT):
            entry.title = labelled(entry.title, titles[entry.record])
            entries.append(entry)
    return entries


OFFLINE_FILES_LIMIT = 2000


def offline_short_files_for(*, user: User, today: date) -> list[Child]:
    """The short files a phone keeps to open the visit, contact and parent-contact forms with no
    signal (visits.offline_views): the active files of children under 18 in the user's area — the
    worklist's children — most urgent first, each with ``active_agreements`` (the caregiver of
    its care agreement in force). Two queries, whatever the number of children; no ID or phone
    number is read."""
    agreements = CareAgreement.objects.filter(status=AgreementStatus.ACTIVE).only(
        "id", "child_id", "caregiver_name", "caregiver_relation"
    )
    return list(
        children_in_scope(user=user)
        .filter(schedule.under_18_q(today), status=ChildStatus.ACTIVE)
        .select_related("village")
        .prefetch_related(
            Prefetch("care_agreements", queryset=agreements, to_attr="active_agreements")
        )
        .only(
            "id",
            "name",
            "birth_date",
            "village__name",
            "village__code",
            "categories",
            "schedule_reason",
            "status",
            "version",
            "next_home_visit_due",
            "next_contact_due",
            "last_home_visit_on",
        )
        .order_by(F("next_home_visit_due").asc(nulls_first=True), "name", "id")[
            :OFFLINE_FILES_LIMIT
        ]
    )
