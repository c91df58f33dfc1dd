"""run_daily [--date YYYY-MM-DD] — every daily job now, in the order Celery beat runs them.

The jobs are beat's daily entries, read by task name from the schedule (accounts.outbox.daily_tasks,
as the relay's catch-up reads them), so this list cannot drift from beat's: derived data, agreement
expiry, ageing out, the benefit ledger, the reminder sweep. Each runs here, synchronously, through
its task with the date (``on``); without ``--date`` they run for today and are recorded as the
day's runs, as beat's are. accounts imports none of the apps whose tasks these are.
"""

from datetime import date

from celery import current_app
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import outbox


class Command(BaseCommand):
    help = "Run every daily job now, in beat's order, as if today were DATE (default: today)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", default=None, help="YYYY-MM-DD")

    def handle(self, *args, **options) -> None:
        kwargs = {}
        if options["date"]:
            try:
                kwargs["on"] = date.fromisoformat(options["date"]).isoformat()
            except ValueError as exc:
                raise CommandError(
                    f"日期格式应为YYYY-MM-DD / --date must be YYYY-MM-DD: {options['date']}"
                ) from exc
        current_app.loader.import_default_modules()  # register every app's tasks (autodiscovery)
        jobs = outbox.daily_tasks()
        for task, at in jobs:
            result = current_app.tasks[task].apply(kwargs=kwargs, throw=True)
            self.stdout.write(f"{at:%H:%M} {task}: {result.get()}")
        self.stdout.write(
            self.style.SUCCESS(
                f"已运行 {len(jobs)} 项每日任务 / {len(jobs)} daily jobs run; "
                f"待发送 {outbox.pending_count()} / waiting in the outbox"
            )
        )
