"""audit_archive [--months N] [--dry-run] — detach the audit log's monthly partitions older than
the retention (AUDIT_RETENTION_MONTHS, default 36, never under 6) into the audit_archive schema.
Nothing is deleted: each archived month stays a table (append-only) for the operators to dump."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import partitions


class Command(BaseCommand):
    help = "Detach audit partitions past the retention into the audit_archive schema"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months", type=int, default=None, help="retention in months")
        parser.add_argument("--dry-run", action="store_true", help="only list what would go")

    def handle(self, *args, months: int | None, dry_run: bool, **options) -> None:
        try:
            names = partitions.audit_partitions_archive(months=months, dry_run=dry_run)
        except partitions.RetentionTooShort as exc:
            raise CommandError(str(exc)) from exc
        verb = "将归档 / would archive" if dry_run else "已归档 / archived"
        for name in names:
            self.stdout.write(f"{verb}: {name}")
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {len(names)} 个月份分区 / monthly partitions")
        )
