"""Reads of mandatory reports. A reporter sees only the reports they filed; everyone else their
area's reports; reporters' identity only for supervisors and civil affairs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Role, User
from accounts.permissions import Capability

from . import deadlines
from .models import MandatoryReport


def reports_for(*, user: User) -> QuerySet[MandatoryReport]:
    queryset = MandatoryReport.objects.select_related("reporter", "area", "child")
    # A reporter's scope is the reports they filed, wherever the child lives (not their area).
    if user.role == Role.REPORTER:
        return queryset.filter(reporter=user)
    return scope.scope_queryset(queryset, user=user, area_field="area__code")


def report_for_user_or_404(
    *, user: User, report_id, capability: Capability = Capability.REPORT_READ
) -> MandatoryReport:
    """404 unless the report is the user's to see; then 403 if the role may not do this."""
    try:
        report = reports_for(user=user).get(pk=report_id)
    except (MandatoryReport.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc
    permissions.require(user, capability)
    return report


def sees_case_details(user: User) -> bool:
    """Everyone but a reporter. A reporter (a teacher, a doctor) sees of their own reports only
    what they typed and the progress (stages and when): not the child's file (its name, village
    or id), nor the staff's notes, actions, interventions or attachments."""
    return permissions.can(user, Capability.REPORT_READ_DETAILS)


def child_name_for(user: User, report: MandatoryReport) -> str:
    """The child's name as ``user`` may see it. Linking a file stores the file's name, so for a
    reporter the stored name is what they typed only while no file is linked."""
    if sees_case_details(user) or report.child_id is None:
        return report.child_name
    return ""


def can_see_reporter(user: User) -> bool:
    return permissions.can(user, Capability.REPORT_READ_IDENTITY)


QUEUE_LIMIT = 200


def report_queue_rows(*, user: User, reports: QuerySet[MandatoryReport]) -> list[dict]:
    """The first rows of a report queue, most urgent first (dangers to life and body, then the
    longest in their stage), each with its days in the stage and whether it is late."""
    ordered = reports.annotate(
        urgent=Case(
            When(situation__in=deadlines.URGENT_SITUATIONS, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("urgent", "stage_changed_at")[:QUEUE_LIMIT]
    now = timezone.now()
    return [
        {
            "report": report,
            "child_name": child_name_for(user, report),
            "days_open": deadlines.days_in_stage(report.stage_changed_at, now),
            "late": deadlines.is_late(report.stage, report.stage_changed_at, now),
        }
        for report in ordered
    ]
