"""Issue 19 point 1 (browser side): the installable web app opens with no signal.

A director on a phone opens the worklist online once; the service worker (/sw.js, Workbox) takes
over and keeps the app shell, the worklist, the short files of the director's children and the two
form shells. With the phone offline: the worklist opens, saying when its data was fetched; the
visit form of a child opened before opens as it was; the visit form, the contact form (?kind=phone)
and the parent-contact form of children never opened open from the shells, filled in with the
child; any other page opens as /offline/. At logout the kept pages are gone.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from ..factories import make_agreement, make_child
from .conftest import PHONE, TIMEOUT_MS, log_in

journey = pytest.mark.django_db(transaction=True)
pytestmark = pytest.mark.xdist_group("browser")

FETCHED = re.compile(r"数据获取于 \d{1,2}月\d{1,2}日 \d\d:\d\d")
BANNER = re.compile(r"离线：显示的是 \d{1,2}月\d{1,2}日 \d\d:\d\d 获取的数据")


def kept(page: Page, cache: str, path: str) -> bool:
    return page.evaluate(
        """async ([cache, path]) => {
            if (!(await caches.has(cache))) return false;
            const store = await caches.open(cache);
            return !!(await store.match(new URL(path, location.origin).href));
        }""",
        [cache, path],
    )


def wait_for(page: Page, script: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Until ``script`` is true in the page. (page.wait_for_function evaluates a string, which
    the Content-Security-Policy refuses: no 'unsafe-eval'.)"""
    for _ in range(timeout_ms // 100):
        if page.evaluate(script):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still false after {timeout_ms} ms: {script}")


def wait_until_ready(page: Page) -> None:
    """The worker controls the page and offline.js has fetched what the phone keeps (installing
    it fetches the whole app shell: a busy machine may take a while)."""
    try:
        wait_for(page, "navigator.serviceWorker.controller !== null", 2 * TIMEOUT_MS)
    except AssertionError:
        state = page.evaluate(
            """async () => {
                const r = await navigator.serviceWorker.getRegistration();
                return r ? [r.installing, r.waiting, r.active].map((w) => w && w.state) : null;
            }"""
        )
        raise AssertionError(f"no service worker controls the page: {state}") from None
    wait_for(page, "document.documentElement.dataset.offlineReady === '1'")


@pytest.fixture
def village(director_a):
    opened = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    never = make_child(director_a, name="王小山", birth_date=date(2014, 5, 1))
    parents = make_child(director_a, name="方小禾", gender="female", birth_date=date(2012, 9, 9))
    make_agreement(director_a, never)
    return opened, never, parents


@journey
def test_worklist_and_forms_open_with_no_signal(open_page, shoot, director_a, village):
    opened, never, parents = village
    page = open_page(PHONE, is_mobile=True, has_touch=True, service_workers="allow")
    context = page.context

    # Online: the worklist once, then one child's visit form.
    log_in(page, director_a.username)
    expect(page).to_have_url(re.compile(r"/visits/$"))
    wait_until_ready(page)
    assert kept(page, "shouwang-children", "/visits/offline/children.json")
    assert kept(page, "shouwang-pages", "/visits/")
    assert kept(page, "shouwang-pages", "/visits/offline/shell/visit/")
    assert kept(page, "shouwang-pages", "/visits/offline/shell/parent-contact/")
    expect(page.locator("#offline-banner")).to_be_hidden()
    page.goto(f"/visits/new/{opened.pk}/?next=/visits/")
    expect(page.locator("h1")).to_contain_text("查小雨")
    assert kept(page, "shouwang-pages", f"/visits/new/{opened.pk}/")

    context.set_offline(True)

    # The worklist, with the time its data was fetched and the offline banner.
    page.goto("/visits/")
    expect(page.locator("h1")).to_have_text("走访任务")
    expect(page.locator("[data-fetched]")).to_have_text(FETCHED)
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#offline-banner")).to_have_text(BANNER)
    expect(page.get_by_text("王小山")).to_be_visible()
    shoot(page, "offline-worklist")

    # The home page of a director is the worklist, offline too (the app starts at /).
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/visits/$"))
    expect(page.locator("h1")).to_have_text("走访任务")

    # The form of the child opened before: the page as it was, not a shell.
    page.goto(f"/visits/new/{opened.pk}/?next=/visits/")
    expect(page.locator("h1")).to_contain_text("查小雨")
    assert page.locator("[data-shell]").count() == 0
    expect(page.locator("[data-fetched]")).to_have_text(FETCHED)
    expect(page.locator("#offline-banner")).to_be_visible()

    # A child never opened: the shell, filled in from the short files.
    never.refresh_from_db()
    page.goto(f"/visits/new/{never.pk}/?next=/visits/")
    expect(page.locator("[data-shell=visit]")).to_have_count(1)
    expect(page.locator("h1")).to_contain_text("王小山")
    expect(page.locator("[data-shell-field=village]")).to_have_text(never.village.name)
    expect(page.locator("[data-shell-field=schedule_reason]")).not_to_be_empty()
    expect(page.locator("[data-shell-missing]")).to_be_hidden()
    expect(page.locator("input[name=base]")).to_have_value(str(never.version))
    expect(page.locator("input[name=kind][value=home]")).to_be_checked()
    # It posts to the child's own form, and Cancel goes back where it came from.
    assert page.evaluate("document.querySelector('[data-shell] form').action") == page.url
    expect(page.locator("[data-shell-field=cancel]")).to_have_attribute("href", "/visits/")
    expect(page.locator("[data-fetched]")).to_have_text(FETCHED)
    expect(page.locator("#offline-banner")).to_have_text(BANNER)
    assert "王小山" in page.title()
    shoot(page, "offline-visit-shell")

    # The contact form (the same form, a phone call) of that child.
    page.goto(f"/visits/new/{never.pk}/?kind=phone")
    expect(page.locator("h1")).to_contain_text("王小山")
    expect(page.locator("input[name=kind][value=phone]")).to_be_checked()

    # The parent-contact form of a third child, never opened either.
    page.goto(f"/children/{parents.pk}/parent-contacts/new/")
    expect(page.locator("[data-shell=parent_contact]")).to_have_count(1)
    expect(page.locator("[data-shell-field=name]")).to_have_text("方小禾")
    expect(page.locator("[data-shell-field=back]")).to_have_attribute(
        "href", f"/children/{parents.pk}/"
    )
    expect(page.locator("input[name=contacted_on]")).not_to_have_value("")
    expect(page.locator("[data-fetched]")).to_have_text(FETCHED)
    shoot(page, "offline-parent-contact-shell")

    # Any other page: /offline/, with the way back to the worklist and the upload queue.
    page.goto("/children/")
    expect(page.locator("h1")).to_have_text("没有网络")
    expect(page.get_by_role("link", name="走访任务")).to_have_attribute("href", "/visits/")
    expect(page.locator("[data-offline-page] a[href='/visits/offline/queue/']")).to_have_count(1)
    expect(page.locator("#offline-banner")).to_be_hidden()  # it shows no data to date
    shoot(page, "offline-page")

    # Back online, logging out empties what was kept of pages and short files.
    context.set_offline(False)
    page.goto("/visits/")
    expect(page.locator("#offline-banner")).to_be_hidden()
    # As a person does: the menu, their name, 退出登录 (a button of the form outside the menu).
    page.locator(".navbar-toggler").click()
    page.locator(".dropdown-toggle").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    names = page.evaluate("caches.keys()")
    assert not [name for name in names if name.startswith(("shouwang-pages", "shouwang-children"))]
    assert any(name.startswith("workbox-precache") for name in names)  # the app shell stays


@journey
def test_a_child_not_on_the_phone_says_so(open_page, director_a, director_b, village):
    """A shell for a child the short files do not hold (another village's): said, not guessed."""
    elsewhere = make_child(director_b, name="王外村", birth_date=date(2015, 1, 1))
    page = open_page(PHONE, service_workers="allow")
    log_in(page, director_a.username)
    wait_until_ready(page)
    page.context.set_offline(True)
    page.goto(f"/visits/new/{elsewhere.pk}/")
    expect(page.locator("[data-shell-missing]")).to_be_visible()
    expect(page.locator("h1")).not_to_contain_text("王外村")


@journey
def test_manifest_and_worker_are_served_for_installing(open_page):
    page = open_page(PHONE)
    page.goto("/accounts/login/")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(href)
    assert response.ok
    manifest = json.loads(response.text())
    assert manifest["name"] == "守望"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        assert page.request.get(icon["src"]).ok, icon
    worker = page.request.get("/sw.js")
    assert worker.ok
    assert worker.headers["content-type"].startswith("application/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["service-worker-allowed"] == "/"
    # Installed by the login page already: the app shell and /offline/ are precached.
    wait_for(page, "navigator.serviceWorker.controller !== null")
    precached = page.evaluate(
        """async () => {
            const name = (await caches.keys()).find((n) => n.startsWith("workbox-precache"));
            const store = await caches.open(name);
            return (await store.keys()).map((request) => new URL(request.url).pathname);
        }"""
    )
    assert "/offline/" in precached
    assert any(path.endswith(".css") for path in precached)
