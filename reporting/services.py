"""Writes for mandatory reports: filing and stage transitions (one place for pages and API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import extensions, outbox, permissions
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from children import services as child_services
from children.models import Child
from core.errors import Conflict

from . import rules
from .models import (
    Intervention,
    MandatoryReport,
    OrgType,
    ReportAttachment,
    ReportTransition,
    Situation,
    Source,
    Stage,
)


def report_file(
    *,
    user: User,
    situation: str,
    discovered_at: datetime,
    description: str,
    location: str = "",
    child: Child | None = None,
    child_name: str = "",
    reporter_org_type: str = "",
    police_notified_at: datetime | None = None,
    police_receipt: str = "",
    area: Area | None = None,
    source: str = Source.REPORTING_BODY,
    incident_number: str = "",
    parent_detained: bool = False,
) -> MandatoryReport:
    """File a report. The police must be told at once; if they already were, say when.

    The report belongs to the child's village, else to the township or village the reporter
    chose within their area (``area``: the caller has found it in scope, 404 outside), else to
    the reporter's own area. One of a county or above goes to the county's civil affairs at once
    (reminders, through the outbox); the others to the township supervisor (rules)."""
    permissions.require(user, Capability.REPORT_FILE)
    errors: dict[str, list[str]] = {}
    if situation not in Situation.values:
        errors.setdefault("situation", []).append(_("Choose the situation"))
    now = timezone.now()
    if discovered_at is None:
        errors.setdefault("discovered_at", []).append(_("Enter when it was found"))
    elif discovered_at > now:
        errors.setdefault("discovered_at", []).append(_("The time found cannot be later than now"))
    if not (description or "").strip():
        errors.setdefault("description", []).append(_("Describe the situation briefly"))
    if reporter_org_type and reporter_org_type not in OrgType.values:
        errors.setdefault("reporter_org_type", []).append(
            _("Invalid kind of reporting organisation")
        )
    if police_notified_at is not None and police_notified_at > now:
        errors.setdefault("police_notified_at", []).append(
            _("The time the police were called cannot be later than now")
        )
    if child is None and not (child_name or "").strip():
        errors.setdefault("child_name", []).append(
            _("Enter the child's name or choose the child's file")
        )
    if child is not None and area is not None and not area.contains(child.village_id):
        errors.setdefault("area_code", []).append(
            _("The chosen area does not match the village (community) of the child's file")
        )
    if errors:
        raise ValidationError(errors)
    if area is not None and not scope.code_in_scope(user, area.code):
        raise PermissionDenied(_("Choose a township or village (community) within your area"))
    area = child.village if child is not None else (area or user.area)
    if area is None:
        raise PermissionDenied(_("Your account has no area"))
    with transaction.atomic(), child_services.history_context(user):
        report = MandatoryReport.objects.create(
            situation=situation,
            discovered_at=discovered_at,
            description=description.strip(),
            location=(location or "").strip(),
            child=child,
            child_name=child.name if child is not None else child_name.strip(),
            area=area,
            reporter=user,
            reporter_org_type=reporter_org_type or "",
            police_notified_at=police_notified_at,
            police_receipt=(police_receipt or "").strip(),
            stage_changed_at=now,
            # The intake's (reporting.intake checks them): a reporting body's stay the defaults.
            source=source,
            incident_number=incident_number,
            parent_detained=parent_detained,
        )
        ReportTransition.objects.create(
            report=report, from_stage="", to_stage=Stage.REPORTED, by=user
        )
        if child is not None:
            # A report re-opens the child's guardianship assessment: due at once (domain §2).
            Child.objects.filter(pk=child.pk).update(next_assessment_due=timezone.localdate())
        if rules.routed_to_county(area.level):
            # No township to take it up: county civil affairs are told now, not at the sweep.
            outbox.enqueue("reminders.report_filed", str(report.pk))
        # The child's assessment falls due at once: its reminder is raised now.
        extensions.case_changed(child_ids=[report.child_id], report_ids=[report.pk])
    return report


def report_transition(
    *, user: User, report: MandatoryReport, to: str, note: str = "", **data: Any
) -> MandatoryReport:
    """Move a report to its next stage. 409 when the move is not allowed from here, 403 for a
    role that may not make it, 422 when what the stage needs is missing."""
    if to not in rules.STAGES:
        raise ValidationError({"to": [_("Invalid stage")]})
    role = user.role
    outcome = data.get("outcome")
    with transaction.atomic(), child_services.history_context(user):
        locked = MandatoryReport.objects.select_for_update().get(pk=report.pk)
        try:
            transition = rules.find_transition(
                source=locked.stage, target=to, role=role, outcome=outcome
            )
        except rules.TransitionError as exc:
            raise Conflict(str(exc), field="to") from exc
        except rules.TransitionForbidden as exc:
            raise PermissionDenied(str(exc)) from exc
        values = {"note": note, **data}
        missing = rules.missing_requirement(transition, values)
        if missing:
            raise ValidationError({missing: [_("Required at this stage")]})
        _check_codes(data)
        now = timezone.now()
        if to == Stage.POLICE_RECEIVED:
            locked.police_received_at = now
            locked.police_notified_at = (
                locked.police_notified_at or data.get("police_notified_at") or now
            )
            locked.police_receipt = data.get("police_receipt") or locked.police_receipt
        if to == Stage.EMERGENCY_HANDLED:
            locked.emergency_actions = list(data["actions"])
        if to == Stage.ASSESSED:
            locked.service_plan = list(data["service_plan"])
        if to == Stage.INTERVENTION:
            locked.intervention_type = data["intervention_type"]
        if to == Stage.CLOSED:
            locked.outcome = outcome or ""
        previous = locked.stage
        locked.stage = to
        locked.stage_changed_at = now
        locked.version += 1
        locked.save()
        ReportTransition.objects.create(
            report=locked,
            from_stage=previous,
            to_stage=to,
            by=user,
            note=(note or "").strip(),
            # Dates and times as ISO text (a datetime is not JSON: the API fuzzer once got a 500
            # moving a report to police_received with police_notified_at).
            data=_as_json({k: v for k, v in data.items() if v not in (None, "", [])}),
        )
        extensions.case_changed(child_ids=[locked.child_id], report_ids=[locked.pk])
    return locked


def _as_json(values: dict) -> dict:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def _check_codes(data: dict) -> None:
    errors: dict[str, list[str]] = {}
    for field, allowed in (
        ("actions", rules.EMERGENCY_ACTIONS),
        ("service_plan", rules.SERVICE_PLAN_ITEMS),
    ):
        for item in data.get(field) or []:
            if item not in allowed:
                errors.setdefault(field, []).append(
                    _("Invalid choice: %(value)s") % {"value": item}
                )
    intervention = data.get("intervention_type")
    if intervention and intervention not in rules.INTERVENTION_TYPES:
        errors.setdefault("intervention_type", []).append(
            _("Invalid choice: %(value)s") % {"value": intervention}
        )
    outcome = data.get("outcome")
    if outcome and outcome not in rules.OUTCOMES:
        errors.setdefault("outcome", []).append(_("Invalid choice: %(value)s") % {"value": outcome})
    if errors:
        raise ValidationError(errors)


PROTECTION_ORDER_MAX_DAYS = 183  # a personal safety protection order lasts up to 6 months


def report_attach(*, user: User, report: MandatoryReport, upload) -> ReportAttachment:
    """Attach a photo or document (JPEG/PNG/PDF by content, ≤ 10 MB) under a random name."""
    import uuid

    from django.core.files.base import ContentFile

    from core.uploads import document_type

    permissions.require(user, Capability.REPORT_FILE)
    content_type, extension = document_type(upload, field="file")
    attachment = ReportAttachment(report=report, content_type=content_type, uploaded_by=user)
    attachment.file.save(f"{uuid.uuid4().hex}{extension}", ContentFile(upload.read()), save=False)
    attachment.save()
    return attachment


def intervention_record(
    *,
    user: User,
    report: MandatoryReport,
    kind: str,
    applied_on=None,
    decided_on=None,
    expires_on=None,
    placement: str = "",
    note: str = "",
) -> Intervention:
    """Record an intervention and its dates. Only supervisors and civil affairs; the report must be
    at the intervention stage."""
    permissions.require(user, Capability.REPORT_INTERVENE)
    if report.stage != Stage.INTERVENTION:
        raise Conflict(_("The report has not reached the guardianship intervention stage"))
    errors: dict[str, list[str]] = {}
    if kind not in rules.INTERVENTION_TYPES:
        errors.setdefault("kind", []).append(_("Choose the intervention"))
    if kind == "protection_order":
        # An application is recorded before the court decides (72 h, 24 h if urgent: the
        # reminder protection_order_decision); the decision comes with the order's expiry.
        if applied_on is None and decided_on is None:
            errors.setdefault("applied_on", []).append(_("Enter the application date"))
        if decided_on is not None and expires_on is None:
            errors.setdefault("expires_on", []).append(
                _("Enter how long the protection order is valid")
            )
        elif decided_on is not None and (expires_on - decided_on).days > PROTECTION_ORDER_MAX_DAYS:
            errors.setdefault("expires_on", []).append(
                _("A personal safety protection order is valid for at most 6 months")
            )
        if applied_on and decided_on and decided_on < applied_on:
            errors.setdefault("decided_on", []).append(
                _("The ruling date cannot be earlier than the application date")
            )
    if kind in ("temporary_guardianship", "long_term_guardianship") and not placement.strip():
        errors.setdefault("placement", []).append(_("Enter the placement"))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), child_services.history_context(user):
        intervention = Intervention.objects.create(
            report=report,
            kind=kind,
            applied_on=applied_on,
            decided_on=decided_on,
            expires_on=expires_on,
            placement=placement.strip(),
            note=note.strip(),
            recorded_by=user,
        )
        extensions.case_changed(child_ids=[report.child_id], report_ids=[report.pk])
    return intervention


def report_create_child(*, user: User, report: MandatoryReport, **values: Any) -> Child:
    """Create the file of the child a report names and link the report to it, in one
    transaction: a refused link leaves no file behind, a refused file no link."""
    try:
        with transaction.atomic(), child_services.history_context(user):
            child = child_services.child_create(user=user, **values)
            report_link_child(user=user, report=report, child=child)
    except child_services.DuplicateIdNumber as duplicate:
        # The probe's audit record was written inside the transaction just rolled back.
        child_services.id_probe_count(user=user, duplicate=duplicate, channel="child_create")
        raise
    return child


def report_link_child(*, user: User, report: MandatoryReport, child: Child) -> MandatoryReport:
    """Link a report to the child's file (an existing one, or one just created from the report)."""
    # Linking updates the file (its next assessment is due at once): whoever writes files.
    permissions.require(user, Capability.CHILD_WRITE)
    if not scope.code_in_scope(user, child.village_id):
        raise PermissionDenied
    with transaction.atomic(), child_services.history_context(user):
        MandatoryReport.objects.filter(pk=report.pk).update(
            child=child, child_name=child.name, area=child.village
        )
        Child.objects.filter(pk=child.pk).update(next_assessment_due=timezone.localdate())
        extensions.case_changed(child_ids=[child.pk], report_ids=[report.pk])
    report.refresh_from_db()
    return report


def reports_follow_moved_file(*, child_id: str, destination: str) -> int:
    """A file moved to another village (children.lifecycle): the child's reports move with it, so
    the old area loses them and the new one has them. Idempotent."""
    with transaction.atomic():
        moved = (
            MandatoryReport.objects.filter(child_id=child_id)
            .exclude(area_id=destination)
            .update(area_id=destination)
        )
        if moved:
            extensions.case_changed(child_ids=[child_id])
    return moved
