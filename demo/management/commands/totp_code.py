"""totp_code USERNAME — print the current 6-digit code of a user's TOTP device (demo and
development only: refused under production settings)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Print the current two-factor code of USERNAME (not available in production)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args, **options) -> None:
        from django_otp.oath import TOTP
        from django_otp.plugins.otp_totp.models import TOTPDevice

        if settings.SETTINGS_MODULE.endswith(".production"):
            raise CommandError(
                "totp_code 在生产环境不可用 / totp_code is refused under production settings"
            )
        device = TOTPDevice.objects.filter(
            user__username=options["username"], confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{options['username']} 没有两步验证设备 / has no two-factor device")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
