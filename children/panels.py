"""The child file's part of pages it does not own, registered at start-up
(accounts.extensions): the transfers waiting for the person's answer on their first page, and
the numbers of children the township and the county must act on (their home page's panels)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import extensions, permissions
from accounts.extensions import HomePanel
from accounts.permissions import Capability
from core import clock

from . import selectors


def home_transfers(request: HttpRequest) -> list[dict]:
    count = selectors.transfers_to_answer(user=request.user)
    if not count:
        return []
    text = ngettext(
        "%(n)s transfer of a child's file waits for your answer.",
        "%(n)s transfers of children's files wait for your answer.",
        count,
    ) % {"n": count}
    return [{"text": text, "url": reverse("children:transfers"), "link": _("Answer")}]


def _child_list(**filters: str) -> str:
    return f"{reverse('children:list')}?{urlencode(filters)}"


def home_children(request: HttpRequest) -> list[HomePanel]:
    """Township: children whose home visit is overdue, unsupervised children. County: files
    with a category awaiting confirmation, children overdue past the county's escalation days.
    One query; each number links to the child list filtered to exactly those files."""
    user = request.user
    township = permissions.can(user, Capability.HOME_TOWNSHIP_QUEUES)
    county = permissions.can(user, Capability.HOME_COUNTY_QUEUES)
    names = []
    if township:
        names += ["overdue", "unsupervised"]
    if county:
        names += ["categories_pending", "escalated_county"]
    if not names:
        return []
    counts = selectors.home_counts(user=user, today=clock.today(), names=names)
    panels: list[HomePanel] = []
    if township:
        panels += [
            {
                "order": 30,
                "key": "overdue",
                "title": _("Home visits overdue"),
                "count": counts["overdue"],
                "url": _child_list(visit_status="overdue", under_18="1"),
                "tone": "danger",
            },
            {
                "order": 35,
                "key": "unsupervised",
                "title": _("Unsupervised"),
                "count": counts["unsupervised"],
                "url": _child_list(flag="unsupervised", under_18="1"),
                "tone": "danger",
            },
        ]
    if county:
        panels += [
            {
                "order": 20,
                "key": "categories_pending",
                "title": _("Awaiting confirmation by civil affairs"),
                "count": counts["categories_pending"],
                "url": _child_list(category=selectors.CATEGORY_PENDING),
                "tone": "warning",
            },
            {
                "order": 40,
                "key": "escalated_county",
                "title": _("Escalated to county civil affairs"),
                "count": counts["escalated_county"],
                "url": _child_list(visit_status="overdue", under_18="1", escalated="county"),
                "tone": "danger",
            },
        ]
    return panels


def register() -> None:
    """ChildrenConfig.ready: the transfers waiting and the children's panel on the first page."""
    extensions.register_home_notices(home_transfers)
    extensions.register_home_panels(home_children)
    # 劝返复学 on the file's page and timeline (children.dropouts).
    from . import dropouts
    from . import extensions as child_page

    child_page.register_page_context(dropouts.child_page_context)
    child_page.register_timeline_source(dropouts.timeline_entries)
