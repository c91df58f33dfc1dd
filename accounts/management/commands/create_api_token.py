"""create_api_token USERNAME [--days N] — print a new bearer token as the last line of stdout."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown only once); it expires after N days"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"days until the token expires (default {settings.API_TOKEN_DAYS})",
        )

    def handle(self, *args, username: str, days: int | None, **options) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户 {username} 不存在 / no active user {username}")
        try:
            token = api_token_create(user=user, days=days)
        except ValidationError as exc:
            raise CommandError("有效期应为1至3650天 / --days must be 1 to 3650") from exc
        self.stdout.write(token)
