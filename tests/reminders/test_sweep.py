"""The reminder sweep (domain §4) at its boundaries, idempotent, concurrent, through Celery."""

import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AreaPolicy
from children.models import Child
from reminders.models import Notification
from reminders.services import reminders_sweep
from visits.services import visit_record

from ..conftest import COUNTY_A, TOWNSHIP_1
from ..factories import make_child

pytestmark = pytest.mark.django_db

DUE = date(2026, 12, 7)  # the child in conftest is registered 2026-11-23: due 14 days later


def kinds(user=None):
    queryset = Notification.objects.all()
    if user is not None:
        queryset = queryset.filter(recipient=user)
    return sorted(
        (n.recipient.username, n.kind, n.due_date) for n in queryset.select_related("recipient")
    )


def sweep_on(day: date):
    with time_machine.travel(f"{day.isoformat()} 08:00 +0800", tick=False):
        return reminders_sweep()


def test_due_soon_window(child, director_a):
    assert sweep_on(DUE - timedelta(days=8)).total == 0
    sweep_on(DUE - timedelta(days=7))
    assert kinds() == [("director_a", "visit_due_soon", DUE)]


def test_overdue_the_day_after_not_on_the_due_day(child, director_a):
    sweep_on(DUE)
    assert [k for k in kinds() if k[1] == "visit_overdue"] == []
    sweep_on(DUE + timedelta(days=1))
    assert ("director_a", "visit_overdue", DUE) in kinds()


def test_escalation_after_14_and_30_days(
    child, director_a, supervisor, other_supervisor, civil_affairs
):
    sweep_on(DUE + timedelta(days=14))
    assert [k for k in kinds() if k[1] == "escalation"] == []
    sweep_on(DUE + timedelta(days=15))
    assert [k for k in kinds() if k[1] == "escalation"] == [("supervisor", "escalation", DUE)]
    sweep_on(DUE + timedelta(days=30))
    assert ("civil_affairs", "escalation", DUE) not in kinds()
    sweep_on(DUE + timedelta(days=31))
    assert ("civil_affairs", "escalation", DUE) in kinds()
    # Only the child's own township supervisor and county: never the other township's.
    assert not Notification.objects.filter(recipient=other_supervisor).exists()


def test_idempotent_same_day_next_day_and_missed_days(child, director_a, supervisor):
    first = sweep_on(DUE + timedelta(days=20))  # the sweep did not run for 20 days: caught up
    assert first.total == 2  # overdue to the director, escalation to the supervisor
    assert sweep_on(DUE + timedelta(days=20)).total == 0
    assert sweep_on(DUE + timedelta(days=21)).total == 0
    assert Notification.objects.count() == 2


def test_recording_a_visit_starts_a_new_cycle(child, director_a, frozen):
    frozen.move_to("2026-12-09 10:00 +0800")
    reminders_sweep()
    assert [k[1] for k in kinds()] == ["visit_overdue"]
    visit_record(user=director_a, child=child, visited_on=date(2026, 12, 9), kind="home")
    child.refresh_from_db()
    assert child.next_home_visit_due == date(2027, 3, 9)
    assert reminders_sweep().total == 0
    frozen.move_to("2027-03-02 10:00 +0800")
    reminders_sweep()
    assert ("director_a", "visit_due_soon", date(2027, 3, 9)) in kinds()


def test_closed_files_get_no_reminders(child, director_a):
    Child.objects.filter(pk=child.pk).update(status="closed", closed_on=date(2026, 11, 24))
    assert sweep_on(DUE + timedelta(days=40)).total == 0


def test_area_policy_changes_escalation(child, director_a, supervisor):
    AreaPolicy.objects.create(area_id=COUNTY_A, escalate_supervisor_days=3)
    sweep_on(DUE + timedelta(days=3))
    assert [k for k in kinds() if k[1] == "escalation"] == []
    sweep_on(DUE + timedelta(days=4))
    assert ("supervisor", "escalation", DUE) in kinds()


def test_area_policy_changes_intervals(frozen, director_a):
    AreaPolicy.objects.create(area_id=TOWNSHIP_1, home_days_low=60, never_visited_days=7)
    child = make_child(director_a)
    assert child.next_home_visit_due == date(2026, 11, 30)
    visit_record(user=director_a, child=child, visited_on=date(2026, 11, 23), kind="home")
    child.refresh_from_db()
    assert child.next_home_visit_due == date(2027, 1, 22) and child.home_visit_interval_days == 60


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_in_parallel_create_each_reminder_once(areas, director_a, supervisor):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for i in range(40):
            make_child(director_a, name=f"儿童{i}")
    errors = []

    def run():
        try:
            with time_machine.travel("2027-01-10 08:00 +0800", tick=False):
                reminders_sweep()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Notification.objects.filter(kind="visit_overdue").count() == 40
    assert Notification.objects.filter(kind="escalation").count() == 40


