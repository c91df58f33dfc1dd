"""import_children PATH.xlsx --user USERNAME [--update] — census import, all or nothing."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from children.imports import import_children


class Command(BaseCommand):
    help = "Import children from the census .xlsx template; any bad row and nothing is saved"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--user", required=True, help="the importing user (sets the scope)")
        parser.add_argument(
            "--update",
            action="store_true",
            help="census update: merge rows into the files in the user's area by ID number "
            "(changed fields only); prints created N, updated N, unchanged N, refused N",
        )

    def handle(self, *args, path: str, user: str, update: bool = False, **options) -> None:
        importer = User.objects.filter(username=user, is_active=True).first()
        if importer is None:
            raise CommandError(f"用户 {user} 不存在 / no active user {user}")
        started = time.monotonic()
        try:
            with open(path, "rb") as source:
                report = import_children(
                    source=source, user=importer, origin="command", path=str(path), update=update
                )
        except OSError as exc:
            raise CommandError(f"无法读取文件 / cannot read {path}: {exc}") from exc
        if not report.ok:
            for error in report.shown_errors:
                self.stderr.write(str(error))
            if report.hidden_errors:
                self.stderr.write(
                    f"……另有 {report.hidden_errors} 处错误未列出 / "
                    f"{report.hidden_errors} more error(s) not listed"
                )
            if update:
                self.stdout.write(report.summary)
            raise CommandError(
                f"{len(report.errors)} 处错误，未导入任何儿童 / "
                f"{len(report.errors)} error(s), nothing was imported"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入 {report.created} 名儿童 / imported {report.created} children "
                f"({time.monotonic() - started:.1f} s)"
            )
        )
        if update:
            self.stdout.write(report.summary)
