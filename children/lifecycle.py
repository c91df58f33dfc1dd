"""The file's life across time and place (domain §2, one file for life): re-opening a closed
file and transferring a file to another village. Writes, like children.services; views, the API
and tasks call these.

A transfer is asked by the side the child left (``sender``: the file is in the user's area) or
the side the child arrived at (``receiver``: the destination is in the user's area, the file is
found by its ID number and nothing of it is shown); the other side accepts or rejects it. When
one user's area covers both villages it is accepted at once. On acceptance the file moves and
everything hanging off it follows: the family (a copy, when siblings stay behind), agreements,
visits and contacts through the child's village; the apps above are told through the outbox
(reports move their area, benefits paid by another county end and the new county is asked to
re-apply, the old recipients' reminders are resolved).
"""

from __future__ import annotations

from datetime import date

import pghistory.models
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import extensions, outbox, permissions
from accounts import selectors as scope
from accounts import services as account_services
from accounts.models import Area, User
from accounts.permissions import Capability
from core import crypto
from core.clock import today
from core.errors import Conflict

from . import idcard, rules
from .households import join_households, leave_household
from .models import (
    Child,
    ChildMerge,
    ChildStatus,
    CloseReason,
    Transfer,
    TransferSide,
    TransferStatus,
)
from .services import apply_id_number, children_recompute_derived, history_context

REOPEN_ACTIVE_MESSAGE = gettext_lazy("The file is not closed; no need to reopen it")
REOPEN_ADULT_MESSAGE = gettext_lazy("The child is 18 or older; the file cannot be reopened")
TRANSFER_PENDING_MESSAGE = gettext_lazy("The child already has a transfer request waiting")
TRANSFER_SAME_VILLAGE_MESSAGE = gettext_lazy(
    "The child's file is already in this village (community)"
)
TRANSFER_DECIDED_MESSAGE = gettext_lazy("This transfer request has already been decided")
NO_FILE_MESSAGE = gettext_lazy("No file with this ID number")
ASKING_SIDE_MESSAGE = gettext_lazy("The other side accepts or returns a transfer request")
MAX_REASON = 200
MAX_NOTE = 500


def _text(values: dict, field: str, *, required: bool, limit: int, errors: dict) -> str:
    text = (values.get(field) or "").strip()
    if "\x00" in text:
        errors.setdefault(field, []).append(_("Contains invalid characters"))
    elif required and not text:
        errors.setdefault(field, []).append(
            _("Enter the reason") if field.endswith("reason") else _("Required")
        )
    elif len(text) > limit:
        errors.setdefault(field, []).append(
            _("Cannot be longer than %(limit)s characters") % {"limit": limit}
        )
    return text


def _reason_and_note(reason: str, note: str, errors: dict) -> tuple[str, str]:
    """A required reason and an optional note, checked (NUL bytes, lengths) into ``errors``."""
    values = {"reason": reason, "note": note}
    return (
        _text(values, "reason", required=True, limit=MAX_REASON, errors=errors),
        _text(values, "note", required=False, limit=MAX_NOTE, errors=errors),
    )


