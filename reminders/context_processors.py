"""The bell: how many open reminders the signed-in person has, on every page."""

from __future__ import annotations

from django.http import HttpRequest

from accounts import rules
from accounts.mfa import pending_step

from .selectors import open_count


def reminder_badge(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"open_reminders": 0, "show_reminders": False}
    if hasattr(request, "session") and pending_step(request) is not None:
        return {"open_reminders": 0, "show_reminders": False}
    if not rules.sees_case_data(user.role, is_superuser=user.is_superuser):
        # Reminders are about children: the administrator, the security officer and the auditor
        # have none.
        return {"open_reminders": 0, "show_reminders": False}
    # Counted already when the page shows the reminders' panel (panels.home_panels).
    counted = getattr(request, "open_reminders", None)
    return {
        "open_reminders": open_count(user) if counted is None else counted,
        "show_reminders": True,
    }
