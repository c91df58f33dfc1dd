"""Mandatory reports on the first pages (accounts.extensions, registered in apps.py): the
township's open reports by urgency, and the reports county civil affairs must take up."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import extensions, permissions
from accounts.extensions import HomePanel, PanelEntry
from accounts.permissions import Capability

from . import selectors

HOME_ENTRIES = 3  # the most urgent few on the home page


def _queue(*filters: str) -> str:
    """The report queue (open reports, most urgent first) with these of its filters."""
    query = urlencode(dict.fromkeys(filters, "1"))
    return f"{reverse('reporting:queue')}?{query}" if query else reverse("reporting:queue")


def _entry(row: dict) -> PanelEntry:
    report = row["report"]
    days = row["days_in_stage"]
    entry: PanelEntry = {
        "text": row["child_name"] or "—",
        "note": f"{report.get_situation_display()} · {report.get_stage_display()} · "
        + ngettext("%(n)s day in this stage", "%(n)s days in this stage", days) % {"n": days},
        "url": reverse("reporting:detail", kwargs={"report_id": report.pk}),
    }
    if row["late"]:
        entry.update(badge=_("late"), tone="danger")
    return entry


def _panel(request: HttpRequest, *, order: int, key: str, title: str, base: tuple) -> HomePanel:
    """Open reports passing ``base``: their number, how many are urgent and late, the first few
    by urgency (two queries)."""
    user = request.user
    counts = selectors.open_report_counts(user=user, filters=base, names=("urgent", "late"))
    rows = (
        selectors.report_queue_rows(
            user=user,
            reports=selectors.open_reports_for(user=user, filters=base),
            limit=HOME_ENTRIES,
        )
        if counts["total"]
        else []
    )
    return {
        "order": order,
        "key": key,
        "title": title,
        "count": counts["total"],
        "url": _queue(*base),
        "lines": [
            {
                "label": _("Danger to life or body"),
                "count": counts["urgent"],
                "url": _queue(*base, "urgent"),
                "tone": "danger",
            },
            {
                "label": _("Past their stage's time limit"),
                "count": counts["late"],
                "url": _queue(*base, "late"),
                "tone": "danger",
            },
        ],
        "entries": [_entry(row) for row in rows],
    }


def home_panels(request: HttpRequest) -> list[HomePanel]:
    panels = []
    if permissions.can(request.user, Capability.HOME_TOWNSHIP_QUEUES):
        panels.append(
            _panel(request, order=20, key="reports", title=_("Open mandatory reports"), base=())
        )
    if permissions.can(request.user, Capability.HOME_COUNTY_QUEUES):
        panels.append(
            _panel(
                request,
                order=30,
                key="county_reports",
                title=_("Reports for county civil affairs"),
                base=("county",),
            )
        )
    return panels


def register() -> None:
    """ReportingConfig.ready: the report queues on the first page."""
    extensions.register_home_panels(home_panels)
