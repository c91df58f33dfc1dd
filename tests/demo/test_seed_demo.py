"""seed_demo: the demo county, its staff and their published password and second-factor secret;
idempotent, and refused under production settings."""

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import rules
from accounts.models import Area, Role, User
from demo.accounts import DEMO_AREAS_CSV, DEMO_PASSWORD, DEMO_TOTP_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]

NOW = "2026-11-24 09:00:00 +0800"


def test_seed_demo_is_idempotent_and_complete(client):
    call_command("seed_demo")
    counts = (Area.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert (Area.objects.count(), User.objects.count()) == counts
    for village in Area.objects.filter(level="village"):
        assert village.staff.filter(role=Role.DIRECTOR).exists(), village
    for township in Area.objects.filter(level="township"):
        assert township.staff.filter(role=Role.SUPERVISOR).exists(), township
    for role in Role.values:
        assert User.objects.filter(role=role).exists(), role
    response = client.post("/accounts/login/", {"username": "zr_chaji", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_seed_demo_refuses_production_settings(settings):
    settings.SETTINGS_MODULE = "config.settings.production"
    with pytest.raises(CommandError, match="published demo password"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_demo_areas_fixture_is_a_real_county():
    lines = DEMO_AREAS_CSV.read_text(encoding="utf-8").splitlines()[1:]
    levels = [rules.parse_level(line.split(",")[0]) for line in lines]
    assert levels.count("county") == 1
    assert levels.count("township") >= 3
    assert levels.count("village") >= 12


def test_demo_users_sign_in_with_the_published_secret(client):
    call_command("seed_demo")
    assert TOTPDevice.objects.filter(user__username="dd_taohuatan", key=DEMO_TOTP_KEY).exists()
    assert not TOTPDevice.objects.filter(user__username="zr_chaji").exists()
    for username in ("admin", "mz_jingxian", "aq_province", "sj_province"):
        assert TOTPDevice.objects.filter(user__username=username, confirmed=True).exists()
    with time_machine.travel(NOW, tick=False):
        client.post("/accounts/login/", {"username": "dd_taohuatan", "password": DEMO_PASSWORD})
        totp = TOTP(bytes.fromhex(DEMO_TOTP_KEY))
        totp.time = timezone.now().timestamp()
        response = client.post("/accounts/two-factor/", {"token": f"{totp.token():06d}"})
        assert response.status_code == 302
        assert client.get("/children/").status_code == 200
