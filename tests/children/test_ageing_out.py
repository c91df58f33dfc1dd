"""Issue 16, point 3: the file closes by itself on the 18th birthday (born 29 February: 1 March)
unless a benefit continues for full-time education; orphans and de facto unsupported children get
a transition review a month before; dashboards and reminders count children under 18 only;
``run_daily`` runs every daily job in beat's order."""

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from accounts import outbox
from accounts.models import OutboxMessage
from benefits import rules as benefit_rules
from benefits.models import Enrolment
from benefits.services import (
    education_record_add,
    enrolment_end,
    subsidy_apply,
    subsidy_decide,
)
from children import rules, schedule
from children.models import Child
from children.selectors import ChildFilters, child_list_for_user, timeline_for
from children.services import children_age_out
from dashboards.indicators import indicators_for_area
from dashboards.services import village_stats_refresh
from reminders.models import Notification
from reminders.services import reminders_sweep
from visits.selectors import worklist_counts

from ..conftest import VILLAGE_1
from ..factories import confirm_categories, make_child, make_orphan

pytestmark = pytest.mark.django_db

BIRTH = date(2008, 12, 1)  # 18 on 2026-12-01
BIRTHDAY = date(2026, 12, 1)


def at(day: str, hour: str = "10:00"):
    return time_machine.travel(f"{day} {hour} +0800", tick=False)


def refreshed(child: Child) -> Child:
    return Child.objects.get(pk=child.pk)


def _enrolled_orphan(director, supervisor, civil_affairs, **overrides) -> Child:
    """An orphan of 17 (registered 2026-11-23) receiving the orphans' allowance."""
    child = make_orphan(director, name="孤儿", birth_date=BIRTH, **overrides)
    application = subsidy_apply(user=director, child=child, programme="orphan_allowance")
    subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
    return child


# --- The rule -------------------------------------------------------------------------------------


