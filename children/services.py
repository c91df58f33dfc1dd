"""Writes to the child file. Pages, the API, the import and the daily job all call these."""

from __future__ import annotations

import dataclasses
import functools
import operator
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pghistory
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import extensions, outbox, permissions
from accounts import selectors as scope
from accounts import services as account_services
from accounts.models import Area, User
from accounts.permissions import Capability
from accounts.services import policies_for
from core import bulk, capture, crypto
from core.clock import today
from core.errors import Conflict
from core.text import join_list

from . import idcard, rules, schedule
from .models import (
    MANUAL_CATEGORIES,
    STATUSES_WITH_SINCE,
    AgreementStatus,
    CareAgreement,
    CaregiverRelation,
    Category,
    CategoryDecision,
    Child,
    ChildStatus,
    CloseReason,
    ContactChannel,
    DisabilityType,
    EvidenceKind,
    FamilyMember,
    Gender,
    GuardianshipAssessment,
    Household,
    MemberStatus,
    ParentContact,
    ParentNotice,
    Relation,
    RiskLevel,
    SchoolStatus,
)
from .selectors import households_with_parent, parent_households

# A duplicate outside the user's area: nothing of the file found, not even that it is elsewhere
# (issue 14, M5). One inside the area may be named: the user can open it anyway.
DUPLICATE_ID_MESSAGE = gettext_lazy(
    "A file already exists; ask your supervisor. If the child has moved here, request a transfer"
)
DUPLICATE_IN_AREA_MESSAGE = gettext_lazy(
    "This child already has a file in your area (%(name)s); do not create another"
)
DUPLICATE_CLOSED_MESSAGE = gettext_lazy(
    "This child already has a closed file in your area (%(name)s); it can be reopened"
)
STALE_MESSAGE = gettext_lazy("Someone else changed the file; reload it and try again")
MAX_AGE = 18

# Fields a caller may set on a child (the rest are derived or bookkeeping).
CHILD_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "ethnicity",
    "hukou_registered",
    "hukou_place",
    "village_code",
    "address",
    "school_name",
    "grade",
    "school_status",
    "illness",
    "disability_type",
    "disability_grade",
    "psych_concern",
    "psych_note",
    "categories",
    "risk_level",
    "notes",
)
MEMBER_FIELDS = (
    "relation",
    "name",
    "id_number",
    "phone",
    "status",
    "has_guardian_capacity",
    "has_serious_disability",
    "has_serious_illness",
    "status_since",
    "work_place",
    "employer",
    "away_since",
    "evidence_date",
)


class DuplicateIdNumber(Conflict):
    """409: the ID number is on file already (one file for life); ``in_area``: whether the user
    may see that file. In the user's area the answer names the file (``child_id``, and
    ``file_closed`` when it is closed: re-open it); elsewhere it reveals nothing of it, and a
    transfer request is the way (domain §2)."""

    def __init__(
        self,
        *,
        child_id: uuid.UUID,
        area_code: str,
        in_area: bool,
        closed: bool = False,
        name: str = "",
    ) -> None:
        if not in_area:
            super().__init__(DUPLICATE_ID_MESSAGE, field="id_number", code="duplicate")
        elif closed:
            super().__init__(
                DUPLICATE_CLOSED_MESSAGE % {"name": name},
                field="id_number",
                code="file_closed",
                data={"child_id": str(child_id)},
            )
        else:
            super().__init__(
                DUPLICATE_IN_AREA_MESSAGE % {"name": name},
                field="id_number",
                code="file_in_area",
                data={"child_id": str(child_id)},
            )
        self.child_id, self.area_code, self.in_area, self.closed = (
            child_id,
            area_code,
            in_area,
            closed,
        )


def history_context(user: User | None, **extra: Any):
    """The pghistory context of a change: who made it, and any marker of how (``via="census"``:
    the yearly census update, shown as 普查更新 on the timeline)."""
    return pghistory.context(user=user.pk if user is not None else None, **extra)


def require_writer(user: User) -> None:
    permissions.require(user, Capability.CHILD_WRITE)


@functools.cache
def _choice_values(choices: type[models.Choices]) -> frozenset:
    return frozenset(choices.values)


def _check_choice(
    errors: dict, field: str, value: Any, choices: type[models.Choices] | Iterable[str]
) -> None:
    # A choices class's values are worked out once (issue 20: .values builds its list anew,
    # 0.9 s of a 10,000-row census import).
    allowed = _choice_values(choices) if isinstance(choices, type) else set(choices)
    if value not in allowed:
        errors.setdefault(field, []).append(_("Invalid choice: %(value)s") % {"value": value})


def _village_for(
    user: User, code: str | None, errors: dict, villages: dict[str, Area] | None = None
) -> Area | None:
    """The village to file a child under. Outside the user's area is 403 (api.md)."""
    if not code:
        errors.setdefault("village_code", []).append(_("Choose a village (community)"))
        return None
    village = villages.get(code) if villages is not None else Area.objects.filter(code=code).first()
    if village is None:
        errors.setdefault("village_code", []).append(
            _("Area code %(code)s does not exist") % {"code": code}
        )
        return None
    if village.level != "village":
        errors.setdefault("village_code", []).append(
            _("A child's file must be in a village (community)")
        )
        return None
    if not scope.code_in_scope(user, village.code):
        raise PermissionDenied(_("You can create files only in your own area"))
    return village


def validate_child(
    user: User,
    values: dict,
    errors: dict,
    *,
    current: Child | None,
    villages: dict[str, Area] | None = None,
) -> Area | None:
    """Check the merged values of a child; fills ``errors``; returns the village.

    Normalises ``values["id_number"]``. Raises PermissionDenied for a village outside the user's
    area. ``villages`` is an optional preloaded {code: Area} (the census import).
    """
    if not (values.get("name") or "").strip():
        errors.setdefault("name", []).append(_("Enter the name"))
    elif len(values["name"]) > 50:
        errors.setdefault("name", []).append(_("The name cannot be longer than 50 characters"))
    _check_choice(errors, "gender", values.get("gender"), Gender)
    birth = values.get("birth_date")
    if not isinstance(birth, date):
        errors.setdefault("birth_date", []).append(_("Enter the date of birth"))
    elif birth > today():
        errors.setdefault("birth_date", []).append(
            _("The date of birth cannot be later than today")
        )
    elif rules.age_on(birth, today()) >= MAX_AGE and (
        current is None or current.birth_date != birth
    ):
        errors.setdefault("birth_date", []).append(_("Already 18 or older: not a child's file"))
    _check_choice(errors, "school_status", values.get("school_status"), SchoolStatus)
    _check_choice(errors, "risk_level", values.get("risk_level"), RiskLevel)
    if values.get("disability_type"):
        _check_choice(errors, "disability_type", values["disability_type"], DisabilityType)
    grade = values.get("disability_grade")
    if grade is not None and grade not in (1, 2, 3, 4):
        errors.setdefault("disability_grade", []).append(_("The disability grade must be 1 to 4"))
    for category in values.get("categories") or []:
        if category not in _choice_values(Category):
            errors.setdefault("categories", []).append(
                _("Invalid category: %(category)s") % {"category": category}
            )

    id_number = (values.get("id_number") or "").strip()
    if id_number:
        try:
            parsed = idcard.validate_against(
                id_number,
                birth_date=birth if isinstance(birth, date) else None,
                gender=values.get("gender"),
            )
            values["id_number"] = parsed.value
        except idcard.IdNumberError as exc:
            errors.setdefault("id_number", []).append(str(exc))
    elif values.get("hukou_registered", True):
        errors.setdefault("id_number", []).append(
            _(
                "A child with household registration needs an ID number; without one, untick "
                "“Household registered”"
            )
        )

    village = None
    code = values.get("village_code")
    if current is None or code != current.village_id:
        village = _village_for(user, code, errors, villages)
    else:
        village = current.village
    return village