def _raise_if(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


# --- Re-open ----------------------------------------------------------------------------------


def child_reopen(*, user: User, child: Child, reason: str, note: str = "") -> Child:
    """Re-open a closed file (the child's director, supervisor or civil affairs; the caller has
    checked the file is in the user's area). Its history keeps the closing and the re-opening."""
    permissions.require(user, Capability.CHILD_WRITE)
    errors: dict[str, list[str]] = {}
    reason, note = _reason_and_note(reason, note, errors)
    _raise_if(errors)
    on = today()
    with transaction.atomic(), history_context(user):
        locked = Child.objects.select_for_update().get(pk=child.pk)
        if locked.status != ChildStatus.CLOSED:
            raise Conflict(REOPEN_ACTIVE_MESSAGE)
        if not may_stay_open(locked, on):
            raise Conflict(REOPEN_ADULT_MESSAGE)
        _reopen(locked, on, "；".join(part for part in (reason, note) if part))
        locked.save()
        children_recompute_derived([locked.pk])
        extensions.case_changed(child_ids=[locked.pk])
    locked.refresh_from_db()
    return locked


EDUCATION_REOPEN_REASON = gettext_lazy("In full-time education after turning 18; benefits continue")


def reopen_for_education(child_id) -> bool:
    """Inside the caller's transaction: a file closed on the 18th birthday re-opens when a
    benefit continues for full-time education (benefits records the education and sets
    ``education_continues_until`` first). True when it re-opened."""
    on = today()
    child = Child.objects.select_for_update().get(pk=child_id)
    if child.status != ChildStatus.CLOSED or child.closed_reason != CloseReason.TURNED_18:
        return False
    if not may_stay_open(child, on):
        return False
    _reopen(child, on, EDUCATION_REOPEN_REASON)
    child.save()
    children_recompute_derived([child.pk])
    extensions.case_changed(child_ids=[child.pk])
    return True


def may_stay_open(child: Child, on: date) -> bool:
    """Under 18, or kept open past 18 for full-time education (set by benefits)."""
    if rules.age_on(child.birth_date, on) < rules.ADULT_AGE:
        return True
    return child.education_continues_until is not None and child.education_continues_until >= on


def _reopen(child: Child, on: date, reason: str) -> None:
    child.status = ChildStatus.ACTIVE
    child.closed_reason = ""
    child.closed_note = ""
    child.closed_on = None
    child.reopened_on = on
    child.reopen_reason = reason[:MAX_NOTE]
    child.version += 1


# --- Transfers --------------------------------------------------------------------------------


def _village(code: str, errors: dict) -> Area | None:
    code = (code or "").strip()
    area = Area.objects.filter(code=code, level="village").first() if code.isdigit() else None
    if area is None:
        errors.setdefault("to_village_code", []).append(
            _("Choose a valid village (community) code")
        )
    return area


def _in_scope(user: User, code: str) -> bool:
    return scope.code_in_scope(user, code)


def transfer_request_from_sender(
    *, user: User, child: Child, to_village_code: str, reason: str, note: str = ""
) -> Transfer:
    """The child moved away: the file's side asks the destination to take it (the caller has
    checked the file is in the user's area)."""
    permissions.require(user, Capability.CHILD_WRITE)
    errors: dict[str, list[str]] = {}
    reason, note = _reason_and_note(reason, note, errors)
    village = _village(to_village_code, errors)
    _raise_if(errors)
    return _open_transfer(
        user=user,
        child=child,
        village=village,
        side=TransferSide.SENDER,
        reason=reason,
        note=note,
        field="to_village_code",
    )


def transfer_request_from_receiver(
    *, user: User, id_number: str, to_village_code: str, reason: str, note: str = ""
) -> Transfer:
    """The child arrived: the destination's side asks for the file by the child's ID number.
    Nothing of the file is revealed; an ID number with no file is 404."""
    permissions.require(user, Capability.CHILD_WRITE)
    errors: dict[str, list[str]] = {}
    reason, note = _reason_and_note(reason, note, errors)
    try:
        number = idcard.parse(id_number or "").value
    except idcard.IdNumberError as exc:
        errors.setdefault("id_number", []).append(str(exc))
        number = ""
    village = _village(to_village_code, errors)
    _raise_if(errors)
    if not _in_scope(user, village.code):
        # The destination must be the asking user's own.
        raise Http404
    # Asking by ID number tells whether it is on file: counted like a duplicate found at
    # registration (issue 14, M5) — a file outside the area is an audited probe, and a user
    # locked for probing may not ask.
    account_services.require_imports_allowed(user)
    child = Child.objects.filter(id_number_hash=crypto.lookup_hash(number)).first()
    if child is None:
        raise Http404(NO_FILE_MESSAGE)
    if not _in_scope(user, child.village_id):
        account_services.id_probes_record(
            user=user, records=[(str(child.pk), child.village_id)], channel="transfer_request"
        )
    return _open_transfer(
        user=user,
        child=child,
        village=village,
        side=TransferSide.RECEIVER,
        reason=reason,
        note=note,
        field="id_number",
    )


def _open_transfer(
    *,
    user: User,
    child: Child,
    village: Area,
    side: str,
    reason: str,
    note: str,
    field: str,
) -> Transfer:
    """The transfer of ``child``'s file to ``village``, asked by ``side``; accepted at once when
    the user's area covers both villages. Refused (409, on ``field``) when the file is already
    in that village."""
    if village.code == child.village_id:
        raise Conflict(TRANSFER_SAME_VILLAGE_MESSAGE, field=field)
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                child=child,
                from_village_id=child.village_id,
                to_village=village,
                reason=reason,
                note=note,
                requested_by_side=side,
                requested_by=user,
            )
    except IntegrityError as exc:
        raise Conflict(TRANSFER_PENDING_MESSAGE) from exc
    extensions.case_changed(child_ids=[child.pk])  # the answering side is told at once
    if _in_scope(user, child.village_id) and _in_scope(user, village.code):
        # One user's area covers both villages: nobody else to ask.
        return _accept(transfer, user)
    return transfer


