"""A request sent before a session's key changed, answered after: it must not sign the browser out.

The session key changes at sign-in and again at the second factor (accounts.session_limits
.session_renew); the CSRF secret with it. A phone sends requests of its own meanwhile: the
service worker installing (/sw.js, /offline/), the prefetch after the worklist. Such a request
carries the old cookies, and Django's answer to an unknown session key is to delete the session
cookie, and to any page with a form to send the CSRF cookie it was given: arriving after the
answer that set the new cookies, the browser would drop the new session (signed out one page
later) or take back the old CSRF secret (the next form refused). Seen in CI as a browser test
landing on the sign-in page right after signing in.
"""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..factories import TEST_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]

NOW = "2026-11-24 09:00:00 +0800"
SESSION = settings.SESSION_COOKIE_NAME
CSRF = settings.CSRF_COOKIE_NAME


def cookie_header(client: Client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def test_an_answer_to_the_old_session_key_leaves_the_new_cookies_alone(client, supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    with time_machine.travel(NOW, tick=False):
        client.get("/accounts/login/")
        client.post("/accounts/login/", {"username": "supervisor", "password": TEST_PASSWORD})
        before_second_factor = cookie_header(client)
        old_session = client.cookies[SESSION].value
        token = f"{TOTP(bytes.fromhex(device.key)).token():06d}"
        response = client.post("/accounts/two-factor/", {"token": token})
        assert response.status_code == 302
        assert client.cookies[SESSION].value != old_session  # renewed at the second factor

        # What the service worker sent with the old cookies, answered now: a page with a form
        # token (/offline/), the worker's script, a page that needs a session.
        for path in ["/offline/", "/sw.js", "/children/"]:
            late = Client().get(path, HTTP_COOKIE=before_second_factor)
            assert SESSION not in late.cookies, f"{path} deleted the session cookie"
            assert CSRF not in late.cookies, f"{path} sent back the old CSRF cookie"

        assert client.get("/children/").status_code == 200


def test_signing_out_still_deletes_the_session_cookie(client_for, supervisor):
    client = client_for(supervisor)
    response = client.post("/accounts/logout/")
    assert response.cookies[SESSION].value == ""
    assert client.get("/children/").status_code == 302


def test_a_first_visit_still_gets_its_csrf_cookie():
    response = Client().get("/accounts/login/")
    assert response.cookies[CSRF].value
