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
    Role.ADMIN,
)
IDENTITY_ROLES = (Role.SUPERVISOR, Role.CIVIL_AFFAIRS)


def reports_for(*, user: User) -> QuerySet[MandatoryReport]:
    queryset = MandatoryReport.objects.select_related("reporter", "area", "child")
    if user.role == Role.REPORTER and not user.is_superuser:
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


def can_see_reporter(user: User) -> bool:
    return user.is_superuser or user.role in IDENTITY_ROLES
