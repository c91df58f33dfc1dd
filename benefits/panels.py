"""Benefit applications on the first pages (accounts.extensions, registered in apps.py): those
waiting for the township's first review, or for the county's approval."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import extensions as home
from accounts import permissions
from accounts.extensions import HomePanel
from accounts.permissions import Capability
from children import extensions

from . import selectors
from .models import ApplicationStatus


def home_panels(request: HttpRequest) -> list[HomePanel]:
    """One count each (the decision queue, benefits:subsidy_queue, lists the same rows)."""
    user = request.user
    panels: list[HomePanel] = []
    levels = (
        (Capability.HOME_TOWNSHIP_QUEUES, ApplicationStatus.SUBMITTED, 40, "township"),
        (Capability.HOME_COUNTY_QUEUES, ApplicationStatus.TOWNSHIP_APPROVED, 10, "county"),
    )
    titles = {
        "township": _("Applications waiting for the township"),
        "county": _("Applications waiting for the county"),
    }
    for capability, status, order, level in levels:
        if not permissions.can(user, capability):
            continue
        count = selectors.subsidy_queue_for(user=user, statuses=(status,)).count()
        panels.append(
            {
                "order": order,
                "key": f"applications_{level}",
                "title": titles[level],
                "count": count,
                "url": reverse("benefits:subsidy_queue"),
                "tone": "warning",
            }
        )
    return panels


def register() -> None:
    """BenefitsConfig.ready: the child's page shows its benefits, but children may not import
    benefits, so benefits hands children its part of the page and of the timeline
    (children/extensions.py)."""
    extensions.register_page_context(selectors.child_page_context)
    extensions.register_timeline_source(selectors.child_timeline_entries)
    home.register_home_panels(home_panels)
