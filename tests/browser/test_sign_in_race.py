"""Signing in on a phone while its service worker fetches in the background (CI saw it: a browser
test landing on the sign-in page one page after signing in).

A request the page or the worker sent before the second factor, with the session key and CSRF
secret of before, is answered after the second factor renewed both (accounts.session_limits):
the browser must stay signed in and its forms must still be accepted. The request is held back
by Playwright and answered late with the cookies it was sent with, as a slow connection would."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Route, expect

from ..factories import TEST_PASSWORD
from .conftest import PHONE, SECOND_STEP, totp_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

# page.evaluate has no timeout of its own: a promise that never settles would hold the test (and
# CI) forever. Wrapped in this, it settles as "timeout" after 15 s and the assertion fails.
WITHIN = (
    "(promise => Promise.race([promise, new Promise(r => setTimeout(() => r('timeout'), 15000))]))"
)


def test_a_late_answer_to_a_request_from_before_the_second_factor_keeps_the_sign_in(
    open_page, supervisor
):
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    # No service worker: the held request must go through Playwright's route (a request the
    # worker answers is not seen there), whatever the worker's state on a slow machine.
    page = open_page(PHONE, is_mobile=True, has_touch=True, service_workers="block")
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(supervisor.username)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(SECOND_STEP)
    before = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())

    # A second tab of the same browser asks for a page; its answer is held back.
    other = page.context.new_page()
    other.goto("/offline/")
    held: list[Route] = []
    other.route("**/offline/?late", lambda route: held.append(route))
    other.evaluate("() => { window.late = fetch('/offline/?late', {credentials: 'same-origin'}); }")
    for _ in range(100):
        if held:
            break
        other.wait_for_timeout(50)
    assert held, "the background request never left the page"

    page.locator("#id_token").fill(totp_code(device.bin_key))
    page.get_by_role("button", name="验证").click()
    expect(page).not_to_have_url(SECOND_STEP)
    assert "/accounts/login/" not in page.url

    # The late answer, to the cookies the request went with.
    route = held[0]
    answer = route.fetch(headers={**route.request.headers, "cookie": before})
    route.fulfill(response=answer)
    assert other.evaluate(f"() => {WITHIN}(window.late.then(response => response.status))") == 200

    # The page signed in shows forms of the new session: still accepted (the old CSRF secret
    # was not put back).
    status = page.evaluate(
        """() => {
          const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
          const body = new URLSearchParams({csrfmiddlewaretoken: token, language: 'zh-hans'});
          return WITHIN(fetch('/i18n/setlang/', {method: 'POST', body, redirect: 'manual'})
            .then(response => response.type === 'opaqueredirect' ? 302 : response.status));
        }""".replace("WITHIN", WITHIN)
    )
    assert status == 302, "the page's form was refused (CSRF)"

    page.goto("/visits/review/")
    assert "/accounts/" not in page.url, "signed out by the late answer"
