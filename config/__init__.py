"""Project configuration: settings, URLs, Celery app and the embedded dev servers."""

from .celery_app import app as celery_app

__all__ = ("celery_app",)