def answering_side(transfer: Transfer) -> str:
    return (
        TransferSide.RECEIVER
        if transfer.requested_by_side == TransferSide.SENDER
        else TransferSide.SENDER
    )


def may_answer(user: User, transfer: Transfer) -> bool:
    """The side that did not ask answers: the director of that village or the supervisor or
    civil affairs over it."""
    code = (
        transfer.to_village_id
        if answering_side(transfer) == TransferSide.RECEIVER
        else transfer.from_village_id
    )
    return permissions.can(user, Capability.CHILD_WRITE) and _in_scope(user, code)


def _decidable(user: User, transfer: Transfer) -> Transfer:
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if not may_answer(user, locked):
        raise PermissionDenied(ASKING_SIDE_MESSAGE)
    if locked.status != TransferStatus.PENDING:
        raise Conflict(TRANSFER_DECIDED_MESSAGE)
    return locked


def transfer_accept(*, user: User, transfer: Transfer) -> Transfer:
    with transaction.atomic():
        locked = _decidable(user, transfer)
        return _accept(locked, user)


def transfer_reject(*, user: User, transfer: Transfer, reason: str) -> Transfer:
    errors: dict[str, list[str]] = {}
    reason = _text({"reason": reason}, "reason", required=True, limit=MAX_REASON, errors=errors)
    _raise_if(errors)
    with transaction.atomic():
        locked = _decidable(user, transfer)
        locked.status = TransferStatus.REJECTED
        locked.reject_reason = reason
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save()
        extensions.case_changed(child_ids=[locked.child_id])
    return locked


def _accept(transfer: Transfer, user: User) -> Transfer:
    """Move the file (a closed one re-opens) and tell the apps above."""
    on = today()
    with transaction.atomic(), history_context(user):
        child = Child.objects.select_for_update().get(pk=transfer.child_id)
        source = child.village_id
        # Siblings who stay keep the family; the child takes a copy of it along.
        leave_household(child)
        child.village_id = transfer.to_village_id
        if child.status == ChildStatus.CLOSED and may_stay_open(child, on):
            _reopen(child, on, _("Transferred in: %(reason)s") % {"reason": transfer.reason})
        else:
            child.version += 1
        child.save()
        Transfer.objects.filter(pk=transfer.pk).update(
            status=TransferStatus.ACCEPTED, decided_by=user, decided_at=timezone.now()
        )
        # Due dates follow the new area's numbers.
        children_recompute_derived([child.pk])
        extensions.case_changed(child_ids=[child.pk])
        moved = (str(child.pk), source, transfer.to_village_id, on.isoformat())
        outbox.enqueue("reporting.child_moved", *moved)
        outbox.enqueue("benefits.child_moved", *moved)
        outbox.enqueue("reminders.child_moved", *moved)
    transfer.refresh_from_db()
    return transfer


# --- Merge: two files of one child -----------------------------------------------------------

MERGE_SAME_FILE_MESSAGE = gettext_lazy("Choose another file")
MERGE_DIFFERENT_IDS_MESSAGE = gettext_lazy(
    "The two files have different ID numbers: not the same child, they cannot be merged"
)
MERGE_CLOSED_MESSAGE = gettext_lazy(
    "The file to keep is closed: keep the open file, or reopen it first"
)
MERGE_TRANSFER_MESSAGE = gettext_lazy(
    "One of the files has a transfer request waiting; deal with it first"
)
MERGE_CONFLICT_MESSAGE = gettext_lazy(
    "Records of the two files cannot both stand (e.g. the same benefit paid on both, or two care "
    "agreements in force); deal with one of them before merging"
)
# The dates a visit or contact moves forward, kept as the later of the two files'.
_LATEST = ("last_contact_on", "last_home_visit_on", "last_parent_contact_on")


