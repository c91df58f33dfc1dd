"""Drill: a Celery worker killed with SIGKILL in the middle of the reminder sweep.

The sweep (``reminders.send_reminders``, acks_late, reject_on_worker_lost) is made to stop half-way:
the drill holds ``LOCK TABLE visits_notification IN SHARE ROW EXCLUSIVE MODE`` in its own
connection, so the sweep's first INSERT waits (seen in pg_stat_activity). Then:

1. only the pool process running the task is SIGKILLed; the lock is released. The worker's main
   process rejects the message (requeue) and runs it again in a new pool process;
2. the whole worker (main process and pool) is SIGKILLed, as by the OOM killer or a pulled plug;
   the lock is released and a NEW worker is started. The unacknowledged message comes back after
   the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT=10 for the drill).

Each time the re-run completes, and the notifications are exactly those one ``send_reminders``
creates on an untouched copy of the same database: none missing, none twice.
"""

from __future__ import annotations

import signal
import time

import pytest

from .harness import (
    Stack,
    celery_client,
    log,
    notification_counts,
    reference_sweep,
    summary,
    wait_for,
)

pytestmark = pytest.mark.drill

VISIBILITY_TIMEOUT = 10


def _counts(conn) -> tuple[int, int]:
    return notification_counts(conn)


def _waiting_sweep(conn, database: str) -> list[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        # The INSERT of the daily path, or the first sweep's LOCK TABLE (reminders.services)
        " AND query LIKE '%%visits_notification%%'",
        [database],
    ).fetchall()
    return [row[0] for row in rows]


def _marked_as_run(conn) -> int:
    """Rows of accounts_scheduledrun (the outbox's daily catch-up record) for the sweep, if the
    table exists."""
    (exists,) = conn.execute("SELECT to_regclass('accounts_scheduledrun') IS NOT NULL").fetchone()
    if not exists:
        return 0
    return conn.execute(
        "SELECT count(*) FROM accounts_scheduledrun WHERE task = 'reminders.send_reminders'"
    ).fetchone()[0]


def _backend_gone(conn, pids: list[int]) -> bool:
    (left,) = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids]
    ).fetchone()
    return left == 0


def _stall_sweep(stack: Stack, client, monitor):
    """Hold the lock, send the task, return (lock connection, task id, waiting backend pids)."""
    locker = stack.services.connect(stack.database)
    locker.execute("LOCK TABLE visits_notification IN SHARE ROW EXCLUSIVE MODE")
    task_id = client.send_task("reminders.send_reminders").id
    pids = wait_for(
        lambda: _waiting_sweep(monitor, stack.database),
        timeout=60,
        what="the sweep waiting on the lock",
    )
    log(f"sweep task {task_id} is waiting on the lock (backend pid {pids})")
    return locker, task_id, pids


def test_worker_killed_mid_sweep(drill_stack, drill_services):
    stack = drill_stack
    stack.extra_env["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT)
    started = time.monotonic()

    expected = reference_sweep(drill_services)
    with drill_services.connect(stack.database) as conn:
        assert _counts(conn) == (0, 0)
    client = celery_client(drill_services)
    monitor = drill_services.connect(stack.database, autocommit=True)
    numbers = {"expected": expected}
    try:
        worker = stack.worker(concurrency=1)

        # 1. The pool process dies; the main process requeues the task.
        locker, task_id, pids = _stall_sweep(stack, client, monitor)
        pool = worker.children()
        assert len(pool) == 1, pool
        pool[0].send_signal(signal.SIGKILL)
        worker.wait_output(r"exited with 'signal 9 \(SIGKILL\)'", timeout=30)
        # What the outbox relay's daily catch-up sees at this moment (accounts.ScheduledRun): the
        # killed sweep committed nothing, so the day must not be recorded as run either.
        marked = _marked_as_run(monitor)
        numbers["marked_run_while_uncommitted"] = marked
        assert marked == 0, "today's sweep is recorded as run though nothing was committed"
        locker.rollback()
        locker.close()
        killed_at = time.monotonic()
        done = worker.wait_output(
            rf"Task reminders\.send_reminders\[{task_id}\] succeeded in [\d.]+s: (\d+)", timeout=60
        )
        rerun = time.monotonic() - killed_at
        wait_for(lambda: _backend_gone(monitor, pids), timeout=30, what="the orphan backend")
        total, distinct = _counts(monitor)
        log(f"pool process killed: re-run created {done[0]} after {rerun:.1f} s; {total} stored")
        assert int(done[0]) == expected
        assert total == distinct == expected
        numbers.update(child_kill_rerun_created=done[0], child_kill_stored=total)
        numbers.update(child_kill_distinct=distinct, child_kill_redelivered_s=f"{rerun:.1f}")

        # 2. The whole worker dies; a new worker gets the message after the visibility timeout.
        time.sleep(2)  # let the follow-up tasks of the first sweep (digests) finish
        monitor.execute("DELETE FROM visits_notification")
        locker, task_id, pids = _stall_sweep(stack, client, monitor)
        worker.kill()
        locker.rollback()
        locker.close()
        killed_at = time.monotonic()
        wait_for(lambda: _backend_gone(monitor, pids), timeout=30, what="the orphan backend")
        assert _counts(monitor) == (0, 0), "the killed worker's sweep committed something"
        # The replacement starts once the visibility timeout has passed. kombu looks for expired
        # unacknowledged messages on start-up and then only every 10th 10-second tick: a worker
        # started before the timeout passes finds the message up to ~100 s late.
        time.sleep(max(0.0, VISIBILITY_TIMEOUT + 1 - (time.monotonic() - killed_at)))
        second = stack.worker(concurrency=1, name="worker2")
        done = second.wait_output(
            rf"Task reminders\.send_reminders\[{task_id}\] succeeded in [\d.]+s: (\d+)",
            timeout=VISIBILITY_TIMEOUT + 150,
        )
        rerun = time.monotonic() - killed_at
        total, distinct = _counts(monitor)
        log(f"worker killed: new worker re-ran it after {rerun:.1f} s, created {done[0]}")
        assert int(done[0]) == expected
        assert total == distinct == expected
        numbers.update(worker_kill_rerun_created=done[0], worker_kill_stored=total)
        numbers.update(worker_kill_distinct=distinct, worker_kill_redelivered_s=f"{rerun:.1f}")

        # A second run of the same day (the manual command) adds nothing.
        again = stack.send_reminders()
        assert again == 0 and _counts(monitor) == (expected, expected)
        numbers["manual_rerun_created"] = again
    finally:
        monitor.close()
    summary("worker_sigkill", **numbers, seconds=f"{time.monotonic() - started:.1f}")
