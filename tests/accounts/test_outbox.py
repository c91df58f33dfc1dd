"""The transactional outbox: tasks queued with their change, relayed to Celery, never lost."""

import threading
from datetime import date, time

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction

from accounts import outbox
from accounts.models import OutboxMessage, ScheduledRun
from reminders.models import Notification

from ..factories import make_child

pytestmark = pytest.mark.django_db


def test_a_task_is_queued_only_if_its_change_commits():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("accounts.ping")
        raise RuntimeError("the change failed")
    assert outbox.pending_count() == 0
    with transaction.atomic():
        outbox.enqueue("children.recompute_area", "341823000000")
    message = OutboxMessage.objects.get()
    assert (message.task, message.args, message.sent_at) == (
        "children.recompute_area",
        ["341823000000"],
        None,
    )


def test_a_refused_publish_keeps_the_message_and_the_order():
    first = outbox.enqueue("accounts.ping")
    second = outbox.enqueue("accounts.ping")
    sent = []

    def broker_down(message):
        raise ConnectionError("Error 111 connecting to redis")

    result = outbox.relay(publish=broker_down)
    assert result.failed and result.sent == 0 and "ConnectionError" in result.error
    first.refresh_from_db()
    assert first.sent_at is None and first.attempts == 1 and "111" in first.last_error
    assert outbox.pending_count() == 2

    result = outbox.relay(publish=lambda message: sent.append(message.pk))
    assert not result.failed and result.sent == 2 and sent == [first.pk, second.pk]
    assert outbox.pending_count() == 0
    first.refresh_from_db()
    assert first.sent_at is not None and first.attempts == 2 and first.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_relay_through_real_redis_to_a_real_worker():
    from celery.contrib.testing.worker import start_worker
    from celery.result import AsyncResult

    from config.celery_app import app

    message = outbox.enqueue("accounts.ping")
    with (
        time_machine.travel("2026-12-08 00:30 +0800"),  # before any daily task is due
        start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10),
    ):
        call_command("outbox_relay", "--once")
        assert AsyncResult(str(message.task_id), app=app).get(timeout=20) == "pong"
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_message_once():
    for _ in range(200):
        outbox.enqueue("accounts.ping")
    sent: list[int] = []
    lock = threading.Lock()

    def publish(message):
        with lock:
            sent.append(message.pk)

    def run():
        try:
            while outbox.relay(limit=20, publish=publish).sent:
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(sent) == 200 and len(set(sent)) == 200
    assert outbox.pending_count() == 0


def test_sent_messages_are_pruned_after_a_week():
    with time_machine.travel("2026-11-01 10:00 +0800", tick=False):
        outbox.enqueue("accounts.ping")
        outbox.relay(publish=lambda message: None)
    outbox.enqueue("accounts.ping")
    with time_machine.travel("2026-11-09 10:00 +0800", tick=False):
        assert outbox.prune() == 1
    assert OutboxMessage.objects.count() == 1


def test_the_daily_tasks_come_from_the_beat_schedule():
    assert outbox.daily_tasks() == [
        ("accounts.audit_partitions", time(0, 30)),
        ("children.refresh_derived", time(1, 30)),
        ("children.expire_agreements", time(1, 35)),
        ("children.age_out", time(1, 45)),
        ("benefits.monthly_entitlements", time(2, 0)),
        ("dashboards.prune_exports", time(3, 0)),
        ("reminders.send_reminders", time(8, 0)),
    ]  # the 10-minute statistics refresh is not a daily task


def test_a_sweep_beat_missed_is_queued_once_after_the_grace(areas, director_a):
    only_sweep = [("reminders.send_reminders", time(8, 0))]
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        make_child(director_a)
    with time_machine.travel("2026-12-08 08:09 +0800", tick=False):
        assert outbox.catch_up(tasks=only_sweep) == []  # beat may still be on its way
    with time_machine.travel("2026-12-08 08:30 +0800", tick=False):
        assert outbox.catch_up(tasks=only_sweep) == ["reminders.send_reminders"]
        assert outbox.catch_up(tasks=only_sweep) == []
        assert outbox.run_inline() == 2  # the sweep, then the digests it queued
    run = ScheduledRun.objects.get()
    assert (run.task, run.day, run.queued_by) == (
        "reminders.send_reminders",
        date(2026, 12, 8),
        "catch_up",
    )
    assert Notification.objects.filter(kind="visit_overdue").count() == 1


def test_a_sweep_beat_sent_is_not_caught_up(areas, director_a):
    from reminders.tasks import send_reminders

    with time_machine.travel("2026-12-08 08:00 +0800", tick=False):
        send_reminders.apply()
    with time_machine.travel("2026-12-08 09:00 +0800", tick=False):
        assert "reminders.send_reminders" not in outbox.catch_up()
    assert ScheduledRun.objects.get(task="reminders.send_reminders").queued_by == "beat"


def test_relay_inline_command_runs_waiting_tasks(capsys):
    outbox.enqueue("accounts.ping")
    with time_machine.travel("2026-12-08 00:30 +0800", tick=False):  # before any daily task
        call_command("outbox_relay", "--inline")
    assert "ran 1 task(s)" in capsys.readouterr().out
    assert outbox.pending_count() == 0
