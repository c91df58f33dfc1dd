"""Celery tasks for reminders: thin wrappers that call a service."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.db import transaction

from accounts import outbox
from core.messaging.base import retried

from . import delivery, services


@shared_task(name="reminders.send_reminders", acks_late=True)
def send_reminders(on: str | None = None) -> int:
    """The daily sweep (beat, 08:00 Asia/Shanghai). Idempotent: safe to retry or run twice."""
    if on is not None:
        return services.reminders_sweep(on=date.fromisoformat(on)).total
    # The day's run is recorded in the sweep's own transaction: a worker killed mid-sweep leaves
    # no record, so the relay's catch-up still sees the day as not run.
    with transaction.atomic():
        outbox.mark_run(send_reminders.name)
        return services.reminders_sweep().total


@shared_task(name="reminders.send_digests")
def send_digests(on: str | None = None) -> int:
    """Fan out one digest task per recipient with reminders not yet sent."""
    recipients = delivery.recipients_with_unsent()
    for recipient_id in recipients:
        send_digest.delay(recipient_id)
    return len(recipients)


@shared_task(
    name="reminders.send_digest", **retried(on=(Exception,), backoff_max=3600, max_retries=8)
)
def send_digest(self, recipient_id: int) -> int:
    """Send one recipient's digest; a failure is recorded and retried (each retry another attempt
    of the same delivery, the last one recorded as failed) and creates no second notification."""
    final = self.request.retries >= self.max_retries
    return delivery.digest_send_for(recipient_id=recipient_id, final=final)


@shared_task(name="reminders.report_filed")
def report_filed(report_id: str) -> int:
    """A report of a county or above was filed: its civil affairs are told now. Idempotent."""
    return services.report_filed_notify(report_id=report_id)


@shared_task(name="reminders.detention_check")
def detention_check(report_id: str) -> int:
    """A parent detained, minor children at home: the check is asked for now. Idempotent."""
    return services.detention_check_notify(report_id=report_id)


@shared_task(name="reminders.urgent_sweep")
def urgent_sweep() -> int:
    """Every ten minutes (beat): the reminders counted in hours (services.URGENT_RULES)."""
    return services.reminders_sweep_urgent()


@shared_task(name="reminders.child_moved")
def child_moved(child_id: str, source: str, destination: str, on: str) -> int:
    """A file moved to another village: the old recipients' reminders about it are resolved and
    the new ones raised (also done in the move's own transaction; this catches up a move made
    before the rules could see it)."""
    return services.reminders_refresh(child_ids=[child_id])


# The names these tasks had while reminders lived in ``visits``: messages queued under them before
# an upgrade (in the outbox or the broker) still run. Remove one release after issue 15.
shared_task(name="visits.send_reminders", acks_late=True)(send_reminders.run)
shared_task(name="visits.send_digests")(send_digests.run)
shared_task(name="visits.send_digest")(send_digest.run)
