"""Open reminders on a person's first page (accounts.extensions, registered in apps.py): their
number, linked to the inbox, and the first few by urgency."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts import extensions, rules
from accounts.extensions import HomePanel, PanelEntry
from children import schedule
from core import clock, links
from core.compiled import Read

from . import selectors
from .details import shown_detail
from .models import Notification

HOME_ENTRIES = 3


def _entry(reminder: Notification, today: date) -> PanelEntry:
    if reminder.child_id:
        url = links.url("children:detail", reminder.child_id)
    elif reminder.report_id:
        url = links.url("reporting:detail", reminder.report_id)
    else:
        url = links.url("reminders:inbox")
    note = shown_detail(reminder.detail)
    if reminder.due_date:
        due = _("due %(due)s") % {"due": f"{reminder.due_date:%Y-%m-%d}"}
        note = f"{note} · {due}" if note else due
    return {
        "text": reminder.child.name if reminder.child_id else reminder.get_kind_display(),
        "note": note,
        "url": url,
        "badge": reminder.get_kind_display() if reminder.child_id else "",
        # Red once past its due date, as in the inbox (children.schedule: due < today).
        "tone": "danger" if schedule.is_overdue(reminder.due_date, today) else "warning",
    }


def home_panels(request: HttpRequest) -> list[HomePanel] | Read[list[HomePanel]]:
    """One query, sent with the page's others: the first few open reminders, each carrying the
    number of all of them."""
    user = request.user
    if not rules.sees_case_data(user.role, is_superuser=user.is_superuser):
        return []  # reminders are about children (as the bell: context_processors)
    return selectors.open_first_read(user, HOME_ENTRIES).then(lambda first: _panels(request, first))


def _panels(request: HttpRequest, first: list[Notification]) -> list[HomePanel]:
    count = first[0].open_total if first else 0
    # The bell on the same page shows the same number (context_processors.reminder_badge).
    request.open_reminders = count
    return [
        {
            "order": 90,
            "key": "reminders",
            "title": _("Reminders"),
            "count": count,
            "url": links.url("reminders:inbox"),
            "entries": [_entry(reminder, clock.today()) for reminder in first],
        }
    ]


def register() -> None:
    """RemindersConfig.ready: work recorded on a child or a report raises and resolves its
    reminders at once; the open reminders on a person's first page."""
    from . import services

    extensions.register_case_changed(services.reminders_refresh)
    extensions.register_duty_done(services.duty_done_resolve)
    extensions.register_home_panels(home_panels)
