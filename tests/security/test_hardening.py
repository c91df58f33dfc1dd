"""Web hardening (issue 9 §4): CSP, HSTS, no-store, CSRF, rate limits, the admin's address."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from ..factories import TEST_PASSWORD, make_child, make_orphan

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
# Rendered by WeasyPrint on the server into a PDF, never served to a browser as a page.
PDF_TEMPLATES = {
    "children/agreement_pdf.html",
    "children/child_file_pdf.html",
    "visits/verification_report_pdf.html",
}
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)
POST_FORM = re.compile(r"<form\b[^>]*\bmethod=[\"']?post[\"']?[^>]*>(.*?)</form>", re.I | re.S)


def _csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {
        name: value.strip()
        for name, _, value in (part.strip().partition(" ") for part in header.split(";"))
    }


def _assert_no_inline_code(html: str, where: str) -> None:
    for name, pattern in [
        ("inline <script>", INLINE_SCRIPT),
        ("on…= handler", EVENT_HANDLER),
        ("style= attribute", STYLE_ATTRIBUTE),
        ("<style> element", STYLE_ELEMENT),
        ("javascript: URL", JAVASCRIPT_URL),
    ]:
        found = pattern.search(html)
        assert found is None, f"{name} in {where}: {found and found.group(0)!r}"


# --- 1. Content-Security-Policy -----------------------------------------------------------


def test_csp_header_on_a_page(client_for, director_a):
    response = client_for(director_a).get(reverse("visits:worklist"))
    assert response.status_code == 200
    assert _csp(response) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "worker-src": "'self'",  # the service worker (visits.offline_views)
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    assert "unsafe" not in response.headers["Content-Security-Policy"]


def test_csp_header_on_the_login_page():
    response = Client().get(reverse("login"))
    assert _csp(response)["script-src"] == "'self'"


def test_no_template_has_inline_script_style_or_handler():
    checked = 0
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in PDF_TEMPLATES:
            continue
        _assert_no_inline_code(path.read_text(encoding="utf-8"), name)
        checked += 1
    assert checked > 40


def test_htmx_is_told_not_to_inject_styles_or_eval(client_for, director_a):
    html = client_for(director_a).get(reverse("visits:worklist")).content.decode()
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html


# --- 3. Cache-Control: no-store -------------------------------------------------------------


@pytest.fixture
def child(director_a):
    return make_child(director_a)


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_child_page_list_and_export_are_not_stored(client_for, director_a, child):
    client = client_for(director_a)
    for url in [
        reverse("children:detail", args=[child.pk]),
        reverse("children:list"),
        reverse("children:export"),
        reverse("visits:worklist"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert _no_store(response), url


def test_api_read_is_not_stored(api_client, director_a, child):
    client = api_client(director_a)
    for url in [f"/api/v1/children/{child.pk}", "/api/v1/children"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert not _no_store(response)


def test_a_view_that_sets_its_own_cache_control_keeps_it(client):
    # The login view is never_cache: its own header (which includes no-store) is left alone.
    response = client.get(reverse("login"))
    assert "max-age=0" in response.headers["Cache-Control"]
    assert "no-store" in response.headers["Cache-Control"]


# --- 4. CSRF ----------------------------------------------------------------------------------


def test_csrf_middleware_and_cookie_flags():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert settings.CSRF_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_session_and_csrf_cookies_are_httponly_and_lax(director_a):
    client = Client()
    client.get(reverse("login"))
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    client.post(reverse("login"), {"username": "director_a", "password": "wrong"})
    client.force_login(director_a)
    client.get("/")
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"


@pytest.fixture
def orphan(director_a):
    return make_orphan(director_a, parent_names=("张大", "李二"), birth_date=date(2014, 5, 1))


def test_every_post_form_carries_a_csrf_token(
    client_for, director_a, supervisor, civil_affairs, child, orphan
):
    pages = [
        (director_a, reverse("children:create")),
        (director_a, reverse("children:edit", args=[child.pk, "basic"])),
        (director_a, reverse("children:close", args=[child.pk])),
        (director_a, reverse("children:family_add", args=[child.pk])),
        (director_a, reverse("children:assess", args=[child.pk])),
        (director_a, reverse("children:agreement_add", args=[child.pk])),
        (director_a, reverse("children:import")),
        (director_a, reverse("benefits:subsidies", args=[orphan.pk])),
        (director_a, reverse("visits:create", args=[child.pk])),
        (director_a, reverse("reminders:inbox")),
        (director_a, reverse("reporting:create_for_child", args=[child.pk])),
        (director_a, reverse("password_change")),
        (supervisor, reverse("benefits:subsidy_queue")),
        (civil_affairs, reverse("area_policy")),
        (civil_affairs, reverse("benefits:subsidy_standards")),
        (civil_affairs, reverse("benefits:subsidy_payments")),
    ]
    forms_seen = 0
    for user, url in pages:
        response = client_for(user).get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        forms = POST_FORM.findall(html)
        # Every page has at least the logout and language forms of base.html.
        assert len(forms) >= 2, url
        for body in forms:
            assert 'name="csrfmiddlewaretoken"' in body, f"POST form without CSRF token on {url}"
        _assert_no_inline_code(html, url)  # crispy and widget templates included
        forms_seen += len(forms)
    assert forms_seen > 2 * len(pages)


def test_login_form_carries_a_csrf_token():
    html = Client().get(reverse("login")).content.decode()
    forms = POST_FORM.findall(html)
    assert forms and all('name="csrfmiddlewaretoken"' in body for body in forms)


def test_a_post_without_the_token_is_refused(director_a, child):
    client = Client(enforce_csrf_checks=True)
    client.force_login(director_a)
    response = client.post(reverse("children:close", args=[child.pk]), {"reason": "moved"})
    assert response.status_code == 403


# --- 5. Rate limits ---------------------------------------------------------------------------


def _bad_login(client: Client, username: str):
    return client.post(reverse("login"), {"username": username, "password": "not-the-password"})


@override_settings(LOGIN_IP_FAILURE_LIMIT=8)
def test_one_address_is_locked_after_many_failures_whatever_the_usernames(director_a):
    client = Client(REMOTE_ADDR="203.0.113.7")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        # Password spraying: one guess for each of many usernames, so no account reaches its own
        # limit; the address does.
        for n in range(settings.LOGIN_IP_FAILURE_LIMIT - 1):
            assert _bad_login(client, f"guess{n}").status_code == 200
        # The failure that reaches the limit locks the address (answered with the lock page)…
        assert _bad_login(client, "guess-last").status_code == 429
        # …so the next attempt, for yet another username, is refused, right password or not.
        assert _bad_login(client, "guess-next").status_code == 429
        right = client.post(reverse("login"), {"username": "director_a", "password": TEST_PASSWORD})
        assert right.status_code == 429
        assert "账号已锁定" in right.content.decode()
        # The same account still signs in from another address.
        elsewhere = Client(REMOTE_ADDR="198.51.100.9")
        assert (
            elsewhere.post(
                reverse("login"), {"username": "director_a", "password": TEST_PASSWORD}
            ).status_code
            == 302
        )
        # Never a permanent lock: after 15 minutes the address may try again.
        traveller.shift(timedelta(minutes=15, seconds=1))
        right = client.post(reverse("login"), {"username": "director_a", "password": TEST_PASSWORD})
        assert right.status_code == 302


def test_the_lock_is_temporary_never_permanent():
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]
    assert settings.AXES_HANDLER == "accounts.lockout.LockoutHandler"
    assert settings.LOGIN_IP_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT
    assert settings.AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is False


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_a_forged_forwarded_for_header_does_not_dodge_the_ip_lock():
    # Behind one proxy, only the address that proxy appended counts.
    for n in range(settings.LOGIN_IP_FAILURE_LIMIT + 1):
        client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.50")
        response = _bad_login(client, f"spray{n}")
    assert response.status_code == 429


def test_client_ip_with_and_without_proxies(rf, settings):
    from core.web import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.50")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.50"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "1.2.3.4"
    settings.TRUSTED_PROXY_COUNT = 5
    assert client_ip(request) == "1.2.3.4"


@override_settings(CACHES=LOCMEM, API_RATE_LIMIT_AUTHENTICATED="3/m")
def test_api_answers_429_past_the_per_user_limit(api_client, director_a, supervisor, child):
    from django.core.cache import cache

    cache.clear()
    client = api_client(director_a)
    statuses = [client.get("/api/v1/children").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get(f"/api/v1/children/{child.pk}")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    # The limit is per user: another user (same IP) is still served.
    assert api_client(supervisor).get("/api/v1/children").status_code == 200


@override_settings(CACHES=LOCMEM, API_RATE_LIMIT_AUTHENTICATED="2/m")
def test_session_calls_to_the_api_count_for_the_same_user(client_for, director_a):
    from django.core.cache import cache

    cache.clear()
    client = client_for(director_a)
    statuses = [client.get("/api/v1/children").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_default_api_rates():
    from config.settings import base

    assert base.API_RATE_LIMIT_AUTHENTICATED == "600/m"
    assert base.API_RATE_LIMIT_ANONYMOUS == "60/m"


# --- 6. The admin's address ---------------------------------------------------------------------


def test_admin_is_not_at_admin(client_for, admin_user):
    assert Client().get("/admin/").status_code == 404
    assert client_for(admin_user).get("/admin/").status_code == 404
    assert client_for(admin_user).get("/manage/").status_code == 200


# --- 2. HSTS (production settings; `check --deploy` is tested in tests/config) ---------------


def test_production_sends_hsts_for_a_year_with_subdomains():
    import json
    import subprocess
    import sys

    from ..config.test_infrastructure import _env_from_example

    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.TRUSTED_PROXY_COUNT, s.DEBUG]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env_from_example(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    hsts, subdomains, redirect, session_secure, csrf_secure, proxies, debug = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert hsts == 31536000
    assert subdomains and redirect and session_secure and csrf_secure
    assert proxies == 1
    assert debug is False
