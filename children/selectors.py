"""Reads of the child file, always through the user's scope (accounts.selectors)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    Model,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from accounts.services import policy_joins_sql, policy_sql
from core import clock, crypto
from core.compiled import Compiled, Param, Read, counted, run, together
from core.history import BASELINE, Change, RelatedLabels, field_changes, value_label
from core.masking import ID_NUMBER, PHONE
from core.text import join_list, labelled

from . import schedule
from .models import (
    AgreementStatus,
    CareAgreement,
    Category,
    Child,
    ChildEvent,
    ChildStatus,
    FamilyMember,
    FamilyMemberEvent,
    FocusFlag,
    GuardianshipAssessment,
    ParentContact,
    RiskLevel,
    SchoolStatus,
    Transfer,
    TransferSide,
    TransferStatus,
)
from .rules import PARENT_RELATIONS

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
    child = scope.compiled_in_scope_or_404(
        _CHILD_IN_SCOPE, model=Child, user=user, area_field=CHILD_AREA_FIELD, pk=child_uuid
    )
    permissions.require(user, capability)
    return child


# A key lookup on every page and API call about one child: prepared, planned once per connection.
_CHILD_IN_SCOPE = Compiled(
    lambda everywhere: Child.objects.select_related("village", "village__parent").filter(
        scope.scope_param_q(CHILD_AREA_FIELD, everywhere), pk=Param("pk")
    )[:1],
    prepared=True,
)


CHILD_RECORD_AREA_FIELD = "child__village__code"


def child_record_or_404(queryset: QuerySet, *, user: User, pk: Any):
    """A record that belongs to a child (member, agreement, application, visit …), found only
    when the child's village is in the user's area."""
    return scope.get_in_scope_or_404(queryset, user=user, area_field=CHILD_RECORD_AREA_FIELD, pk=pk)


MEMBER_AREA_FIELD = "household__children__village__code"


def member_for_user_or_404(*, user: User, member_id: Any) -> tuple[FamilyMember, Child]:
    """A family member of a household with a child in the user's area (404 otherwise), and the
    child it is shown with: an open file of the household in the area before a closed one."""
    member = scope.get_in_scope_or_404(
        FamilyMember.objects.distinct(), user=user, area_field=MEMBER_AREA_FIELD, pk=member_id
    )
    child = (
        scope.scope_queryset(
            Child.objects.select_related("village"), user=user, area_field="village__code"
        )
        .filter(household_id=member.household_id)
        .order_by("status", "birth_date")
        .first()
    )
    return member, child


def child_records_in_scope(queryset: QuerySet, *, user: User) -> QuerySet:
    return scope.scope_queryset(queryset, user=user, area_field=CHILD_RECORD_AREA_FIELD)


# The list's category filter for files with a category awaiting county confirmation.
CATEGORY_PENDING = "pending"


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
    under_18: bool = False  # the dashboards count children under 18 only (schedule.under_18_q)
    escalated: str = ""  # "township" / "county": overdue past that level's escalation days

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
            under_18=params.get("under_18") in ("1", "true", "on"),
            escalated=params.get("escalated") or "",
        )


@dataclass(frozen=True)
class _ListShape:
    """What changes the child list's statement: the user's reach and which filters are on
    (with the value of those with a few values each). The rest are values (_list_values).
    ``today`` only when a filter depends on the day."""

    everywhere: bool
    # The reach is one village (a director's): its key compared with =, so that the kept
    # statement's generic plan is that village's (a range's would be guessed for any reach).
    one_village: bool
    status: str
    village: bool
    area: bool
    today: date | None
    contact_overdue: bool
    home_visit_never: bool
    under_18: bool
    escalated: str
    agreement_none: bool
    category: str
    risk: str
    flag: str
    school_status: str
    key_only: bool
    visit_status: str
    q: bool
    q_last4: bool


def _list_shape(user: User, filters: ChildFilters) -> tuple[_ListShape, dict[str, Any]] | None:
    """The list's shape and values for this user and these filters; None: nothing in scope.
    404 for an area outside the user's."""
    reach = scope.scope_values(user)
    if reach is None:
        return None
    everywhere, values = reach
    one_village = not everywhere and values["scope_from"] == values["scope_to"]
    if one_village:
        del values["scope_to"]
    area = False
    if filters.area:
        found = scope.area_for_user_or_404(user=user, code=filters.area)
        codes = scope.subtree_range(found.code)
        if codes is not None:
            area = True
            values.update(area_from=codes[0], area_to=codes[1])
    if filters.village:
        values["village"] = filters.village
    query = filters.q
    last4 = len(query) == 4 and (query[:3].isdigit() and (query[3].isdigit() or query[3] in "xX"))
    if query:
        values["q"] = query
    if last4:
        values["q_last4"] = query.upper()
    flag = filters.flag if filters.flag in (*FocusFlag.values, PARENT_CONTACT_OVERDUE) else ""
    escalated = filters.escalated if filters.escalated in ESCALATION_POLICIES else ""
    visit_status = filters.visit_status if filters.visit_status in VISIT_STATUSES else ""
    by_day = (
        filters.contact == "overdue"
        or filters.under_18
        or bool(escalated)
        or flag == PARENT_CONTACT_OVERDUE
        or bool(visit_status)
    )
    shape = _ListShape(
        everywhere=everywhere,
        one_village=one_village,
        status=filters.status if filters.status in ChildStatus.values else "",
        village=bool(filters.village),
        area=area,
        today=clock.today() if by_day else None,
        contact_overdue=filters.contact == "overdue",
        home_visit_never=filters.home_visit == "never",
        under_18=filters.under_18,
        escalated=escalated,
        agreement_none=filters.agreement == "none",
        category=(
            filters.category if filters.category in (*Category.values, CATEGORY_PENDING) else ""
        ),
        risk=filters.risk if filters.risk in RiskLevel.values else "",
        flag=flag,
        school_status=filters.school_status if filters.school_status in SchoolStatus.values else "",
        key_only=filters.key_only,
        visit_status=visit_status,
        q=bool(query),
        q_last4=last4,
    )
    return shape, values


