"""issue_enrolment_code USERNAME — a one-time second-factor enrolment code, as the last line.

For the first security officer of a deployment (nobody above them issues theirs) and whoever runs
the server; afterwards security officers issue codes at 安全管理 (/security/). Audited."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import staff
from accounts.models import User


class Command(BaseCommand):
    help = "Issue a one-time two-factor enrolment code for a privileged account (valid 72 hours)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在 / no active user {username}")
        if not staff.needs_enrolment_code(user):
            raise CommandError(
                f"{username} 的角色不需要注册码 / role {user.role} enrols without a code"
            )
        self.stdout.write(staff.enrolment_code_issue(by=None, user=user))
