"""totp_code USERNAME: the current code of a user's device, for the demo and development only."""

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

NOW = "2026-11-24 09:00:00 +0800"


def test_totp_code_command(supervisor, settings, capsys):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    with time_machine.travel(NOW, tick=False):
        call_command("totp_code", "supervisor")
        totp = TOTP(bytes.fromhex(device.key))
        totp.time = timezone.now().timestamp()
        assert capsys.readouterr().out.strip() == f"{totp.token():06d}"
    with pytest.raises(CommandError):
        call_command("totp_code", "nobody")
    settings.SETTINGS_MODULE = "config.settings.production"
    with pytest.raises(CommandError, match="production"):
        call_command("totp_code", "supervisor")