def test_command_with_date(child, director_a, capsys):
    from django.core.management import call_command

    call_command("send_reminders", "--date", "2026-12-08")
    assert "1 new reminders" in capsys.readouterr().out
    call_command("send_reminders", "--date", "2026-12-08")
    assert "0 new reminders" in capsys.readouterr().out


# The digest (channels, grouping, failures and retries): tests/reminders/test_delivery.py.


@pytest.mark.django_db(transaction=True)
def test_beat_task_round_trip_through_a_real_celery_worker(areas, director_a):
    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app
    from reminders.tasks import send_reminders

    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        make_child(director_a, name="查小雨")
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        created = send_reminders.delay("2026-12-08").get(timeout=30)
        again = send_reminders.delay("2026-12-08").get(timeout=30)
    assert (created, again) == (1, 0)
    assert Notification.objects.get().kind == "visit_overdue"


def test_answered_reminders_are_pruned_after_the_retention_and_open_ones_never(
    child, director_a, settings
):
    """Issue 20: the table keeps what is due, not every reminder ever raised. A reminder answered
    more than REMINDER_RETENTION_DAYS ago goes at the next sweep; one answered a day later stays,
    and an open one stays however old."""
    settings.REMINDER_RETENTION_DAYS = 400
    sweep_on(DUE + timedelta(days=1))  # overdue since DUE
    overdue = Notification.objects.get(kind="visit_overdue")
    answered = Notification.objects.create(
        recipient=director_a,
        kind="visit_overdue",
        rule="visit_overdue",
        child=child,
        due_date=date(2025, 1, 1),
        created_on=date(2025, 1, 2),
    )
    swept_at = "2026-12-09 08:00 +0800"
    with time_machine.travel(swept_at, tick=False):
        from django.utils import timezone

        now = timezone.now()
    Notification.objects.filter(pk=answered.pk).update(resolved_at=now - timedelta(days=399))
    assert sweep_on(date(2026, 12, 9)).pruned == 0
    Notification.objects.filter(pk=answered.pk).update(
        resolved_at=now - timedelta(days=400, seconds=1)
    )
    assert sweep_on(date(2026, 12, 9)).pruned == 1
    assert not Notification.objects.filter(pk=answered.pk).exists()
    overdue.refresh_from_db()
    assert overdue.resolved_at is None  # open since 2026-12-08, never pruned


def test_a_reminder_no_rule_raises_any_more_is_resolved_and_the_rest_left_alone(child, director_a):
    """A reminder of a rule that was renamed or removed (or of before rules had names) is no
    longer selected by any rule: the sweep's one full join resolves it, leaves the reminders
    still selected open, and raises nothing twice."""
    sweep_on(DUE + timedelta(days=1))
    kept = Notification.objects.get(kind="visit_overdue")
    stale = Notification.objects.create(
        recipient=director_a,
        kind="visit_overdue",
        rule="",
        child=child,
        due_date=DUE,
        created_on=DUE,
    )
    result = sweep_on(DUE + timedelta(days=2))
    assert (result.total, result.resolved) == (0, 1)
    stale.refresh_from_db()
    kept.refresh_from_db()
    assert stale.resolved_at is not None and kept.resolved_at is None
    assert Notification.objects.filter(kind="visit_overdue", rule="visit_overdue").count() == 1


def table_definition() -> list[tuple[str, str]]:
    """visits_notification's indexes and constraints as PostgreSQL prints them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'visits_notification'
            UNION ALL
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = 'visits_notification'::regclass
            ORDER BY 1, 2
            """
        )
        return cursor.fetchall()


def rebuilt(queries: CaptureQueriesContext) -> bool:
    """Whether the sweep dropped the unique key (and so took the bulk path)."""
    return any("DROP CONSTRAINT" in q["sql"] and "notification_once" in q["sql"] for q in queries)


def stored_keys() -> list[tuple]:
    return sorted(
        Notification.objects.values_list(
            "rule", "kind", "recipient_id", "child_id", "report_id", "due_date", "detail"
        )
    )


