"""Referrals of children to organisations (domain §10, S0 #12): reads and writes, one place for
the pages and the API. The rules (answers, deadline) are reporting.referral_rules.

Who sees a referral: the staff of the child's area (it follows the file: after a transfer the
new village's side sees it and the old side no longer does, as for the rest of the file), and
the staff of the organisation it was sent to (role ``partner``), who see those and nothing else
— of the child only the name, gender, age and village, the reason, and who referred them with a
phone number to call back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import extensions, permissions
from accounts import organisations as registry
from accounts import rules as account_rules
from accounts import selectors as scope
from accounts.models import Organisation, User
from accounts.permissions import Capability
from children.models import Child, ChildStatus
from children.rules import age_on
from core import clock
from core.errors import Conflict
from core.masking import PHONE

from . import referral_rules
from .models import MandatoryReport, Referral, ReferralEvent, ReferralStatus

CHILD_AREA_FIELD = "child__village__code"

# --- Reads ------------------------------------------------------------------------------------


def sees_by_organisation(user: User) -> bool:
    """A partner sees the referrals sent to its organisation, wherever the child lives — never
    by area."""
    return permissions.can(user, Capability.REFERRAL_ANSWER)


def referrals_for(*, user: User, today: date | None = None) -> QuerySet[Referral]:
    """The referrals ``user`` may read, each with ``overdue`` (still waiting for the first
    answer after its last day), newest first; none without REFERRAL_READ."""
    queryset = Referral.objects.select_related(
        "child", "child__village", "organisation", "organisation__area", "referred_by", "report"
    )
    if not permissions.can(user, Capability.REFERRAL_READ):
        return queryset.none()
    if sees_by_organisation(user):
        if user.organisation_id is None:
            return queryset.none()
        queryset = queryset.filter(organisation_id=user.organisation_id)
    else:
        queryset = scope.scope_queryset(queryset, user=user, area_field=CHILD_AREA_FIELD)
    return queryset.annotate(
        overdue=Case(
            When(
                Q(status=referral_rules.SENT, answer_due__lt=today or clock.today()),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).order_by("-referred_at", "-id")


@dataclass
class ReferralFilters:
    status: str = ""
    overdue: bool = False
    child_id: Any = None
    organisation_id: Any = None


def filtered(queryset: QuerySet[Referral], filters: ReferralFilters) -> QuerySet[Referral]:
    """The list's filters: a status (``open``: not ended), overdue only, one child, one
    organisation. Values that are not ids match nothing."""
    if filters.status == "open":
        queryset = queryset.filter(status__in=referral_rules.OPEN_STATUSES)
    elif filters.status in referral_rules.STATUSES:
        queryset = queryset.filter(status=filters.status)
    if filters.overdue:
        queryset = queryset.filter(overdue=True)
    if filters.child_id:
        try:
            queryset = queryset.filter(child_id=uuid.UUID(str(filters.child_id)))
        except ValueError:
            queryset = queryset.none()
    if filters.organisation_id:
        try:
            queryset = queryset.filter(organisation_id=int(str(filters.organisation_id)))
        except ValueError:
            queryset = queryset.none()
    return queryset


def referral_for_user_or_404(
    *, user: User, referral_id: Any, capability: Capability = Capability.REFERRAL_READ
) -> Referral:
    """404 unless the referral is the user's to see (another organisation's, or a child outside
    the area, is 404); then 403 if the role may not do this."""
    try:
        pk = uuid.UUID(str(referral_id))
    except ValueError:
        raise Http404 from None
    referral = referrals_for(user=user).filter(pk=pk).first()
    if referral is None:
        if not permissions.can(user, Capability.REFERRAL_READ) and (
            scope.scope_queryset(
                Referral.objects.filter(pk=pk), user=user, area_field=CHILD_AREA_FIELD
            ).exists()
        ):
            # In the area, but the role reads no referrals (a reporter): 403.
            raise PermissionDenied
        scope._audit_outside_scope(
            Referral.objects.all(), user=user, area_field=CHILD_AREA_FIELD, lookup={"pk": pk}
        )
        raise Http404
    permissions.require(user, capability)
    return referral


def events_of(referral: Referral) -> list[ReferralEvent]:
    return list(referral.events.select_related("by"))


def child_summary(referral: Referral, today: date | None = None) -> dict[str, Any]:
    """What everyone who may read the referral learns of the child: the organisation's staff
    see no more (no file, no ID number, no birth date)."""
    child = referral.child
    return {
        "name": child.name,
        "gender": child.gender,
        "gender_label": child.get_gender_display(),
        "age": age_on(child.birth_date, today or clock.today()),
        "village_name": child.village.name,
    }


def referrer_phone_for(user: User, referral: Referral) -> str:
    """The referrer's phone as ``user`` may see it: in full to the organisation's staff, who
    must call back (it is a work number, not a child's or a family's); to case workers as every
    staff phone (accounts.selectors.shown_number, the roster's rule)."""
    person = referral.referred_by
    if not person.phone:
        return ""
    if sees_by_organisation(user):
        return person.phone
    return scope.shown_number(user, PHONE, person.phone, person.area_id or "")


def may_withdraw(user: User, referral: Referral) -> bool:
    """The referring side — a case worker over the child's village — before the first answer."""
    return (
        referral.status == referral_rules.SENT
        and permissions.can(user, Capability.REFERRAL_MAKE)
        and scope.code_in_scope(user, referral.child.village_id)
    )


def report_visible(user: User, referral: Referral) -> bool:
    """Whether the referral's report is the user's to open (never a partner's)."""
    if referral.report_id is None or sees_by_organisation(user):
        return False
    if not permissions.can(user, Capability.REPORT_READ_DETAILS):
        return False
    return scope.code_in_scope(user, referral.report.area_id)


def referral_reminder_select_sql(role: str, detail_sql: str) -> str:
    """The sweep's rule (reminders.services): the referrer of ``role`` is reminded while a
    referral they made is still ``sent`` after its answer's last day and the child is still in
    their area (after a transfer the new side follows the file). Columns of a sweep rule:
    (recipient, child, report, due date, detail); takes %(today)s; ``detail_sql`` may name the
    organisation as ``o``."""
    if role not in permissions.roles_with(Capability.REFERRAL_MAKE):
        raise ValueError(f"{role!r} does not refer children")
    length = account_rules.prefix_length_sql("ua.level")
    return f"""
        SELECT u.id, c.id, NULL::uuid, r.answer_due, {detail_sql}
        FROM {Referral._meta.db_table} r
        JOIN accounts_user u
          ON u.id = r.referred_by_id AND u.is_active AND u.role = '{role}'
        JOIN accounts_area ua ON ua.code = u.area_id
        JOIN children_child c ON c.id = r.child_id
        JOIN {Organisation._meta.db_table} o ON o.id = r.organisation_id
        WHERE r.status = '{referral_rules.SENT}' AND r.answer_due < %(today)s
          AND left(c.village_id, {length}) = left(u.area_id, {length})
    """


# --- Writes -----------------------------------------------------------------------------------


def _text(value: Any, field: str, errors: dict[str, list], *, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        errors.setdefault(field, []).append(_("Enter text."))
        return ""
    if "\x00" in text:
        errors.setdefault(field, []).append(_("must not contain a NUL character"))
    elif len(text) > referral_rules.MAX_TEXT:
        errors.setdefault(field, []).append(
            _("At most %(n)s characters.") % {"n": referral_rules.MAX_TEXT}
        )
    elif required and not text:
        errors.setdefault(field, []).append(_("This field is required."))
    return text


def _organisation(organisation: Any, child: Child, errors: dict[str, list]) -> Organisation | None:
    """The organisation chosen, active and registered where it serves the child (the child's
    county or above it, or the child's township or village): one message for unknown, inactive
    and out-of-area ones alike."""
    found = None
    if isinstance(organisation, Organisation):
        pk = organisation.pk
    else:
        try:
            pk = int(str(organisation))
        except (TypeError, ValueError):
            pk = None
    if pk is not None and -(2**63) < pk < 2**63:
        found = (
            Organisation.objects.filter(registry.serving_q(child.village_id), active=True)
            .select_related("area")
            .filter(pk=pk)
            .first()
        )
    if found is None:
        errors.setdefault("organisation_id", []).append(
            _("Choose an active organisation that serves the child's county.")
        )
    return found


def referral_create(
    *,
    user: User,
    child: Child,
    organisation: Organisation | int | str | None,
    reason: str,
    report: MandatoryReport | None = None,
) -> Referral:
    """Refer ``child`` (found by the caller in the user's area: 404 outside it) to an
    organisation, with the reason, from the file or from ``report`` (of that child). 403 for a
    role that does not refer, 422 naming each bad field, 409 when the child is already referred
    to that organisation and it has not ended."""
    permissions.require(user, Capability.REFERRAL_MAKE)
    if not scope.code_in_scope(user, child.village_id):
        raise PermissionDenied
    errors: dict[str, list] = {}
    reason = _text(reason, "reason", errors, required=True)
    if child.status != ChildStatus.ACTIVE:
        errors.setdefault("child_id", []).append(_("The file is closed: re-open it first."))
    if report is not None and report.child_id != child.pk:
        errors.setdefault("report_id", []).append(_("The report is about another child."))
    found = _organisation(organisation, child, errors)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        # One open referral of a child to an organisation at a time (two clicks, two tabs).
        Child.objects.select_for_update().filter(pk=child.pk).first()
        if Referral.objects.filter(
            child=child, organisation=found, status__in=referral_rules.OPEN_STATUSES
        ).exists():
            raise Conflict(
                _("The child is already referred to this organisation and it is not over."),
                field="organisation_id",
                code="referral_open",
            )
        referral = Referral.objects.create(
            child=child,
            report=report,
            organisation=found,
            reason=reason,
            referred_by=user,
            referred_at=now,
            status=ReferralStatus.SENT,
            status_changed_at=now,
            answer_due=referral_rules.answer_due(timezone.localdate(now)),
        )
        ReferralEvent.objects.create(
            referral=referral, from_status="", to_status=ReferralStatus.SENT, by=user
        )
    return referral


def _move(referral: Referral, *, user: User, to: str, note: str) -> Referral:
    now = timezone.now()
    ReferralEvent.objects.create(
        referral=referral, from_status=referral.status, to_status=to, by=user, note=note
    )
    referral.status = to
    referral.status_changed_at = now
    referral.save(update_fields=["status", "status_changed_at"])
    # The referrer's reminder of an answer due is answered now, not at tomorrow's sweep.
    extensions.case_changed(child_ids=[referral.child_id])
    return referral


def referral_answer(*, user: User, referral: Referral, status: str, note: str) -> Referral:
    """The organisation's answer (accepted, declined, service given, closed) with a note, by
    its staff: 403 for anyone else, 409 when the answer does not follow the current status,
    422 without a note."""
    permissions.require(user, Capability.REFERRAL_ANSWER)
    if user.organisation_id is None or user.organisation_id != referral.organisation_id:
        raise PermissionDenied
    errors: dict[str, list] = {}
    if status not in referral_rules.ANSWERS:
        errors.setdefault("status", []).append(_("Choose the answer."))
    return _locked_move(
        referral,
        user=user,
        to=status,
        note=note,
        errors=errors,
        check=lambda current: referral_rules.check_answer(current, status),
        note_needed=_("Write a note with the answer."),
    )


def referral_withdraw(*, user: User, referral: Referral, note: str) -> Referral:
    """The referring side (a case worker over the child's village) withdraws a referral the
    organisation has not answered yet, saying why: 403 for anyone else, 409 once answered."""
    permissions.require(user, Capability.REFERRAL_MAKE)
    if not scope.code_in_scope(user, referral.child.village_id):
        raise PermissionDenied
    return _locked_move(
        referral,
        user=user,
        to=ReferralStatus.WITHDRAWN,
        note=note,
        errors={},
        check=referral_rules.check_withdrawal,
        note_needed=_("Say why the referral is withdrawn."),
    )


def _locked_move(
    referral: Referral,
    *,
    user: User,
    to: str,
    note: str,
    check: Callable[[str], None],
    note_needed: str,
    errors: dict[str, list],
) -> Referral:
    """Move the referral (locked) to ``to`` when ``check(current status)`` allows it (409
    otherwise), with its note (422 with ``errors`` found by the caller or in the note;
    ``note_needed`` without one)."""
    note = _text(note, "note", errors, required=False)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        try:
            check(locked.status)
        except referral_rules.AnswerNotAllowed as exc:
            raise Conflict(str(exc), field="status", code="invalid_transition") from exc
        if not note:
            raise ValidationError({"note": [note_needed]})
        _move(locked, user=user, to=to, note=note)
    referral.refresh_from_db()
    return referral
