"""Celery application. Periodic tasks are declared here, in BEAT_SCHEDULE, and nowhere else."""

from celery import Celery
from celery.schedules import crontab

# DJANGO_SETTINGS_MODULE is set by whoever starts Celery (Procfile, docker-compose.yml, pytest).
app = Celery("shouwang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# (task, when) in Asia/Shanghai time (CELERY_TIMEZONE).
_PERIODIC_TASKS = [
    # The audit log's monthly partitions, three months ahead (accounts/partitions.py).
    ("accounts.audit_partitions", crontab(hour=0, minute=30)),
    # Before the working day: left-behind status and flags that change with birthdays and with
    # parents reaching 90 days away.
    ("children.refresh_derived", crontab(hour=1, minute=30)),
    # Care agreements past their end date expire (the unsupervised flag comes back).
    ("children.expire_agreements", crontab(hour=1, minute=35)),
    # Files close by themselves on the 18th birthday (domain §2): before the ledger, which pays
    # active files only, and before the sweep, which reminds about children under 18 only.
    ("children.age_out", crontab(hour=1, minute=45)),
    # The month's payment ledger. Daily rather than on the 1st only: it is idempotent, so a beat
    # that was down on the 1st, or an approval that took effect late, is caught up next night.
    ("benefits.monthly_entitlements", crontab(hour=2, minute=0)),
    # Prepared export files (dashboards.jobs) are deleted a week after they were ready.
    ("dashboards.prune_exports", crontab(hour=3, minute=0)),
    # Dashboards read a per-village summary: recounted every 10 minutes, so a page is never
    # more than 15 minutes behind (a page finding it older recounts itself).
    ("dashboards.refresh_stats", crontab(minute="*/10")),
    # The reminder sweep (domain §4). Beat stopped across 08:00 loses nothing: the next sweep
    # selects everything due up to its day.
    ("reminders.send_reminders", crontab(hour=8, minute=0)),
    # Duties counted in hours (a detained parent's children unchecked after 24 hours): told to
    # the township within ten minutes, not at the next morning's sweep.
    ("reminders.urgent_sweep", crontab(minute="*/10")),
]
# Each entry is named after its task: "children.age_out" is "children-age-out".
BEAT_SCHEDULE: dict[str, dict] = {
    task.replace(".", "-").replace("_", "-"): {"task": task, "schedule": schedule}
    for task, schedule in _PERIODIC_TASKS
}
app.conf.beat_schedule = BEAT_SCHEDULE
