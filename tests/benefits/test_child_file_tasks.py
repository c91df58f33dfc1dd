"""What the child file asks of benefits without importing it (issue 15): closing a file and
changing the file or the family queue outbox tasks in the same transaction; benefits' tasks end
the benefits or make their review due, idempotently."""

from datetime import date

import pytest
import time_machine

from accounts import outbox
from accounts.models import OutboxMessage
from benefits.models import Enrolment
from benefits.services import subsidy_apply, subsidy_decide
from children.services import child_close, child_update, family_member_update
from core.errors import Conflict

from ..factories import make_orphan

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolment(director_a, supervisor, civil_affairs):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        child = make_orphan(director_a, name="孤儿丙", birth_date=date(2014, 5, 1))
        application = subsidy_apply(user=director_a, child=child, programme="orphan_allowance")
        subsidy_decide(user=supervisor, application=application, decision="approve", note="")
        subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
        outbox.run_inline()
        yield Enrolment.objects.get(application=application)


def queued(task: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(task=task, sent_at__isnull=True))


def test_closing_queues_the_end_of_the_benefits_with_the_closing(enrolment, director_a):
    child_close(user=director_a, child=enrolment.child, reason="other", note="随父母外出就学")
    (message,) = queued("benefits.child_closed")
    assert message.args == [str(enrolment.child_id), "other", "2026-11-23", director_a.pk]
    assert outbox.run_inline() == 1
    enrolment.refresh_from_db()
    # A closing with no matching exit reason is recorded as the file closing.
    assert (enrolment.exit_reason, enrolment.end_month, enrolment.ended_on) == (
        "file_closed",
        date(2026, 11, 1),
        date(2026, 11, 23),
    )
    assert enrolment.end_reason == "档案结案：其他" and enrolment.ended_by == director_a
    assert enrolment.next_review_on is None
    # Delivered twice (the outbox is at least once): nothing changes.
    outbox.enqueue("benefits.child_closed", *message.args)
    outbox.run_inline()
    ended = Enrolment.objects.get(pk=enrolment.pk)
    assert (ended.ended_on, ended.end_reason) == (date(2026, 11, 23), "档案结案：其他")


def test_a_refused_closing_queues_nothing(enrolment, director_a):
    child_close(user=director_a, child=enrolment.child, reason="moved_away")
    outbox.run_inline()
    with pytest.raises(Conflict):
        child_close(user=director_a, child=enrolment.child, reason="moved_away")
    assert not queued("benefits.child_closed")


def test_a_change_that_keeps_the_rule_leaves_the_review_where_it_was(enrolment, director_a):
    with time_machine.travel("2026-12-01 10:00 +0800", tick=False):
        child_update(user=director_a, child=enrolment.child, changes={"grade": "六年级"})
        assert len(queued("benefits.recheck_enrolments")) == 1
        outbox.run_inline()
    enrolment.refresh_from_db()
    assert (enrolment.next_review_on, enrolment.review_reason) == (date(2027, 5, 25), "")


def test_a_change_that_breaks_the_rule_makes_the_review_due_now(enrolment, director_a):
    mother = enrolment.child.family_members.get(relation="mother")
    with time_machine.travel("2026-12-01 10:00 +0800", tick=False):
        family_member_update(
            user=director_a,
            member=mother,
            changes={"status": "at_home", "has_guardian_capacity": True},
        )
        outbox.run_inline()
        enrolment.refresh_from_db()
        assert enrolment.next_review_on == date(2026, 12, 1)
        assert enrolment.review_reason == "家庭情况变化，需复核：孤儿基本生活费"
        assert enrolment.end_month is None  # still paid: the review decides
    with time_machine.travel("2026-12-05 10:00 +0800", tick=False):
        # Delivered again later: the review stays due from the first day, not the last.
        outbox.enqueue("benefits.recheck_enrolments", str(enrolment.child_id))
        outbox.run_inline()
    enrolment.refresh_from_db()
    assert enrolment.next_review_on == date(2026, 12, 1)
