"""Celery tasks of the child file: thin wrappers around services."""

from celery import shared_task

from accounts import outbox

from . import services


@shared_task(name="children.refresh_derived")
def refresh_derived() -> int:
    """Daily: expire care agreements past their end, then recompute left-behind status and flags
    that change with the calendar alone."""
    services.care_agreements_expire()
    refreshed = services.children_refresh_due()
    outbox.mark_run(refresh_derived.name)  # after the work: a crash leaves the day to catch up
    return refreshed


@shared_task(name="children.recompute_area")
def recompute_area(area_code: str) -> int:
    """After an area's policy changes: recompute every active file below it, in batches."""
    return services.children_recompute_area(area_code=area_code)


@shared_task(name="children.text_parents")
def text_parents(agreement_id: str) -> None:
    """Text the parents of a child whose caregiver can no longer care (after the visit commits)."""
    services.agreement_text_parents(agreement_id)
