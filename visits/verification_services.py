"""Writes of the quarterly verification (季度核查, domain §10): a village's verification of a
quarter started (once: the same one is found again), each child of its checklist confirmed, the
whole submitted to the township, and re-opened by the township. Pages and the API call these.

A change found on a child is made in the file through the file's own services (the school
status here through children.services.child_update, with the file's history and derived data);
the confirmation records it and what was found.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import extensions, permissions
from accounts import selectors as scope
from accounts.models import Area, AreaLevel, User
from accounts.permissions import Capability
from children import services as child_services
from children.models import Child, SchoolStatus
from core.clock import today
from core.errors import Conflict

from . import verification_rules as rules
from . import verification_selectors as selectors
from .models import (
    MAX_CHANGES_LENGTH,
    MAX_REOPEN_REASON_LENGTH,
    BenefitsReceived,
    QuarterlyVerification,
    VerificationItem,
    VerificationStatus,
)

SUBMITTED_READ_ONLY = gettext_lazy(
    "This verification has been submitted and can no longer be changed"
)
NOT_SUBMITTED = gettext_lazy("This verification has not been submitted")
NOT_ON_LIST = gettext_lazy("This child is not on this quarter's checklist")
NUL_REFUSED = gettext_lazy("Must not contain a NUL character")


def _require_in_scope(user: User, village_code: str) -> None:
    """A write about a village outside the user's area is refused, whoever called (pages and the
    API answered 404 before)."""
    if not scope.code_in_scope(user, village_code):
        raise PermissionDenied


def _text(value: str | None, *, field: str, limit: int, required: bool, errors: dict) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        errors.setdefault(field, []).append(str(NUL_REFUSED))
    elif len(text) > limit:
        errors.setdefault(field, []).append(
            _("At most %(n)s characters (this has %(m)s).") % {"n": limit, "m": len(text)}
        )
    elif required and not text:
        errors.setdefault(field, []).append(_("This field is required."))
    return text


def verification_open(
    *, user: User, village: Area, year: int, quarter: int
) -> tuple[QuarterlyVerification, bool]:
    """The village's verification of the quarter: the one already started (whatever its state),
    or a new draft — only for the quarter under way or the one before it (422 on ``quarter``
    otherwise). Returns it and whether it was created."""
    permissions.require(user, Capability.VERIFICATION_RECORD)
    _require_in_scope(user, village.code)
    errors: dict[str, list[str]] = {}
    if village.level != AreaLevel.VILLAGE:
        errors["village_code"] = [_("Choose a village: each village verifies its own children.")]
    existing = selectors.verification_of(village_code=village.code, year=year, quarter=quarter)
    if existing is not None:
        return existing, False
    if not rules.may_open(year, quarter, today()):
        errors["quarter"] = [
            _("Only this quarter or the last one can be verified; a quarter not yet begun cannot.")
        ]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            QuarterlyVerification.objects.create(
                village=village, year=year, quarter=quarter, created_by=user
            )
    except IntegrityError:
        # Started by someone else at the same moment: theirs is the one.
        found = selectors.verification_of(village_code=village.code, year=year, quarter=quarter)
        if found is None:
            raise
        return found, False
    return selectors.verification_of(village_code=village.code, year=year, quarter=quarter), True


def _lock(verification: QuarterlyVerification) -> QuarterlyVerification:
    return QuarterlyVerification.objects.select_for_update().get(pk=verification.pk)


def verification_item_confirm(
    *,
    user: User,
    verification: QuarterlyVerification,
    child: Child,
    family_ok: bool,
    guardianship_ok: bool,
    schooling_ok: bool,
    benefits_received: str,
    changes_found: str = "",
    school_status: str | None = None,
    file_version: int | None = None,
) -> VerificationItem:
    """Confirm one child of a draft's checklist (again, if already confirmed: the latest
    stands). Anything not as on file, or a benefit not received, is explained in
    ``changes_found``. A new ``school_status`` is written to the file through
    children.services.child_update (``file_version``, when given, must be the file's: else 409,
    nothing saved). 409 once the verification is submitted or for a child not on its list."""
    permissions.require(user, Capability.VERIFICATION_RECORD)
    _require_in_scope(user, verification.village_id)
    errors: dict[str, list[str]] = {}
    flags = {
        "family_ok": family_ok,
        "guardianship_ok": guardianship_ok,
        "schooling_ok": schooling_ok,
    }
    for name, value in flags.items():
        if not isinstance(value, bool):
            errors[name] = [_("Answer yes or no.")]
    if benefits_received not in BenefitsReceived.values:
        errors["benefits_received"] = [_("Choose one of the answers.")]
    if school_status is not None and school_status not in SchoolStatus.values:
        errors["school_status"] = [_("Choose one of the answers.")]
    explain = not errors and rules.needs_explanation(**flags, benefits_received=benefits_received)
    changes_found = _text(
        changes_found,
        field="changes_found",
        limit=MAX_CHANGES_LENGTH,
        required=False,
        errors=errors,
    )
    if explain and not changes_found and "changes_found" not in errors:
        errors["changes_found"] = [
            _("Say what was found: something is not as on file, or a benefit was not received.")
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _lock(verification)
        if locked.status != VerificationStatus.DRAFT:
            raise Conflict(SUBMITTED_READ_ONLY, code="submitted")
        on_list = selectors.checklist_children(
            village_code=locked.village_id,
            as_of=rules.as_of(locked.year, locked.quarter, today()),
        ).filter(pk=child.pk)
        if not on_list.exists():
            raise Conflict(NOT_ON_LIST, field="child_id", code="not_on_list")
        changed: list[str] = []
        if school_status is not None and school_status != child.school_status:
            # The file's own service: its checks, its history, the derived flags (out of school).
            child_services.child_update(
                user=user,
                child=child,
                changes={"school_status": school_status},
                version=file_version,
            )
            changed.append("school_status")
        item = VerificationItem.objects.filter(verification=locked, child=child).first()
        if item is None:
            item = VerificationItem(verification=locked, child=child)
        else:
            changed = list(dict.fromkeys([*item.changed_fields, *changed]))
        item.family_ok = family_ok
        item.guardianship_ok = guardianship_ok
        item.schooling_ok = schooling_ok
        item.benefits_received = benefits_received
        item.changes_found = changes_found
        item.changed_fields = changed
        item.confirmed_by = user
        item.confirmed_at = timezone.now()
        item.full_clean(exclude=["verification", "child", "confirmed_by"])
        item.save()
    return item


def verification_submit(
    *, user: User, verification: QuarterlyVerification
) -> QuarterlyVerification:
    """Submit the draft to the township once every child on its checklist today is confirmed
    (409 ``unconfirmed`` naming them otherwise; 409 ``submitted`` if already submitted). The
    children reported are those on the list now; a confirmation of a child who has left it
    since is kept but not reported. A village with no child to verify submits an empty report."""
    permissions.require(user, Capability.VERIFICATION_RECORD)
    _require_in_scope(user, verification.village_id)
    with transaction.atomic():
        locked = _lock(verification)
        if locked.status != VerificationStatus.DRAFT:
            raise Conflict(SUBMITTED_READ_ONLY, code="submitted")
        as_of = rules.as_of(locked.year, locked.quarter, today())
        listed = list(
            selectors.checklist_children(village_code=locked.village_id, as_of=as_of).values_list(
                "pk", "name"
            )
        )
        confirmed = set(locked.items.values_list("child_id", flat=True))
        missing = [(pk, name) for pk, name in listed if pk not in confirmed]
        if missing:
            raise Conflict(
                ngettext(
                    "%(n)s child is not confirmed yet: %(names)s",
                    "%(n)s children are not confirmed yet: %(names)s",
                    len(missing),
                )
                % {"n": len(missing), "names": "、".join(name for _pk, name in missing[:20])},
                code="unconfirmed",
                data={"unconfirmed": [str(pk) for pk, _name in missing]},
            )
        reported = [pk for pk, _name in listed]
        locked.items.update(reported=False)
        locked.items.filter(child_id__in=reported).update(reported=True)
        locked.status = VerificationStatus.SUBMITTED
        locked.submitted_at = timezone.now()
        locked.submitted_by = user
        locked.full_clean(exclude=["village", "created_by", "submitted_by", "reopened_by"])
        locked.save(update_fields=["status", "submitted_at", "submitted_by"])
        # The directors' verification_due reminder of this quarter is answered now.
        reopened = timezone.localdate(locked.reopened_at) if locked.reopened_at else None
        extensions.duty_done(
            kind="verification_due",
            area_code=locked.village_id,
            due_date=rules.due_date(locked.year, locked.quarter, reopened_on=reopened),
        )
    return selectors.verification_of(
        village_code=locked.village_id, year=locked.year, quarter=locked.quarter
    )


def verification_reopen(
    *, user: User, verification: QuarterlyVerification, reason: str
) -> QuarterlyVerification:
    """The township (a level above the village, never the village itself: 403) re-opens a
    submitted verification to be corrected, with a reason; it is a draft again until submitted
    anew, and its director is reminded again while it is due. 409 for a draft."""
    permissions.require(user, Capability.VERIFICATION_RECORD)
    _require_in_scope(user, verification.village_id)
    if not rules.may_reopen(user_area_code=user.area_id, village_code=verification.village_id):
        raise PermissionDenied(_("The township re-opens a submitted verification."))
    errors: dict[str, list[str]] = {}
    reason = _text(
        reason, field="reason", limit=MAX_REOPEN_REASON_LENGTH, required=True, errors=errors
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _lock(verification)
        if locked.status != VerificationStatus.SUBMITTED:
            raise Conflict(NOT_SUBMITTED, code="not_submitted")
        locked.status = VerificationStatus.DRAFT
        locked.submitted_at = None
        locked.submitted_by = None
        locked.reopened_at = timezone.now()
        locked.reopened_by = user
        locked.reopen_reason = reason
        locked.save(
            update_fields=[
                "status",
                "submitted_at",
                "submitted_by",
                "reopened_at",
                "reopened_by",
                "reopen_reason",
            ]
        )
    return selectors.verification_of(
        village_code=locked.village_id, year=locked.year, quarter=locked.quarter
    )
