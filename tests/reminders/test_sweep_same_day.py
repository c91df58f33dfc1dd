"""Issue 20, point 2: a second sweep of the same day reads only the files written since the last
run began (by the rows' transaction ids), the staff and policies unchanged; anything else is a
full run. Either way the open reminders are afterwards exactly what every rule selects."""

from __future__ import annotations

import re
from datetime import date, timedelta

import psycopg
import pytest
import time_machine
from django.db import connection

from accounts.models import AreaPolicy, Role, User
from children.models import Child
from reminders import services
from reminders.models import Notification, SweepRun
from reminders.services import reminders_sweep, sweep_rules
from visits.models import Visit

from ..conftest import COUNTY_A, VILLAGE_1
from ..factories import UserFactory, make_child

DAY = date(2027, 1, 10)


def sweep_at(day: date, hour: int = 8):
    with time_machine.travel(f"{day.isoformat()} {hour:02d}:00 +0800", tick=False):
        return reminders_sweep()


def what_the_rules_select(day: date, hour: int) -> set[tuple]:
    """Every reminder the rules select at that moment, as the oracle: (rule, recipient, child,
    report, due date)."""
    with time_machine.travel(f"{day.isoformat()} {hour:02d}:00 +0800", tick=False):
        params = services._params(None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rule, uid, cid, rid, due FROM ({services._current_sql(sweep_rules())}) "
            "AS k(rule, kind, uid, cid, rid, due, detail)",
            params,
        )
        return set(cursor.fetchall())


def open_reminders() -> set[tuple]:
    return set(
        Notification.objects.filter(resolved_at__isnull=True).values_list(
            "rule", "recipient_id", "child_id", "report_id", "due_date"
        )
    )


def files(director, count: int) -> list[Child]:
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        return [make_child(director, name=f"儿童{i}") for i in range(count)]


def changed_behind_the_services_back(children: list[Child], day: date) -> None:
    """Writes no service makes, so no case_changed refresh follows: an update of one file, a
    bulk update of two, a raw UPDATE, a visit and a file closed."""
    Child.objects.filter(pk=children[0].pk).update(next_home_visit_due=day + timedelta(days=3))
    Child.objects.filter(pk__in=[children[1].pk, children[2].pk]).update(
        next_contact_due=day - timedelta(days=40)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE children_child SET next_assessment_due = %s WHERE id = %s",
            [day, children[3].pk],
        )
    Visit.objects.create(
        child=children[4],
        visitor=User.objects.get(username="director_a"),
        visitor_role=Role.DIRECTOR,
        kind="phone",
        visited_on=day - timedelta(days=2),
        follow_up_on=day - timedelta(days=1),
        follow_up_note="复查",
    )
    Child.objects.filter(pk=children[5].pk).update(status="closed", closed_on=day)


@pytest.fixture
def older_transaction_open(db):
    """Another connection's transaction, begun before the files are written and open across
    the first run (as another worker's, or a long export's): the run's snapshot's oldest running
    transaction is older than every file, which it still saw."""
    other = psycopg.connect(**connection.get_connection_params())
    other.execute("SELECT pg_current_xact_id()")
    yield
    other.rollback()
    other.close()


@pytest.mark.django_db(transaction=True)
def test_a_second_run_of_the_day_reads_only_what_was_written_since_and_misses_nothing(
    areas, director_a, supervisor, civil_affairs, older_transaction_open
):
    children = files(director_a, 8)
    first = sweep_at(DAY)
    assert first.changed_children is None  # the first of its day reads everything
    assert first.total > 0 and open_reminders() == what_the_rules_select(DAY, 8)

    # Nothing written: the second run reads no file again and changes nothing.
    again = sweep_at(DAY, 9)
    assert (again.changed_children, again.total, again.resolved) == (0, 0, 0)

    changed_behind_the_services_back(children, DAY)
    before = open_reminders()
    later = sweep_at(DAY, 10)
    assert later.changed_children == 6  # the six files written, not the other two
    assert open_reminders() == what_the_rules_select(DAY, 10)
    assert open_reminders() != before  # raised and resolved both
    assert later.total > 0 and later.resolved > 0
    assert [(r.on, r.full, r.changed_children) for r in SweepRun.objects.order_by("id")] == [
        (DAY, True, None),
        (DAY, False, 0),
        (DAY, False, 6),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_staff_or_a_policy_changed_or_another_day_the_run_reads_everything(
    areas, director_a, supervisor, civil_affairs
):
    files(director_a, 3)
    sweep_at(DAY)
    # A second director in the village: every rule is read again, and she has her reminders.
    second = UserFactory(username="director_a2", role=Role.DIRECTOR, area=areas[VILLAGE_1])
    run = sweep_at(DAY, 9)
    assert run.changed_children is None and run.total > 0
    assert Notification.objects.filter(recipient=second, resolved_at__isnull=True).exists()
    assert open_reminders() == what_the_rules_select(DAY, 9)
    # Deactivated again: her reminders are answered by a full run.
    User.objects.filter(pk=second.pk).update(is_active=False)
    assert sweep_at(DAY, 10).changed_children is None
    assert not Notification.objects.filter(recipient=second, resolved_at__isnull=True).exists()
    # A county's escalation policy: everything again.
    AreaPolicy.objects.create(area_id=COUNTY_A, escalate_supervisor_days=3)
    assert sweep_at(DAY, 11).changed_children is None
    assert open_reminders() == what_the_rules_select(DAY, 11)
    # Nothing changed: the same day reads no file; the next day reads everything.
    assert sweep_at(DAY, 12).changed_children == 0
    assert sweep_at(DAY + timedelta(days=1)).changed_children is None
    assert open_reminders() == what_the_rules_select(DAY + timedelta(days=1), 8)
    # A run for an earlier day (send_reminders --date) reads everything too.
    assert sweep_at(DAY - timedelta(days=1)).changed_children is None


@pytest.mark.django_db(transaction=True)
def test_more_changed_files_than_a_partial_run_reads_make_a_full_run(
    areas, director_a, supervisor, monkeypatch
):
    children = files(director_a, 8)
    sweep_at(DAY)
    monkeypatch.setattr(services, "SAME_DAY_MAX_CHILDREN", 5)
    changed_behind_the_services_back(children, DAY)
    run = sweep_at(DAY, 10)
    assert run.changed_children is None
    assert open_reminders() == what_the_rules_select(DAY, 10)


@pytest.mark.django_db
def test_inside_one_transaction_every_row_of_it_counts_as_changed(frozen, director_a, supervisor):
    """A sweep that shares a transaction with the writes (as a test does) reads them all again:
    the rows' transaction is never older than the last run's snapshot."""
    children = files(director_a, 8)
    sweep_at(DAY)
    changed_behind_the_services_back(children, DAY)
    run = sweep_at(DAY, 10)
    assert run.changed_children == 8
    assert open_reminders() == what_the_rules_select(DAY, 10)


def test_the_changed_files_are_read_from_every_table_the_rules_read_about_a_child():
    """A by_child rule reading a table the partial run does not look at would miss a change to
    it on the same day: every table it names is a file's (_CHILD_ROWS) or the basis's."""
    named = set()
    for rule in sweep_rules():
        if rule.by_child:
            named |= set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", rule.select))
    assert named
    assert named <= set(services._CHILD_ROWS) | set(services._BASIS_TABLES), named