def _list_queryset(shape: _ListShape, value: Callable[[str], Any] = Param) -> QuerySet[Child]:
    """The child list for ``shape``: every condition of the list, once. ``value(name)`` is a
    value of _list_values: a ``Param`` for the kept statement (the API's page), the value
    itself for a queryset (the list page's paginator, the export)."""
    queryset = Child.objects.select_related("village")
    if shape.one_village:
        queryset = queryset.filter(**{CHILD_AREA_FIELD: value("scope_from")})
    elif not shape.everywhere:
        queryset = queryset.filter(
            **{f"{CHILD_AREA_FIELD}__range": (value("scope_from"), value("scope_to"))}
        )
    if shape.status:
        queryset = queryset.filter(status=shape.status)
    if shape.village:
        queryset = queryset.filter(village_id=value("village"))
    if shape.area:
        queryset = queryset.filter(village__code__range=(value("area_from"), value("area_to")))
    today = shape.today
    if shape.contact_overdue:
        queryset = queryset.filter(schedule.overdue_q("next_contact_due", today))
    if shape.home_visit_never:
        queryset = queryset.filter(last_home_visit_on__isnull=True)
    if shape.under_18:
        queryset = queryset.filter(schedule.under_18_q(today))
    if shape.escalated:
        queryset = queryset.filter(escalated_q(shape.escalated, today))
    if shape.agreement_none:
        queryset = queryset.exclude(
            Exists(CareAgreement.objects.filter(child=OuterRef("pk"), status="active"))
        )
    if shape.category in Category.values:
        queryset = queryset.filter(categories__contains=[shape.category])
    elif shape.category == CATEGORY_PENDING:  # county civil affairs' queue (待民政确认)
        queryset = queryset.exclude(categories_pending=[])
    if shape.risk:
        queryset = queryset.filter(risk_level=shape.risk)
    if shape.flag == PARENT_CONTACT_OVERDUE:
        queryset = queryset.filter(schedule.overdue_q("parent_contact_due", today))
    elif shape.flag:
        queryset = queryset.filter(focus_flags__contains=[shape.flag])
    if shape.school_status:
        queryset = queryset.filter(school_status=shape.school_status)
    if shape.key_only:
        queryset = queryset.filter(is_key_child=True)
    if shape.visit_status:
        queryset = queryset.filter(status=ChildStatus.ACTIVE).filter(
            schedule.status_q(shape.visit_status, today)
        )
    if shape.q:
        condition = Q(name__icontains=value("q"))
        if shape.q_last4:
            condition |= Q(id_number_last4=value("q_last4"))
        queryset = queryset.filter(condition)
    return queryset.order_by("village_id", "name", "id")