def test_the_18th_birthday_and_the_day_the_file_closes():
    assert rules.eighteenth_birthday(BIRTH) == BIRTHDAY
    assert rules.eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert rules.latest_adult_birth_date(date(2026, 3, 1)) == date(2008, 3, 1)
    assert rules.latest_adult_birth_date(date(2028, 2, 29)) == date(2010, 2, 28)
    assert rules.ages_out_on(BIRTH) == BIRTHDAY
    # Kept open to the end of a year of full-time education: closes the day after.
    assert rules.ages_out_on(BIRTH, date(2026, 12, 31)) == date(2027, 1, 1)
    # Education that ended before the birthday keeps nothing open.
    assert rules.ages_out_on(BIRTH, date(2025, 12, 31)) == BIRTHDAY
    assert benefit_rules.education_continues_until(
        education_years=[2025, 2026], benefit_open=True
    ) == date(2026, 12, 31)
    until = benefit_rules.education_continues_until
    assert until(education_years=[2026], benefit_open=False) is None  # never any benefit
    assert until(education_years=[], benefit_open=True) is None
    # The benefit ended: open to the day it ended, or to the end of the education if earlier.
    ended = {"benefit_open": False, "education_years": [2026]}
    assert until(**ended, last_benefit_ended_on=date(2026, 12, 10)) == date(2026, 12, 10)
    assert until(**ended, last_benefit_ended_on=date(2027, 1, 1)) == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("birth", "on"),
    [
        (date(2008, 2, 29), date(2026, 2, 28)),
        (date(2008, 2, 29), date(2026, 3, 1)),
        (date(2010, 2, 28), date(2028, 2, 29)),
        (date(2010, 3, 1), date(2028, 2, 29)),
        (BIRTH, date(2026, 11, 30)),
        (BIRTH, BIRTHDAY),
        (date(2008, 12, 31), date(2026, 12, 31)),
        (date(2009, 1, 1), date(2026, 12, 31)),
    ],
)
def test_sql_and_python_say_the_same(birth, on):
    """under_18 as a Q, as SQL text and in Python (age_on), and the birthday in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {schedule.under_18_sql('c.', '%(on)s')}, {schedule.eighteenth_birthday_sql()}"
            " FROM (SELECT %(birth)s::date AS birth_date) c",
            {"on": on, "birth": birth},
        )
        under_18, birthday = cursor.fetchone()
    assert under_18 == (rules.age_on(birth, on) < 18)
    assert birthday == rules.eighteenth_birthday(birth)
    q = schedule.under_18_q(on)
    assert under_18 == (birth > q.children[0][1])


# --- Closing -------------------------------------------------------------------------------------


def test_closes_on_the_18th_birthday_not_the_day_before(director_a):
    with at("2026-11-23"):
        child = make_child(director_a, name="将满十八", birth_date=BIRTH)
        younger = make_child(director_a, name="十七", birth_date=date(2008, 12, 2))
    assert children_age_out(on=date(2026, 11, 30)) == 0
    assert refreshed(child).status == "active"
    with at("2026-12-01", "01:45"):
        assert children_age_out() == 1
    closed = refreshed(child)
    assert (closed.status, closed.closed_reason, closed.closed_on) == (
        "closed",
        "turned_18",
        BIRTHDAY,
    )
    assert closed.is_key_child is False
    assert refreshed(younger).status == "active"
    # The timeline says the system closed it.
    latest = timeline_for(closed)[0]
    assert latest.who == "系统" and latest.title == "修改档案"
    # Run again the same day: nothing more.
    assert children_age_out(on=BIRTHDAY) == 0


def test_born_on_29_february_closes_on_1_march(director_a):
    with at("2026-02-01"):
        child = make_child(director_a, name="闰日", birth_date=date(2008, 2, 29))
    assert children_age_out(on=date(2026, 2, 28)) == 0
    assert children_age_out(on=date(2026, 3, 1)) == 1
    assert refreshed(child).closed_on == date(2026, 3, 1)


def test_a_missed_day_is_caught_up(director_a):
    with at("2026-11-23"):
        child = make_child(director_a, name="漏跑", birth_date=BIRTH)
    # The job did not run from the birthday on: the next run closes the file, dated the birthday.
    assert children_age_out(on=date(2026, 12, 5)) == 1
    assert refreshed(child).closed_on == BIRTHDAY


def test_closing_ends_the_benefits_through_the_outbox(director_a, supervisor, civil_affairs):
    with at("2026-11-23"):
        child = _enrolled_orphan(director_a, supervisor, civil_affairs)
        outbox.run_inline()
    assert children_age_out(on=BIRTHDAY) == 1
    (message,) = OutboxMessage.objects.filter(task="benefits.child_closed", sent_at__isnull=True)
    assert message.args == [str(child.pk), "turned_18", "2026-12-01", None]
    with at("2026-12-01", "01:46"):
        assert outbox.run_inline() == 1
    enrolment = Enrolment.objects.get(child=child)
    assert (enrolment.exit_reason, enrolment.end_month, enrolment.ended_on) == (
        "turned_18",
        date(2026, 12, 1),
        BIRTHDAY,
    )


def test_full_time_education_keeps_the_file_open_until_it_ends(
    director_a, supervisor, civil_affairs
):
    with at("2026-11-23"):
        child = _enrolled_orphan(director_a, supervisor, civil_affairs)
        education_record_add(user=director_a, child=child, year=2026, school="泾县中学")
    assert refreshed(child).education_continues_until == date(2026, 12, 31)
    assert children_age_out(on=BIRTHDAY) == 0
    assert children_age_out(on=date(2026, 12, 31)) == 0
    assert refreshed(child).status == "active"
    # The education recorded ends with 2026: the first run of 2027 closes the file.
    assert children_age_out(on=date(2027, 1, 1)) == 1
    closed = refreshed(child)
    assert (closed.closed_reason, closed.closed_on) == ("turned_18", date(2027, 1, 1))
    with at("2027-01-01", "01:46"):
        outbox.run_inline()
    enrolment = Enrolment.objects.get(child=child)
    assert (enrolment.exit_reason, enrolment.end_month) == ("turned_18", date(2027, 1, 1))
    assert refreshed(child).education_continues_until == date(2026, 12, 31)


def test_education_without_an_open_benefit_keeps_nothing_open(director_a):
    with at("2026-11-23"):
        child = make_child(director_a, name="无补贴", birth_date=BIRTH)
        education_record_add(user=director_a, child=child, year=2026, school="泾县中学")
    assert refreshed(child).education_continues_until is None
    assert children_age_out(on=BIRTHDAY) == 1


def test_a_benefit_that_ends_early_lets_the_next_run_close_the_file(
    director_a, supervisor, civil_affairs
):
    with at("2026-11-23"):
        child = _enrolled_orphan(director_a, supervisor, civil_affairs)
        education_record_add(user=director_a, child=child, year=2026, school="泾县中学")
    assert children_age_out(on=BIRTHDAY) == 0
    with at("2026-12-10"):
        enrolment_end(
            user=civil_affairs, enrolment=Enrolment.objects.get(child=child), reason="adopted"
        )
    # Education continued with a benefit until the day it ended.
    assert refreshed(child).education_continues_until == date(2026, 12, 10)
    assert children_age_out(on=date(2026, 12, 10)) == 0
    # A run days later closes the file as of the day after the benefit ended.
    assert children_age_out(on=date(2026, 12, 15)) == 1
    assert refreshed(child).closed_on == date(2026, 12, 11)


# --- Transition review (孤儿成年后安置) ----------------------------------------------------------


def test_transition_review_30_days_before_for_an_orphan_only(director_a, civil_affairs):
    with at("2026-11-23"):
        orphan = make_orphan(
            director_a, name="孤儿", birth_date=date(2008, 12, 31), categories=["orphan"]
        )
        confirm_categories(orphan, civil_affairs)
        # Not an orphan nor de facto unsupported (a left-behind child is under 16 by definition,
        # so a child about to turn 18 is never one).
        make_child(
            director_a, name="单亲", birth_date=date(2008, 12, 31), categories=["single_parent"]
        )
    reviews = Notification.objects.filter(kind="transition_review")
    with at("2026-11-30", "08:00"):
        reminders_sweep()
    assert not reviews.exists()
    with at("2026-12-01", "08:00"):
        reminders_sweep()
    (review,) = reviews
    assert (review.recipient, review.child_id, review.due_date) == (
        civil_affairs,
        orphan.pk,
        date(2026, 12, 1),
    )
    assert review.detail == "2026-12-31 年满18周岁"
    with at("2026-12-02", "08:00"):
        assert reminders_sweep().created["transition_review:civil_affairs"] == 0


def test_a_missed_transition_review_is_caught_up(director_a, civil_affairs):
    with at("2026-11-23"):
        unsupported = make_child(
            director_a,
            name="无人抚养",
            birth_date=date(2008, 12, 20),
            categories=["de_facto_unsupported"],
        )
        confirm_categories(unsupported, civil_affairs)
    with at("2026-12-15", "08:00"):  # due 2026-11-20: the sweep still finds it
        reminders_sweep()
    assert Notification.objects.get(kind="transition_review").due_date == date(2026, 11, 20)


# --- Counted: children under 18 only -----------------------------------------------------------


def test_a_file_kept_open_past_18_is_not_counted_nor_reminded(
    director_a, supervisor, civil_affairs
):
    with at("2026-11-23"):
        adult = _enrolled_orphan(director_a, supervisor, civil_affairs)
        education_record_add(user=director_a, child=adult, year=2026, school="泾县中学")
        make_child(director_a, name="小妹", birth_date=date(2016, 3, 8))
    # Both are due a home visit on 2026-12-07 (14 days after registration).
    with at("2026-12-10", "08:00"):
        assert children_age_out() == 0  # kept open for education
        reminders_sweep()
        village_stats_refresh()
        counts = indicators_for_area(director_a.area, with_rows=False).total.counts
        worklist = worklist_counts(user=director_a, today=date(2026, 12, 10))
        listed = child_list_for_user(
            user=director_a, filters=ChildFilters(area=VILLAGE_1, under_18=True)
        )
        everyone = child_list_for_user(user=director_a, filters=ChildFilters(area=VILLAGE_1))
    overdue = Notification.objects.filter(kind__in=("visit_overdue", "visit_due_soon"))
    assert [n.child.name for n in overdue] == ["小妹"]
    assert counts["children_total"] == 1 and counts["home_visits_overdue"] == 1
    assert counts["category_orphan"] == 0
    assert worklist["overdue"] == 1
    assert [c.name for c in listed] == ["小妹"]  # the drill-down list behind the number
    assert sorted(c.name for c in everyone) == ["孤儿", "小妹"]  # the file is still open


# --- run_daily ---------------------------------------------------------------------------------

JOBS = [
    "00:30 accounts.audit_partitions",
    "01:30 children.refresh_derived",
    "01:35 children.expire_agreements",
    "01:45 children.age_out",
    "02:00 benefits.monthly_entitlements",
    "03:00 dashboards.prune_exports",
    "08:00 reminders.send_reminders",
]


def run_daily(day: str) -> list[tuple[str, int]]:
    out = StringIO()
    call_command("run_daily", "--date", day, stdout=out)
    lines = out.getvalue().splitlines()
    jobs = [line.rsplit(": ", 1) for line in lines[:-1]]
    return [(job, int(count)) for job, count in jobs]


def test_run_daily_runs_every_daily_job_in_beats_order_once(director_a, civil_affairs):
    with at("2026-11-23"):
        child = make_orphan(director_a, name="满十八", birth_date=BIRTH, categories=["orphan"])
        make_child(director_a, name="小妹", birth_date=date(2016, 3, 8))
    with at("2026-12-01", "09:00"):
        first = run_daily("2026-12-01")
        assert [job for job, _count in first] == JOBS
        counts = dict(first)
        assert counts["01:45 children.age_out"] == 1
        assert counts["08:00 reminders.send_reminders"] >= 1  # 小妹's visit is due soon
        notifications = Notification.objects.count()
        assert refreshed(child).closed_on == BIRTHDAY
        # Idempotent: a second run closes, writes and reminds nothing more.
        second = run_daily("2026-12-01")
    assert [job for job, _count in second] == JOBS
    assert all(count == 0 for _job, count in second)
    assert Notification.objects.count() == notifications
    assert Child.objects.filter(status="closed").count() == 1


def test_daily_tasks_accept_a_date_and_only_todays_run_is_recorded(director_a):
    from accounts.models import ScheduledRun

    with at("2026-12-01", "09:00"):
        call_command("run_daily", "--date", "2026-11-30", stdout=StringIO())
        assert not ScheduledRun.objects.exists()  # another day's run does not stop the catch-up
        call_command("run_daily", stdout=StringIO())
    assert sorted(ScheduledRun.objects.values_list("task", flat=True)) == sorted(
        job.split()[1] for job in JOBS
    )


def test_education_recorded_after_the_file_closed_at_18_reopens_it(
    director_a, supervisor, civil_affairs
):
    with at("2026-11-23"):
        child = _enrolled_orphan(director_a, supervisor, civil_affairs)
    assert children_age_out(on=BIRTHDAY) == 1
    with at("2026-12-01", "01:46"):
        outbox.run_inline()
    assert Enrolment.objects.get(child=child).exit_reason == "turned_18"
    # A week later the director learns the child is in full-time education this year.
    with at("2026-12-08"):
        education_record_add(user=director_a, child=child, year=2026, school="泾县中学")
    reopened = refreshed(child)
    assert reopened.status == "active" and reopened.reopened_on == date(2026, 12, 8)
    assert "全日制教育" in reopened.reopen_reason
    assert reopened.education_continues_until == date(2026, 12, 31)
    assert Enrolment.objects.get(child=child).end_month is None
    assert children_age_out(on=date(2026, 12, 31)) == 0
    assert children_age_out(on=date(2027, 1, 1)) == 1
    # A file closed for another reason stays closed.
    from children.services import child_close

    with at("2026-11-23"):
        other = make_child(director_a, name="另一个", birth_date=BIRTH)
    with at("2026-11-24"):
        child_close(user=director_a, child=other, reason="parents_returned")
        education_record_add(user=director_a, child=other, year=2026, school="泾县中学")
    assert refreshed(other).status == "closed"
