"""The installable web app, server side (issue 19 §1): the service worker and its manifest, the
offline page, the short files a director's phone keeps and the form shells they fill in, the time
the data was fetched on every page that opens offline. The browser side: tests/browser/
test_offline_open.py."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.contrib.staticfiles import finders
from PIL import Image

from children.services import child_close
from visits import offline_views
from visits.services import visit_record

from ..factories import make_agreement, make_child, make_id_number

pytestmark = pytest.mark.django_db

ID_NUMBER = re.compile(r"\d{17}[\dXx]")
PHONE = re.compile(r"1[3-9]\d{9}")
NOW = "2026-11-23T10:00:00+08:00"  # the `frozen` fixture's moment
STATIC_REFERENCE = re.compile(
    r"""<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src|img[^>]*src|use[^>]*href)="(/static/[^"#]+)"""
)


def sw_config(client) -> dict:
    body = client.get("/sw.js").content.decode()
    start = body.index("const CONFIG = ") + len("const CONFIG = ")
    return json.JSONDecoder().raw_decode(body[start:])[0]


# --- The worker and the manifest -----------------------------------------------------------------


def test_service_worker_is_served_from_the_root_with_no_data(client, director_a):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    # Workbox from our own static files, core first, and never its CDN loader.
    config = sw_config(client)
    assert [url.rsplit("/", 1)[1] for url in config["workbox"]] == [
        f"workbox-{name}.prod.js" for name in offline_views.WORKBOX_MODULES
    ]
    for url in config["workbox"]:
        assert finders.find(url.removeprefix("/static/")), url
    assert "workbox-sw" not in body
    assert not re.search(r"https?://", body)
    # The pages it keeps and the shells they fall back to.
    assert config["offline"] == "/offline/"
    assert {"url": "/offline/", "revision": config["revision"]} in config["precache"]
    assert set(config["shells"]) == {
        "/visits/offline/shell/visit/",
        "/visits/offline/shell/parent-contact/",
    }
    kept = [re.compile(page["pattern"]) for page in config["pages"]]
    for path in (
        "/visits/",
        "/visits/new/6f1c9f3e-3c1e-4c55-9d55-6f1c9f3e3c1e/",
        "/children/6f1c9f3e-3c1e-4c55-9d55-6f1c9f3e3c1e/parent-contacts/new/",
        "/visits/6f1c9f3e-3c1e-4c55-9d55-6f1c9f3e3c1e/edit/",
    ):
        assert any(pattern.search(path) for pattern in kept), path
    for path in ("/api/v1/children/", "/accounts/login/", "/manage/", "/children/export.xlsx"):
        assert not any(pattern.search(path) for pattern in kept), path


def test_the_worker_is_the_same_for_everyone(client, client_for, director_a):
    """No data and no session in it: the same bytes logged in or not (so it never reinstalls
    because somebody else opened it)."""
    assert client.get("/sw.js").content == client_for(director_a).get("/sw.js").content


def test_precache_holds_every_stylesheet_script_and_icon_of_the_offline_pages(
    client_for, director_a, child, frozen
):
    client = client_for(director_a)
    precached = {entry["url"] for entry in sw_config(client)["precache"]}
    pages = [
        "/visits/",
        f"/visits/new/{child.pk}/",
        f"/visits/new/{child.pk}/?kind=phone",
        f"/children/{child.pk}/parent-contacts/new/",
        "/visits/offline/shell/visit/",
        "/visits/offline/shell/parent-contact/",
        "/offline/",
    ]
    seen = set()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        named = set(STATIC_REFERENCE.findall(response.content.decode()))
        assert any(url.endswith(".css") for url in named), page
        assert any(url.endswith("offline.js") for url in named), page
        assert named <= precached, f"{page}: {sorted(named - precached)} not precached"
        seen |= named
    # …and nothing precached is missing from the static files (it would fail the install).
    for url in precached - {"/offline/"}:
        assert finders.find(url.removeprefix("/static/")), url


