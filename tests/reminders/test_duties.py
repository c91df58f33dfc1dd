"""Issue 18, points 1 and 4: every dated duty is reminded at its boundary, and the work that
satisfies it resolves it (and its escalations) at once.

Each new kind at its boundary under time-machine: contact_overdue, follow_up_due, assessment_due
(every 180 days, at once after a report, at once to the township after a red result), patrol_due
(14 days before the quarter ends; a phone call is not a patrol), protection_order_decision
(72 h, 24 h if urgent), warning_letter_follow_up (a home visit within 30 days), transfer_pending.
The merge bug: two escalations of one child with one due date stay two.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from children import lifecycle
from children.models import Child
from children.services import (
    assessment_record,
    care_agreement_caregiver_unable,
)
from reminders.models import Notification
from reminders.services import reminders_sweep
from reporting.services import intervention_record, report_file, report_transition
from visits.services import visit_record

from ..conftest import VILLAGE_B
from ..factories import make_agreement, make_child

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 8):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI))


def sweep_on(day: date):
    with at(day):
        return reminders_sweep()


def open_kinds(user, kind=None) -> list[tuple[str, date | None]]:
    rows = Notification.objects.filter(recipient=user, resolved_at__isnull=True)
    if kind:
        rows = rows.filter(kind=kind)
    return sorted((n.kind, n.due_date) for n in rows)


def assess(user, child, day: date, *, guardianship: int = 0, safety: int = 0):
    return assessment_record(
        user=user,
        child=child,
        assessed_on=day,
        guardianship=guardianship,
        safety=safety,
        health=0,
        behaviour=0,
    )


def one(user, kind) -> Notification:
    return Notification.objects.get(recipient=user, kind=kind)


# --- contact_overdue ------------------------------------------------------------------------------


def test_contact_overdue_the_day_after_it_falls_due_and_a_phone_call_resolves_it(child, director_a):
    with at(date(2026, 11, 23), 10):
        visit_record(user=director_a, child=child, visited_on=date(2026, 11, 23), kind="home")
    child.refresh_from_db()
    assert child.next_contact_due == date(2026, 12, 23)  # every 30 days; home visit every 90
    sweep_on(date(2026, 12, 23))
    assert open_kinds(director_a, "contact_overdue") == []
    sweep_on(date(2026, 12, 24))
    assert open_kinds(director_a, "contact_overdue") == [("contact_overdue", date(2026, 12, 23))]
    with at(date(2026, 12, 24), 15):
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 24), kind="phone")
    reminder = one(director_a, "contact_overdue")
    assert reminder.resolved_at is not None  # at once, not at the next sweep
    sweep_on(date(2026, 12, 25))
    assert open_kinds(director_a, "contact_overdue") == []


def test_contact_and_home_visit_overdue_together_remind_the_home_visit_only(child, director_a):
    # Never visited: both fall due 14 days after registration; the home visit answers both.
    sweep_on(date(2026, 12, 8))
    assert open_kinds(director_a) == [("visit_overdue", date(2026, 12, 7))]


# --- follow_up_due --------------------------------------------------------------------------------


def test_follow_up_due_on_its_day_resolved_by_the_next_visit(child, director_a):
    with at(date(2026, 11, 25), 10):
        visit_record(
            user=director_a,
            child=child,
            visited_on=date(2026, 11, 25),
            kind="home",
            follow_up_on=date(2026, 12, 2),
            follow_up_note="回访学业",
        )
    sweep_on(date(2026, 12, 1))
    assert open_kinds(director_a, "follow_up_due") == []
    sweep_on(date(2026, 12, 2))
    reminder = one(director_a, "follow_up_due")
    assert reminder.due_date == date(2026, 12, 2) and reminder.detail == "回访学业"
    with at(date(2026, 12, 3), 10):
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 3), kind="phone")
    reminder.refresh_from_db()
    assert reminder.resolved_at is not None


# --- assessment_due -------------------------------------------------------------------------------


def test_reassessment_every_180_days_from_a_week_before(child, director_a):
    with at(date(2026, 11, 23), 10):
        assess(director_a, child, date(2026, 11, 23), guardianship=0, safety=0)
    due = date(2026, 11, 23) + timedelta(days=180)
    sweep_on(due - timedelta(days=8))
    assert open_kinds(director_a, "assessment_due") == []
    sweep_on(due - timedelta(days=7))
    assert open_kinds(director_a, "assessment_due") == [("assessment_due", due)]
    with at(due, 10):
        assess(director_a, child, due, guardianship=0, safety=0)
    assert open_kinds(director_a, "assessment_due") == []


def test_a_report_makes_the_assessment_due_at_once(child, director_a, supervisor):
    with at(date(2026, 11, 23), 10):
        assess(director_a, child, date(2026, 11, 23), guardianship=0, safety=0)
    with at(date(2026, 12, 1), 10):
        report_file(
            user=supervisor,
            situation="domestic_violence",
            discovered_at=datetime(2026, 12, 1, 9, tzinfo=SHANGHAI),
            description="邻居反映",
            child=child,
        )
        # No sweep needed: the filing raised it.
        assert open_kinds(director_a, "assessment_due") == [("assessment_due", date(2026, 12, 1))]
    # 31 days past due it is still there (the probe of the issue), and still once.
    sweep_on(date(2027, 1, 1))
    assert Notification.objects.filter(recipient=director_a, kind="assessment_due").count() == 1


def test_a_red_result_by_the_director_asks_the_township_to_assess_at_once(
    child, director_a, supervisor
):
    with at(date(2026, 12, 1), 10):
        assess(director_a, child, date(2026, 12, 1), guardianship=3, safety=2)
        assert open_kinds(supervisor, "assessment_due") == [("assessment_due", date(2026, 12, 1))]
    with at(date(2026, 12, 2), 10):
        assess(supervisor, child, date(2026, 12, 2), guardianship=3, safety=2)
    assert open_kinds(supervisor, "assessment_due") == []
    assert one(supervisor, "assessment_due").resolved_at is not None


# --- patrol_due -----------------------------------------------------------------------------------


@pytest.fixture
def key_child(frozen, director_a):
    kid = make_child(director_a, name="汪小海", birth_date=date(2015, 5, 1), illness="哮喘")
    kid.refresh_from_db()
    assert kid.is_key_child
    return kid


def test_patrol_due_14_days_before_the_quarter_ends_a_call_does_not_count(key_child, supervisor):
    quarter_end = date(2026, 12, 31)
    sweep_on(quarter_end - timedelta(days=15))
    assert open_kinds(supervisor, "patrol_due") == []
    sweep_on(quarter_end - timedelta(days=14))
    assert open_kinds(supervisor, "patrol_due") == [("patrol_due", quarter_end)]
    with at(date(2026, 12, 20), 10):
        visit_record(user=supervisor, child=key_child, visited_on=date(2026, 12, 20), kind="phone")
    assert open_kinds(supervisor, "patrol_due") == [("patrol_due", quarter_end)]
    with at(date(2026, 12, 21), 10):
        visit_record(user=supervisor, child=key_child, visited_on=date(2026, 12, 21), kind="home")
    assert open_kinds(supervisor, "patrol_due") == []
    # The next quarter starts a new cycle.
    sweep_on(date(2027, 3, 17))
    assert open_kinds(supervisor, "patrol_due") == [("patrol_due", date(2027, 3, 31))]


# --- protection orders and warning letters ---------------------------------------------


def _report_at_intervention(child, supervisor, *, situation, kind, day):
    with at(day, 9):
        report = report_file(
            user=supervisor,
            situation=situation,
            discovered_at=datetime(day.year, day.month, day.day, 8, tzinfo=SHANGHAI),
            description="情况说明",
            child=child,
        )
        report = report_transition(user=supervisor, report=report, to="police_received")
        report = report_transition(
            user=supervisor, report=report, to="emergency_handled", actions=["medical_care"]
        )
        report = report_transition(
            user=supervisor, report=report, to="assessed", service_plan=["counselling"]
        )
        return report_transition(
            user=supervisor, report=report, to="intervention", intervention_type=kind
        )


@pytest.mark.parametrize(
    ("situation", "days"), [("guardian_incapable", 3), ("domestic_violence", 1)]
)
def test_protection_order_decision_due_72_hours_or_24_if_urgent(child, supervisor, situation, days):
    applied = date(2026, 12, 1)
    report = _report_at_intervention(
        child, supervisor, situation=situation, kind="protection_order", day=applied
    )
    due = applied + timedelta(days=days)
    sweep_on(due - timedelta(days=1))
    assert open_kinds(supervisor, "protection_order_decision") == []
    sweep_on(due)
    assert open_kinds(supervisor, "protection_order_decision") == [
        ("protection_order_decision", due)
    ]
    with at(due, 11):
        intervention_record(
            user=supervisor,
            report=report,
            kind="protection_order",
            applied_on=applied,
            decided_on=due,
            expires_on=due + timedelta(days=180),
        )
    assert open_kinds(supervisor, "protection_order_decision") == []


def test_an_application_recorded_before_the_decision(child, supervisor):
    applied = date(2026, 12, 1)
    report = _report_at_intervention(
        child,
        supervisor,
        situation="guardian_incapable",
        kind="family_education_order",
        day=applied,
    )
    with at(date(2026, 12, 2), 10):
        intervention_record(
            user=supervisor, report=report, kind="protection_order", applied_on=date(2026, 12, 2)
        )
    sweep_on(date(2026, 12, 5))
    assert open_kinds(supervisor, "protection_order_decision") == [
        ("protection_order_decision", date(2026, 12, 5))
    ]


def test_warning_letter_home_visit_within_30_days(child, director_a, supervisor):
    issued = date(2026, 12, 1)
    _report_at_intervention(
        child, supervisor, situation="guardian_incapable", kind="warning_letter", day=issued
    )
    # Raised with the letter: the director has 30 days.
    assert open_kinds(director_a, "warning_letter_follow_up") == [
        ("warning_letter_follow_up", issued + timedelta(days=30))
    ]
    with at(date(2026, 12, 10), 10):
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 10), kind="phone")
    assert open_kinds(director_a, "warning_letter_follow_up") != []  # a call is not a home visit
    with at(date(2026, 12, 11), 10):
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 11), kind="home")
    assert open_kinds(director_a, "warning_letter_follow_up") == []


# --- transfers, escalations, resolution -----------------------------------------------------------


def test_transfer_pending_at_once_to_the_answering_director_resolved_by_the_answer(
    director_a, outsider, child
):
    with at(date(2026, 11, 24), 10):
        transfer = lifecycle.transfer_request_from_sender(
            user=director_a, child=child, to_village_code=VILLAGE_B, reason="迁居"
        )
    assert open_kinds(outsider, "transfer_pending") == [("transfer_pending", date(2026, 12, 1))]
    with at(date(2026, 11, 25), 10):
        lifecycle.transfer_reject(user=outsider, transfer=transfer, reason="不在本村居住")
    assert open_kinds(outsider, "transfer_pending") == []


def test_two_escalations_of_one_child_with_one_due_date_stay_two(child, director_a, supervisor):
    """The merge bug: the overdue visit and the caregiver not replaced, both due 2026-12-07."""
    with at(date(2026, 11, 23), 11):
        agreement = make_agreement(director_a, child)
        care_agreement_caregiver_unable(user=director_a, agreement=agreement, reason="外出务工")
    agreement.refresh_from_db()
    assert agreement.replacement_due == date(2026, 12, 7)  # 14 days: the visit's due date too
    sweep_on(date(2026, 12, 22))
    escalations = Notification.objects.filter(recipient=supervisor, kind="escalation")
    assert sorted(n.rule for n in escalations) == ["escalation", "escalation_agreement"]
    assert {n.due_date for n in escalations} == {date(2026, 12, 7)}


def test_a_home_visit_resolves_the_overdue_reminder_and_its_escalations_at_once(
    child, director_a, supervisor, civil_affairs, client_for
):
    sweep_on(date(2027, 1, 10))  # 34 days overdue: the director, the township and the county
    assert open_kinds(director_a) == [("visit_overdue", date(2026, 12, 7))]
    assert open_kinds(supervisor, "escalation") == [("escalation", date(2026, 12, 7))]
    assert open_kinds(civil_affairs, "escalation") == [("escalation", date(2026, 12, 7))]
    with at(date(2027, 1, 10), 10):
        visit_record(user=director_a, child=child, visited_on=date(2027, 1, 10), kind="home")
        body = client_for(director_a).get("/visits/reminders/").content.decode()
    assert open_kinds(director_a) == []
    assert open_kinds(supervisor) == [] and open_kinds(civil_affairs) == []
    assert 'id="unread-count"' not in body  # the bell counts open reminders only
    done = client_for(director_a).get("/visits/reminders/?status=resolved").content.decode()
    assert "走访逾期" in done and "查小雨" in done


def test_re_running_the_sweep_does_not_reopen_what_was_done(child, director_a):
    sweep_on(date(2026, 12, 8))
    with at(date(2026, 12, 8), 10):
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 8), kind="home")
    for day in (date(2026, 12, 8), date(2026, 12, 9)):
        sweep_on(day)
    assert open_kinds(director_a) == []
    assert Notification.objects.filter(recipient=director_a).count() == 1


def test_api_lists_open_or_resolved(child, director_a, api_client):
    sweep_on(date(2026, 12, 8))
    with at(date(2026, 12, 8), 10):
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 8), kind="home")
        sweep_on(date(2026, 12, 8))
    client = api_client(director_a)
    everything = client.get("/api/v1/reminders").json()
    assert everything["count"] == 1
    assert client.get("/api/v1/reminders?status=open").json() == {"items": [], "count": 0}
    resolved = client.get("/api/v1/reminders?status=resolved").json()
    assert resolved["count"] == 1 and resolved["items"][0]["resolved_at"] is not None
    assert resolved["items"][0]["kind"] == "visit_overdue"
    assert client.get("/api/v1/reminders?status=nonsense").status_code == 422


def test_inbox_lists_overdue_before_due_soon(areas, director_a, frozen):
    late = make_child(director_a, name="甲", birth_date=date(2016, 1, 1))
    frozen.move_to("2026-12-01 10:00 +0800")
    soon = make_child(director_a, name="乙", birth_date=date(2016, 1, 1))
    sweep_on(date(2026, 12, 9))  # 甲 overdue since 12-07; 乙 due 12-15
    from reminders.selectors import reminders_for

    rows = list(reminders_for(user=director_a, status="open"))
    assert [(n.child_id, n.kind) for n in rows] == [
        (late.pk, "visit_overdue"),
        (soon.pk, "visit_due_soon"),
    ]


def test_the_refresh_of_one_or_several_cases_raises_and_resolves_the_same(
    child, director_a, supervisor
):
    """reminders_refresh has a statement per shape — one child, several, with a report or
    not (one key is compared with ``=``, several with ``= ANY``, so that a generic plan of one
    file's rows is a key lookup): each raises and resolves what the sweep would, for the
    cases it is given and no other."""
    from reminders.services import reminders_refresh

    other = make_child(director_a, name="查小雪")
    third = make_child(director_a, name="查小雷")
    sweep_on(date(2027, 1, 10))  # the three overdue: the director, the township, the county
    overdue = {
        (n.child_id, n.recipient_id) for n in Notification.objects.filter(kind="visit_overdue")
    }
    assert {c for c, _ in overdue} == {child.pk, other.pk, third.pk}

    def due_again(*children, on: date) -> None:
        # The work is recorded elsewhere (the dates move), then the refresh is asked.
        Child.objects.filter(pk__in=[c.pk for c in children]).update(
            next_home_visit_due=on, next_contact_due=on
        )

    def open_about(c) -> set[str]:
        return set(
            Notification.objects.filter(child=c, resolved_at__isnull=True).values_list(
                "rule", flat=True
            )
        )

    due_again(child, other, third, on=date(2027, 3, 1))
    with at(date(2027, 1, 10), 10):
        assert reminders_refresh(child_ids=[child.pk, other.pk, child.pk]) > 0  # several
        assert open_about(child) == open_about(other) == set()
        assert "visit_overdue" in open_about(third)  # not given: left to its own refresh
        reminders_refresh(child_ids=[str(third.pk)])  # one, as text
        assert open_about(third) == set()
    # Due again: the refresh raises as the sweep would, for one and for several.
    due_again(child, other, third, on=date(2027, 1, 5))
    with at(date(2027, 1, 10), 10):
        reminders_refresh(child_ids=[child.pk])
        reminders_refresh(child_ids=[other.pk, third.pk])
    raised = {c: open_about(c) for c in (child, other, third)}
    assert all("visit_overdue" in rules for rules in raised.values()), raised
    sweep_on(date(2027, 1, 10))
    assert {c: open_about(c) for c in (child, other, third)} == raised
