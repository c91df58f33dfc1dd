"""Celery tasks of the accounts app."""

from celery import shared_task


@shared_task(name="accounts.ping")
def ping() -> str:
    """Round-trip check used by operators (`celery -A config call accounts.ping`) and tests."""
    return "pong"
