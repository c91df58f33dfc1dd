"""The transactional outbox: every task the application queues goes through the database.

``enqueue`` writes the task into ``accounts_outboxmessage`` in the caller's transaction, so it
exists exactly when the change that needs it is committed, and a web request never talks to the
broker: Redis can be down while directors log visits and nothing is lost or slowed. The relay
(``manage.py outbox_relay``, one small process beside the worker) hands waiting tasks to Celery,
woken by PostgreSQL ``NOTIFY`` within milliseconds, and keeps them when the broker is down until it
is back. Delivery is at least once (a relay stopped between publishing and marking re-sends), so
every task sent this way is idempotent.

The relay also catches up the daily periodic tasks: if beat, or the broker, was down when one was
due, the relay queues it once the day's time has passed (``ScheduledRun`` makes that once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxMessage, ScheduledRun

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "shouwang_outbox"
# How long after a daily task's time the relay waits for beat before queueing it itself.
CATCH_UP_GRACE = timedelta(minutes=10)
# Sent messages are kept this long for inspection, then pruned by the relay.
KEEP_SENT = timedelta(days=7)


def enqueue(task: str, *args: object, **kwargs: object) -> OutboxMessage:
    """Queue Celery task ``task`` (its registered name) with JSON arguments.

    Call it inside the transaction of the change the task follows: the task is sent only if that
    change commits. The NOTIFY is delivered by PostgreSQL at commit too.
    """
    message = OutboxMessage.objects.create(task=task, args=list(args), kwargs=kwargs)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return message


def enqueue_many(task: str, calls: Iterable[Sequence[object]]) -> int:
    """``enqueue(task, *args)`` for every ``args`` in ``calls``, in one INSERT (a set-based change
    that needs one task per row, e.g. every file the daily ageing-out job closed)."""
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task, args=list(args), kwargs={}) for args in calls]
    )
    if messages:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return len(messages)


@dataclass
class RelayResult:
    sent: int = 0
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def _publish(message: OutboxMessage) -> None:
    from celery import current_app as app  # config.celery_app, set up with the settings

    # No publish retries: with the broker down the relay keeps the message and tries again later,
    # rather than hanging here.
    app.send_task(
        message.task,
        args=message.args,
        kwargs=message.kwargs,
        task_id=str(message.task_id),
        retry=False,
    )


def relay(limit: int = 500, publish: Callable[[OutboxMessage], None] = _publish) -> RelayResult:
    """Send up to ``limit`` waiting messages in order; stop at the first the broker refuses.

    Rows are locked with SKIP LOCKED, so several relays may run without sending a message twice.
    """
    result = RelayResult()
    with transaction.atomic():
        batch = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True)
            .order_by("id")[:limit]
        )
        sent: list[int] = []
        for message in batch:
            try:
                publish(message)
            except Exception as exc:
                result.error = f"{type(exc).__name__}: {exc}"[:1000]
                OutboxMessage.objects.filter(pk=message.pk).update(
                    attempts=F("attempts") + 1, last_error=result.error
                )
                break
            sent.append(message.pk)
        OutboxMessage.objects.filter(pk__in=sent).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
        )
    result.sent = len(sent)
    return result


def run_inline(limit: int = 500) -> int:
    """Run waiting tasks in this process instead of sending them (tests, and operators with no
    worker: ``outbox_relay --inline``). Returns how many ran."""
    from celery import current_app as app  # config.celery_app, set up with the settings

    app.loader.import_default_modules()  # register every app's tasks (autodiscovery)

    def execute(message: OutboxMessage) -> None:
        app.tasks[message.task].apply(args=message.args, kwargs=message.kwargs, throw=True)

    total = 0
    while True:
        result = relay(limit=limit, publish=execute)
        total += result.sent
        if result.failed:
            raise RuntimeError(result.error)
        if not result.sent:  # a task run here may have queued another: go on until none waits
            return total


def pending_count() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=True).count()


def prune(now: datetime | None = None) -> int:
    """Delete messages sent more than ``KEEP_SENT`` ago."""
    cutoff = (now or timezone.now()) - KEEP_SENT
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


# --- Daily periodic tasks --------------------------------------------------------------------


def daily_tasks(schedule: dict[str, dict] | None = None) -> list[tuple[str, time]]:
    """(task name, local time) of every beat entry that runs once a day at a fixed time."""
    from celery.schedules import crontab

    if schedule is None:
        from celery import current_app

        # config.celery_app declares it (BEAT_SCHEDULE); accounts does not import config.
        schedule = current_app.conf.beat_schedule
    daily = []
    for entry in schedule.values():
        cron = entry["schedule"]
        if not isinstance(cron, crontab) or len(cron.hour) != 1 or len(cron.minute) != 1:
            continue
        if (
            len(cron.day_of_week) != 7
            or len(cron.day_of_month) < 31
            or len(cron.month_of_year) < 12
        ):
            continue
        daily.append((entry["task"], time(next(iter(cron.hour)), next(iter(cron.minute)))))
    return sorted(daily, key=lambda item: item[1])


def mark_run(task: str, queued_by: str = "beat", day: object = None) -> bool:
    """Record that daily ``task`` runs today (local date); False if it was already recorded."""
    day = day or timezone.localdate()
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(task=task, day=day, queued_by=queued_by)
    except IntegrityError:
        return False
    return True


def catch_up(now: datetime | None = None, tasks: Iterable[tuple[str, time]] | None = None) -> list:
    """Queue each daily task whose time (plus the grace) has passed today and that has not run.

    Returns the names queued. Safe to call from several relays at once: one wins per task and day.
    """
    local = timezone.localtime(now or timezone.now())
    queued = []
    for task, at in daily_tasks() if tasks is None else tasks:
        due = timezone.make_aware(datetime.combine(local.date(), at)) + CATCH_UP_GRACE
        if local < due or ScheduledRun.objects.filter(task=task, day=local.date()).exists():
            continue
        with transaction.atomic():
            if mark_run(task, queued_by="catch_up", day=local.date()):
                enqueue(task)
                queued.append(task)
    if queued:
        logger.warning("daily tasks missed by beat, queued now: %s", ", ".join(queued))
    return queued
