"""The yearly training reminder (issue 21, point 1): the sweep reminds each director and
supervisor in post 30 days before a year without training ends, and resolves the reminder once a
training is recorded — through the sweep's own rules, as every other reminder."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from accounts import roster
from accounts.models import User
from reminders.models import Notification, NotificationKind
from reminders.services import reminders_sweep

pytestmark = pytest.mark.django_db


def _open(user: User) -> list[Notification]:
    return list(
        Notification.objects.filter(
            recipient=user, kind=NotificationKind.TRAINING_DUE, resolved_at__isnull=True
        )
    )


def _sweep(day: str) -> None:
    with time_machine.travel(f"{day} 08:00 +0800", tick=False):
        reminders_sweep()


def test_reminded_30_days_before_the_year_and_resolved_by_a_training(
    director_a, supervisor, civil_affairs, client_for
):
    for person in (director_a, supervisor):
        User.objects.filter(pk=person.pk).update(date_joined="2024-01-10T09:00:00+08:00")
    with time_machine.travel("2025-12-01 10:00 +0800", tick=False):
        roster.training_record(
            user=civil_affairs,
            held_on=date(2025, 12, 1),
            subject="儿童主任示范培训",
            hours=6,
            organiser="泾县民政局",
            attendees=[director_a.username, supervisor.username],
        )
    _sweep("2026-10-31")  # 31 days before the year is up: nothing yet
    assert _open(director_a) == [] and _open(supervisor) == []
    _sweep("2026-11-01")
    (reminder,) = _open(director_a)
    assert reminder.due_date == date(2026, 12, 1) and reminder.child_id is None
    assert reminder.detail == "每年至少参加一次培训"
    assert len(_open(supervisor)) == 1
    assert not Notification.objects.filter(recipient=civil_affairs).exists()
    # The director sees it in the inbox, in their language.
    with time_machine.travel("2026-11-01 09:00 +0800", tick=False):
        client = client_for(director_a)
        client.cookies["django_language"] = "en"
        inbox = client.get("/visits/reminders/").content.decode()
    assert "Yearly training due" in inbox and "at least once a year" in inbox
    assert f"/roster/people/{director_a.username}/" in inbox
    # Trained again: the next sweep resolves the director's, not the supervisor's.
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False):
        roster.training_record(
            user=civil_affairs,
            held_on=date(2026, 11, 20),
            subject="困境儿童保障政策",
            hours=3,
            organiser="泾县民政局",
            attendees=[director_a.username],
        )
    _sweep("2026-11-21")
    assert _open(director_a) == [] and len(_open(supervisor)) == 1
    _sweep("2026-11-21")  # the same day again: nothing new
    assert Notification.objects.filter(kind=NotificationKind.TRAINING_DUE).count() == 2


def test_the_refresh_of_a_case_leaves_out_the_duties_about_no_case():
    """reminders_refresh runs on every visit: the rules about no child and no report (a person's
    training, a village's verification) cannot change with it and stay out of its statement
    (at 1,000,000 children they made one visit's refresh 80 ms instead of a few)."""
    from reminders.services import _refresh_sql, sweep_rules

    about_no_case = {rule.name for rule in sweep_rules() if not rule.about_case}
    assert {"verification_due", "training_due_director", "training_due_supervisor"} <= about_no_case
    for rule in sweep_rules():
        selects_no_case = "NULL::uuid, NULL::uuid" in " ".join(rule.select.split())
        assert selects_no_case == (not rule.about_case), rule.name
    for shape in ((1, 1), (2, 2)):
        statement = _refresh_sql(*shape)
        assert "visits_quarterlyverification" not in statement
        assert "accounts_training" not in statement