def apply_id_number(record: Child | FamilyMember, number: str) -> None:
    """Store an ID number encrypted, masked and as its keyed hash (a child's file is found by
    it; a parent's finds the household of siblings already on file)."""
    record.id_number_encrypted = crypto.encrypt(number)
    record.id_number_masked = idcard.mask(number)
    digest = crypto.lookup_hash(number) if number else None
    if isinstance(record, FamilyMember):
        record.id_number_hash = digest or ""
    else:
        record.id_number_hash = digest
        record.id_number_last4 = number[-4:] if number else ""


def reject_unknown(values: dict, allowed: Iterable[str]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError({field: [_("Unknown field")] for field in unknown})


def _raise_if_errors(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _refuse_duplicate(user: User, number: str, exclude_pk: uuid.UUID | None = None) -> None:
    """Raise DuplicateIdNumber when another file carries ``number``."""
    queryset = Child.objects.filter(id_number_hash=crypto.lookup_hash(number))
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    found = queryset.values_list("pk", "village_id", "status", "name").first()
    if found is not None:
        child_id, area_code, status, name = found
        raise DuplicateIdNumber(
            child_id=child_id,
            area_code=area_code,
            in_area=scope.code_in_scope(user, area_code),
            closed=status == ChildStatus.CLOSED,
            name=name,
        )


def id_probe_count(*, user: User, duplicate: DuplicateIdNumber, channel: str) -> None:
    """A duplicate outside the user's area is a probe (accounts.services.id_probes_record): call
    it once the transaction that found it is over, so that its audit record stays."""
    if not duplicate.in_area:
        account_services.id_probes_record(
            user=user, records=[(str(duplicate.child_id), duplicate.area_code)], channel=channel
        )


def manual_categories(categories: Iterable[str]) -> list[str]:
    # left_behind is derived: a caller cannot set or clear it.
    return [c for c in dict.fromkeys(categories) if c in MANUAL_CATEGORIES]


def typed_categories(
    user: User, requested: Iterable[str], *, current: Child | None, errors: dict | None = None
) -> tuple[list[str], list[str]]:
    """The file's categories and those waiting for county civil affairs (待民政确认) after
    ``user`` types ``requested`` (rules.split_categories). Taking away a confirmed one is an
    error on ``categories`` when ``errors`` is given, and kept otherwise (a census sheet)."""
    change = rules.split_categories(
        manual_categories(requested),
        confirmed_now=current.categories if current is not None else (),
        pending_now=current.categories_pending if current is not None else (),
        by_county=permissions.can(user, Capability.CHILD_CONFIRM_CATEGORY),
    )
    categories = change.categories
    for category in change.withdrawn_confirmed:
        if errors is None:
            categories = [*categories, category]
            continue
        errors.setdefault("categories", []).append(
            _("“%(category)s” was confirmed by county civil affairs; only they can withdraw it")
            % {"category": Category(category).label}
        )
    return categories, change.pending


POSSIBLE_DUPLICATE_MESSAGE = gettext_lazy(
    "A child with the same name and date of birth already has a file in this village or "
    "township; check whether it is the same child, and save only if it is not"
)


def possible_duplicates(*, name: str, birth_date: date, village_code: str) -> list[tuple]:
    """Files that may be the same child as one registered without an ID number: the same name
    and birth date in the village, or anywhere in its township. (pk, village code) pairs."""
    return possible_duplicates_many([(name, birth_date, village_code)])[0]


def possible_duplicates_many(rows: list[tuple[str, date, str]]) -> list[list[tuple]]:
    """possible_duplicates for many (name, birth date, village code) rows in one query (the
    census import): for each row, the (pk, village code) pairs of files like it."""
    if not rows:
        return []
    found = (
        Child.objects.filter(
            name__in={name.strip() for name, _b, _v in rows},
            birth_date__in={birth for _n, birth, _v in rows},
        )
        .filter(
            functools.reduce(
                operator.or_,
                (
                    scope.prefix_q(township, "village__code")
                    for township in {v[:9] for *_x, v in rows}
                ),
            )
        )
        .values_list("name", "birth_date", "village_id", "pk")
    )
    by_key: dict[tuple, list[tuple]] = defaultdict(list)
    for name, birth, code, pk in found:
        by_key[(name, birth, code[:9])].append((pk, code))
    return [by_key.get((name.strip(), birth, code[:9]), [])[:20] for name, birth, code in rows]


def _ask_about_possible_duplicates(user: User, values: dict, village: Area) -> None:
    """409 ``possible_duplicate`` for a child without an ID number that may be on file already:
    the user checks, then confirms (``confirm_possible_duplicate``). Only files in the user's
    area are named; one elsewhere in the township is only said to exist."""
    found = possible_duplicates(
        name=values["name"], birth_date=values["birth_date"], village_code=village.code
    )
    if found:
        raise Conflict(
            POSSIBLE_DUPLICATE_MESSAGE,
            field="name",
            code="possible_duplicate",
            data={"child_ids": [str(pk) for pk, code in found if scope.code_in_scope(user, code)]},
        )


HOUSEHOLD_FOUND_MESSAGE = gettext_lazy(
    "This parent's children already have files in the village: %(names)s. Join that family and "
    "share its members?"
)
NO_PARENT_MESSAGE = gettext_lazy(
    "No father or mother with this ID number in the village; siblings can also be linked on the "
    "file page once they have files"
)


def child_create(
    *,
    user: User,
    household_id: uuid.UUID | None = None,
    parent_id_number: str = "",
    join_household: bool | None = None,
    **data: Any,
) -> Child:
    """Register a child. Raises ValidationError (422), PermissionDenied (403) or Conflict (409).

    Siblings share one household: ``household_id`` joins one of the village; or, as the
    registration page offers, ``parent_id_number`` names a father or mother on file in the
    village — Conflict ``household_found`` (the siblings named) until ``join_household`` says
    whether to join. Otherwise the child has a household of its own."""
    require_writer(user)
    confirmed = bool(data.pop("confirm_possible_duplicate", False))
    reject_unknown(data, CHILD_FIELDS)
    values = {
        "hukou_registered": True,
        "school_status": SchoolStatus.IN_SCHOOL,
        "risk_level": RiskLevel.LOW,
        "categories": [],
        **{k: v for k, v in data.items() if v is not None},
    }
    errors: dict[str, list[str]] = {}
    village = validate_child(user, values, errors, current=None)
    _raise_if_errors(errors)
    number = values.pop("id_number", "") or ""
    if not number and not confirmed:
        _ask_about_possible_duplicates(user, values, village)
    if number:
        account_services.require_imports_allowed(user)  # 403 while locked (issue 14, M5)
        try:
            _refuse_duplicate(user, number)
        except DuplicateIdNumber as duplicate:
            id_probe_count(user=user, duplicate=duplicate, channel="child_create")
            raise
    values.pop("village_code", None)
    values["categories"], values["categories_pending"] = typed_categories(
        user, values.get("categories") or [], current=None
    )
    if parent_id_number and join_household is not False:
        household_id = _household_by_parent(village, parent_id_number, join_household)
    if (
        household_id is not None
        and not Child.objects.filter(household_id=household_id, village=village).exists()
    ):
        raise ValidationError(
            {"village_code": [_("The chosen family is not in this village (community)")]}
        )
    child = Child(village=village, created_by=user, **values)
    apply_id_number(child, number)
    try:
        with transaction.atomic(), history_context(user):
            child.household = (
                Household.objects.get(pk=household_id)
                if household_id is not None
                else Household.objects.create()
            )
            child.full_clean(exclude=["id_number_hash", "photo", "household"])
            child.save()
            children_recompute_derived([child.pk])
    except IntegrityError as exc:
        if "child_unique_id_number" in str(exc):
            raise Conflict(DUPLICATE_ID_MESSAGE, field="id_number") from exc
        raise
    child.refresh_from_db()
    return child


def parent_facts(member: FamilyMember) -> rules.Parent:
    """A father's or mother's situation as the rules read it (left-behind, set A …)."""
    return rules.Parent(
        member.relation,
        member.status,
        member.has_guardian_capacity,
        member.away_since,
        member.has_serious_disability,
        member.has_serious_illness,
        member.status_since,
    )


def _person(member: FamilyMember) -> rules.Person:
    return rules.Person(member.pk, member.relation, member.name, member.id_number_hash)


def _household_by_parent(village: Area, number: str, join: bool | None) -> uuid.UUID:
    """The household of the village with this father's or mother's ID number: asked about first
    (Conflict ``household_found``), joined once ``join`` is True."""
    try:
        number = idcard.parse(number).value
    except idcard.IdNumberError as exc:
        raise ValidationError({"parent_id_number": [str(exc)]}) from exc
    found = households_with_parent(village=village, id_number=number)
    if not found:
        raise ValidationError({"parent_id_number": [NO_PARENT_MESSAGE]})
    household_id, names = found[0]
    if not join:
        raise Conflict(
            HOUSEHOLD_FOUND_MESSAGE % {"names": join_list(names)},
            field="parent_id_number",
            code="household_found",
            data={"names": names},
        )
    return household_id


def children_bulk_create(
    *, user: User, rows: list[tuple[dict, list[dict]]], villages: dict[str, Area]
) -> list[Child]:
    """Create many checked children with their family members in one transaction (census import,
    demo data). Each row is (child values as checked by validate_child, family member values).

    A row naming a father's or mother's ID number joins the household of that parent in the same
    village: one already on file, or one an earlier row starts; its members already there (same
    person, rules.same_person) are not added twice. A row whose father or mother differs from the
    household's keeps a household of its own. Each child created with siblings carries
    ``joined_household = True``."""
    with transaction.atomic(), history_context(user):
        members_of_row = []
        hashes_of_row = []
        for _values, members in rows:
            built = []
            for member in members:
                member = dict(member)
                member_number = member.pop("id_number", "") or ""
                family_member = FamilyMember(**member)
                apply_id_number(family_member, member_number)
                built.append(family_member)
            members_of_row.append(built)
            hashes_of_row.append(
                {
                    m.id_number_hash
                    for m in built
                    if m.relation in rules.PARENT_RELATIONS and m.id_number_hash
                }
            )
        on_file = parent_households(
            {values["village_code"] for values, _m in rows}, set().union(*hashes_of_row)
        )
        people: dict[uuid.UUID, list[rules.Person]] = defaultdict(list)
        parents: dict[uuid.UUID, list[rules.Parent]] = defaultdict(list)
        for member in FamilyMember.objects.filter(household_id__in=set(on_file.values())):
            people[member.household_id].append(_person(member))
            if member.relation in rules.PARENT_RELATIONS:
                parents[member.household_id].append(parent_facts(member))
        household_of: dict[tuple[str, str], uuid.UUID] = dict(on_file)
        new_households: list[Household] = []
        children: list[Child] = []
        family: list[FamilyMember] = []
        for (values, _members), built, hashes in zip(
            rows, members_of_row, hashes_of_row, strict=True
        ):
            values = dict(values)
            number = values.pop("id_number", "") or ""
            village_code = values.pop("village_code")
            values["categories"], values["categories_pending"] = typed_categories(
                user, values.get("categories") or [], current=None
            )
            child = Child(village=villages[village_code], created_by=user, **values)
            apply_id_number(child, number)
            child.joined_household = False
            joined = next(
                (household_of[key] for h in hashes if (key := (village_code, h)) in household_of),
                None,
            )
            if joined is not None:
                merge = rules.merge_families(people[joined], [_person(m) for m in built])
                if merge.conflicts:
                    joined = None
                else:
                    added = {person.key for person in merge.added}
                    built = [m for m in built if m.pk in added]
            if joined is None:
                household = Household()
                new_households.append(household)
                joined = household.pk
            else:
                child.joined_household = True
            child.household_id = joined
            for member in built:
                member.household_id = joined
                people[joined].append(_person(member))
                if member.relation in rules.PARENT_RELATIONS:
                    parents[joined].append(parent_facts(member))
            for digest in hashes:
                household_of.setdefault((village_code, digest), joined)
            children.append(child)
            family.extend(built)
        # Derived fields are worked out before the insert: one INSERT per row, no UPDATE after.
        policies = policies_for({c.village_id for c in children})
        on = today()
        for child in children:
            for field, value in derive(
                child, parents[child.household_id], policies[child.village_id], on
            ).items():
                setattr(child, field, value)
        # COPY, not INSERTs of thousands of placeholders (issue 20).
        bulk.copy_insert(new_households)
        bulk.copy_insert(children)
        bulk.copy_insert(family)
        # Siblings already on file whose household gained a parent are worked out again.
        grown = {m.household_id for m in family} & set(on_file.values())
        if grown:
            created = {c.pk for c in children}
            siblings = [
                pk
                for pk in Child.objects.filter(household_id__in=grown).values_list("pk", flat=True)
                if pk not in created
            ]
            children_recompute_derived(siblings)
            for child_id in siblings:
                _benefits_recheck(child_id)
    return children


CENSUS_VIA = "census"  # the history context's marker of the census update (摸底排查/动态更新)
CENSUS_STALE_MESSAGE = gettext_lazy(
    "A file was changed or closed by someone else during the import; nothing was imported, "
    "import again"
)


@dataclasses.dataclass
class CensusUpdate:
    """One file's changes from a census row (children.imports, update mode), checked already:
    ``changes`` are child fields (``village`` an Area), ``new_members`` family members to add and
    ``member_changes`` (member id, fields) changes to existing ones. ``version`` is the file's
    version when the sheet was checked."""

    child_id: uuid.UUID
    version: int
    row: int = 0
    changes: dict[str, Any] = dataclasses.field(default_factory=dict)
    new_members: list[dict] = dataclasses.field(default_factory=list)
    member_changes: list[tuple[uuid.UUID, dict]] = dataclasses.field(default_factory=list)


class CensusStale(Conflict):
    def __init__(self, row: int) -> None:
        super().__init__(CENSUS_STALE_MESSAGE, field="id_number", code="stale")
        self.row = row


def children_census_apply(
    *,
    user: User,
    rows: list[tuple[dict, list[dict]]],
    updates: list[CensusUpdate],
    villages: dict[str, Area],
) -> list[Child]:
    """The census update (摸底排查/动态更新) in one transaction, recorded in the history as the
    census (``via="census"``): new children created as children_bulk_create does, and checked
    changes applied to existing files. Raises CensusStale (nothing written) when a file changed
    or was closed since the sheet was checked. Returns the children created."""
    require_writer(user)
    with transaction.atomic(), history_context(user, via=CENSUS_VIA):
        created = children_bulk_create(user=user, rows=rows, villages=villages) if rows else []
        if not updates:
            return created
        locked = Child.objects.select_for_update().in_bulk([u.child_id for u in updates])
        now = timezone.now()
        changed_fields: set[str] = {"version", "updated_at"}
        children = []
        for update in updates:
            child = locked.get(update.child_id)
            if (
                child is None
                or child.version != update.version
                or child.status == ChildStatus.CLOSED
            ):
                raise CensusStale(update.row)
            if not update.changes:
                continue
            for name, value in update.changes.items():
                if name == "categories":
                    value, child.categories_pending = typed_categories(user, value, current=child)
                    changed_fields.add("categories_pending")
                    if Category.LEFT_BEHIND in child.categories:
                        value = [Category.LEFT_BEHIND, *value]
                setattr(child, name, value)
                changed_fields.add(name)
            child.version += 1
            child.updated_at = now
            children.append(child)
        if children:
            Child.objects.bulk_update(children, sorted(changed_fields), batch_size=1000)
        family: list[FamilyMember] = []
        for update in updates:
            for member in update.new_members:
                member = dict(member)
                number = member.pop("id_number", "") or ""
                family_member = FamilyMember(
                    household_id=locked[update.child_id].household_id, **member
                )
                apply_id_number(family_member, number)
                # Two siblings' rows adding the same new parent add one (one household).
                if not any(
                    m.household_id == family_member.household_id
                    and rules.same_person(_person(m), _person(family_member))
                    for m in family
                ):
                    family.append(family_member)
        FamilyMember.objects.bulk_create(family, batch_size=1000)
        member_updates = [c for u in updates for c in u.member_changes]
        if member_updates:
            members = FamilyMember.objects.in_bulk([pk for pk, _c in member_updates])
            for pk, member_changes in member_updates:
                member = members[pk]
                for name, value in member_changes.items():
                    setattr(member, name, value)
                member.save(update_fields=[*member_changes, "updated_at"])
        touched = [u.child_id for u in updates if u.changes or u.new_members or u.member_changes]
        if touched:
            # A parent's change reaches every sibling of the household.
            touched = household_child_ids({locked[pk].household_id for pk in touched}) | set(
                touched
            )
            children_recompute_derived(touched)
            for child_id in touched:
                _benefits_recheck(child_id)
    return created


RISK_BY_ASSESSMENT_MESSAGE = gettext_lazy(
    "Once registered, the risk level changes only through a guardianship assessment; "
    "record an assessment"
)


def child_update(
    *, user: User, child: Child, changes: dict[str, Any], version: int | None = None
) -> Child:
    """Change a child's file. ``version`` (when given) must match, else Conflict (stale)."""
    try:
        return _child_update(user=user, child=child, changes=changes, version=version)
    except DuplicateIdNumber as duplicate:
        # Counted after the rollback: the probe's audit record must stay.
        id_probe_count(user=user, duplicate=duplicate, channel="child_update")
        raise


def _child_update(
    *, user: User, child: Child, changes: dict[str, Any], version: int | None
) -> Child:
    require_writer(user)
    reject_unknown(changes, CHILD_FIELDS)
    with transaction.atomic(), history_context(user):
        locked = Child.objects.select_for_update().select_related("village").get(pk=child.pk)
        if version is not None and version != locked.version:
            raise Conflict(STALE_MESSAGE, field="version")
        if locked.status == ChildStatus.CLOSED:
            raise Conflict(CLOSED_FILE_MESSAGE)
        current_number = crypto.decrypt(locked.id_number_encrypted)
        values = {
            field: getattr(locked, field)
            for field in CHILD_FIELDS
            if field not in ("id_number", "village_code")
        }
        values["id_number"] = current_number
        values["village_code"] = locked.village_id
        errors: dict[str, list[str]] = {}
        if "risk_level" in changes and changes["risk_level"] != locked.risk_level:
            # After registration the colour follows the latest guardianship assessment only
            # (domain §2, api.md): a PATCH once lowered a child from high to low, and home visits
            # from every 7 days to every 90 (issue 14, M6).
            errors["risk_level"] = [RISK_BY_ASSESSMENT_MESSAGE]
        values.update(changes)
        if values.get("id_number") is None:
            values["id_number"] = ""
        village = validate_child(user, values, errors, current=locked)
        if "categories" in changes:
            values["categories"], values["categories_pending"] = typed_categories(
                user, changes["categories"] or [], current=locked, errors=errors
            )
        _raise_if_errors(errors)
        number = values.pop("id_number") or ""
        values.pop("village_code")
        if number != current_number:
            if number:
                account_services.require_imports_allowed(user)  # 403 while locked (issue 14, M5)
                _refuse_duplicate(user, number, exclude_pk=locked.pk)
            apply_id_number(locked, number)
        if Category.LEFT_BEHIND in locked.categories:
            values["categories"] = [Category.LEFT_BEHIND, *manual_categories(values["categories"])]
        for field, value in values.items():
            setattr(locked, field, value)
        locked.village = village
        locked.version += 1
        try:
            with transaction.atomic():
                locked.full_clean(exclude=["id_number_hash", "photo"])
                locked.save()
        except IntegrityError as exc:
            raise Conflict(DUPLICATE_ID_MESSAGE, field="id_number") from exc
        children_recompute_derived([locked.pk])
        extensions.case_changed(child_ids=[locked.pk])
        _benefits_recheck(locked.pk)
    locked.refresh_from_db()
    return locked


CATEGORY_NOTE_MAX = 500


def category_decide(
    *, user: User, child: Child, category: str, decision: str, note: str = ""
) -> Child:
    """County civil affairs confirm or reject a category waiting for them (待民政确认): a
    confirmed one joins the file's categories, a rejected one goes, with a written note either
    way on the record (CategoryDecision). 403 for any other role; 409 when the category is not
    waiting or the file is closed."""
    permissions.require(user, Capability.CHILD_CONFIRM_CATEGORY)
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if category not in rules.COUNTY_CONFIRMED:
        errors["category"] = [
            _(
                "Only orphans, de facto unsupported children and children with HIV are confirmed "
                "by civil affairs"
            )
        ]
    if decision not in CategoryDecision.Decision.values:
        errors["decision"] = [_("Must be confirm or reject")]
    elif decision == CategoryDecision.Decision.REJECT and not note:
        errors["note"] = [_("Give the reason for not confirming")]
    if len(note) > CATEGORY_NOTE_MAX:
        errors["note"] = [
            _("The note cannot be longer than %(limit)s characters") % {"limit": CATEGORY_NOTE_MAX}
        ]
    _raise_if_errors(errors)
    with transaction.atomic(), history_context(user):
        locked = Child.objects.select_for_update().get(pk=child.pk)
        _require_active(locked)
        if category not in locked.categories_pending:
            raise Conflict(
                _("This category is not waiting for civil affairs to confirm"), field="category"
            )
        _category_decided(locked, category, decision, user=user, note=note)
    _benefits_recheck(locked.pk)
    locked.refresh_from_db()
    return locked


def category_confirm_by_approval(
    *, user: User, child_id: uuid.UUID, category: str, note: str
) -> None:
    """County approval of the orphan or de facto unsupported allowance confirms that category
    (api.md): the county has judged the family. Called inside the approval's transaction."""
    locked = Child.objects.select_for_update().get(pk=child_id)
    if category in locked.categories and category not in locked.categories_pending:
        return
    _category_decided(locked, category, CategoryDecision.Decision.CONFIRM, user=user, note=note)


def _category_decided(
    locked: Child, category: str, decision: str, *, user: User, note: str
) -> None:
    locked.categories_pending = [c for c in locked.categories_pending if c != category]
    if decision == CategoryDecision.Decision.CONFIRM and category not in locked.categories:
        locked.categories = [*locked.categories, category]
    locked.version += 1
    locked.save(update_fields=["categories", "categories_pending", "version", "updated_at"])
    CategoryDecision.objects.create(
        child=locked, category=category, decision=decision, note=note, decided_by=user
    )
    children_recompute_derived([locked.pk])


def child_close(*, user: User, child: Child, reason: str, note: str = "") -> Child:
    require_writer(user)
    errors: dict[str, list[str]] = {}
    _check_choice(errors, "reason", reason, CloseReason.values)
    if reason == CloseReason.OTHER and not note.strip():
        errors.setdefault("note", []).append(_("Explain when the reason for closing is “Other”"))
    _raise_if_errors(errors)
    with transaction.atomic(), history_context(user):
        locked = Child.objects.select_for_update().get(pk=child.pk)
        if locked.status == ChildStatus.CLOSED:
            raise Conflict(_("The file is closed"))
        locked.status = ChildStatus.CLOSED
        locked.closed_reason = reason
        locked.closed_note = note.strip()
        locked.closed_on = today()
        locked.version += 1
        locked.save()
        children_recompute_derived([locked.pk])  # a closed file is no longer a key child
        extensions.case_changed(child_ids=[locked.pk])
        # Benefits stop with the file (this month is the last one paid): benefits' task, queued
        # with the closing so it runs exactly when the closing commits.
        outbox.enqueue(
            "benefits.child_closed", str(locked.pk), reason, locked.closed_on.isoformat(), user.pk
        )
    locked.refresh_from_db()
    return locked


# --- Family members ---------------------------------------------------------------------------


def validate_member(values: dict, errors: dict) -> None:
    _check_choice(errors, "relation", values.get("relation"), Relation)
    _check_choice(errors, "status", values.get("status"), MemberStatus)
    if not (values.get("name") or "").strip():
        errors.setdefault("name", []).append(_("Enter the name"))
    away = values.get("away_since")
    if away is not None and away > today():
        errors.setdefault("away_since", []).append(
            _("The date of leaving cannot be later than today")
        )
    phone = (values.get("phone") or "").strip()
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
        errors.setdefault("phone", []).append(_("A phone number has 7 to 12 digits"))
    number = (values.get("id_number") or "").strip()
    if number:
        try:
            values["id_number"] = idcard.parse(number).value
        except idcard.IdNumberError as exc:
            errors.setdefault("id_number", []).append(str(exc))
    since = values.get("status_since")
    if since is not None and since > today():
        errors.setdefault("status_since", []).append(
            _("The date the situation began cannot be later than today")
        )
    if values.get("status") in rules.INCAPABLE_STATUSES:
        # A parent in these situations cannot be the child's guardian now.
        values["has_guardian_capacity"] = False
    if values.get("status") not in STATUSES_WITH_SINCE:
        values["status_since"] = None  # the date of a status that counts no time


CLOSED_FILE_MESSAGE = gettext_lazy("The file is closed and cannot be changed")


def _require_active(child: Child) -> None:
    if child.status == ChildStatus.CLOSED:
        raise Conflict(CLOSED_FILE_MESSAGE, code=capture.CHILD_CLOSED)


def household_child_ids(household_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Every child of these households (siblings share their family members)."""
    return set(
        Child.objects.filter(household_id__in=set(household_ids)).values_list("pk", flat=True)
    )


def _require_household_active(household_id: uuid.UUID) -> None:
    """Family members are edited while one child of the household has an open file."""
    if not Child.objects.filter(household_id=household_id, status=ChildStatus.ACTIVE).exists():
        raise Conflict(CLOSED_FILE_MESSAGE)


def _family_changed(household_id: uuid.UUID) -> None:
    """A member of the household changed: every sibling's derived status, flags and due dates
    follow, and benefits recheck each once the change commits."""
    siblings = household_child_ids([household_id])
    children_recompute_derived(siblings)
    for child_id in siblings:
        _benefits_recheck(child_id)


def _benefits_recheck(child_id: uuid.UUID) -> None:
    """A change to the file or the family may break the rule of a benefit the child receives (a
    parent regains capacity, the child leaves school …): benefits checks, after the change
    commits, and raises a review rather than stopping payment silently."""
    outbox.enqueue("benefits.recheck_enrolments", str(child_id))


def family_member_add(*, user: User, child: Child, **data: Any) -> FamilyMember:
    require_writer(user)
    _require_active(child)
    values = {"has_guardian_capacity": True, **{k: v for k, v in data.items() if v is not None}}
    reject_unknown(values, MEMBER_FIELDS)
    return _member_save(user, FamilyMember(household_id=child.household_id), values)


def _member_save(user: User, member: FamilyMember, values: dict[str, Any]) -> FamilyMember:
    """Check the member's values and save them; every sibling's file is recomputed from the
    family and benefits recheck them once the change commits."""
    errors: dict[str, list[str]] = {}
    validate_member(values, errors)
    _raise_if_errors(errors)
    number = values.pop("id_number", "") or ""
    for field, value in values.items():
        setattr(member, field, value)
    apply_id_number(member, number)
    with transaction.atomic(), history_context(user):
        member.full_clean(exclude=["evidence"])
        member.save()
        _family_changed(member.household_id)
    return member


_TEXT_TYPES = ("CharField", "TextField")


def family_member_update(
    *, user: User, member: FamilyMember, changes: dict[str, Any]
) -> FamilyMember:
    require_writer(user)
    _require_household_active(member.household_id)
    reject_unknown(changes, MEMBER_FIELDS)
    values = {field: getattr(member, field) for field in MEMBER_FIELDS if field != "id_number"}
    values["id_number"] = crypto.decrypt(member.id_number_encrypted)
    values.update(changes)
    # null clears an optional text field, whose column holds "" (never NULL): full_clean skips
    # empty values of blank fields, so a None would only fail at the database.
    for field, value in changes.items():
        if value is None and field != "id_number":
            column = FamilyMember._meta.get_field(field)
            if column.blank and not column.null and column.get_internal_type() in _TEXT_TYPES:
                values[field] = ""
    return _member_save(user, member, values)


def family_member_attach_evidence(
    *, user: User, member: FamilyMember, upload, kind: str, evidence_date: date | None
) -> FamilyMember:
    """The document proving a member's status (death certificate, court declaration, judgement,
    police record …): JPEG, PNG or PDF by its bytes, at most 10 MB, stored under a random name
    with its kind and date. Refused (422, next to the field) and nothing stored otherwise."""
    from django.core.files.base import ContentFile

    from core.uploads import document_type

    require_writer(user)
    _require_household_active(member.household_id)
    errors: dict[str, list[str]] = {}
    _check_choice(errors, "kind", kind, EvidenceKind.values)
    if evidence_date is not None and evidence_date > today():
        errors.setdefault("evidence_date", []).append(
            _("The document date cannot be later than today")
        )
    _raise_if_errors(errors)
    content_type, extension = document_type(upload, field="evidence")
    with transaction.atomic(), history_context(user):
        member.evidence.save(
            f"{uuid.uuid4().hex}{extension}", ContentFile(upload.read()), save=False
        )
        member.evidence_kind = kind
        member.evidence_content_type = content_type
        member.evidence_date = evidence_date
        member.save(
            update_fields=[
                "evidence",
                "evidence_kind",
                "evidence_content_type",
                "evidence_date",
                "updated_at",
            ]
        )
    return member


def family_member_delete(*, user: User, member: FamilyMember) -> None:
    require_writer(user)
    _require_household_active(member.household_id)
    with transaction.atomic(), history_context(user):
        member.delete()
        _family_changed(member.household_id)


# --- Guardianship assessment (赋色) -----------------------------------------------------------


def assessment_record(
    *,
    user: User,
    child: Child,
    assessed_on: date,
    guardianship: int,
    safety: int,
    health: int,
    behaviour: int,
    note: str = "",
) -> GuardianshipAssessment:
    """Record an assessment; the latest one sets the child's risk colour and the next due date."""
    permissions.require(user, Capability.CHILD_ASSESS)
    _require_active(child)
    errors: dict[str, list[str]] = {}
    if assessed_on > today():
        errors.setdefault("assessed_on", []).append(
            _("The assessment date cannot be later than today")
        )
    if assessed_on < child.birth_date:
        errors.setdefault("assessed_on", []).append(
            _("The assessment date cannot be earlier than the date of birth")
        )
    for field, value in (
        ("guardianship", guardianship),
        ("safety", safety),
        ("health", health),
        ("behaviour", behaviour),
    ):
        if value not in (0, 1, 2, 3):
            errors.setdefault(field, []).append(_("A score must be 0 to 3"))
    _raise_if_errors(errors)
    result = rules.assessment_result(
        guardianship=guardianship, safety=safety, health=health, behaviour=behaviour
    )
    with transaction.atomic(), history_context(user):
        assessment = GuardianshipAssessment.objects.create(
            child=child,
            assessed_on=assessed_on,
            assessor=user,
            guardianship=guardianship,
            safety=safety,
            health=health,
            behaviour=behaviour,
            result=result,
            note=note.strip(),
        )
        latest = GuardianshipAssessment.objects.filter(child=child).order_by(
            "-assessed_on", "-created_at"
        )[0]
        if latest.pk == assessment.pk:
            policy = policies_for({child.village_id})[child.village_id]
            locked = Child.objects.select_for_update().get(pk=child.pk)
            locked.risk_level = result
            locked.next_assessment_due = rules.next_assessment_due(
                assessed_on, policy["reassess_days"]
            )
            locked.save(update_fields=["risk_level", "next_assessment_due", "updated_at"])
            children_recompute_derived([child.pk])
            extensions.case_changed(child_ids=[child.pk])
    return assessment


# --- Derived data -----------------------------------------------------------------------------

DERIVED_FIELDS = (
    "categories",
    "left_behind_reasons",
    "focus_flags",
    "is_key_child",
    "derived_refresh_on",
    "contact_interval_days",
    "home_visit_interval_days",
    "schedule_reason",
    "next_contact_due",
    "next_home_visit_due",
    "parent_contact_due",
)


def derive(
    child: Child,
    family: list[rules.Parent],
    policy: dict[str, int],
    on: date,
    has_active_care_agreement: bool = False,
) -> dict:
    """The derived fields of one child: left-behind status and reasons, focus flags, key child,
    the date they may next change by the calendar, and the visit schedule."""
    away_days = policy["left_behind_away_days"]
    result = rules.left_behind(
        birth_date=child.birth_date, parents=family, today=on, away_days=away_days
    )
    categories = manual_categories(child.categories)
    if result.left_behind:
        categories = [Category.LEFT_BEHIND, *categories]
    flags = rules.focus_flags(
        birth_date=child.birth_date,
        today=on,
        left_behind_result=result,
        parent_at_home=rules.parent_at_home_with_capacity(family),
        has_active_care_agreement=has_active_care_agreement,
        school_status=child.school_status,
        hukou_registered=child.hukou_registered,
        illness=child.illness,
        disability_type=child.disability_type,
        disability_grade=child.disability_grade,
        categories=categories,
    )
    with translation.override(settings.LANGUAGE_CODE):  # stored: schedule.shown_reason reads it
        plan = schedule.intervals(
            risk_level=child.risk_level,
            child_disabled="disabled" in flags,
            psych_concern=child.psych_concern,
            parent_serious_disability=any(
                p.serious_disability or p.serious_illness for p in family
            ),
            policy=policy,
        )
    registered_on = timezone.localdate(child.created_at) if child.created_at else on
    next_contact_due, next_home_visit_due = schedule.due_dates(
        registered_on=registered_on,
        last_contact_on=child.last_contact_on,
        last_home_visit_on=child.last_home_visit_on,
        intervals=plan,
        never_visited_days=policy["never_visited_days"],
    )
    parent_contact_due = None
    if result.left_behind:
        since = child.last_parent_contact_on or registered_on
        parent_contact_due = since + timedelta(days=policy["parent_contact_days"])
    return {
        "parent_contact_due": parent_contact_due,
        "contact_interval_days": plan.contact_days,
        "home_visit_interval_days": plan.home_days,
        "schedule_reason": plan.reason,
        "next_contact_due": next_contact_due,
        "next_home_visit_due": next_home_visit_due,
        "categories": categories,
        "left_behind_reasons": list(result.reasons),
        "focus_flags": flags,
        "is_key_child": child.status == ChildStatus.ACTIVE
        and rules.is_key_child(flags, child.risk_level),
        "derived_refresh_on": rules.next_change(
            birth_date=child.birth_date, parents=family, today=on, away_days=away_days
        ),
    }


def children_recompute_derived(child_ids: Iterable[uuid.UUID], *, on: date | None = None) -> int:
    """Recompute left-behind status, reasons, focus flags and key-child status.

    The one place these are derived. Works on any number of children with three queries plus one
    bulk UPDATE of the rows that changed. Returns how many changed.
    """
    ids = list(child_ids)
    if not ids:
        return 0
    on = on or today()
    children = list(
        Child.objects.filter(pk__in=ids).only(
            "id",
            "birth_date",
            "village_id",
            "household_id",
            "school_status",
            "hukou_registered",
            "illness",
            "disability_type",
            "disability_grade",
            "categories",
            "risk_level",
            "status",
            "psych_concern",
            "created_at",
            "last_contact_on",
            "last_home_visit_on",
            "last_parent_contact_on",
            *DERIVED_FIELDS,
        )
    )
    parents: dict[uuid.UUID, list[rules.Parent]] = defaultdict(list)
    for row in FamilyMember.objects.filter(
        household_id__in={c.household_id for c in children},
        relation__in=(Relation.FATHER, Relation.MOTHER),
    ).values(
        "household_id",
        "relation",
        "status",
        "has_guardian_capacity",
        "away_since",
        "has_serious_disability",
        "has_serious_illness",
        "status_since",
    ):
        household_id = row.pop("household_id")
        row["serious_disability"] = row.pop("has_serious_disability")
        row["serious_illness"] = row.pop("has_serious_illness")
        parents[household_id].append(rules.Parent(**row))
    policies = policies_for({c.village_id for c in children})
    covered = set(
        CareAgreement.objects.filter(
            child_id__in=ids,
            status=AgreementStatus.ACTIVE,
            start_date__lte=on,
            end_date__gte=on,
        ).values_list("child_id", flat=True)
    )
    changed = []
    for child in children:
        new = derive(
            child,
            parents.get(child.household_id, []),
            policies[child.village_id],
            on,
            child.pk in covered,
        )
        if any(getattr(child, field) != value for field, value in new.items()):
            for field, value in new.items():
                setattr(child, field, value)
            changed.append(child)
    if changed:
        Child.objects.bulk_update(changed, DERIVED_FIELDS, batch_size=1000)
    return len(changed)


def child_contact_recorded(child_id: uuid.UUID, *, on: date, home: bool) -> bool:
    """One more contact with the child on ``on`` (a home visit when ``home``): the last contact
    and home visit move forward, never back, and the due dates with them, in one UPDATE from the
    intervals stored on the file (schedule.AFTER_CONTACT_SET_SQL) — what
    children_recompute_derived would write, without re-deriving the rest of the file, which a
    contact does not change. False, changing nothing, for a file whose intervals were never
    derived: the caller then recomputes it whole."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE children_child SET {schedule.AFTER_CONTACT_SET_SQL} "
            "WHERE id = %(id)s AND contact_interval_days IS NOT NULL "
            "AND home_visit_interval_days IS NOT NULL",
            {"id": child_id, "on": on, "home": home},
        )
        return cursor.rowcount == 1


def children_refresh_due(*, on: date | None = None, batch_size: int = 5000) -> int:
    """Daily: recompute every file whose derived data may have changed by the calendar alone.

    Selection is one indexed query (``derived_refresh_on <= today``), so a missed day is caught up.
    """
    on = on or today()
    total = 0
    while True:
        ids = list(
            Child.objects.filter(derived_refresh_on__lte=on)
            .order_by("derived_refresh_on")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        with transaction.atomic():
            total += children_recompute_derived(ids, on=on)
            # Anything unchanged still moves its refresh date forward, so the loop ends.
            Child.objects.filter(pk__in=ids, derived_refresh_on__lte=on).update(
                derived_refresh_on=None
            )


def children_recompute_area(*, area_code: str, batch_size: int = 2000) -> int:
    """Recompute the derived data (schedule included) of every active file in an area's subtree."""
    ids = list(
        Child.objects.filter(
            scope.subtree_q(area_code, "village__code"), status=ChildStatus.ACTIVE
        ).values_list("pk", flat=True)
    )
    changed = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            changed += children_recompute_derived(ids[start : start + batch_size])
    return changed


# --- Care agreements (委托照护, domain §5) ------------------------------------------------------

AGREEMENT_FIELDS = (
    "caregiver_name",
    "caregiver_relation",
    "caregiver_phone",
    "caregiver_id_number",
    "caregiver_birth_date",
    "caregiver_health",
    "caregiver_address",
    "caregiver_declares_record",
    "start_date",
    "end_date",
    "parent_work_place",
    "parent_employer",
    "parent_phone",
    "parent_departure_date",
    "duties",
    "weekly_contact",
    "signed_on",
    "filed_on",
    "parent_ids",
)
ACTIVE_AGREEMENT_MESSAGE = gettext_lazy(
    "The child already has a care agreement in force; end it first"
)


def _validate_agreement(values: dict, errors: dict) -> None:
    if not (values.get("caregiver_name") or "").strip():
        errors.setdefault("caregiver_name", []).append(_("Enter the caregiver's name"))
    _check_choice(
        errors, "caregiver_relation", values.get("caregiver_relation"), CaregiverRelation.values
    )
    phone = (values.get("caregiver_phone") or "").strip()
    if not phone:
        errors.setdefault("caregiver_phone", []).append(_("Enter the caregiver's phone number"))
    elif not rules.valid_phone(phone):
        errors.setdefault("caregiver_phone", []).append(
            _("Wrong phone number (11-digit mobile, or landline with area code)")
        )
    parent_phone = (values.get("parent_phone") or "").strip()
    if parent_phone and not rules.valid_phone(parent_phone):
        errors.setdefault("parent_phone", []).append(
            _("Wrong phone number (11-digit mobile, or landline with area code)")
        )
    start, end = values.get("start_date"), values.get("end_date")
    if not isinstance(start, date):
        errors.setdefault("start_date", []).append(_("Enter the start date"))
    if not isinstance(end, date):
        errors.setdefault("end_date", []).append(_("Enter the end date"))
    elif isinstance(start, date) and end <= start:
        errors.setdefault("end_date", []).append(
            _("The end date must be later than the start date")
        )
    birth = values.get("caregiver_birth_date")
    age_field = "caregiver_birth_date" if birth is not None else "caregiver_id_number"
    number = (values.get("caregiver_id_number") or "").strip()
    if number:
        try:
            parsed = idcard.parse(number)
        except idcard.IdNumberError as exc:
            errors.setdefault("caregiver_id_number", []).append(str(exc))
        else:
            values["caregiver_id_number"] = parsed.value
            if birth is not None and birth != parsed.birth_date:
                errors.setdefault("caregiver_birth_date", []).append(
                    _("The date of birth does not match the caregiver's ID number")
                )
            birth = birth or parsed.birth_date
            values["caregiver_birth_date"] = birth
    if isinstance(birth, date):
        # Adult for as long as the agreement is in force from now on.
        check_on = max(today(), start) if isinstance(start, date) else today()
        if not rules.caregiver_is_adult(birth, check_on):
            errors.setdefault(age_field, []).append(_("The caregiver must be 18 or older"))
    if values.get("caregiver_declares_record"):
        errors.setdefault("caregiver_declares_record", []).append(
            _(
                "Someone with a record of abuse, violence, drugs, gambling or heavy drinking "
                "cannot be the caregiver"
            )
        )


def care_agreement_create(*, user: User, child: Child, **data: Any) -> CareAgreement:
    """Record an agreement. Refused (422) for a minor or disqualified caregiver or bad dates;
    409 while another agreement is active. A needs-replacement agreement is closed by it."""
    require_writer(user)
    _require_active(child)
    reject_unknown(data, AGREEMENT_FIELDS)
    values = {k: v for k, v in data.items() if v is not None}
    errors: dict[str, list[str]] = {}
    _validate_agreement(values, errors)
    _raise_if_errors(errors)
    values.pop("caregiver_declares_record", None)
    parent_ids = values.pop("parent_ids", None)
    number = values.pop("caregiver_id_number", "") or ""
    on = today()
    status = AgreementStatus.EXPIRED if values["end_date"] < on else AgreementStatus.ACTIVE
    with transaction.atomic(), history_context(user):
        Child.objects.select_for_update().filter(pk=child.pk).first()  # serialise per child
        if (
            status == AgreementStatus.ACTIVE
            and CareAgreement.objects.filter(child=child, status=AgreementStatus.ACTIVE).exists()
        ):
            raise Conflict(ACTIVE_AGREEMENT_MESSAGE)
        agreement = CareAgreement(child=child, created_by=user, status=status, **values)
        agreement.caregiver_id_number_encrypted = crypto.encrypt(number)
        agreement.caregiver_id_number_masked = idcard.mask(number)
        if status == AgreementStatus.EXPIRED:
            agreement.status_changed_on = on
        agreement.full_clean(exclude=["child"])
        agreement.save()
        parents = FamilyMember.objects.filter(
            household_id=child.household_id, relation__in=("father", "mother")
        )
        if parent_ids is not None:
            parents = parents.filter(pk__in=parent_ids)
        else:
            parents = parents.filter(status=MemberStatus.WORKING_AWAY)
        agreement.parents.set(parents)
        if status == AgreementStatus.ACTIVE:
            CareAgreement.objects.filter(
                child=child, status=AgreementStatus.NEEDS_REPLACEMENT
            ).update(
                status=AgreementStatus.TERMINATED,
                status_reason=_("Replaced by a new care agreement"),
                status_changed_on=on,
            )
        children_recompute_derived([child.pk])
        extensions.case_changed(child_ids=[child.pk])
    return agreement


def care_agreement_terminate(*, user: User, agreement: CareAgreement, reason: str) -> CareAgreement:
    require_writer(user)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Enter the reason for ending it")]})
    with transaction.atomic(), history_context(user):
        updated = CareAgreement.objects.filter(
            pk=agreement.pk,
            status__in=(AgreementStatus.ACTIVE, AgreementStatus.NEEDS_REPLACEMENT),
        ).update(
            status=AgreementStatus.TERMINATED,
            status_reason=reason.strip(),
            status_changed_on=today(),
        )
        if not updated:
            raise Conflict(_("This agreement has already ended or expired"))
        children_recompute_derived([agreement.child_id])
        extensions.case_changed(child_ids=[agreement.child_id])
    agreement.refresh_from_db()
    return agreement


def care_agreements_expire(*, on: date | None = None) -> int:
    """Daily: agreements past their end date become expired (one UPDATE), and the children they
    covered are recomputed (an expired agreement no longer lifts the unsupervised flag)."""
    on = on or today()
    with transaction.atomic():
        child_ids = list(
            CareAgreement.objects.filter(
                end_date__lt=on,
                status__in=(AgreementStatus.ACTIVE, AgreementStatus.NEEDS_REPLACEMENT),
            ).values_list("child_id", flat=True)
        )
        expired = CareAgreement.objects.filter(
            end_date__lt=on,
            status__in=(AgreementStatus.ACTIVE, AgreementStatus.NEEDS_REPLACEMENT),
        ).update(status=AgreementStatus.EXPIRED, status_changed_on=on)
        for start in range(0, len(child_ids), 2000):
            children_recompute_derived(child_ids[start : start + 2000], on=on)
    return expired


def care_agreement_caregiver_unable(
    *, user: User | None, agreement: CareAgreement, reason: str
) -> CareAgreement:
    """The caregiver cannot or will not care (a visit found it, or a direct action): the agreement
    needs replacing by a set date, and the entrusting parents are told after commit
    (children.parent_notices: a text message, or a phone call pending for the director).
    Idempotent for an agreement already flagged."""
    if user is not None:
        require_writer(user)
    village = agreement.child.village_id
    days = policies_for({village})[village]["agreement_replacement_days"]
    on = today()
    with transaction.atomic(), history_context(user):
        updated = CareAgreement.objects.filter(
            pk=agreement.pk, status=AgreementStatus.ACTIVE
        ).update(
            status=AgreementStatus.NEEDS_REPLACEMENT,
            status_reason=(reason or _("The caregiver cannot or will not go on caring")).strip(),
            status_changed_on=on,
            replacement_due=on + timedelta(days=days),
        )
        if not updated:
            if agreement.status == AgreementStatus.NEEDS_REPLACEMENT:
                return agreement
            raise Conflict(_("This agreement has already ended or expired"))
        children_recompute_derived([agreement.child_id])
        extensions.case_changed(child_ids=[agreement.child_id])
        agreement.refresh_from_db()
        outbox.enqueue("children.text_parents", str(agreement.pk))
    return agreement


def parent_notice_record(
    *, user: User, agreement: CareAgreement, channel: str, note: str = "", notified_at=None
) -> ParentNotice:
    """The director records telling the parents (by phone, in person …)."""
    require_writer(user)
    errors: dict[str, list[str]] = {}
    _check_choice(errors, "channel", channel, ContactChannel.values)
    when = notified_at or timezone.now()
    if when > timezone.now():
        errors.setdefault("notified_at", []).append(_("The notice time cannot be later than now"))
    _raise_if_errors(errors)
    return ParentNotice.objects.create(
        agreement=agreement, notified_by=user, notified_at=when, channel=channel, note=note.strip()
    )


def parent_contact_record(
    *,
    user: User,
    child: Child,
    contacted_on: date,
    channel: str,
    note: str = "",
    parent: FamilyMember | None = None,
    client_id: uuid.UUID | None = None,
    file_version: int | None = None,
) -> ParentContact:
    """Log a parent–child contact; the child's parent-contact flag moves with it. ``client_id``
    and ``file_version`` as for a visit (visits.services.visit_record)."""
    require_writer(user)
    _require_active(child)
    require_file_version(child, file_version)
    errors: dict[str, list[str]] = {}
    _check_choice(errors, "channel", channel, ContactChannel.values)
    if not isinstance(contacted_on, date):
        errors.setdefault("contacted_on", []).append(_("Enter the contact date"))
    elif contacted_on > today():
        errors.setdefault("contacted_on", []).append(
            _("The contact date cannot be later than today")
        )
    elif contacted_on < child.birth_date:
        errors.setdefault("contacted_on", []).append(
            _("The contact date cannot be earlier than the child's date of birth")
        )
    if parent is not None and parent.household_id != child.household_id:
        errors.setdefault("parent", []).append(_("Not a family member of this child"))
    _raise_if_errors(errors)
    with transaction.atomic():
        contact = ParentContact.objects.create(
            child=child,
            parent=parent,
            contacted_on=contacted_on,
            channel=channel,
            note=note.strip(),
            recorded_by=user,
            client_id=client_id,
        )
        latest = ParentContact.objects.filter(child=child).aggregate(m=models.Max("contacted_on"))
        Child.objects.filter(pk=child.pk).update(last_parent_contact_on=latest["m"])
        children_recompute_derived([child.pk])
    return contact


def parent_contact_record_once(
    *, user: User, child: Child, client_id: uuid.UUID, **kwargs: Any
) -> tuple[ParentContact, bool]:
    """``parent_contact_record`` for an upload that may come twice: (contact, created)."""
    return capture.record_once(
        client_id=client_id,
        find=lambda key: ParentContact.objects.filter(client_id=key).first(),
        create=lambda: parent_contact_record(user=user, child=child, client_id=client_id, **kwargs),
        same=lambda contact: contact.recorded_by_id == user.pk and contact.child_id == child.pk,
    )


def require_file_version(child: Child, file_version: int | None) -> None:
    """A record typed against version ``file_version`` of the child's file (None: not said)
    waits for the director to look again when the file changed since (Conflict
    ``file_changed``, with the version now): a phone may have kept the form for days."""
    if file_version is not None and file_version != child.version:
        raise Conflict(
            gettext_lazy(
                "The child's file has changed since you began: check it before sending the visit"
            ),
            code=capture.FILE_CHANGED,
            data={"version": child.version},
        )


def care_agreement_attach_scan(*, user: User, agreement: CareAgreement, upload) -> CareAgreement:
    """Store the signed copy (JPEG/PNG/PDF by content, ≤ 10 MB) under a random name."""
    from django.core.files.base import ContentFile

    from core.uploads import document_type

    require_writer(user)
    content_type, extension = document_type(upload)
    with transaction.atomic(), history_context(user):
        agreement.scan.save(
            f"{uuid.uuid4().hex}{extension}", ContentFile(upload.read()), save=False
        )
        agreement.scan_content_type = content_type
        agreement.save(update_fields=["scan", "scan_content_type", "updated_at"])
    return agreement


# --- Ageing out (domain §2: the file closes by itself on the 18th birthday) -------------------

# Every active file of a child 18 or over (the one age condition, children.schedule), unless a
# benefit continues for full-time education to today or later (benefits keeps
# education_continues_until): rules.ages_out_on <= today. Dated rules.ages_out_on (the 18th
# birthday, or the day after the education ended) however late the job runs, and never before
# the file was last re-opened (GREATEST ignores NULLs).
AGE_OUT_SQL = f"""
UPDATE children_child c
SET status = %(closed)s, closed_reason = %(reason)s, closed_note = '',
    closed_on = GREATEST(
        {schedule.eighteenth_birthday_sql("c.")}, c.education_continues_until + 1, c.reopened_on
    ),
    version = c.version + 1, updated_at = now()
WHERE c.status = %(active)s AND NOT ({schedule.under_18_sql("c.")})
  AND (c.education_continues_until IS NULL OR c.education_continues_until < %(today)s)
RETURNING c.id, c.closed_on
"""


def children_age_out(*, on: date | None = None) -> int:
    """Daily: close the file of every child whose ageing-out day (rules.ages_out_on) is ``on``
    or earlier, with ``turned_18``, dated that day: a missed day is caught up, since every file
    past its day is selected. One UPDATE; then what child_close does after a closing: the
    derived data recomputed and benefits' ``benefits.child_closed`` queued per file (benefits
    end with the month of the closing). The history records no user: the timeline shows the
    system. Returns how many files closed."""
    on = on or today()
    params = {
        "today": on,
        "closed": ChildStatus.CLOSED.value,
        "active": ChildStatus.ACTIVE.value,
        "reason": CloseReason.TURNED_18.value,
    }
    with transaction.atomic(), history_context(None):
        with connection.cursor() as cursor:
            cursor.execute(AGE_OUT_SQL, params)
            closed = cursor.fetchall()
        ids = [pk for pk, _closed_on in closed]
        for start in range(0, len(ids), 2000):
            children_recompute_derived(ids[start : start + 2000], on=on)
        outbox.enqueue_many(
            "benefits.child_closed",
            (
                [str(pk), CloseReason.TURNED_18.value, closed_on.isoformat(), None]
                for pk, closed_on in closed
            ),
        )
    return len(closed)
