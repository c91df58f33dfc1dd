"""Issue 14 L1, open redirect: every form that takes ``next`` goes back to a page of this site
or to its own default; ``next=javascript:`` once answered 500 after the visit was saved."""

from __future__ import annotations

from datetime import date
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils.html import escape

from visits.models import Visit

from ..factories import TEST_PASSWORD, make_child

pytestmark = pytest.mark.django_db

HOSTILE = {
    "absolute": "https://evil.example/",
    "absolute, this host": "http://testserver/children/",
    "scheme-relative": "//evil.example",
    "backslash": "/\\evil.example",
    "javascript": "javascript:alert(1)",
    "escaped nul": "\\x00",
    "nul": "\x00",
    "nul path": "/children/\x00",
    "tab": "/\t/evil.example",
    "leading space": " //evil.example",
    "very long": "/" + "a" * 10_000,
    "data": "data:text/html,<script>alert(1)</script>",
    "mailto": "mailto:a@evil.example",
}


def assert_stays_on_site(response, default: str | None = None) -> None:
    assert response.status_code in (200, 302), response.status_code
    if response.status_code != 302:
        return
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert len(location) < 3000 and not any(ord(c) < 32 for c in location), location[:80]
    if default is not None:
        assert location == default


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_visit_form_saves_once_and_stays_on_site(client_for, director_a, value):
    child = make_child(director_a, name="跳转童")
    client = client_for(director_a)
    page = client.get(f"/visits/new/{child.pk}/", {"next": value})
    if "\x00" in value:  # a NUL in a query string is a bad request (api.md "Bad requests")
        assert page.status_code == 400
    else:
        assert page.status_code == 200
        html = page.content.decode()
        # Neither the Cancel link nor the hidden field carries the hostile value back.
        assert f'"{escape(value)}"' not in html
        assert 'href="javascript:' not in html and 'name="next" value=""' in html
    response = client.post(
        f"/visits/new/{child.pk}/",
        {"visited_on": date.today().isoformat(), "kind": "home", "next": value},
    )
    assert_stays_on_site(response, default="/visits/")
    assert Visit.objects.filter(child=child).count() == 1


def test_visit_form_still_returns_to_a_page_of_the_site(client_for, director_a):
    child = make_child(director_a, name="跳转童")
    response = client_for(director_a).post(
        f"/visits/new/{child.pk}/",
        {"visited_on": date.today().isoformat(), "kind": "phone", "next": "/children/?q=跳转"},
    )
    assert response.status_code == 302
    assert unquote(response["Location"]) == "/children/?q=跳转"


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_sign_in_pages_stay_on_site(client_for, director_a, value):
    # The second step (already passed: straight on to `next`), the language switch, the
    # password sign-in and sign-out all take `next`.
    client = client_for(director_a)
    second_step = client.get("/accounts/two-factor/", {"next": value})
    if "\x00" in value:
        assert second_step.status_code == 400
    else:
        assert_stays_on_site(second_step, default="/")
    assert_stays_on_site(client.post("/i18n/setlang/", {"language": "en", "next": value}))
    assert_stays_on_site(client.post("/accounts/logout/", {"next": value}))
    response = Client().post(
        "/accounts/login/",
        {"username": director_a.username, "password": TEST_PASSWORD, "next": value},
    )
    assert response.status_code == 302  # signed in, and sent to a page of the site
    assert_stays_on_site(response)
