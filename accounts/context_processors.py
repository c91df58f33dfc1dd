"""Navigation that fits the user's role."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import rules
from .models import Role

# (url name, label, roles that see it; None = every signed-in user)
CASE_ROLES = {Role.DIRECTOR, Role.SUPERVISOR, Role.CIVIL_AFFAIRS, Role.VIEWER}
SUPERVISION = {Role.SUPERVISOR, Role.CIVIL_AFFAIRS}
NAV_ITEMS = [
    (
        "home",
        _("Home"),
        {Role.SUPERVISOR, Role.CIVIL_AFFAIRS, Role.VIEWER, Role.REPORTER, Role.ADMIN},
    ),
    ("visits:worklist", _("Worklist"), {Role.DIRECTOR}),
    ("children:list", _("Children"), CASE_ROLES),
    ("visits:township", _("Visits"), SUPERVISION),
    ("visits:review", _("Review"), SUPERVISION),
    ("visits:patrol", _("Patrol"), {Role.SUPERVISOR}),
    (
        "reporting:queue",
        _("Reports"),
        {
            Role.REPORTER,
            Role.DIRECTOR,
            Role.SUPERVISOR,
            Role.CIVIL_AFFAIRS,
            Role.VIEWER,
        },
    ),
    (
        "areas",
        _("Areas"),
        {Role.DIRECTOR, Role.SUPERVISOR, Role.CIVIL_AFFAIRS, Role.VIEWER, Role.ADMIN},
    ),
    ("staff", _("Staff"), {Role.SUPERVISOR, Role.CIVIL_AFFAIRS, Role.VIEWER, Role.ADMIN}),
    ("children:subsidy_queue", _("Benefits"), {Role.SUPERVISOR, Role.CIVIL_AFFAIRS}),
    ("dashboard:home", _("Statistics"), {Role.SUPERVISOR, Role.CIVIL_AFFAIRS, Role.VIEWER}),
    # 等保 三权分立: the audit log is the auditor's (and civil affairs' for their county), never
    # the system administrator's; second factors and lockouts are the security officer's.
    ("audit", _("Audit"), set(rules.AUDIT_LOG_ROLES)),
    ("security", _("Security"), set(rules.SECURITY_ADMIN_ROLES)),
    ("visits:policy", _("Settings"), {Role.CIVIL_AFFAIRS}),
    ("admin:index", _("Administration"), {Role.ADMIN}),
]


def nav_items_for(user) -> list[dict]:
    # A superuser is the system administrator whatever their role field says.
    role = rules.effective_role(user.role, is_superuser=user.is_superuser)
    items = []
    for url_name, label, roles in NAV_ITEMS:
        if roles is None or role in roles:
            items.append({"url_name": url_name, "url": reverse(url_name), "label": label})
    return items


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "unread_reminders": 0, "show_reminders": False}
    from .mfa import pending_step

    if hasattr(request, "session") and pending_step(request) is not None:
        # Nothing to navigate to before the second sign-in step.
        return {
            "nav_items": [],
            "unread_reminders": 0,
            "show_reminders": False,
            "mfa_pending": True,
        }
    match = request.resolver_match
    current = match.view_name if match else None
    namespace = f"{match.namespace}:" if match and match.namespace else None
    items = nav_items_for(user)
    for item in items:
        item["active"] = item["url_name"] == current or bool(
            namespace and item["url_name"].startswith(namespace)
        )
    if not rules.sees_case_data(user.role, is_superuser=user.is_superuser):
        # Reminders are about children: the administrator, the security officer and the auditor
        # have none.
        return {"nav_items": items, "unread_reminders": 0, "show_reminders": False}
    from visits.selectors import unread_count

    return {"nav_items": items, "unread_reminders": unread_count(user), "show_reminders": True}