def child_merge(*, user: User, child: Child, duplicate: Child, reason: str) -> Child:
    """Merge ``duplicate`` into ``child`` (a supervisor or civil affairs over both; the caller
    has found both in the user's area). Every record of the duplicate — visits, agreements,
    contacts, reports, benefits, reminders, transfers, whichever app holds them — moves to the
    surviving file, the two families join (households.join_households), the survivor takes the
    duplicate's ID number when it has none, and the duplicate file goes; its history stays under
    its id and ChildMerge names it. All or nothing: records that cannot stand together (two
    benefits of one programme being paid …) → Conflict ``merge_conflict``, nothing changes."""
    permissions.require(user, Capability.CHILD_MERGE)
    errors: dict[str, list[str]] = {}
    reason, _note = _reason_and_note(reason, "", errors)
    if child.pk == duplicate.pk:
        errors.setdefault("duplicate_id", []).append(MERGE_SAME_FILE_MESSAGE)
    _raise_if(errors)
    with transaction.atomic(), history_context(user):
        survivor, other = (
            Child.objects.select_for_update().get(pk=pk) for pk in sorted([child.pk, duplicate.pk])
        )
        if survivor.pk != child.pk:
            survivor, other = other, survivor
        if survivor.status == ChildStatus.CLOSED:
            raise Conflict(MERGE_CLOSED_MESSAGE, code="file_closed")
        if (
            survivor.id_number_hash
            and other.id_number_hash
            and survivor.id_number_hash != other.id_number_hash
        ):
            raise Conflict(MERGE_DIFFERENT_IDS_MESSAGE, code="different_children")
        if Transfer.objects.filter(
            child__in=[survivor, other], status=TransferStatus.PENDING
        ).exists():
            raise Conflict(MERGE_TRANSFER_MESSAGE, code="transfer_pending")
        try:
            with transaction.atomic():  # a savepoint: a clash of records is a Conflict
                join_households(survivor.household_id, other.household_id)
                _move_records(other, survivor)
        except IntegrityError as exc:
            raise Conflict(MERGE_CONFLICT_MESSAGE, code="merge_conflict") from exc
        ChildMerge.objects.create(
            survivor=survivor,
            duplicate_id=other.pk,
            duplicate_name=other.name,
            duplicate_village_id=other.village_id,
            reason=reason,
            merged_by=user,
        )
        number = crypto.decrypt(other.id_number_encrypted) if not survivor.id_number_hash else ""
        Child.objects.filter(pk=other.pk).delete()
        survivor.refresh_from_db()
        if number:
            apply_id_number(survivor, number)
            survivor.hukou_registered = True
        for field in _LATEST:
            dates = [d for d in (getattr(survivor, field), getattr(other, field)) if d]
            setattr(survivor, field, max(dates) if dates else None)
        # Both files' categories stand (left-behind is derived again below); one confirmed on
        # either file is confirmed, the rest still wait for the county.
        survivor.categories = list(dict.fromkeys([*survivor.categories, *other.categories]))
        survivor.categories_pending = [
            c
            for c in dict.fromkeys([*survivor.categories_pending, *other.categories_pending])
            if c not in survivor.categories
        ]
        survivor.version += 1
        survivor.save()
        children_recompute_derived([survivor.pk])
        extensions.case_changed(child_ids=[survivor.pk])
        outbox.enqueue("benefits.recheck_enrolments", str(survivor.pk))
    survivor.refresh_from_db()
    return survivor


def _move_records(duplicate: Child, survivor: Child) -> None:
    """Every row of any app that names ``duplicate`` names ``survivor`` instead: found through
    the relations the apps declare (so the file never imports the apps above it). History
    events stay as they were written; ChildMerge records the merge itself."""
    for relation in Child._meta.related_objects:
        model = relation.related_model
        if (
            relation.many_to_many
            or model is ChildMerge
            or issubclass(model, pghistory.models.Event)
        ):
            continue
        name = relation.field.name
        # A model whose rows may name both files once each (a checklist, a sample) says how
        # its two rows become one: ``merge_child_rows(duplicate_id, survivor_id)``.
        merge_rows = getattr(model, "merge_child_rows", None)
        if merge_rows is not None:
            merge_rows(duplicate.pk, survivor.pk)
            continue
        model._base_manager.filter(**{name: duplicate.pk}).update(**{name: survivor.pk})