_LIST = Compiled(_list_queryset)
_LIST_COUNT = Compiled(lambda shape: counted(_list_queryset(shape)))


def child_list_for_user(*, user: User, filters: ChildFilters) -> QuerySet[Child]:
    """The scoped, filtered list, with the village loaded: a constant number of queries."""
    permissions.require(user, Capability.CHILD_READ)
    found = _list_shape(user, filters)
    if found is None:
        return Child.objects.none()
    shape, values = found
    return _list_queryset(shape, values.__getitem__)


def child_list_page(
    *, user: User, filters: ChildFilters, offset: int, limit: int
) -> tuple[int, list[Child]]:
    """How many children ``child_list_for_user`` lists, and ``limit`` of them from ``offset``:
    two kept statements in one round trip (the API's list)."""
    permissions.require(user, Capability.CHILD_READ)
    found = _list_shape(user, filters)
    if found is None:
        return 0, []
    shape, values = found
    # A village's list is a prepared statement: its plan is the same for any village. A
    # wider reach is planned with its values, from a township's to a province's.
    prepared = shape.one_village
    count, children = together(
        _LIST_COUNT.count_read(shape, prepared=prepared, **values),
        _LIST.read(shape, window=(limit, offset), prepared=prepared, **values),
    )
    return count, children


# The area policy's numbers of the reminders' escalation rules (domain §4): a home visit overdue
# by more than this many days is the township supervisor's, then county civil affairs' concern.
ESCALATION_POLICIES = {
    "township": "escalate_supervisor_days",
    "county": "escalate_county_days",
}


def escalated_q(level: str, today: date) -> Q:
    """Children (a queryset of Child) whose home visit is overdue by more than the escalation
    days of ``level`` in force for their village (the sweep's escalation rule, as a condition):
    the policy's inheritance is accounts.services.policy_sql, read in a subquery per overdue
    child only."""
    table = Child._meta.db_table
    days = (
        f"(SELECT {policy_sql(ESCALATION_POLICIES[level])} FROM (SELECT 1) AS one"
        f" {policy_joins_sql(f'{table}.village_id')})"
    )
    late = RawSQL(
        schedule.overdue_sql(f"{table}.next_home_visit_due", "%s::date", days_late=days),
        [today],
        output_field=BooleanField(),
    )
    return schedule.overdue_q("next_home_visit_due", today) & Q(late)


# The numbers of the first pages (children/panels.py), each the condition of a child list link
# (the list's Q above, as SQL text over ``c``, the child, and ``pv``, its village's policy).
_UNDER_18 = schedule.under_18_sql("c.")
_OVERDUE = schedule.overdue_sql("c.next_home_visit_due")
_HOME_COUNT_CONDITIONS = {
    # /children/?visit_status=overdue&under_18=1 — the worklists' "overdue".
    "overdue": f"{_UNDER_18} AND {_OVERDUE}",
    # /children/?flag=unsupervised&under_18=1
    "unsupervised": f"{_UNDER_18} AND '{FocusFlag.UNSUPERVISED.value}' = ANY(c.focus_flags)",
    # /children/?category=pending — 待民政确认.
    "categories_pending": "c.categories_pending <> '{}'",
    # /children/?visit_status=overdue&under_18=1&escalated=county (escalated_q)
    "escalated_county": (
        f"{_UNDER_18} AND {_OVERDUE} AND "
        + schedule.overdue_sql("c.next_home_visit_due", days_late="pv.escalate_county_days")
    ),
}
# The county's escalation days in force for each area of the user's (accounts.services'
# policy inheritance), joined to the children by their village: the policy is resolved once per
# village, not once per child (a correlated lookup per overdue child kept a province's count in
# one process, 0.9 s at a million children).
_HOME_VILLAGE_POLICY = f"""
    JOIN (
        SELECT v.code, {policy_sql("escalate_county_days")} AS escalate_county_days
        FROM accounts_area v {policy_joins_sql("v.code")}
        WHERE {{areas}}
    ) pv ON pv.code = c.village_id"""


