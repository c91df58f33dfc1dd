"""Celery tasks of the accounts app."""

from datetime import date

from celery import shared_task

from . import outbox, partitions


@shared_task(name="accounts.ping")
def ping() -> str:
    """Round-trip check used by operators (`celery -A config call accounts.ping`) and tests."""
    return "pong"


@shared_task(name="accounts.import_lock_notify")
def import_lock_notify(lock_id: int) -> int:
    """E-mail the security officers over a user whose imports were just locked (once per lock)."""
    from .services import import_lock_notify as notify

    return notify(lock_id)


@shared_task(name="accounts.audit_partitions")
def audit_partitions(on: str | None = None) -> int:
    """Daily: the audit log's partitions for this month and the next three (``on``: the day of
    ``run_daily --date``, then not recorded as the day's run)."""
    created = partitions.audit_partitions_ensure(today=date.fromisoformat(on) if on else None)
    if on is None:
        outbox.mark_run(audit_partitions.name)
    return len(created)
