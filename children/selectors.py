"""Reads of the child file, always through the user's scope (accounts.selectors)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts import permissions
from accounts import selectors as scope
from accounts.models import User
from accounts.permissions import Capability
from core import clock, crypto
from core.masking import ID_NUMBER, PHONE

from . import schedule
from .models import (
    Category,
    Child,
    ChildEvent,
    ChildStatus,
    FamilyMember,
    FamilyMemberEvent,
    FocusFlag,
    GuardianshipAssessment,
    RiskLevel,
    SchoolStatus,
)

VISIT_STATUSES = (
    schedule.OK,
    schedule.DUE_SOON,
    schedule.OVERDUE,
    schedule.NEVER_VISITED,
)
PARENT_CONTACT_OVERDUE = "parent_contact_overdue"  # a list filter beside the focus flags
CHILD_AREA_FIELD = "village__code"


def children_in_scope(*, user: User) -> QuerySet[Child]:
    """Every child file the user's area covers (no role check)."""
    return scope.scope_queryset(Child.objects.all(), user=user, area_field=CHILD_AREA_FIELD)


def child_for_user_or_404(
    *, user: User, child_id: Any, capability: Capability = Capability.CHILD_READ
) -> Child:
    """404 outside the user's area (or unknown), then 403 if the role may not do this."""
    try:
        child_uuid = uuid.UUID(str(child_id))
    except ValueError:
        from django.http import Http404

        raise Http404 from None
    child = scope.get_in_scope_or_404(
        Child.objects.select_related("village", "village__parent"),
        user=user,
        area_field=CHILD_AREA_FIELD,
        pk=child_uuid,
    )
    permissions.require(user, capability)
    return child


CHILD_RECORD_AREA_FIELD = "child__village__code"


def child_record_or_404(queryset: QuerySet, *, user: User, pk: Any):
    """A record that belongs to a child (member, agreement, application, visit …), found only
    when the child's village is in the user's area."""
    return scope.get_in_scope_or_404(queryset, user=user, area_field=CHILD_RECORD_AREA_FIELD, pk=pk)


def child_records_in_scope(queryset: QuerySet, *, user: User) -> QuerySet:
    return scope.scope_queryset(queryset, user=user, area_field=CHILD_RECORD_AREA_FIELD)


@dataclass
class ChildFilters:
    q: str = ""
    village: str = ""
    category: str = ""
    risk: str = ""
    flag: str = ""
    school_status: str = ""
    status: str = ChildStatus.ACTIVE
    key_only: bool = False
    visit_status: str = ""
    # Drill-downs from the dashboards (dashboards/indicator_sql.py has the same conditions).
    area: str = ""
    contact: str = ""  # "overdue": no contact by the contact due date
    home_visit: str = ""  # "never": no home visit ever
    agreement: str = ""  # "none": no active care agreement

    @classmethod
    def from_params(cls, params) -> ChildFilters:
        status = params.get("status", ChildStatus.ACTIVE)
        return cls(
            q=(params.get("q") or "").strip(),
            village=params.get("village") or "",
            category=params.get("category") or "",
            risk=params.get("risk") or "",
            flag=params.get("flag") or "",
            school_status=params.get("school_status") or "",
            status=status if status in (*ChildStatus.values, "all") else ChildStatus.ACTIVE,
            key_only=params.get("key") in ("1", "true", "on"),
            visit_status=params.get("visit_status") or "",
            area=params.get("area") or "",
            contact=params.get("contact") or "",
            home_visit=params.get("home_visit") or "",
            agreement=params.get("agreement") or "",
        )