def home_counts(*, user: User, today: date, names: Iterable[str]) -> dict[str, int]:
    """Counts of active files in the user's scope, in one query: ``names`` among overdue,
    unsupervised, categories_pending, escalated_county."""
    names = list(names)
    if not names:
        return {}
    reach = scope.scope_values(user)
    if reach is None:
        return dict.fromkeys(names, 0)
    everywhere, values = reach
    counts = ", ".join(f"COUNT(*) FILTER (WHERE {_HOME_COUNT_CONDITIONS[name]})" for name in names)
    within = "TRUE" if everywhere else "{} BETWEEN %(scope_from)s AND %(scope_to)s"
    joins = (
        _HOME_VILLAGE_POLICY.format(areas=within.format("v.code"))
        if "escalated_county" in names
        else ""
    )
    sql = (
        f"SELECT {counts} FROM children_child c{joins}"
        f" WHERE c.status = %(active)s AND {within.format('c.village_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {**values, "today": today, "active": ChildStatus.ACTIVE})
        return dict(zip(names, cursor.fetchone(), strict=True))


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


PHOTO_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
PHOTO_MAX_BYTES = 2 * 1024 * 1024


def photo_data_uri(child: Child) -> str:
    """The child's photo as a ``data:`` address for a printed file (nothing is fetched over the
    network), or "" when there is none, it is gone from storage, or it is not a small JPEG/PNG."""
    if not child.photo:
        return ""
    kind = PHOTO_TYPES.get(child.photo.name.rsplit(".", 1)[-1].lower())
    try:
        if kind is None or child.photo.size > PHOTO_MAX_BYTES:
            return ""
        with child.photo.open("rb") as photo:
            data = photo.read()
    except OSError:
        return ""
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def family_for(child: Child) -> list[FamilyMember]:
    """The family members of the child's household (shared with its siblings)."""
    return run(family_read(child))


def family_read(child: Child) -> Read[list[FamilyMember]]:
    """family_for as a read, to send with the file's others (core.compiled.together)."""
    if child.household_id is None:
        return Read.of([])
    return _FAMILY.read(household=child.household_id)


_FAMILY = Compiled(
    lambda: FamilyMember.objects.filter(household_id=Param("household")).order_by(
        "relation", "created_at"
    ),
    prepared=True,
)


MAX_SIBLINGS = 100  # more than any household has: the list is cut after them
SIBLING_CANDIDATES_SHOWN = 50  # a page of the village's files; a name narrows it


def siblings_read(child: Child) -> Read[list[Child]]:
    """The other children of the household, oldest first (a read to send with the file's
    others). Siblings are registered in one village, but one that moved away is found by the
    household alone."""
    if child.household_id is None:
        return Read.of([])
    return _SIBLINGS.read(household=child.household_id, child=child.pk)


_SIBLINGS = Compiled(
    lambda: (
        Child.objects.filter(household_id=Param("household"))
        .exclude(pk=Param("child"))
        .only("id", "name", "birth_date", "gender", "status", "household_id")
        .order_by("birth_date", "name")[:MAX_SIBLINGS]
    ),
    prepared=True,
)


def sibling_candidates(child: Child, *, name: str = "") -> tuple[list[Child], bool]:
    """The open files of the child's village that may be linked as its brothers or sisters
    (not already of its household), by name: at most SIBLING_CANDIDATES_SHOWN, and whether
    there are more (a village of hundreds is searched by name, never listed whole)."""
    candidates = (
        Child.objects.filter(village_id=child.village_id, status=ChildStatus.ACTIVE)
        .exclude(pk=child.pk)
        .only("id", "name", "birth_date", "gender", "status", "household_id")
        .order_by("name", "birth_date", "id")
    )
    if child.household_id is not None:
        candidates = candidates.exclude(household_id=child.household_id)
    if name:
        candidates = candidates.filter(name__contains=name)
    found = list(candidates[: SIBLING_CANDIDATES_SHOWN + 1])
    return found[:SIBLING_CANDIDATES_SHOWN], len(found) > SIBLING_CANDIDATES_SHOWN


def merge_candidates(*, user: User, child: Child) -> list[Child]:
    """Files in the user's area that may be the same child: the same name, or the same birth
    date and gender (a supervisor picks the duplicate to merge)."""
    return list(
        children_in_scope(user=user)
        .exclude(pk=child.pk)
        .filter(Q(name=child.name) | Q(birth_date=child.birth_date, gender=child.gender))
        .select_related("village")
        .order_by("name", "birth_date")[:50]
    )


def households_with_parent(*, village: Area, id_number: str) -> list[tuple[Any, list[str]]]:
    """Households of the village with a father or mother of this ID number, each with its
    children's names (the registration page offers to join one)."""
    if not id_number:
        return []
    found = parent_households([village.code], [crypto.lookup_hash(id_number)])
    household_ids = set(found.values())
    names: dict[Any, list[str]] = {pk: [] for pk in household_ids}
    for household_id, name in (
        Child.objects.filter(household_id__in=household_ids)
        .order_by("birth_date")
        .values_list("household_id", "name")
    ):
        names[household_id].append(name)
    return list(names.items())


def parent_households(village_codes: Iterable[str], hashes: Iterable[str]) -> dict:
    """Households of the given villages with a father or mother of one of these ID-number hashes:
    {(village code, hash): household id}. One query."""
    found: dict[tuple[str, str], uuid.UUID] = {}
    hashes = [h for h in set(hashes) if h]
    if not hashes:
        return found
    rows = (
        FamilyMember.objects.filter(
            id_number_hash__in=hashes,
            relation__in=PARENT_RELATIONS,
            household__children__village_id__in=set(village_codes),
        )
        .values_list("household__children__village_id", "id_number_hash", "household_id")
        .order_by("household__created_at")
    )
    for village_code, digest, household_id in rows:
        found.setdefault((village_code, digest), household_id)
    return found


def assessments_for(child: Child) -> list[GuardianshipAssessment]:
    """The child's guardianship assessments, the latest first, each with its assessor."""
    return run(assessments_read(child))


def assessments_read(child: Child) -> Read[list[GuardianshipAssessment]]:
    return _ASSESSMENTS.read(child=child.pk, attach={"child": child})


_ASSESSMENTS = Compiled(
    lambda: GuardianshipAssessment.objects.filter(child_id=Param("child")).select_related(
        "assessor"
    ),
    prepared=True,
)


def agreements_read(child: Child, *, limit: int) -> Read[list[CareAgreement]]:
    """The child's latest ``limit`` care agreements (the file's list)."""
    return _AGREEMENTS.read(limit, child=child.pk, attach={"child": child})


_AGREEMENTS = Compiled(
    lambda limit: CareAgreement.objects.filter(child_id=Param("child"))[:limit], prepared=True
)


def parent_contacts_read(child: Child, *, limit: int) -> Read[list[ParentContact]]:
    """The child's latest ``limit`` contacts with its parents (the file's list)."""
    return _PARENT_CONTACTS.read(limit, child=child.pk, attach={"child": child})


_PARENT_CONTACTS = Compiled(
    lambda limit: ParentContact.objects.filter(child_id=Param("child"))[:limit], prepared=True
)


# --- History and timeline ---------------------------------------------------------------------

# Fields of the file and its members the timeline leaves out (pghistory's own columns are always
# left out: core.history.EVENT_FIELDS).
_HIDDEN = {
    "id",
    "child",
    "household",
    "created_at",
    "created_by",
    "id_number_hash",
    "id_number_last4",
    "is_key_child",
    "next_assessment_due",
}
SYSTEM_AUTHOR = gettext_lazy("System")
CENSUS_TITLE = gettext_lazy(
    "Census update"
)  # a change made by the census update (摸底排查/动态更新)


@dataclass
class TimelineEntry:
    at: datetime
    who: str
    title: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    kind: str = "change"
    # The metadata of the change's pghistory context (e.g. the visit amendment it belongs to).
    meta: dict = field(default_factory=dict)
    record: Any = None  # the primary key of the record changed, for a history of several


def history_authors(context_ids: Iterable[Any]) -> dict[Any, tuple[str, dict]]:
    """For each pghistory context: who made its changes (the user's name; "系统" when no user)
    and the context's metadata. Two queries, whatever the number of events."""
    from pghistory.models import Context

    ids = {context_id for context_id in context_ids if context_id}
    if not ids:
        return {}
    metadata = {ctx.id: ctx.metadata or {} for ctx in Context.objects.filter(id__in=ids)}
    user_ids = {meta["user"] for meta in metadata.values() if meta.get("user")}
    names = (
        {user.pk: user.display_name for user in User.objects.filter(pk__in=user_ids)}
        if user_ids
        else {}
    )
    return {
        context_id: (names.get(meta.get("user"), SYSTEM_AUTHOR), meta)
        for context_id, meta in metadata.items()
    }


# describe(event, previous, changes) → (title, kind), or None to leave the event out.
Describe = Callable[[dict, dict | None, list[Change]], tuple[str, str] | None]


def record_history(
    model: type[Model],
    event_model: type[Model],
    events: list[dict],
    *,
    describe: Describe,
    hidden: Iterable[str] = (),
    transform: dict[str, Callable[[Any], Any]] | None = None,
    choices: dict[str, dict] | None = None,
    creation_changes: bool = True,
    authors: dict[Any, tuple[str, dict]] | None = None,
) -> list[TimelineEntry]:
    """The history of one or more tracked records from their pghistory events (``.values()``
    rows, oldest first): per event who (its context's user), when, and each field changed since
    the record's previous event, before → after (core.history). An update that changed no shown
    field is left out, and a baseline snapshot is only the "before" of the next change.
    ``creation_changes=False`` lists no fields for a creation (the page shows the record)."""
    if authors is None:
        authors = history_authors(event["pgh_context_id"] for event in events)
    related = RelatedLabels()
    previous_of: dict[Any, dict] = {}
    entries: list[TimelineEntry] = []
    for event in events:
        previous = previous_of.get(event["pgh_obj_id"])
        previous_of[event["pgh_obj_id"]] = event
        label = event["pgh_label"]
        if label == BASELINE:
            continue
        if label == "delete" or (previous is None and not creation_changes):
            changes: list[Change] = []
        else:
            changes = field_changes(
                model,
                event_model,
                previous,
                event,
                hidden=hidden,
                transform=transform,
                related=related,
                choices=choices,
            )
            if previous is not None and not changes:
                continue
        described = describe(event, previous, changes)
        if described is None:
            continue
        who, meta = authors.get(event["pgh_context_id"], (SYSTEM_AUTHOR, {}))
        title, kind = described
        entries.append(
            TimelineEntry(
                event["pgh_created_at"], who, title, changes, kind, dict(meta), event["pgh_obj_id"]
            )
        )
    return entries


# Numbers on the timeline are shown as the user may see them (accounts.selectors).
_PHONE_FIELDS = {"phone", "caregiver_phone", "parent_phone"}


def _describe_child(event: dict, previous: dict | None, changes: list) -> tuple[str, str]:
    return (_("File created"), "create") if previous is None else (_("File changed"), "change")


def _describe_member(event: dict, previous: dict | None, changes: list) -> tuple[str, str]:
    member = f"{value_label(FamilyMember, 'relation', event['relation'])} {event['name']}"
    if event["pgh_label"] == "delete":
        return _("Family member removed: %(member)s") % {"member": member}, "family"
    if previous is None:
        return _("Family member added: %(member)s") % {"member": member}, "family"
    return _("Family member changed: %(member)s") % {"member": member}, "family"


def _household_entries(
    child_events: list[dict], authors: dict[Any, tuple[str, dict]]
) -> list[TimelineEntry]:
    """The file joining its siblings' household or leaving it (the household column is hidden
    from the diff: its value is an id, not something a person reads)."""
    entries = []
    previous_of: dict[Any, dict] = {}
    for event in child_events:
        previous = previous_of.get(event["pgh_obj_id"])
        previous_of[event["pgh_obj_id"]] = event
        if previous is None or previous["household_id"] == event["household_id"]:
            continue
        who, meta = authors.get(event["pgh_context_id"], (SYSTEM_AUTHOR, {}))
        siblings = Child.objects.filter(household_id=event["household_id"]).exclude(
            pk=event["pgh_obj_id"]
        )
        names = join_list(siblings.values_list("name", flat=True))
        title = (
            _("Shares family members with siblings: %(names)s") % {"names": names}
            if names
            else _("No longer shares family members with siblings")
        )
        entries.append(TimelineEntry(event["pgh_created_at"], who, title, [], "family", meta))
    return entries


def timeline_for(
    child: Child, extra: list[TimelineEntry] | None = None, *, user: User | None = None
) -> list[TimelineEntry]:
    """Every change to the file and its family members, newest first, plus assessments and the
    ``extra`` entries other apps contribute (visits, agreements, reports, benefits). Phone numbers
    are masked unless ``user`` may see them in full (no user: always masked)."""

    def shown(value):
        if not value:
            return value
        if user is None:
            return scope.shown_number_masked(PHONE, value)
        return scope.shown_number(user, PHONE, value, child.village_id)

    merges = list(child.merges.select_related("merged_by"))
    # A file merged into this one keeps its own history under its id (children.lifecycle).
    child_events = list(
        ChildEvent.objects.filter(pgh_obj_id__in=[child.pk, *(m.duplicate_id for m in merges)])
        .order_by("pgh_id")
        .values()
    )
    # The household's members (shared with siblings), and the history of those that joined it
    # from another family (siblings linked) under their former household.
    member_events = list(
        FamilyMemberEvent.objects.filter(
            Q(household_id=child.household_id)
            | Q(pgh_obj_id__in=FamilyMember.objects.filter(household_id=child.household_id))
        )
        .order_by("pgh_id")
        .values()
    )
    authors = history_authors(event["pgh_context_id"] for event in child_events + member_events)

    def describe_child(event: dict, previous: dict | None, changes: list) -> tuple[str, str]:
        title, kind = _describe_child(event, previous, changes)
        if event["pgh_obj_id"] != child.pk:
            title = _("%(title)s (merged file: %(name)s)") % {"title": title, "name": event["name"]}
        return title, kind

    entries = record_history(
        Child, ChildEvent, child_events, describe=describe_child, hidden=_HIDDEN, authors=authors
    )
    entries += record_history(
        FamilyMember,
        FamilyMemberEvent,
        member_events,
        describe=_describe_member,
        hidden=_HIDDEN,
        transform=dict.fromkeys(_PHONE_FIELDS, shown),
        authors=authors,
    )
    entries += _household_entries(child_events, authors)
    for entry in entries:  # changes of the yearly census update (children.services.CENSUS_VIA)
        if entry.meta.get("via") == "census" and entry.kind != "create":
            entry.title = (
                str(CENSUS_TITLE) if entry.kind == "change" else labelled(CENSUS_TITLE, entry.title)
            )

    for merge in merges:
        entries.append(
            TimelineEntry(
                merge.merged_at,
                merge.merged_by.display_name if merge.merged_by else SYSTEM_AUTHOR,
                _("Duplicate file merged: %(name)s (%(reason)s)")
                % {"name": merge.duplicate_name, "reason": merge.reason},
                [],
                "change",
            )
        )
    for assessment in child.assessments.select_related("assessor"):
        entries.append(
            TimelineEntry(
                assessment.created_at,
                assessment.assessor.display_name,
                _("Guardianship assessment: %(result)s")
                % {"result": assessment.get_result_display()},
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


# --- Transfers (children.lifecycle) -------------------------------------------------------------


def _transfers_in_scope(user: User) -> QuerySet[Transfer]:
    source, destination = (
        scope.scope_q(user, "from_village__code"),
        scope.scope_q(user, "to_village__code"),
    )
    if source is None or destination is None:
        return Transfer.objects.none()
    return Transfer.objects.select_related("child", "from_village", "to_village").filter(
        source | destination
    )


def transfers_for(*, user: User, status: str = "") -> QuerySet[Transfer]:
    """Transfers whose source or destination village is in the user's area (403 for a role
    that reads no child files)."""
    permissions.require(user, Capability.CHILD_READ)
    queryset = _transfers_in_scope(user)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at")


def transfer_for_user_or_404(
    *, user: User, transfer_id: Any, capability: Capability = Capability.CHILD_READ
) -> Transfer:
    try:
        transfer = _transfers_in_scope(user).get(pk=uuid.UUID(str(transfer_id)))
    except (ValueError, Transfer.DoesNotExist):
        from django.http import Http404

        raise Http404 from None
    permissions.require(user, capability)
    return transfer


def sees_transferred_file(user: User, transfer: Transfer) -> bool:
    """Whether ``user`` may see which file and where it was: the side it was in, or the
    receiving side once the transfer is accepted. Before that, the receiving side sees only the
    child's name, gender and birth date (api.md, Case lifecycle)."""
    if scope.code_in_scope(user, transfer.from_village_id):
        return True  # the side the file was in: its own record
    return transfer.status == TransferStatus.ACCEPTED and scope.code_in_scope(
        user, transfer.to_village_id
    )


def transfers_to_answer(*, user: User) -> int:
    """How many pending transfers the user's side must answer: asked by the sender and coming
    into the user's area, or asked by the receiver for a file in the user's area (the banner on
    the worklist and the home page: one kept statement, core.compiled)."""
    return run(transfers_to_answer_read(user=user))


def transfers_to_answer_read(*, user: User) -> Read[int]:
    """``transfers_to_answer`` as a read to send with others (core.compiled.together)."""
    if not permissions.can(user, Capability.CHILD_WRITE):
        return Read.of(0)
    scope_values = scope.scope_values(user)
    if scope_values is None:
        return Read.of(0)
    everywhere, values = scope_values
    return _TRANSFERS_TO_ANSWER.count_read(everywhere, **values)


def _transfers_to_answer(everywhere: bool) -> QuerySet[Transfer]:
    incoming = scope.scope_param_q("to_village__code", everywhere)
    outgoing = scope.scope_param_q("from_village__code", everywhere)
    return counted(
        Transfer.objects.filter(status=TransferStatus.PENDING).filter(
            (Q(requested_by_side=TransferSide.SENDER) & incoming)
            | (Q(requested_by_side=TransferSide.RECEIVER) & outgoing)
        )
    )


_TRANSFERS_TO_ANSWER = Compiled(_transfers_to_answer)


def short_file(child: Child) -> list[tuple[str, str, Any, str]]:
    """The few facts of a child's file a visit is typed against (name, label, value, shown),
    as a phone shows them beside its own record when the file changed meanwhile
    (core.capture: the ``server`` side of a ``file_changed`` conflict)."""
    categories = dict(Category.choices)
    agreement = (
        CareAgreement.objects.filter(child=child, status=AgreementStatus.ACTIVE)
        .order_by("-start_date")
        .first()
    )
    caregiver = (
        f"{agreement.caregiver_name} ({agreement.get_caregiver_relation_display()})"
        if agreement
        else ""
    )
    due = child.next_home_visit_due
    return [
        ("name", _("Name"), child.name, child.name),
        ("village", _("Village"), child.village_id, child.village.name),
        ("status", _("Status"), child.status, child.get_status_display()),
        (
            "categories",
            _("Categories"),
            list(child.categories),
            join_list(categories.get(c, c) for c in child.categories),
        ),
        ("caregiver", _("Caregiver"), caregiver, caregiver or "—"),
        ("address", _("Address"), child.address, child.address or "—"),
        ("school_status", _("Schooling"), child.school_status, child.get_school_status_display()),
        ("school_name", _("School"), child.school_name, child.school_name or "—"),
        ("risk_level", _("Risk level"), child.risk_level, child.get_risk_level_display()),
        ("next_home_visit_due", _("Next home visit due"), str(due or ""), str(due or "—")),
    ]
