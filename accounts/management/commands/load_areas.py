"""load_areas PATH.csv — upsert 统计用区划代码 areas, all-or-nothing."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import areas_load_csv


class Command(BaseCommand):
    help = (
        "Load areas from a CSV with header code,name (idempotent; nothing loads if a line is bad)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args, path: str, **options) -> None:
        result = areas_load_csv(path=path)
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(
                f"{len(result.errors)} 处错误，未导入任何区划 / "
                f"{len(result.errors)} error(s), nothing was loaded"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"新增 {result.created} 个，更新 {result.updated} 个，"
                f"未变 {result.unchanged} 个区划 / "
                f"{result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged"
            )
        )
