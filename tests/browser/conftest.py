"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

One browser for all the browser tests, a fresh context (cookies, viewport) per test, screenshots
under var/test-artifacts/browser/ (git-ignored with the rest of var/).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ..factories import TEST_PASSWORD

# Debian's package, installed by scripts/system-deps.sh: Playwright cannot download its own
# browsers behind the registry cache, and the system one shares fonts-noto-cjk with WeasyPrint.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Long enough for a first page on a busy 2-core CI machine, short enough to fail fast.
TIMEOUT_MS = 15_000
SIGN_IN = re.compile(r"/accounts/login/")
SECOND_STEP = re.compile(r"/accounts/two-factor/")
# expect()'s assertions (and its URL waits) poll with the same deadline as every other wait.
expect.set_options(timeout=TIMEOUT_MS)


# Package scope, not session: while Playwright's sync API is started, its asyncio loop counts as
# "running" in this thread (it lives in a greenlet), which would break every later test that
# touches asyncio. Torn down when the last browser test ends, the loop goes with it.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # The project allows no skipped tests: a missing browser is a failure that says what to do.
        pytest.fail(
            f"Browser tests need Chromium at {CHROMIUM}: run `sudo scripts/system-deps.sh` "
            "(or `apt-get install chromium fonts-noto-cjk`).",
            pytrace=False,
        )
    # Same running-loop reason: Django's async-unsafe guard sees that loop and would refuse the
    # ORM calls of fixtures and of the database flush after each test, although they are plain
    # synchronous code in the main thread (the live server answers in its own thread).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable[..., Page]]:
    """open_page(viewport) → a page in a new context; fails the test on a JavaScript error or a
    Content-Security-Policy violation in any page it visited."""
    contexts = []
    problems: list[str] = []

    def make(viewport: dict[str, int] = DESKTOP, **options) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, locale="zh-CN", **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"{page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "errors in the browser:\n" + "\n".join(problems)


@pytest.fixture
def shoot(request) -> Callable[[Page, str], None]:
    """shoot(page, step) saves var/test-artifacts/browser/<test>-<nn>-<step>.png."""
    journey = re.sub(r"^test_", "", request.node.name)
    counter = iter(range(1, 100))

    def take(page: Page, step: str) -> None:
        page.screenshot(
            path=str(ARTIFACTS / f"{journey}-{next(counter):02d}-{step}.png"), full_page=True
        )

    return take


def log_in(page: Page, username: str, password: str = TEST_PASSWORD) -> None:
    """Through the login page, as a person would, and through the second step when the role
    asks for one: a user without a device enrols with the key the page shows (as an authenticator
    app would read it), one with a device types the code its key gives now."""
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="登录").click()
    # expect() polls with its own deadline (a wait_for_url predicate outlived its timeout in CI).
    expect(page).not_to_have_url(SIGN_IN)
    if "/accounts/two-factor/set-up/" in page.url:
        if page.locator("#id_enrolment_code").count():
            # The one-time code the security officer would hand over (issue 14, H2).
            from accounts.models import User
            from accounts.staff import enrolment_code_issue

            person = User.objects.get(username=username)
            page.locator("#id_enrolment_code").fill(enrolment_code_issue(by=None, user=person))
        secret = page.locator("#secret-key").text_content().replace(" ", "")
        page.locator("#id_token").fill(totp_code(base64.b32decode(secret)))
        page.get_by_role("button", name="确认并继续").click()
    elif "/accounts/two-factor/" in page.url:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        page.locator("#id_token").fill(totp_code(device.bin_key))
        page.get_by_role("button", name="验证").click()
    try:
        expect(page).not_to_have_url(SECOND_STEP)
    except AssertionError:
        # Say where it stood: still on the second step (and what the page said), or on the way.
        said = page.locator(".invalid-feedback, .alert, .errorlist").all_text_contents()
        pytest.fail(f"signing in {username} stopped at {page.url}: {said}", pytrace=False)


def totp_code(key: bytes) -> str:
    from django_otp.oath import TOTP

    return f"{TOTP(key).token():06d}"