def child_list_for_user(*, user: User, filters: ChildFilters) -> QuerySet[Child]:
    """The scoped, filtered list, with the village loaded: a constant number of queries."""
    permissions.require(user, Capability.CHILD_READ)
    queryset = children_in_scope(user=user).select_related("village")
    if filters.status in ChildStatus.values:
        queryset = queryset.filter(status=filters.status)
    if filters.village:
        queryset = queryset.filter(village_id=filters.village)
    if filters.area:
        area = scope.area_for_user_or_404(user=user, code=filters.area)
        queryset = queryset.filter(scope.subtree_q(area.code, "village__code"))
    if filters.contact == "overdue":
        queryset = queryset.filter(schedule.overdue_q("next_contact_due", clock.today()))
    if filters.home_visit == "never":
        queryset = queryset.filter(last_home_visit_on__isnull=True)
    if filters.agreement == "none":
        from .models import CareAgreement

        queryset = queryset.exclude(
            Exists(CareAgreement.objects.filter(child=OuterRef("pk"), status="active"))
        )
    if filters.category in Category.values:
        queryset = queryset.filter(categories__contains=[filters.category])
    if filters.risk in RiskLevel.values:
        queryset = queryset.filter(risk_level=filters.risk)
    if filters.flag in FocusFlag.values:
        queryset = queryset.filter(focus_flags__contains=[filters.flag])
    elif filters.flag == PARENT_CONTACT_OVERDUE:
        queryset = queryset.filter(schedule.overdue_q("parent_contact_due", clock.today()))
    if filters.school_status in SchoolStatus.values:
        queryset = queryset.filter(school_status=filters.school_status)
    if filters.key_only:
        queryset = queryset.filter(is_key_child=True)
    if filters.visit_status in VISIT_STATUSES:
        queryset = queryset.filter(status=ChildStatus.ACTIVE).filter(
            schedule.status_q(filters.visit_status, clock.today())
        )
    if filters.q:
        query = filters.q
        condition = Q(name__icontains=query)
        if len(query) == 4 and (query[:3].isdigit() and (query[3].isdigit() or query[3] in "xX")):
            condition |= Q(id_number_last4=query.upper())
        queryset = queryset.filter(condition)
    return queryset.order_by("village_id", "name", "id")


def parent_contact_overdue(child: Child, today: date) -> bool:
    """A left-behind child with no parent contact logged within the area's number of days."""
    return schedule.is_overdue(child.parent_contact_due, today)


def can_see_full_id(user: User, child: Child, *, surface: str = "page") -> bool:
    """Whether the user sees the child's ID number in full (accounts.selectors.sees_full_number
    decides for every number on every surface)."""
    return scope.sees_full_number(user, ID_NUMBER, child.village_id, surface=surface)


def id_number_for(user: User, child: Child) -> str:
    """The ID number as this user may see it: full or masked."""
    if can_see_full_id(user, child):
        return crypto.decrypt(child.id_number_encrypted)
    return child.id_number_masked


def family_for(child: Child) -> list[FamilyMember]:
    return list(child.family_members.order_by("relation", "created_at"))


def assessments_for(child: Child) -> list[GuardianshipAssessment]:
    return list(child.assessments.select_related("assessor"))


# --- Timeline ---------------------------------------------------------------------------------

# Fields shown on the timeline, in the words a director uses.
_HIDDEN = {
    "pgh_id",
    "pgh_created_at",
    "pgh_label",
    "pgh_obj",
    "pgh_context",
    "id",
    "child",
    "created_at",
    "created_by",
    "id_number_hash",
    "id_number_last4",
    "is_key_child",
    "next_assessment_due",
}


@dataclass
class TimelineEntry:
    at: datetime
    who: str
    title: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    kind: str = "change"


def _display(model, field_name: str, value: Any) -> str:
    from django.db.models import BooleanField

    try:
        model_field = model._meta.get_field(field_name)
    except Exception:
        return str(value)
    if value in (None, "", []):
        return "—"
    if isinstance(model_field, BooleanField):
        return "是" if value else "否"
    base = getattr(model_field, "base_field", None)
    choices = dict((base or model_field).choices or [])
    if isinstance(value, list):
        return "、".join(str(choices.get(v, v)) for v in value) or "—"
    if choices:
        return str(choices.get(value, value))
    if field_name == "village":
        from accounts.models import Area

        area = Area.objects.filter(pk=value).first()
        return area.name if area else str(value)
    return str(value)


def _default(model, field_name: str) -> Any:
    try:
        return model._meta.get_field(field_name).get_default()
    except Exception:
        return None


# Numbers on the timeline are shown as the user may see them (accounts.selectors).
_PHONE_FIELDS = {"phone", "caregiver_phone", "parent_phone"}


