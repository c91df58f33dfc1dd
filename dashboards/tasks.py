"""Celery tasks of the dashboards: thin wrappers around services."""

from celery import shared_task

from accounts import outbox

from . import services


@shared_task(name="dashboards.refresh_stats")
def refresh_stats() -> int:
    """Every 10 minutes: recount the dashboards' per-village numbers."""
    return services.village_stats_refresh()


@shared_task(name="dashboards.run_export", acks_late=True)
def run_export(job_id: str) -> int:
    """Prepare one export file (dashboards.jobs); its rows, or 0 when there was nothing to do."""
    from . import jobs

    job = jobs.export_job_run(job_id)
    return job.row_count if job is not None else 0


@shared_task(name="dashboards.prune_exports")
def prune_exports(on: str | None = None) -> int:
    """Daily: delete prepared export files older than a week (``on``: the day of ``run_daily
    --date``, then not recorded as the day's run)."""
    from . import jobs

    pruned = jobs.export_jobs_prune()
    if on is None:
        outbox.mark_run(prune_exports.name)
    return pruned
