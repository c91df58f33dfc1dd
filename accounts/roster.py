"""Writes of the roster (domain §10): a director's or supervisor's appointment, and trainings
recorded once for many people. Pages and the API call these; each change is audited (who, whom,
before → after). Reads and scope are accounts.selectors (roster_*, trainings_*).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from core import clock
from core.text import join_list
from core.uploads import document_type

from . import permissions
from . import selectors as scope
from .models import AuditAction, RosterEntry, Training, TrainingAttendance, User
from .permissions import Capability
from .services import audit_log


def roster_read_audit(
    *, user: User, action: str, people: Iterable[User], request=None, detail: dict | None = None
) -> None:
    """One audit record per person whose roster record (names, numbers, trainings) was shown,
    on a page or through the API."""
    records = [(person.username[:64], person.area_id or "") for person in people]
    if records:
        audit_log(
            user=user,
            action=action,
            object_type="roster",
            records=records,
            request=request,
            detail=detail,
        )


# What a roster record's audit compares, before → after.
ROSTER_FIELDS = ("appointed_on", "post", "post_detail", "qualification", "left_on")
_DATES = frozenset({"appointed_on", "left_on"})
# At most this many people in one recorded training (a county's directors and supervisors).
MAX_ATTENDEES = 2000


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def _require_in_area(user: User, person: User) -> None:
    """A write about someone outside the user's area is refused, whoever called (the selectors
    already answered 404 to pages and the API)."""
    if person.area_id is None or not scope.code_in_area(user, person.area_id):
        raise PermissionDenied


def roster_entry_update(*, user: User, person: User, **values: Any) -> RosterEntry:
    """Civil affairs change a director's or supervisor's appointment (``ROSTER_FIELDS``; those
    not given are kept). Checked as the model says (``full_clean``: dates in order, a post of
    the list, plain labels), audited with the values before and after."""
    permissions.require(user, Capability.ROSTER_EDIT)
    _require_in_area(user, person)
    unknown = set(values) - set(ROSTER_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    with transaction.atomic():
        entry = RosterEntry.objects.select_for_update().filter(user=person).first() or RosterEntry(
            user=person
        )
        before = {name: getattr(entry, name) for name in ROSTER_FIELDS}
        for name, value in values.items():
            setattr(entry, name, "" if value is None and name not in _DATES else value)
        entry.updated_by = user
        entry.full_clean(exclude=["user", "updated_by"])
        after = {name: getattr(entry, name) for name in ROSTER_FIELDS}
        changed = [name for name in ROSTER_FIELDS if before[name] != after[name]]
        if not changed:
            return entry
        entry.save()
        audit_log(
            user=user,
            action=AuditAction.ROSTER_CHANGED,
            object_type="roster",
            records=[(person.username[:64], person.area_id or "")],
            detail={
                "before": {k: _jsonable(before[k]) for k in changed},
                "after": {k: _jsonable(after[k]) for k in changed},
            },
        )
    return entry


def _attendees(user: User, usernames: Iterable[str]) -> list[User]:
    """The people named, each a director or supervisor in post of the user's area; else 422
    naming the unknown ones (unknown and outside the area look the same: nothing is revealed)."""
    wanted = list(dict.fromkeys(name for name in usernames if isinstance(name, str)))
    if not wanted:
        raise ValidationError({"attendees": [_("Choose at least one person who attended.")]})
    if len(wanted) > MAX_ATTENDEES:
        raise ValidationError(
            {
                "attendees": [
                    _("At most %(n)s people can be recorded at once.") % {"n": MAX_ATTENDEES}
                ]
            }
        )
    if any("\x00" in name for name in wanted):
        raise ValidationError({"attendees": [_("must not contain a NUL character")]})
    found = {
        person.username: person
        for person in scope.roster_for_user(user=user).filter(username__in=wanted)
    }
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ValidationError(
            {
                "attendees": [
                    _("Not a child director or supervisor in post in your area: %(names)s")
                    % {"names": join_list(missing[:20])}
                ]
            }
        )
    return [found[name] for name in wanted]


def training_record(
    *,
    user: User,
    held_on: date,
    subject: str,
    hours: Decimal | float | int,
    organiser: str,
    attendees: Iterable[str],
    certificate=None,
) -> Training:
    """Civil affairs record one training for many people at once (``attendees``: usernames of
    directors and supervisors in post of their area), with an optional certificate or attendance
    sheet (JPEG, PNG or PDF by its bytes, ≤ 10 MB). All or nothing; one audit record per
    attendee, in their area, so each person's civil affairs see it."""
    permissions.require(user, Capability.TRAINING_RECORD)
    if user.area_id is None:
        raise PermissionDenied
    errors: dict[str, list] = {}
    if isinstance(held_on, date) and held_on > clock.today():
        errors["held_on"] = [_("A training cannot be recorded before it is held.")]
    people: list[User] = []
    try:
        people = _attendees(user, attendees)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    training = Training(
        held_on=held_on,
        subject=subject,
        hours=hours,
        organiser=organiser,
        area_id=user.area_id,
        recorded_by=user,
    )
    try:
        training.full_clean(exclude=["certificate", "area", "recorded_by"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if certificate is not None:
        try:
            content_type, extension = document_type(certificate, field="certificate")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if certificate is not None:
            training.certificate.save(
                f"{uuid.uuid4().hex}{extension}", ContentFile(certificate.read()), save=False
            )
            training.certificate_content_type = content_type
        training.save()
        TrainingAttendance.objects.bulk_create(
            [TrainingAttendance(training=training, person=person) for person in people]
        )
        audit_log(
            user=user,
            action=AuditAction.TRAINING_RECORDED,
            object_type="roster",
            records=[(person.username[:64], person.area_id or "") for person in people],
            detail={"training": str(training.pk), "held_on": held_on.isoformat()},
        )
    return training


def training_certificate_attach(*, user: User, training: Training, upload) -> Training:
    """Attach (or replace) a recorded training's certificate or attendance sheet: JPEG, PNG or
    PDF by its bytes, ≤ 10 MB, else 422 on ``certificate``."""
    permissions.require(user, Capability.TRAINING_RECORD)
    content_type, extension = document_type(upload, field="certificate")
    with transaction.atomic():
        training.certificate.save(
            f"{uuid.uuid4().hex}{extension}", ContentFile(upload.read()), save=False
        )
        training.certificate_content_type = content_type
        training.save(update_fields=["certificate", "certificate_content_type"])
        audit_log(
            user=user,
            action=AuditAction.TRAINING_RECORDED,
            object_type="training_certificate",
            records=[(str(training.pk), training.area_id)],
            detail={"certificate": content_type},
        )
    return training