def test_manifest_names_the_app_and_icons_that_exist(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == manifest["short_name"] == "守望"
    assert manifest["start_url"] == manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    page = client.get("/accounts/login/").content.decode()
    assert f'<meta name="theme-color" content="{manifest["theme_color"]}">' in page
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    sizes = set()
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon
        if icon["type"] == "image/png":
            width, height = Image.open(path).size
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add(width)
    assert {192, 512} <= sizes
    assert any(icon["type"] == "image/svg+xml" for icon in manifest["icons"])


def test_content_security_policy_allows_our_worker_and_manifest_only(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "worker-src 'self'" in policy
    assert "manifest-src 'self'" in policy
    assert "script-src 'self'" in policy


def test_offline_page_is_public_and_names_nobody(client, client_for, director_a):
    for requester in (client, client_for(director_a)):
        response = requester.get("/offline/")
        assert response.status_code == 200
        body = response.content.decode()
        assert "data-offline-page" in body
        assert 'href="/visits/"' in body
        assert 'href="/visits/offline/queue/"' in body
        # Precached maybe before anyone logs in, kept after logout: no name, no menu.
        assert director_a.display_name not in body
        assert 'id="mainnav"' not in body


def test_base_page_registers_the_worker_and_only_a_visitor_prefetches(
    client_for, director_a, viewer
):
    director_page = client_for(director_a).get("/visits/").content.decode()
    assert 'data-sw="/sw.js"' in director_page
    assert 'data-prefetch="/visits/offline/children.json"' in director_page
    assert "data-offline-prefetch" in director_page  # the worklist starts it
    viewer_page = client_for(viewer).get("/children/").content.decode()
    assert 'data-sw="/sw.js"' in viewer_page
    assert "data-prefetch=" not in viewer_page


# --- The short files -----------------------------------------------------------------------------


@pytest.fixture
def village_children(frozen, director_a, director_b):
    kept = make_child(
        director_a,
        name="查小雨",
        gender="female",
        birth_date=date(2016, 3, 8),
        id_number=make_id_number("2016-03-08", "female"),
    )
    make_agreement(director_a, kept)
    visit_record(user=director_a, child=kept, visited_on=date(2026, 11, 20), kind="home")
    closed = make_child(director_a, name="关小门", birth_date=date(2012, 1, 1))
    child_close(user=director_a, child=closed, reason="moved_away")
    frozen.move_to("2025-06-01 10:00 +0800")
    # Registered at 17, 18 now: a file left open past 18 (for education) is on no worklist.
    adult = make_child(director_a, name="成大年", birth_date=date(2008, 1, 1))
    frozen.move_to("2026-11-23 10:00 +0800")
    other_village = make_child(director_b, name="王外村", birth_date=date(2015, 1, 1))
    return kept, closed, adult, other_village


def test_short_files_of_the_directors_children_only(client_for, director_a, village_children):
    kept = village_children[0]
    response = client_for(director_a).get("/visits/offline/children.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["fetched_at"] == NOW
    assert len(data["csrf_token"]) >= 32
    assert [c["id"] for c in data["children"]] == [str(kept.pk)]
    short = data["children"][0]
    kept.refresh_from_db()
    assert short == {
        "id": str(kept.pk),
        "name": "查小雨",
        "village": kept.village.name,
        "age": 10,
        "categories": short["categories"],
        "schedule_reason": kept.schedule_reason_shown,
        "status": "active",
        "version": kept.version,
        "next_home_visit_due": kept.next_home_visit_due.isoformat(),
        "next_contact_due": kept.next_contact_due.isoformat(),
        "last_home_visit_on": "2026-11-20",
        "caregiver": {"name": "查德明", "relation": "祖父母"},
        "urls": {
            "visit": f"/visits/new/{kept.pk}/",
            "contact": f"/visits/new/{kept.pk}/?kind=phone",
            "parent_contact": f"/children/{kept.pk}/parent-contacts/new/",
            "detail": f"/children/{kept.pk}/",
        },
    }
    assert all(isinstance(label, str) for label in short["categories"])
    body = response.content.decode()
    # Sensitive: no ID number (full or masked), no phone number of anyone.
    assert not ID_NUMBER.search(body)
    assert not PHONE.search(body)
    assert kept.id_number_masked and kept.id_number_masked not in body
    for number in (
        "13905631888",
        "13812345678",
    ):  # the caregiver's and the parent's (make_agreement)
        assert number not in body
    for name in ("关小门", "成大年", "王外村"):
        assert name not in body


def test_short_files_of_another_village_never_reach_a_director(
    client_for, director_b, outsider, village_children
):
    mine = json.loads(client_for(director_b).get("/visits/offline/children.json").content)
    assert [c["name"] for c in mine["children"]] == ["王外村"]
    nothing = json.loads(client_for(outsider).get("/visits/offline/children.json").content)
    assert nothing["children"] == []


# The session and the user, then the children and their care agreements, then the audit (one
# INSERT for every child).
SHORT_FILE_QUERIES = 5


@pytest.mark.parametrize("count", [2, 12])
def test_short_files_take_a_constant_number_of_queries(
    client_for, director_a, frozen, count, django_assert_num_queries
):
    for i in range(count):
        child = make_child(director_a, name=f"孩子{i}", birth_date=date(2014, 1, 1 + i))
        if i % 2:
            make_agreement(director_a, child)
    client = client_for(director_a)
    client.get("/visits/offline/children.json")  # the session's first-request writes
    with django_assert_num_queries(SHORT_FILE_QUERIES):
        response = client.get("/visits/offline/children.json")
    assert len(json.loads(response.content)["children"]) == count
    # Copied onto the phone: audited as an export, a record per child.
    from accounts.models import AuditAction, AuditRecord

    audited = AuditRecord.objects.filter(
        action=AuditAction.EXPORT, detail__export="offline_short_files"
    )
    assert audited.count() == 2 * count


@pytest.mark.parametrize(
    "path",
    [
        "/visits/offline/children.json",
        "/visits/offline/shell/visit/",
        "/visits/offline/shell/parent-contact/",
    ],
)
def test_short_files_and_shells_need_login_and_a_visiting_role(
    client, client_for, path, viewer, reporter, security_officer, auditor
):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    for user in (viewer, reporter, security_officer, auditor):
        assert client_for(user).get(path).status_code == 403, user.role
    assert client_for(viewer).post(path).status_code == 405


# --- The shells ----------------------------------------------------------------------------------


def test_visit_shell_is_the_visit_form_with_no_child(client_for, director_a, frozen):
    response = client_for(director_a).get("/visits/offline/shell/visit/")
    assert response.status_code == 200
    assert response.templates[0].name == "visits/visit_form.html"
    body = response.content.decode()
    assert 'data-shell="visit"' in body
    for field in ("name", "village", "schedule_reason", "cancel"):
        assert f'data-shell-field="{field}"' in body
    form = re.search(r"<form [^>]*>", body[body.index('data-shell="visit"') :])[0]
    # Posts to the page's own address: the child's real form when the worker gave the shell.
    assert "action=" not in form
    assert 'data-capture="visit"' in form
    assert 'name="base"' in body
    assert 'name="client_id"' in body
    assert 'value="2026-11-23"' in body  # the date, which offline.js moves to the phone's today
    assert "data-shell-missing" in body
    assert f'<time datetime="{NOW}">' in body


def test_parent_contact_shell_is_the_parent_contact_form_with_no_child(
    client_for, director_a, frozen
):
    response = client_for(director_a).get("/visits/offline/shell/parent-contact/")
    assert response.status_code == 200
    assert response.templates[0].name == "children/parent_contact_form.html"
    body = response.content.decode()
    assert 'data-shell="parent_contact"' in body
    assert 'data-shell-field="name"' in body
    assert 'data-shell-field="back"' in body
    form = re.search(r"<form [^>]*>", body[body.index('data-shell="parent_contact"') :])[0]
    assert "action=" not in form
    assert 'name="contacted_on"' in body
    assert f'<time datetime="{NOW}">' in body


def test_real_forms_carry_no_shell_mark(client_for, director_a, child):
    client = client_for(director_a)
    for path in (f"/visits/new/{child.pk}/", f"/children/{child.pk}/parent-contacts/new/"):
        body = client.get(path).content.decode()
        assert "data-shell=" not in body
        assert "data-shell-missing" not in body
        assert "查小雨" in body


# --- When the data was fetched -------------------------------------------------------------------


def test_worklist_and_the_forms_say_when_their_data_was_fetched(
    client_for, director_a, child, frozen
):
    visit = visit_record(user=director_a, child=child, visited_on=date(2026, 11, 20), kind="home")
    client = client_for(director_a)
    for path in (
        "/visits/",
        f"/visits/new/{child.pk}/",
        f"/visits/new/{child.pk}/?kind=phone",
        f"/children/{child.pk}/parent-contacts/new/",
        f"/visits/{visit.pk}/edit/",
    ):
        body = client.get(path).content.decode()
        line = re.search(r"<p [^>]*data-fetched[^>]*>(.*?)</p>", body)
        assert line, path
        assert f'<time datetime="{NOW}">' in line[1], path
        assert "10:00" in line[1], path


def test_fetched_time_reads_as_a_day_and_a_time(client_for, director_a, frozen):
    english = client_for(director_a)
    english.cookies.load({"django_language": "en"})
    body = english.get("/visits/").content.decode()
    assert re.search(r"Data fetched <time [^>]*>Nov 23, 10:00</time>", body)
