"""Intake (一门受理、协同处置, domain §10): the 12355 line and the police (110) file mandatory
reports with their source and incident number, routed to the child's township chosen on the
form; the police's "parent detained, minor children at home", and the child director's check on
those children within 24 hours. Filing goes through services.report_file, as every report does."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import extensions, outbox, permissions
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from accounts.rules import HOTLINE, POLICE, TOWNSHIP, VILLAGE
from children import services as child_services
from children.models import Child
from core.cells import is_formula_like
from core.errors import Conflict

from . import services
from .models import MandatoryReport, ReportTransition, Situation, Source, Stage

# The source each intake role files under; every other role's reports come from a reporting body.
SOURCE_OF_ROLE = {HOTLINE: Source.HOTLINE, POLICE: Source.POLICE}
INCIDENT_NUMBER_MAX = 50
# An intake report lands in a township or a village, never at a county: "routed to the child's
# township" (a county's report would wait for county civil affairs instead).
INTAKE_LEVELS = (TOWNSHIP, VILLAGE)

# "A parent detained, minor children at home": what is happening, unless the police say more.
DETENTION_SITUATION = Situation.GUARDIAN_INCAPABLE
# The child director checks on the children within this many hours of the filing; after it the
# township supervisor is told (reminders.services, the detention_check rules).
DETENTION_CHECK_HOURS = 24
# What the check found (kept on the report's timeline: ReportTransition.data).
DETENTION_OUTCOMES = {
    "safe": gettext_lazy("Children safe, an adult cares for them"),
    "placed_with_relatives": gettext_lazy("Children placed with relatives"),
    "needs_action": gettext_lazy("Children need help: the township must act"),
}
DETENTION_NOTE_MAX = 2000


def source_for(user: User) -> str:
    return SOURCE_OF_ROLE.get(user.role, Source.REPORTING_BODY)


def incident_number_problem(value: str) -> str | None:
    """Why an incident number (12355 工单号, 110 接警单号; already trimmed) is refused, or None."""
    if not value:
        return _("Enter the incident number")
    if len(value) > INCIDENT_NUMBER_MAX:
        return _("At most %(max)s characters") % {"max": INCIDENT_NUMBER_MAX}
    # Control and invisible format characters (NUL, line breaks, direction marks): never part of
    # a number, and they make a number that looks the same search differently.
    if any(unicodedata.category(c).startswith("C") for c in value):
        return _("The incident number contains a control character")
    if is_formula_like(value):
        return _("Must not begin with =, +, - or @: a spreadsheet would run it as a formula.")
    return None


def intake_areas_for(*, user: User) -> QuerySet[Area]:
    """The townships and villages a report of the line or the police may go to: those of the
    user's area (a police station's own township included), current ones only."""
    if user.area_id is None:
        return Area.objects.none()
    today = timezone.localdate()
    return (
        scope.areas_for_user(user=user)
        .filter(level__in=INTAKE_LEVELS)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("parent")
        .order_by("code")
    )


def intake_destination(
    *, user: User, township_code: str | None, village_code: str | None
) -> Area | None:
    """The area POST /api/v1/intake names: the village when given (within the township when both
    are), else the township; None when neither (report_submit then asks for one). A code outside
    the user's area is 404; one of the wrong level, 422 naming its field."""
    township = scope.area_for_user_or_404(user=user, code=township_code) if township_code else None
    village = scope.area_for_user_or_404(user=user, code=village_code) if village_code else None
    errors: dict[str, list[str]] = {}
    if township is not None and township.level != TOWNSHIP:
        errors["township_code"] = [_("Not a township's code")]
    if village is not None and village.level != VILLAGE:
        errors["village_code"] = [_("Not a village's (community's) code")]
    elif village is not None and township is not None and not township.contains(village.code):
        errors["village_code"] = [_("The village is not in the township")]
    if errors:
        raise ValidationError(errors)
    return village or township


