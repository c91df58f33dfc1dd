"""Reads of mandatory reports. A reporter sees only the reports they filed; everyone else their
area's reports; reporters' identity only for supervisors and civil affairs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from accounts import selectors as scope
from accounts.models import Role, User

from .models import MandatoryReport

READ_ROLES = (
    Role.REPORTER,
    Role.DIRECTOR,
    Role.SUPERVISOR,
    Role.CIVIL_AFFAIRS,
    Role.VIEWER,
)
IDENTITY_ROLES = (Role.SUPERVISOR, Role.CIVIL_AFFAIRS)


def reports_for(*, user: User) -> QuerySet[MandatoryReport]:
    queryset = MandatoryReport.objects.select_related("reporter", "area", "child")
    if user.role == Role.REPORTER:
        return queryset.filter(reporter=user)
    return scope.scope_queryset(queryset, user=user, area_field="area__code")


def report_for_user_or_404(*, user: User, report_id, roles=READ_ROLES) -> MandatoryReport:
    """404 unless the report is the user's to see; then 403 if the role may not do this."""
    try:
        report = reports_for(user=user).get(pk=report_id)
    except (MandatoryReport.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc
    scope.require_role(user, roles)
    return report


def sees_case_details(user: User) -> bool:
    """Everyone but a reporter. A reporter (a teacher, a doctor) sees of their own reports only
    what they typed and the progress (stages and when): not the child's file (its name, village
    or id), nor the staff's notes, actions, interventions or attachments."""
    return user.role != Role.REPORTER


def child_name_for(user: User, report: MandatoryReport) -> str:
    """The child's name as ``user`` may see it. Linking a file stores the file's name, so for a
    reporter the stored name is what they typed only while no file is linked."""
    if sees_case_details(user) or report.child_id is None:
        return report.child_name
    return ""


def can_see_reporter(user: User) -> bool:
    return user.role in IDENTITY_ROLES
