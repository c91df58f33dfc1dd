"""Navigation and the capabilities that fit the user's role."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core import links

from .permissions import Capability, TemplateCapabilities, can

# (url name, label, the capability that puts the page in the menu: accounts.permissions)
NAV_ITEMS = [
    ("home", _("Home"), Capability.MENU_HOME),
    ("visits:worklist", _("Worklist"), Capability.MENU_WORKLIST),
    ("children:list", _("Children"), Capability.CHILD_READ),
    ("visits:township", _("Visits"), Capability.VISIT_REVIEW),
    ("visits:review", _("Review"), Capability.VISIT_REVIEW),
    ("visits:patrol", _("Patrol"), Capability.MENU_PATROL),
    ("reporting:queue", _("Reports"), Capability.REPORT_READ),
    # The case workers' referrals of their area; an organisation's staff: those sent to it.
    ("reporting:referrals", _("Referrals"), Capability.REFERRAL_READ),
    ("areas", _("Areas"), Capability.AREA_BROWSE),
    ("staff", _("Staff"), Capability.STAFF_DIRECTORY),
    ("roster", _("Roster"), Capability.ROSTER_READ),
    ("benefits:subsidy_queue", _("Benefits"), Capability.BENEFIT_DECIDE),
    ("dashboard:home", _("Statistics"), Capability.MENU_STATISTICS),
    # 等保 三权分立: the audit log is the auditor's (and civil affairs' for their county), never
    # the system administrator's; second factors and lockouts are the security officer's.
    ("audit", _("Audit"), Capability.AUDIT_LOG_READ),
    ("security", _("Security"), Capability.SECURITY_ADMIN),
    ("area_policy", _("Settings"), Capability.MENU_SETTINGS),
    ("admin:index", _("Administration"), Capability.SYSTEM_ADMIN),
]


def nav_items_for(user) -> list[dict]:
    return [
        {"url_name": url_name, "url": links.url(url_name), "label": label}
        for url_name, label, capability in NAV_ITEMS
        if can(user, capability)
    ]


def capabilities(request: HttpRequest) -> dict:
    """``can`` for the templates: ``{% if can.report_file %}`` (accounts.permissions)."""
    return {"can": TemplateCapabilities(getattr(request, "user", None))}


@dataclass(frozen=True)
class MenuItem:
    url: str
    label: str
    active: bool


@dataclass(frozen=True)
class Chrome:
    """Everything the frame of a page shows of the person signed in (templates/partials/
    _navbar.html and _scripts.html, rendered from it alone and kept by it: core.templatetags.
    fragments.keyed_fragment). Texts are in the language of the request."""

    signed_in: bool = False
    # Before the second sign-in step: no menu, no account links, nothing kept offline.
    mfa_pending: bool = False
    items: tuple[MenuItem, ...] = ()
    admin: bool = False
    name: str = ""
    role: str = ""
    area: str = ""
    # The phone keeps the short files of the person's children (js/offline.js).
    prefetch: bool = False


NOBODY = Chrome()


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"chrome": NOBODY}
    from .mfa import pending_step

    person = {
        "signed_in": True,
        "name": user.display_name,
        "role": str(user.get_role_display()),
        "area": user.area.name if user.area_id else "",
    }
    if hasattr(request, "session") and pending_step(request) is not None:
        # Nothing to navigate to before the second sign-in step.
        return {"chrome": Chrome(mfa_pending=True, **person)}
    items = nav_items_for(user)
    current = current_nav_item(items, request)
    for item in items:
        item["active"] = item is current
    chrome = Chrome(
        items=tuple(MenuItem(item["url"], str(item["label"]), item["active"]) for item in items),
        admin=user.is_staff,
        prefetch=can(user, Capability.VISIT_RECORD),
        **person,
    )
    return {"chrome": chrome}


def _namespace(url_name: str) -> str:
    return url_name.rpartition(":")[0]


def current_nav_item(items: list[dict], request: HttpRequest) -> dict | None:
    """The one menu item the page belongs to, the most specific first: the page itself; else,
    in the page's URL namespace, the item whose address is the longest start of the page's
    (/visits/<id>/ → Worklist, not Review or Patrol); else the namespace's first item."""
    match = request.resolver_match
    if match is None:
        return None
    for item in items:
        if item["url_name"] == match.view_name:
            return item
    same_namespace = [item for item in items if _namespace(item["url_name"]) == match.namespace]
    prefixes = [
        item
        for item in same_namespace
        if item["url"] != "/" and request.path.startswith(item["url"])
    ]
    if prefixes:
        return max(prefixes, key=lambda item: len(item["url"]))
    if match.namespace and same_namespace:
        return same_namespace[0]
    return None
