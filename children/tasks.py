"""Celery tasks of the child file: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="children.refresh_derived")
def refresh_derived() -> int:
    """Daily: expire care agreements past their end, then recompute left-behind status and flags
    that change with the calendar alone."""
    services.care_agreements_expire()
    return services.children_refresh_due()


@shared_task(name="children.recompute_area")
def recompute_area(area_code: str) -> int:
    """After an area's policy changes: recompute every active file below it, in batches."""
    return services.children_recompute_area(area_code=area_code)


@shared_task(name="children.monthly_entitlements")
def monthly_entitlements() -> int:
    """Nightly: this month's entitlement for every enrolment in force (idempotent)."""
    return services.entitlements_generate(month=services.today())
