"""Celery tasks of the dashboards: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="dashboards.refresh_stats")
def refresh_stats() -> int:
    """Every 10 minutes: recount the dashboards' per-village numbers."""
    return services.village_stats_refresh()
