"""Households: siblings share one set of family members (domain §2, api.md "Case lifecycle").

A father leaving for work is recorded once, and every sibling's left-behind status, flags and due
dates follow (services._family_changed). Joining two files' families keeps one record of each
person (rules.merge_families); a child who leaves (moved to another village, linked by mistake)
takes a copy of the family along.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.errors import Conflict

from . import rules
from .models import CareAgreement, Child, FamilyMember, Household, ParentContact
from .services import (
    _family_changed,
    _person,
    _require_active,
    history_context,
    require_writer,
)

DIFFERENT_VILLAGE_MESSAGE = _(
    "Siblings must have their files in the same village (community); transfer first"
)
SAME_CHILD_MESSAGE = _("A child cannot be linked to itself")
# Blank fields of the record kept are filled from the duplicate dropped when two families join.
_FILLABLE = ("phone", "work_place", "employer", "away_since", "evidence", "evidence_date")


def siblings_link(*, user: User, child: Child, other: Child) -> Child:
    """Make ``other`` (and any siblings it already has) share ``child``'s household. Both files
    must be open and in one village; a father or mother on each side who are not the same person
    → Conflict ``family_differs`` (nothing changes). Already siblings: nothing to do."""
    require_writer(user)
    if child.pk == other.pk:
        raise ValidationError({"child_id": [SAME_CHILD_MESSAGE]})
    _require_active(child)
    _require_active(other)
    if child.village_id != other.village_id:
        raise Conflict(DIFFERENT_VILLAGE_MESSAGE, field="child_id", code="different_village")
    if child.household_id == other.household_id:
        return child
    with transaction.atomic(), history_context(user):
        join_households(child.household_id, other.household_id)
    child.refresh_from_db()
    return child


def join_households(kept_id: uuid.UUID, dropped_id: uuid.UUID) -> None:
    """Inside the caller's transaction: every child and member of household ``dropped_id`` joins
    ``kept_id`` (one record of each person kept, rules.merge_families), and the dropped household
    goes. Conflict ``family_differs`` when a father or mother differs (nothing changes)."""
    if kept_id == dropped_id:
        return
    # One household at a time: two joins touching the same families wait for each other.
    list(Household.objects.select_for_update().filter(pk__in=[kept_id, dropped_id]).order_by("pk"))
    kept = list(FamilyMember.objects.filter(household_id=kept_id))
    incoming = list(FamilyMember.objects.filter(household_id=dropped_id))
    merge = rules.merge_families([_person(m) for m in kept], [_person(m) for m in incoming])
    if merge.conflicts:
        raise Conflict(" ".join(merge.conflicts), field="child_id", code="family_differs")
    by_pk = {m.pk: m for m in kept + incoming}
    for person, same in merge.matched:
        _fold(by_pk[person.key], into=by_pk[same.key])
    FamilyMember.objects.filter(pk__in=[p.key for p in merge.added]).update(household_id=kept_id)
    Child.objects.filter(household_id=dropped_id).update(
        household_id=kept_id, version=F("version") + 1
    )
    Household.objects.filter(pk=dropped_id).delete()
    _family_changed(kept_id)


def _fold(duplicate: FamilyMember, *, into: FamilyMember) -> None:
    """One person recorded twice: the kept record takes what it lacks from the duplicate, every
    agreement and contact naming the duplicate names the kept record, and the duplicate goes."""
    changed = [f for f in _FILLABLE if not getattr(into, f) and getattr(duplicate, f)]
    for field in changed:
        setattr(into, field, getattr(duplicate, field))
    if not into.id_number_hash and duplicate.id_number_hash:
        into.id_number_encrypted = duplicate.id_number_encrypted
        into.id_number_masked = duplicate.id_number_masked
        into.id_number_hash = duplicate.id_number_hash
        changed += ["id_number_encrypted", "id_number_masked", "id_number_hash"]
    if changed:
        into.save(update_fields=[*changed, "updated_at"])
    _repoint(duplicate.pk, into.pk)
    duplicate.delete()


def _repoint(old: uuid.UUID, new: uuid.UUID, *, children: set | None = None) -> None:
    """Agreements and parent contacts (of ``children``, or all) that name family member ``old``
    name ``new`` instead."""
    through = CareAgreement.parents.through
    links = through.objects.filter(familymember_id=old)
    contacts = ParentContact.objects.filter(parent_id=old)
    if children is not None:
        links = links.filter(careagreement__child_id__in=children)
        contacts = contacts.filter(child_id__in=children)
    for link in links:
        through.objects.get_or_create(careagreement_id=link.careagreement_id, familymember_id=new)
        link.delete()
    contacts.update(parent_id=new)


def household_leave(*, user: User, child: Child) -> Child:
    """``child`` no longer shares its siblings' family (linked by mistake): it keeps a copy of
    the members in a household of its own. Alone already: nothing to do."""
    require_writer(user)
    _require_active(child)
    with transaction.atomic(), history_context(user):
        leave_household(child)
    child.refresh_from_db()
    return child


def leave_household(child: Child) -> None:
    """The move itself, inside the caller's transaction (a transfer takes the child to another
    village and its siblings stay): the members are copied to a new household, and the child's
    agreements and contacts name the copies. The siblings' family is unchanged."""
    old = child.household_id
    if not Child.objects.filter(household_id=old).exclude(pk=child.pk).exists():
        return
    household = Household.objects.create()
    for member in FamilyMember.objects.filter(household_id=old):
        original = member.pk
        member.pk = uuid.uuid4()
        member.household_id = household.pk
        member._state.adding = True
        member.save(force_insert=True)
        _repoint(original, member.pk, children={child.pk})
    Child.objects.filter(pk=child.pk).update(household_id=household.pk, version=F("version") + 1)
    child.household_id = household.pk
    _family_changed(household.pk)
