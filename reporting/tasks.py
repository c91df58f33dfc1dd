"""Celery tasks of mandatory reports: thin wrappers around services, queued through the outbox."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="reporting.child_moved")
def child_moved(child_id: str, source: str, destination: str, on: str) -> int:
    """A file moved to another village: its reports follow it."""
    return services.reports_follow_moved_file(child_id=child_id, destination=destination)
