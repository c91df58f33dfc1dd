"""The visits part of the child's page, registered with children.extensions at start-up."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest

from accounts import permissions
from accounts.permissions import Capability
from children.models import Child, ChildStatus

from . import selectors


def child_page(request: HttpRequest, child: Child, today: date) -> dict:
    return {
        "visits": list(selectors.visits_for_child(child=child)[:20]),
        "visit_status": selectors.status_of(child, today),
        "can_visit": child.status == ChildStatus.ACTIVE
        and permissions.can(request.user, Capability.VISIT_RECORD),
    }


def child_timeline(child: Child) -> list:
    return selectors.timeline_entries(child=child)