def report_submit(
    *,
    user: User,
    situation: str = "",
    child: Child | None = None,
    area: Area | None = None,
    police_notified_at: datetime | None = None,
    police_receipt: str = "",
    incident_number: str = "",
    parent_detained: bool = False,
    source: str | None = None,
    **report: Any,
) -> MandatoryReport:
    """File a report from the report form, POST /api/v1/reports or POST /api/v1/intake.

    A reporting body's (and a case worker's) report is services.report_file's, unchanged; an
    incident number or a detention is refused to them. The line and the police file with their
    own source (``source``, when given, must be theirs) and a valid incident number, into a
    township or village (``area``, which the caller found in scope, or the child's village). The
    police are the police: their report is told to the police at once (now, receipt = the
    incident number). A detained parent's report (police only, 403 otherwise) defaults to
    DETENTION_SITUATION and asks for the children's check at once (the reminder is raised by the
    filing's case_changed, and sent now through the outbox). ``report``: the rest of
    services.report_file's fields (discovered_at, description, location, child_name,
    reporter_org_type), passed on as they are."""
    permissions.require(user, Capability.REPORT_FILE)
    if parent_detained:
        permissions.require(user, Capability.REPORT_DETENTION)
    errors: dict[str, list[str]] = {}
    number = (incident_number or "").strip()
    own_source = source_for(user)
    if source and source != own_source:
        errors["source"] = [
            _("Your reports come in as “%(source)s”.") % {"source": Source(own_source).label}
        ]
    if not permissions.can(user, Capability.REPORT_INTAKE):
        if number:
            errors["incident_number"] = [
                _("Only the 12355 line and the police give an incident number.")
            ]
    else:
        problem = incident_number_problem(number)
        if problem:
            errors["incident_number"] = [problem]
        destination = child.village if child is not None else area
        if destination is None or destination.level not in INTAKE_LEVELS:
            errors["area_code"] = [_("Choose the child's township or village (community)")]
        if user.role == POLICE:
            police_notified_at = police_notified_at or timezone.now()
            police_receipt = (police_receipt or "").strip() or number
    if parent_detained and not situation:
        situation = DETENTION_SITUATION
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        filed = services.report_file(
            user=user,
            situation=situation,
            child=child,
            area=area,
            police_notified_at=police_notified_at,
            police_receipt=police_receipt,
            source=own_source,
            incident_number=number,
            parent_detained=parent_detained,
            **report,
        )
        if parent_detained:
            # The check's reminder exists now (case_changed): sent now, not in tomorrow's digest.
            outbox.enqueue("reminders.detention_check", str(filed.pk))
    return filed


# --- The children's check ---------------------------------------------------------------------


def detention_due(report: MandatoryReport) -> datetime | None:
    """When the children of a detained parent must have been checked on (None: no such report)."""
    if not report.parent_detained:
        return None
    return report.filed_at + timedelta(hours=DETENTION_CHECK_HOURS)


def detention_overdue(report: MandatoryReport, now: datetime | None = None) -> bool:
    due = detention_due(report)
    return due is not None and report.detention_checked_at is None and (now or timezone.now()) > due


def may_check(user: User, report: MandatoryReport) -> bool:
    """Whether the page offers ``user`` to record the check: whoever visits children (the
    director, or the supervisor or civil affairs in their stead), while it is still to do."""
    return (
        report.parent_detained
        and report.detention_checked_at is None
        and report.stage != Stage.CLOSED
        and permissions.can(user, Capability.VISIT_RECORD)
    )


def detention_check_of(report: MandatoryReport) -> ReportTransition | None:
    """The timeline's record of the check (its outcome in ``data``, its note), or None."""
    if report.detention_checked_at is None:
        return None
    return (
        report.transitions.filter(data__has_key="detention_check")
        .select_related("by")
        .order_by("-at")
        .first()
    )


def detention_check_record(
    *, user: User, report: MandatoryReport, outcome: str, note: str = ""
) -> MandatoryReport:
    """The children of a detained parent were checked on: when, by whom, what was found (one of
    DETENTION_OUTCOMES, with a note; "needs action" must say what). Resolves the check's
    reminder and its escalation. The caller found the report in the user's scope (404); 403 for
    a role that does not visit children; 409 when there is no check to record."""
    permissions.require(user, Capability.VISIT_RECORD)
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in DETENTION_OUTCOMES:
        errors["outcome"] = [_("Choose what the check found")]
    if outcome == "needs_action" and not note:
        errors["note"] = [_("Say what the children need")]
    if len(note) > DETENTION_NOTE_MAX:
        errors["note"] = [_("At most %(max)s characters") % {"max": DETENTION_NOTE_MAX}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), child_services.history_context(user):
        locked = MandatoryReport.objects.select_for_update().get(pk=report.pk)
        if not locked.parent_detained:
            raise Conflict(_("This report is not about the children of a detained parent"))
        if locked.detention_checked_at is not None:
            raise Conflict(_("The children's check is already recorded"))
        if locked.stage == Stage.CLOSED:
            raise Conflict(_("The report is closed"))
        locked.detention_checked_at = timezone.now()
        locked.detention_checked_by = user
        locked.version += 1
        locked.save(update_fields=["detention_checked_at", "detention_checked_by", "version"])
        # On the timeline at the stage it stays at: who, when, what was found, the note.
        ReportTransition.objects.create(
            report=locked,
            from_stage=locked.stage,
            to_stage=locked.stage,
            by=user,
            note=note,
            data={"detention_check": outcome},
        )
        extensions.case_changed(child_ids=[locked.child_id], report_ids=[locked.pk])
    return locked