def test_the_first_sweep_fills_the_empty_table_in_bulk_as_the_daily_one_would(
    areas, director_a, supervisor, civil_affairs
):
    """Issue 20: on an empty table (a new installation, the first morning after an import) the
    sweep drops the unique key and indexes, inserts everything at once and builds them again.
    The table ends with the same definitions, the same reminders as the daily path creates, and
    the unique key still refuses a second copy."""
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for i in range(5):
            make_child(director_a, name=f"儿童{i}")
    Notification.objects.all().delete()  # registering raised reminders at once
    definition = table_definition()
    assert any(name == "notification_once" for name, _ in definition)

    with CaptureQueriesContext(connection) as bulk_queries:
        first = sweep_on(date(2027, 1, 10))  # overdue, and escalated to the supervisor
    assert rebuilt(bulk_queries)
    # The primary key too (issue 20: 2–4 s of a first run at a million children), and it is back
    # as it was (the definitions below name it).
    assert any(
        "DROP CONSTRAINT" in q["sql"] and "visits_notification_pkey" in q["sql"]
        for q in bulk_queries
    )
    assert ("visits_notification_pkey", "PRIMARY KEY (id)") in definition
    assert first.created["visit_overdue:director"] == first.created["escalation:supervisor"] == 5
    assert table_definition() == definition
    bulk = stored_keys()
    assert sweep_on(date(2027, 1, 10)).total == 0

    # The daily path on the same data (a table with one unrelated row is not empty).
    Notification.objects.all().delete()
    Notification.objects.create(
        recipient=civil_affairs, kind="report_filed", rule="", created_on=date(2026, 1, 1)
    )
    with CaptureQueriesContext(connection) as daily_queries:
        daily = sweep_on(date(2027, 1, 10))
    assert not rebuilt(daily_queries)
    assert daily.created == first.created
    assert [k for k in stored_keys() if k[0]] == bulk

    # The constraint is back: a copy of a reminder is refused.
    from django.db import IntegrityError, transaction

    copy = Notification.objects.filter(kind="visit_overdue").first()
    copy.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


def test_the_first_sweep_leaves_statistics_for_the_plans_that_follow(areas, director_a):
    """The bulk path ends with ANALYZE, in its transaction. Without it the table had none
    until autovacuum's (after the commit, within a minute), and a visit's reminder refresh
    (core.prepared: a generic plan, made once per connection) was planned without them: at
    1,000,000 children 80 ms a visit instead of 2, scanning the new reminders (make bench)."""
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for i in range(3):
            make_child(director_a, name=f"儿童{i}")
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        first = sweep_on(date(2027, 1, 10))
    assert rebuilt(queries) and first.total
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, (SELECT count(*) FROM pg_stats WHERE tablename = relname) "
            "FROM pg_class WHERE relname = 'visits_notification'"
        )
        tuples, columns = cursor.fetchone()
    assert tuples == Notification.objects.count() and columns > 0


def test_the_first_sweep_numbers_its_reminders_as_the_daily_one_would(
    areas, director_a, supervisor, civil_affairs
):
    """Issue 20: the bulk path takes its ids from one call of the sequence, in the unique key's
    order, and moves the sequence on past them: the same ids, in the same order, as the daily
    path's one nextval a row, and the next reminder takes the next id (no clash with the primary
    key)."""
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for i in range(5):
            make_child(director_a, name=f"儿童{i}")

    def numbered() -> list[tuple]:
        rows = Notification.objects.order_by("pk").values_list(
            "pk", "rule", "kind", "recipient_id", "child_id", "due_date"
        )
        first = rows[0][0]
        return [(pk - first, *key) for pk, *key in rows]

    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as bulk_queries:
        first = sweep_on(date(2027, 1, 10))
    assert rebuilt(bulk_queries)
    bulk = numbered()
    # Overdue, escalated to the supervisor and to the county: 15 ids in a row.
    assert [n for n, *_ in bulk] == list(range(first.total)) == list(range(15))
    last = Notification.objects.order_by("pk").last().pk
    later = Notification.objects.create(
        recipient=civil_affairs, kind="report_filed", rule="", created_on=date(2027, 1, 10)
    )
    assert later.pk == last + 1

    # The daily path (a table with one unrelated row is not empty): one nextval a row, in the
    # unique key's order.
    Notification.objects.exclude(pk=later.pk).delete()
    with CaptureQueriesContext(connection) as daily_queries:
        daily = sweep_on(date(2027, 1, 10))
    assert not rebuilt(daily_queries)
    assert daily.created == first.created
    later.delete()
    assert numbered() == bulk
