"""Reads for visits, worklists, supervisor overviews and patrols — always scoped."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Role, User
from accounts.permissions import Capability
from children import schedule
from children import selectors as child_selectors
from children.models import Child, ChildStatus
from children.selectors import children_in_scope

from . import rules
from .models import ReviewStatus, Visit


def status_of(child: Child, today: date) -> str:
    if child.next_home_visit_due is None:
        return schedule.OK
    return schedule.schedule_status(
        next_home_visit_due=child.next_home_visit_due,
        last_home_visit_on=child.last_home_visit_on,
        today=today,
    )


def visits_for_child(*, child: Child) -> QuerySet[Visit]:
    return child.visits.select_related("visitor", "reviewed_by").prefetch_related("photos")


def visit_for_user_or_404(
    *, user: User, visit_id, capability: Capability = Capability.VISIT_READ
) -> Visit:
    visit = child_selectors.child_record_or_404(
        Visit.objects.select_related("child", "child__village", "visitor"), user=user, pk=visit_id
    )
    permissions.require(user, capability)
    return visit


WORKLIST_LIMIT = 200


def worklist_for(*, user: User, today: date, village: str | None = None) -> dict[str, list[Child]]:
    """Active children in scope that need attention: overdue, due soon, never visited.

    Three indexed queries on next_home_visit_due, whatever the number of children.
    """
    base = (
        children_in_scope(user=user)
        .filter(status=ChildStatus.ACTIVE)
        .select_related("village")
        .only(
            "id",
            "name",
            "gender",
            "birth_date",
            "village__name",
            "village__code",
            "risk_level",
            "categories",
            "focus_flags",
            "schedule_reason",
            "next_home_visit_due",
            "next_contact_due",
            "last_home_visit_on",
            "last_contact_on",
            "status",
        )
    )
    if village:
        base = base.filter(village_id=village)
    lists = {}
    for status in (schedule.OVERDUE, schedule.DUE_SOON, schedule.NEVER_VISITED):
        children = list(
            base.filter(schedule.status_q(status, today)).order_by("next_home_visit_due", "name")[
                :WORKLIST_LIMIT
            ]
        )
        for child in children:
            # Days past the due date (negative: days left).
            child.days = (today - child.next_home_visit_due).days
        lists[status] = children
    return lists


def worklist_counts(*, user: User, today: date) -> dict[str, int]:
    base = children_in_scope(user=user).filter(status=ChildStatus.ACTIVE)
    return base.aggregate(
        overdue=Count("id", filter=schedule.status_q(schedule.OVERDUE, today)),
        due_soon=Count("id", filter=schedule.status_q(schedule.DUE_SOON, today)),
        never_visited=Count("id", filter=schedule.status_q(schedule.NEVER_VISITED, today)),
    )


def returned_visits_for(*, user: User) -> QuerySet[Visit]:
    """Visits a supervisor returned to this director, awaiting correction."""
    return (
        Visit.objects.filter(visitor=user, review_status=ReviewStatus.RETURNED)
        .select_related("child", "reviewed_by")
        .order_by("-reviewed_at")
    )


def township_overview(*, user: User, today: date) -> list[dict]:
    """Per village: its directors, overdue / due-soon / never-visited counts (one grouped query)."""
    villages = list(scope.areas_for_user(user=user).filter(level="village").order_by("code"))
    counts = {
        row["village_id"]: row
        for row in children_in_scope(user=user)
        .filter(status=ChildStatus.ACTIVE)
        .values("village_id")
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=schedule.status_q(schedule.OVERDUE, today)),
            due_soon=Count("id", filter=schedule.status_q(schedule.DUE_SOON, today)),
            never_visited=Count("id", filter=schedule.status_q(schedule.NEVER_VISITED, today)),
            # Left-behind children with no active care agreement and no capable parent at home.
            unsupervised=Count("id", filter=Q(focus_flags__contains=["unsupervised"])),
        )
    }
    directors: dict[str, list[str]] = {}
    for director in scope.staff_for_user(user=user).filter(role=Role.DIRECTOR):
        directors.setdefault(director.area_id, []).append(director.display_name)
    empty = {"total": 0, "overdue": 0, "due_soon": 0, "never_visited": 0, "unsupervised": 0}
    return [
        {"village": v, "directors": directors.get(v.code, []), **counts.get(v.code, empty)}
        for v in villages
    ]


def visits_to_review(*, user: User) -> QuerySet[Visit]:
    return (
        child_selectors.child_records_in_scope(Visit.objects.all(), user=user)
        .filter(review_status=ReviewStatus.PENDING)
        .exclude(visitor=user)
        .select_related("child", "child__village", "visitor")
        .order_by("visited_on", "created_at")
    )


def patrol_for_quarter(*, user: User, year: int, quarter: int) -> dict:
    """Key children in scope and whether a supervisor visited each this quarter (督导巡查)."""
    start, end = rules.quarter_bounds(year, quarter)
    patrolled = Visit.objects.filter(
        child=OuterRef("pk"),
        visitor_role=Role.SUPERVISOR,
        visited_on__range=(start, end),
    )
    children = (
        children_in_scope(user=user)
        .filter(status=ChildStatus.ACTIVE, is_key_child=True)
        .select_related("village")
        .annotate(patrolled=Exists(patrolled))
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


def timeline_entries(*, child: Child) -> list:
    """The child's visits as entries of the file's timeline."""
    from children.selectors import TimelineEntry

    entries = []
    for visit in child.visits.select_related("visitor").order_by("-visited_on")[:200]:
        changes = []
        if visit.notes:
            changes.append(("走访情况", "", visit.notes[:120]))
        if visit.safety_concern:
            changes.append(("安全隐患", "", "是"))
        entries.append(
            TimelineEntry(
                visit.created_at,
                visit.visitor.display_name,
                f"{visit.get_kind_display()}（{visit.visited_on:%Y-%m-%d}）",
                changes,
                "visit",
            )
        )
    return entries