def _diff(
    model, event_model, previous: dict | None, current: dict, shown=None
) -> list[tuple[str, str, str]]:
    """The changed fields of an event, each (label, before, after) for display. ``shown(value)``
    masks a phone number for a user who may not see it in full."""
    changes = []
    for event_field in event_model._meta.concrete_fields:
        name = event_field.name
        attname = event_field.attname
        if name in _HIDDEN or attname in _HIDDEN:
            continue
        old = previous.get(attname) if previous else None
        new = current.get(attname)
        if previous is None and (new in (None, "", []) or new == _default(model, name)):
            continue
        if previous is not None and old == new:
            continue
        label = str(model._meta.get_field(name).verbose_name)
        if name in _PHONE_FIELDS and shown is not None:
            old, new = shown(old), shown(new)
        changes.append(
            (label, _display(model, name, old) if previous else "", _display(model, name, new))
        )
    return changes


def timeline_for(
    child: Child, extra: list[TimelineEntry] | None = None, *, user: User | None = None
) -> list[TimelineEntry]:
    """Every change to the file and its family members, newest first, plus assessments and the
    ``extra`` entries other apps contribute (visits, agreements, reports, benefits). Phone numbers
    are masked unless ``user`` may see them in full (no user: always masked)."""
    from pghistory.models import Context

    def shown(value):
        if not value:
            return value
        if user is None:
            return scope.shown_number_masked(PHONE, value)
        return scope.shown_number(user, PHONE, value, child.village_id)

    child_events = list(ChildEvent.objects.filter(pgh_obj_id=child.pk).order_by("pgh_id").values())
    member_events = list(
        FamilyMemberEvent.objects.filter(child_id=child.pk).order_by("pgh_id").values()
    )
    context_ids = {e["pgh_context_id"] for e in child_events + member_events if e["pgh_context_id"]}
    user_ids = {
        ctx.metadata.get("user")
        for ctx in Context.objects.filter(id__in=context_ids)
        if ctx.metadata.get("user")
    }
    contexts = {
        ctx.id: ctx.metadata.get("user") for ctx in Context.objects.filter(id__in=context_ids)
    }
    names = {u.pk: u.display_name for u in User.objects.filter(pk__in=user_ids)}

    def who(event: dict) -> str:
        return names.get(contexts.get(event["pgh_context_id"]), "系统")

    entries: list[TimelineEntry] = []
    previous: dict | None = None
    for event in child_events:
        changes = _diff(Child, ChildEvent, previous, event)
        if previous is None:
            entries.append(
                TimelineEntry(event["pgh_created_at"], who(event), "建立档案", changes, "create")
            )
        elif changes:
            entries.append(TimelineEntry(event["pgh_created_at"], who(event), "修改档案", changes))
        previous = event

    last_by_member: dict = {}
    for event in member_events:
        member_id = event["pgh_obj_id"]
        before = last_by_member.get(member_id)
        relation = _display(FamilyMember, "relation", event["relation"])
        label = f"{relation} {event['name']}"
        if event["pgh_label"] == "insert":
            entries.append(
                TimelineEntry(
                    event["pgh_created_at"],
                    who(event),
                    f"添加家庭成员：{label}",
                    _diff(FamilyMember, FamilyMemberEvent, None, event, shown),
                    "family",
                )
            )
        elif event["pgh_label"] == "delete":
            entries.append(
                TimelineEntry(
                    event["pgh_created_at"], who(event), f"删除家庭成员：{label}", [], "family"
                )
            )
        else:
            changes = _diff(FamilyMember, FamilyMemberEvent, before, event, shown)
            if changes:
                entries.append(
                    TimelineEntry(
                        event["pgh_created_at"],
                        who(event),
                        f"修改家庭成员：{label}",
                        changes,
                        "family",
                    )
                )
        last_by_member[member_id] = event

    for assessment in child.assessments.select_related("assessor"):
        entries.append(
            TimelineEntry(
                assessment.created_at,
                assessment.assessor.display_name,
                f"监护评估：{assessment.get_result_display()}",
                [],
                f"assessment-{assessment.result}",
            )
        )
    entries.extend(extra or [])
    # Newest first; within one save (one transaction time) the file's creation reads last and the
    # recomputed categories, which follow from the family change, read first.
    rank = {"create": 0, "family": 1, "change": 2}
    entries.sort(key=lambda e: (e.at, rank.get(e.kind, 3)), reverse=True)
    return entries
