"""Celery application. Periodic tasks are declared here, in BEAT_SCHEDULE, and nowhere else."""

from celery import Celery

# DJANGO_SETTINGS_MODULE is set by whoever starts Celery (Procfile, docker-compose.yml, pytest).
app = Celery("shouwang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Later issues add the daily reminder sweep (08:00 Asia/Shanghai) and other periodic jobs here.
BEAT_SCHEDULE: dict[str, dict] = {}
app.conf.beat_schedule = BEAT_SCHEDULE
