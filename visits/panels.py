"""The visits part of the child's page (registered with children.extensions at start-up) and of
the township's first page (accounts.extensions): visits to review, the quarter's patrol."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import extensions as home
from accounts import permissions
from accounts.extensions import HomePanel, PanelEntry
from accounts.permissions import Capability
from children import extensions
from children.models import Child, ChildStatus
from core import clock
from core.compiled import Read

from . import selectors


def child_page(request: HttpRequest, child: Child, today: date) -> Read[dict]:
    part = {
        "visit_status": selectors.status_of(child, today),
        "can_visit": child.status == ChildStatus.ACTIVE
        and permissions.can(request.user, Capability.VISIT_RECORD),
    }
    return selectors.recent_visits_read(child=child).then(lambda visits: {**part, "visits": visits})


def child_timeline(child: Child) -> list:
    return selectors.timeline_entries(child=child)


HOME_ENTRIES = 3  # the first few visits of the queue on the home page


def _review_entry(visit) -> PanelEntry:
    entry: PanelEntry = {
        "text": visit.child.name,
        "note": f"{visit.visited_on:%Y-%m-%d} · {visit.get_kind_display()} · "
        f"{visit.visitor.display_name}",
        "url": reverse("visits:detail", kwargs={"visit_id": visit.pk}),
    }
    if visit.safety_concern:
        entry.update(badge=_("Safety concern"), tone="danger")
    elif visit.priority == selectors.CONCERN:
        entry.update(badge=_("Living alone without a guardian"), tone="danger")
    return entry


def home_panels(request: HttpRequest) -> list[HomePanel]:
    """The township's: visits to review (those prompting a report first, with their count) and
    the quarter's patrol (key children seen in person by a supervisor). Three queries."""
    user = request.user
    if not permissions.can(user, Capability.HOME_TOWNSHIP_QUEUES):
        return []
    review = reverse("visits:review")
    counts = selectors.review_counts(user=user)
    first = list(selectors.visits_to_review(user=user)[:HOME_ENTRIES]) if counts["total"] else []
    patrol = selectors.patrol_progress(user=user, today=clock.today())
    return [
        {
            "order": 10,
            "key": "review",
            "title": _("Visits to review"),
            "count": counts["total"],
            "url": review,
            "lines": [
                {
                    "label": _("Safety concern"),
                    "count": counts["concerns"],
                    "url": f"{review}?safety=1",
                    "tone": "danger",
                }
            ],
            "entries": [_review_entry(visit) for visit in first],
        },
        {
            "order": 50,
            "key": "patrol",
            "title": _("Quarterly patrol of key children"),
            "count": patrol["patrolled"],
            "total": patrol["total"],
            "url": reverse("visits:patrol"),
        },
    ]


def register() -> None:
    """VisitsConfig.ready: the visits on the child's page and timeline, the home panels."""
    extensions.register_page_context(child_page)
    extensions.register_timeline_source(child_timeline)
    home.register_home_panels(home_panels)
