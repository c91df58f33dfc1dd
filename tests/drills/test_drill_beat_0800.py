"""Drill: Celery beat stopped across 08:00 (Asia/Shanghai) and started again.

Real ``celery beat`` processes with a faked wall clock (tests/drills/fakeclock.py: time-machine,
started at the given instant and ticking at the real rate) and one schedule file, and a real worker:

1. beat runs "today 07:59:00–07:59:08": the reminder sweep is not sent; beat is stopped (SIGTERM);
2. beat starts again "today 08:30" from the same schedule file: the missed 08:00 sweep is sent
   once, the worker runs it, and while beat keeps running it is not sent again;
3. the manual ``send_reminders`` after it creates nothing: each notification exists once, and the
   count is what one sweep creates on an untouched copy of the data;
4. beat started "today 08:45" from the same file sends nothing more.

And with the schedule file LOST (a container recreated: docker-compose.yml keeps it in /tmp), beat
back at 08:30 treats every entry as new and waits for tomorrow's 08:00: the day's sweep is missed
by beat alone. The outbox relay (``manage.py outbox_relay``, on the same faked clock) queues it once
the grace after 08:00 has passed; the drill checks that the day's reminders are then created once.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest

from .harness import BASE_DIR, log, notification_counts, reference_sweep, summary

pytestmark = pytest.mark.drill

SHANGHAI = ZoneInfo("Asia/Shanghai")
SENT = r"Sending due task reminders-send-reminders \(reminders\.send_reminders\)"
DONE = r"Task reminders\.send_reminders\[[^\]]+\] succeeded in [\d.]+s: (\d+)"


def at(hour: int, minute: int) -> str:
    """Today (Asia/Shanghai) at hour:minute, ISO 8601 with offset, for fakeclock.py."""
    day = datetime.now(SHANGHAI).date()
    return datetime.combine(day, clock(hour, minute), tzinfo=SHANGHAI).isoformat()


def test_beat_stopped_across_0800(drill_stack, drill_services, tmp_path):
    stack = drill_stack
    started = time.monotonic()

    expected = reference_sweep(drill_services)
    schedule = tmp_path / "celerybeat-schedule"
    worker = stack.worker(concurrency=1)
    conn = drill_services.connect(stack.database, autocommit=True)
    try:
        # 1. Up at 07:59: nothing to send yet. Stopped before 08:00.
        beat = stack.beat(schedule, fake_start=at(7, 59), name="beat-0759")
        time.sleep(8)
        sent_before = len(re.findall(SENT, beat.output()))
        beat.stop()
        assert sent_before == 0, beat.tail()
        assert notification_counts(conn) == (0, 0)
        log("beat up 07:59:00–07:59:08, stopped: sweep not sent, 0 notifications")

        # 2. Back at 08:30 with the same schedule file: the 08:00 sweep is sent once.
        beat = stack.beat(schedule, fake_start=at(8, 30), name="beat-0830")
        beat.wait_output(SENT, timeout=30)
        created = int(worker.wait_output(DONE, timeout=60)[0])
        time.sleep(10)  # beat keeps ticking: no second send
        sent_after = len(re.findall(SENT, beat.output()))
        beat.stop()
        stored, distinct = notification_counts(conn)
        log(f"beat restarted 08:30: sent {sent_after}x, the sweep created {created}")
        assert sent_after == 1, beat.tail()
        assert created == stored == distinct == expected

        # 3. The manual command the same day creates nothing more.
        manual = stack.send_reminders()
        assert manual == 0 and notification_counts(conn) == (expected, expected)

        # 4. Another restart later that morning, same file: nothing more is sent.
        beat = stack.beat(schedule, fake_start=at(8, 45), name="beat-0845")
        time.sleep(8)
        sent_again = len(re.findall(SENT, beat.output()))
        beat.stop()
        assert sent_again == 0, beat.tail()
        assert len(re.findall(DONE, worker.output())) == 1

    finally:
        conn.close()
    summary(
        "beat_0800",
        expected=expected,
        sent_0759=sent_before,
        sent_0830=sent_after,
        created=created,
        stored=stored,
        distinct=distinct,
        manual_rerun_created=manual,
        sent_0845=sent_again,
        seconds=f"{time.monotonic() - started:.1f}",
    )


def test_beat_schedule_file_lost(drill_stack, drill_services, tmp_path):
    stack = drill_stack
    started = time.monotonic()
    expected = reference_sweep(drill_services)
    worker = stack.worker(concurrency=1)
    conn = drill_services.connect(stack.database, autocommit=True)
    relay = None
    try:
        beat = stack.beat(tmp_path / "new-schedule", fake_start=at(8, 30), name="beat-new-file")
        time.sleep(10)
        beat_sent = len(re.findall(SENT, beat.output()))
        if not beat_sent:
            log("FINDING: schedule file lost, beat back at 08:30: beat does not send today's sweep")
        has_relay = (BASE_DIR / "accounts/management/commands/outbox_relay.py").exists()
        created = 0
        if has_relay:
            relay = stack.relay(fake_start=at(8, 30))
            created = int(worker.wait_output(DONE, timeout=90)[0])
            time.sleep(5)  # beat and relay keep running: nothing is sent again
            caught_up = "reminders.send_reminders" in relay.output()
            log(f"outbox relay at 08:30: caught up={caught_up}, the sweep created {created}")
        runs = len(re.findall(DONE, worker.output()))
        stored, distinct = notification_counts(conn)
        beat.stop()
        manual = stack.send_reminders()
    finally:
        if relay is not None:
            relay.stop()
        conn.close()
    if has_relay:
        assert stored == distinct == expected, (stored, distinct, expected)
        assert manual == 0 and runs == 1
    summary(
        "beat_schedule_file_lost",
        expected=expected,
        beat_sent=beat_sent,
        relay=has_relay,
        sweep_runs=runs,
        created=created,
        stored=stored,
        distinct=distinct,
        manual_rerun_created=manual,
        seconds=f"{time.monotonic() - started:.1f}",
    )
