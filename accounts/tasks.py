"""Celery tasks of the accounts app."""

from celery import shared_task


@shared_task(name="accounts.ping")
def ping() -> str:
    """Round-trip check used by operators (`celery -A config call accounts.ping`) and tests."""
    return "pong"


@shared_task(name="accounts.import_lock_notify")
def import_lock_notify(lock_id: int) -> int:
    """E-mail the security officers over a user whose imports were just locked (once per lock)."""
    from .services import import_lock_notify as notify

    return notify(lock_id)
