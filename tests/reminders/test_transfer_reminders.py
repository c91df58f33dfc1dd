"""Issue 16, point 2, across time: a transfer no one answers reaches the supervisor of the side
that must answer after 7 days (not before); after a move the old recipients' reminders are
resolved; a benefit paid by the old county ends with the move and the new county is asked to
re-apply until an application is made."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from accounts import outbox
from accounts.models import Role
from benefits.models import Enrolment
from benefits.services import subsidy_apply, subsidy_decide
from children import lifecycle
from reminders.models import Notification
from reminders.services import reminders_sweep

from ..conftest import COUNTY_B, TOWNSHIP_B, VILLAGE_B, _user
from ..factories import make_orphan

pytestmark = pytest.mark.django_db


@pytest.fixture
def county_b(areas):
    return {
        "supervisor": _user("supervisor_b", Role.SUPERVISOR, areas[TOWNSHIP_B]),
        "civil_affairs": _user("civil_affairs_b", Role.CIVIL_AFFAIRS, areas[COUNTY_B]),
    }


def test_an_unanswered_transfer_reaches_the_answering_sides_supervisor_after_7_days(
    director_a, supervisor, child, county_b
):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        lifecycle.transfer_request_from_sender(
            user=director_a, child=child, to_village_code=VILLAGE_B, reason="迁居"
        )
    with time_machine.travel("2026-11-30 08:00 +0800", tick=False):
        reminders_sweep()
    assert not Notification.objects.filter(kind="escalation").exists()
    with time_machine.travel("2026-12-01 08:00 +0800", tick=False):
        reminders_sweep()
        reminders_sweep()  # idempotent
    escalation = Notification.objects.get(kind="escalation")
    assert escalation.recipient == county_b["supervisor"] and escalation.child == child
    assert escalation.detail == "转移申请7天未处理" and escalation.due_date == date(2026, 11, 30)
    # The asking side's supervisor is not the one to answer.
    assert not Notification.objects.filter(recipient=supervisor, kind="escalation").exists()


def test_after_the_move_the_old_reminders_are_resolved(director_a, outsider, child):
    with time_machine.travel("2026-12-08 09:00 +0800", tick=False):
        reminders_sweep()  # the child's first home visit is overdue: director_a is reminded
        old = Notification.objects.get(recipient=director_a, child=child)
        assert old.resolved_at is None
        transfer = lifecycle.transfer_request_from_sender(
            user=director_a, child=child, to_village_code=VILLAGE_B, reason="迁居"
        )
        lifecycle.transfer_accept(user=outsider, transfer=transfer)
        outbox.run_inline()
    old.refresh_from_db()
    assert old.resolved_at is not None
    # The new village's director is reminded instead (the file's first visit is still overdue).
    assert Notification.objects.filter(
        recipient=outsider, child=child, kind="visit_overdue", resolved_at__isnull=True
    ).exists()


def test_a_benefit_of_the_old_county_ends_and_the_new_county_is_asked_to_re_apply(
    director_a, supervisor, civil_affairs, outsider, county_b
):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        orphan = make_orphan(director_a, name="孤儿甲", birth_date=date(2014, 5, 1))
        application = subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance")
        subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    with time_machine.travel("2026-12-02 10:00 +0800", tick=False):
        subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
        transfer = lifecycle.transfer_request_from_sender(
            user=director_a, child=orphan, to_village_code=VILLAGE_B, reason="随亲属迁居"
        )
        lifecycle.transfer_accept(user=outsider, transfer=transfer)
        outbox.run_inline()
        enrolment = Enrolment.objects.get(child=orphan)
        assert (enrolment.exit_reason, enrolment.end_month) == ("moved_away", date(2026, 12, 1))
        reminders_sweep()
    prompt = Notification.objects.get(kind="subsidy_review", recipient=county_b["civil_affairs"])
    assert (
        prompt.child == orphan and prompt.detail == "迁入前享受的孤儿基本生活费已停发，请重新申请"
    )
    # Once the new county's application is made, no new prompt is raised.
    Notification.objects.all().delete()
    with time_machine.travel("2026-12-03 10:00 +0800", tick=False):
        subsidy_apply(user=outsider, child=orphan, programme="orphan_allowance")
        reminders_sweep()
    assert not Notification.objects.filter(
        kind="subsidy_review", detail__contains="重新申请"
    ).exists()
