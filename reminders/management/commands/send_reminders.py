"""send_reminders [--date YYYY-MM-DD] — the daily reminder sweep, now (same code as Celery beat)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reminders.services import reminders_sweep


class Command(BaseCommand):
    help = "Run the reminder sweep as if today were DATE (default: today in Asia/Shanghai)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", default=None, help="YYYY-MM-DD")

    def handle(self, *args, **options) -> None:
        on = None
        if options["date"]:
            try:
                on = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(
                    f"日期格式应为YYYY-MM-DD / --date must be YYYY-MM-DD: {options['date']}"
                ) from exc
        result = reminders_sweep(on=on)
        for key, count in result.created.items():
            self.stdout.write(f"{key}: {count}")
        self.stdout.write(
            self.style.SUCCESS(f"新提醒 {result.total} 条 / {result.total} new reminders")
        )
