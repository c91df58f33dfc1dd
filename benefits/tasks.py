"""Celery tasks of benefits: thin wrappers around services. The child file queues the first two
through the outbox (children may not import benefits); beat runs the ledger."""

from datetime import date

from celery import shared_task

from accounts import outbox
from core import clock

from . import services


@shared_task(name="benefits.monthly_entitlements")
def monthly_entitlements(on: str | None = None) -> int:
    """Nightly: this month's entitlement for every enrolment in force (idempotent). ``on``: the
    day of ``run_daily --date`` (then not recorded as the day's run)."""
    written = services.entitlements_generate(month=date.fromisoformat(on) if on else clock.today())
    if on is None:  # after the work: a crash leaves the day to catch up
        outbox.mark_run(monthly_entitlements.name)
    return written


@shared_task(name="benefits.child_closed")
def child_closed(child_id: str, reason: str, closed_on: str, user_id: int | None = None) -> int:
    """A file was closed: its benefits end that month, with the exit reason of the closing."""
    return services.enrolments_end_for_closed_file(
        child_id=child_id,
        reason=reason,
        closed_on=date.fromisoformat(closed_on),
        user_id=user_id,
    )


@shared_task(name="benefits.recheck_enrolments")
def recheck_enrolments(child_id: str) -> int:
    """The file or the family changed: a benefit whose rule no longer holds is due for review."""
    return services.enrolments_recheck(child_id=child_id)


@shared_task(name="benefits.child_moved")
def child_moved(child_id: str, source: str, destination: str, on: str) -> int:
    """A file moved to another village: benefits paid by another county end that month."""
    return services.enrolments_end_for_moved_file(
        child_id=child_id, source=source, destination=destination, on=date.fromisoformat(on)
    )
