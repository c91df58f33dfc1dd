"""Access scoping — the one place that decides what a user may see.

Every queryset of children, visits, agreements, reports and subsidies passes through
``scope_queryset`` with the path to its area code. A user sees exactly their area's subtree; an
object outside it does not exist for them (404). A role that may not act on an object it can see
gets 403 from ``require_role``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404

from . import rules
from .models import Area, User

M = TypeVar("M", bound=Model)


def scope_prefix(user: User) -> str | None:
    """The area-code prefix of the user's subtree: ``""`` for everything, None for nothing."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.area_id is None:
        # Only a superuser works without an area (system administration).
        return "" if user.is_superuser else None
    # Derived from the code itself: no query for the area row.
    return rules.prefix(user.area_id, rules.parse_level(user.area_id))


def scope_q(user: User, area_field: str) -> Q | None:
    """A Q object restricting ``area_field`` (a path to an area code) to the user's subtree."""
    prefix = scope_prefix(user)
    if prefix is None:
        return None
    return prefix_q(prefix, area_field)


def prefix_q(prefix: str, area_field: str) -> Q:
    """Codes starting with ``prefix``. Codes are 12 digits, so that is a contiguous range: a plain
    B-tree index serves it (a LIKE on a cast foreign key would not)."""
    if prefix == "":
        return Q()
    pad = 12 - len(prefix)
    return Q(**{f"{area_field}__range": (prefix + "0" * pad, prefix + "9" * pad)})


def subtree_q(area_code: str, area_field: str) -> Q:
    """Everything in the subtree of ``area_code``, through ``area_field``."""
    return prefix_q(rules.prefix(area_code, rules.parse_level(area_code)), area_field)


def scope_queryset(queryset: QuerySet[M], *, user: User, area_field: str) -> QuerySet[M]:
    """Restrict any queryset to the user's area subtree through ``area_field``."""
    condition = scope_q(user, area_field)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition)


def get_in_scope_or_404(queryset: QuerySet[M], *, user: User, area_field: str, **lookup) -> M:
    """One object inside the user's scope, or Http404 — whether it is missing or elsewhere."""
    try:
        return scope_queryset(queryset, user=user, area_field=area_field).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        _audit_outside_scope(queryset, user=user, area_field=area_field, lookup=lookup)
        raise Http404 from exc


def _audit_outside_scope(queryset: QuerySet, *, user: User, area_field: str, lookup: dict) -> None:
    """A record that exists but lies outside the user's area is a refused access: audited, with
    the record's area so that its own civil affairs see the attempt. Missing records are not."""
    from .services import audit_refusal

    try:
        found = queryset.filter(**lookup).values_list("pk", area_field).first()
    except (ValueError, TypeError, ValidationError):
        return
    if found is not None:
        audit_refusal(
            user=user if user.is_authenticated else None,
            reason="outside_area",
            object_type=queryset.model._meta.model_name,
            object_id=str(found[0])[:64],
            area_code=found[1] or "",
        )


def require_role(user: User, roles: Iterable[str]) -> None:
    """403 unless the user holds one of ``roles`` (superusers always pass)."""
    if user.is_superuser:
        return
    if user.role not in set(roles):
        raise PermissionDenied


def code_in_scope(user: User, code: str) -> bool:
    prefix = scope_prefix(user)
    return prefix is not None and code.startswith(prefix)


def areas_for_user(*, user: User) -> QuerySet[Area]:
    return scope_queryset(Area.objects.all(), user=user, area_field="code")


def area_for_user_or_404(*, user: User, code: str) -> Area:
    return get_in_scope_or_404(Area.objects.all(), user=user, area_field="code", code=code)


def child_areas_with_staff_counts(*, user: User, area: Area) -> QuerySet[Area]:
    """The areas one level below ``area`` (inside scope), each with its number of active staff."""
    return (
        areas_for_user(user=user)
        .filter(parent=area)
        .annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
        .order_by("code")
    )


def staff_for_user(*, user: User) -> QuerySet[User]:
    """Staff whose area lies in the user's subtree, with their area loaded."""
    return scope_queryset(
        User.objects.filter(is_active=True).select_related("area"),
        user=user,
        area_field="area__code",
    ).order_by("area__code", "role", "username")


def audit_records_for(*, user: User) -> QuerySet:
    """Audit records about records in the user's area, newest first."""
    from .models import AuditRecord

    return scope_queryset(
        AuditRecord.objects.select_related("user"), user=user, area_field="area_code"
    ).order_by("-at", "-id")
