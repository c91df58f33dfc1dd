"""Celery tasks of the child file: thin wrappers around services."""

from datetime import date

from celery import shared_task

from accounts import outbox
from core.messaging import SendError
from core.messaging.base import retried

from . import parent_notices, services


def _day(on: str | None) -> date | None:
    return date.fromisoformat(on) if on else None


# The daily tasks take ``on`` (YYYY-MM-DD) from ``run_daily --date``: a run for another day is
# not recorded as the day's run (outbox.mark_run), so it never stops the relay's catch-up.


@shared_task(name="children.refresh_derived")
def refresh_derived(on: str | None = None) -> int:
    """Daily: recompute left-behind status and flags that change with the calendar alone."""
    refreshed = services.children_refresh_due(on=_day(on))
    if on is None:
        outbox.mark_run(refresh_derived.name)  # after the work: a crash leaves the day to catch up
    return refreshed


@shared_task(name="children.expire_agreements")
def expire_agreements(on: str | None = None) -> int:
    """Daily: care agreements past their end expire (their children are recomputed)."""
    expired = services.care_agreements_expire(on=_day(on))
    if on is None:
        outbox.mark_run(expire_agreements.name)
    return expired


@shared_task(name="children.age_out")
def age_out(on: str | None = None) -> int:
    """Daily: close the files of children who turned 18 (unless kept open for education)."""
    closed = services.children_age_out(on=_day(on))
    if on is None:
        outbox.mark_run(age_out.name)
    return closed


@shared_task(name="children.recompute_area")
def recompute_area(area_code: str) -> int:
    """After an area's policy changes: recompute every active file below it, in batches."""
    return services.children_recompute_area(area_code=area_code)


@shared_task(
    name="children.text_parents", **retried(on=(SendError,), backoff_max=1800, max_retries=5)
)
def text_parents(self, agreement_id: str) -> int:
    """Tell the parents of a child whose caregiver can no longer care (after the flag commits):
    a text message each, retried while a retry may help, else a phone call pending."""
    final = self.request.retries >= self.max_retries
    return parent_notices.agreement_text_parents(agreement_id, final=final)
