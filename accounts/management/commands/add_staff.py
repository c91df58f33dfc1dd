"""add_staff USERNAME --role ROLE --area CODE --password P — create or update a staff member."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Role
from accounts.services import StaffError, staff_add


class Command(BaseCommand):
    help = "Create (or update) a staff member with a role placed at an area"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=", ".join(Role.values))
        parser.add_argument("--area", default=None, help="12-digit area code")
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--phone", default="")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--organisation", default="", help="partner: the referral organisation's name"
        )

    def handle(self, *args, **options) -> None:
        try:
            user, created = staff_add(
                username=options["username"],
                role=options["role"],
                area_code=options["area"],
                password=options["password"],
                name=options["name"],
                phone=options["phone"],
                email=options["email"],
                organisation=options["organisation"],
            )
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
        verb = "已创建 / created" if created else "已更新 / updated"
        self.stdout.write(self.style.SUCCESS(f"{verb}: {user.username} ({user.role})"))
