"""Issue 19 point 3, the queue's own triggers (static/js/capture.js), in Chromium at 390 px:

* the signal comes back while a page is open: the queue uploads by itself (the `online` event),
  without a reload or a tap;
* an upload that failed (the server refused the body as cut short: 400) waits on the phone, and the
  page tries again on its own a minute later;
* two tabs open at once upload a waiting visit once (one sync run at a time across tabs);
* Save answered 401 (the session ended meanwhile): the visit waits, marked "sign in again".
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from visits.models import Visit

from ..factories import make_child
from .conftest import log_in
from .test_offline_capture import QUEUED, stored, throttle
from .test_offline_capture import phone as phone
from .test_offline_open import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

LOGIN_EXPIRED = "登录已过期，请重新登录后自动上传"


def fill_visit(page: Page, notes: str) -> None:
    page.locator("label[for=id_kind_0]").click()  # 入户走访
    page.locator("input[name=seen][value=child] + label").click()
    page.locator("#id_notes").fill(notes)
    page.wait_for_timeout(600)  # the debounced draft


def answer_posts(page: Page, status: int, body: dict) -> list[str]:
    """The page's POSTs to a visit form answered `status` with `body` instead of the server (the
    page's other requests go through); returns the list of those answered, as they come."""
    answered: list[str] = []

    def answer(route):
        if route.request.method == "POST":
            answered.append(route.request.url)
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
        else:
            route.continue_()

    page.route(re.compile(r"/visits/new/"), answer)
    return answered


def posts_to(page: Page, path: str) -> list[str]:
    """Records every POST the browser context sends to `path` (any tab, the worker included)."""
    sent: list[str] = []
    page.context.on(
        "request",
        lambda request: (
            sent.append(request.url) if request.method == "POST" and path in request.url else None
        ),
    )
    return sent


def saved_with_no_signal(phone, director, name: str, notes: str):
    """A director's phone, the app installed, on slow 3G: a visit for a new child typed and saved
    with no signal, waiting on the phone. Returns (context, page, child, signal)."""
    child = make_child(director, name=name)
    context, page = phone()
    log_in(page, director.username)
    page.wait_for_function("() => !!navigator.serviceWorker?.controller")
    signal = throttle(context, page)
    page.goto(f"/visits/new/{child.pk}/")
    fill_visit(page, notes)
    signal(False)
    page.get_by_role("button", name="保存走访").click()
    expect(page.get_by_text(QUEUED)).to_be_visible()
    expect(page.locator("#sync-count")).to_have_text(re.compile(r"\b1\b"))
    assert not Visit.objects.exists()
    return context, page, child, signal


def uploaded(page: Page, timeout_ms: int = 60_000) -> Visit:
    """The one visit, once the upload is in the database: a page just opened shows no badge
    before capture.js has read the queue, so a hidden badge alone does not mean uploaded."""
    for _ in range(timeout_ms // 200):
        visit = Visit.objects.first()
        if visit is not None:
            assert Visit.objects.count() == 1
            return visit
        page.wait_for_timeout(200)
    raise AssertionError(f"no visit uploaded after {timeout_ms} ms")


def test_the_queue_uploads_by_itself_when_the_signal_returns(phone, director_a):
    _context, page, child, signal = saved_with_no_signal(
        phone, director_a, "查信号", "信号回来后自动上传。"
    )
    # The page stays as it is: nothing is tapped, nothing reloads.
    page.evaluate("() => { window.sameDocument = true; }")
    signal(True)
    # (well before the page's own once-a-minute try)
    expect(page.locator("#sync-count")).to_be_hidden(timeout=20_000)
    assert page.evaluate("() => window.sameDocument === true")
    visit = Visit.objects.get()
    assert visit.child_id == child.pk and visit.notes == "信号回来后自动上传。"
    assert stored(page, "queue") == []


def test_a_refused_upload_waits_and_is_tried_again_a_minute_later(phone, director_a):
    child = make_child(director_a, name="查重试")
    # No service worker here: it would send the page's requests past Playwright's routes.
    context, page = phone(service_workers="block")
    # The page's own clock: a minute passes when the test says so.
    context.clock.install()
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    fill_visit(page, "第一次上传被截断。")
    # The body arrives cut short: the server saves nothing and answers 400 (config.security).
    refused = answer_posts(page, 400, {"status": "bad"})
    page.get_by_role("button", name="保存走访").click()
    expect(page).to_have_url(re.compile(r"/visits/$"))
    expect(page.get_by_text(QUEUED)).to_be_visible()
    expect(page.locator("#sync-count")).to_have_text(re.compile(r"\b1\b"))
    # The worklist tries it at once (the connection may be back), is refused again, and waits.
    wait_for(
        page,
        """async () => {
          const db = await window.shouwangCapture.db();
          const all = await new Promise(ok => {
            const r = db.transaction('queue').objectStore('queue').getAll();
            r.onsuccess = () => ok(r.result);
          });
          return all.length === 1 && all[0].attempts === 1 && all[0].status === 'waiting';
        }""",
    )
    page.unroute(re.compile(r"/visits/new/"))
    assert len(refused) == 2  # Save, then the worklist's try
    page.wait_for_timeout(1500)
    assert not Visit.objects.exists()  # not before its time

    # Nobody taps anything: a minute later the page tries again, and the server takes it.
    context.clock.fast_forward("01:01")
    expect(page.locator("#sync-count")).to_be_hidden(timeout=60_000)
    visit = uploaded(page)
    assert visit.notes == "第一次上传被截断。"


def test_two_tabs_upload_a_waiting_visit_once(phone, director_a):
    context, page, child, signal = saved_with_no_signal(
        phone, director_a, "查双页", "两个标签页同时上传。"
    )
    # A second tab on the worklist, while the signal is still gone.
    other = context.new_page()
    other.goto("/visits/")
    expect(other.locator("#sync-count")).to_have_text(re.compile(r"\b1\b"))
    sent = posts_to(page, f"/visits/new/{child.pk}/")

    # The signal returns: both tabs hear it at once, and each would upload what waits.
    signal(True)
    expect(page.locator("#sync-count")).to_be_hidden(timeout=60_000)
    expect(other.locator("#sync-count")).to_be_hidden(timeout=60_000)
    # And both are asked again on purpose, at the same moment.
    page.evaluate("() => { window.shouwangCapture.sync(true); }")
    other.evaluate("() => { window.shouwangCapture.sync(true); }")
    page.wait_for_timeout(1000)
    assert len(sent) == 1, sent
    assert Visit.objects.filter(child=child).count() == 1


def test_save_answered_401_waits_for_the_next_sign_in(phone, director_a):
    child = make_child(director_a, name="查过期")
    _context, page = phone()
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    fill_visit(page, "登录过期时保存。")

    # The session ended on the server meanwhile (core.capture.SyncLoginMiddleware: 401 JSON).
    answer_posts(page, 401, {"status": "login"})
    page.get_by_role("button", name="保存走访").click()
    expect(page.get_by_text(LOGIN_EXPIRED)).to_be_visible()
    (waiting,) = stored(page, "queue")
    assert waiting["status"] == "login"
    expect(page.locator("#sync-count")).to_have_class(re.compile("text-bg-danger"))
    assert not Visit.objects.exists()
    page.unroute(re.compile(r"/visits/new/"))
    # Signed in again (here the session is still alive): the next page uploads it by itself.
    page.goto("/visits/")
    expect(page.locator("#sync-count")).to_be_hidden(timeout=60_000)
    assert uploaded(page).notes == "登录过期时保存。"
