"""Issue 14, H1 and point 13: sign-in lockouts that another account's success cannot wipe, and a
new session id once the second factor is given."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ..factories import TEST_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]


OFFICE = "203.0.113.40"  # one township office behind NAT
ELSEWHERE = "198.51.100.77"


def _sign_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_colleagues_success_does_not_wipe_another_accounts_failures(director_a, director_b):
    """4 wrong passwords for B, a successful sign-in of A from the same address, again and
    again: before the fix 12 guesses went through and B's right password still signed in."""
    office = Client(REMOTE_ADDR=OFFICE)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _sign_in(office, "director_b", "guess-wrong-1").status_code == 200
        # A signs in from the same address (and signs out again).
        colleague = Client(REMOTE_ADDR=OFFICE)
        assert _sign_in(colleague, "director_a", TEST_PASSWORD).status_code == 302
        colleague.post(reverse("logout"))
        # B's fifth failure — from another address — locks B.
        far = Client(REMOTE_ADDR=ELSEWHERE)
        assert _sign_in(far, "director_b", "guess-wrong-2").status_code == 429
        # Locked for 15 minutes from every address, the right password included, whatever other
        # accounts do meanwhile.
        for client in (office, far, Client(REMOTE_ADDR="192.0.2.200")):
            assert _sign_in(colleague, "director_a", TEST_PASSWORD).status_code == 302
            colleague.post(reverse("logout"))
            refused = _sign_in(client, "director_b", TEST_PASSWORD)
            assert refused.status_code == 429
            assert "_auth_user_id" not in client.session
        traveller.shift(timedelta(minutes=14, seconds=50))
        assert _sign_in(colleague, "director_a", TEST_PASSWORD).status_code == 302
        assert _sign_in(office, "director_b", TEST_PASSWORD).status_code == 429
        # The lock lifts by itself after 15 minutes.
        traveller.shift(timedelta(seconds=11))
        assert _sign_in(office, "director_b", TEST_PASSWORD).status_code == 302


def test_guessing_stops_at_the_limit_however_the_guesses_are_interleaved(director_a, director_b):
    office = Client(REMOTE_ADDR=OFFICE)
    colleague = Client(REMOTE_ADDR=OFFICE)
    accepted = 0
    with time_machine.travel(timezone.now(), tick=False):
        for _round in range(3):
            for _ in range(settings.AXES_FAILURE_LIMIT - 1):
                response = _sign_in(office, "director_b", "guess-wrong")
                accepted += response.status_code == 200
            assert _sign_in(colleague, "director_a", TEST_PASSWORD).status_code == 302
            colleague.post(reverse("logout"))
        # Only the first (limit − 1) guesses were even tried; every later one met the lock.
        assert accepted == settings.AXES_FAILURE_LIMIT - 1
        assert _sign_in(office, "director_b", TEST_PASSWORD).status_code == 429


def test_a_success_clears_the_accounts_own_failures(director_b):
    client = Client(REMOTE_ADDR=OFFICE)
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _sign_in(client, "director_b", "typo-password").status_code == 200
        assert _sign_in(client, "director_b", TEST_PASSWORD).status_code == 302
        client.post(reverse("logout"))
        # A fresh count: four more typos do not lock.
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert _sign_in(client, "director_b", "typo-password").status_code == 200
        assert _sign_in(client, "director_b", TEST_PASSWORD).status_code == 302


# --- 13. A new session id once the second factor is given ---------------------------------------


def test_the_session_id_is_renewed_after_the_second_factor(supervisor):
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    client = Client()
    with time_machine.travel(timezone.now(), tick=False):
        assert _sign_in(client, "supervisor", TEST_PASSWORD).status_code == 302
        before_code = client.cookies[settings.SESSION_COOKIE_NAME].value
        csrf_before = client.cookies.get(settings.CSRF_COOKIE_NAME)
        totp = TOTP(bytes.fromhex(device.key))
        totp.time = timezone.now().timestamp()
        response = client.post("/accounts/two-factor/", {"token": f"{totp.token():06d}"})
        assert response.status_code == 302
        after_code = client.cookies[settings.SESSION_COOKIE_NAME].value
        assert after_code != before_code
        if csrf_before is not None:
            assert client.cookies[settings.CSRF_COOKIE_NAME].value != csrf_before.value
        # The verified session works under its new id…
        assert client.get("/children/").status_code == 200
        # …and the id from before the second step is worth nothing now.
        stale = Client()
        stale.cookies[settings.SESSION_COOKIE_NAME] = before_code
        response = stale.get("/children/")
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        # "End all sessions" still finds the renewed session.
        from accounts.services import user_sessions_end

        from ..factories import UserFactory

        officer = UserFactory(username="sec_renew", role="security", area=supervisor.area.parent)
        assert user_sessions_end(by=officer, user=supervisor) == 1
        assert client.get("/children/").status_code == 302
