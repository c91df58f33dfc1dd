"""Issue 19 point 6, in the browser: after a failed save on a 390 px phone, a summary at the top of
the form names each error, the page has moved to the first field in error with the cursor in it,
and each line of the summary takes the cursor to its field (templates/partials/form_errors.html,
the end of static/js/app.js)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import PHONE, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

# Where the page stands after the failed save: the summary, the fields in error (by their crispy
# wrapper div_id_*) with their labels, the focused element and the scroll position.
STATE = """() => {
  const form = document.querySelector('[data-error-summary]').closest('form');
  const summary = form.querySelector('[data-error-summary]');
  const wrappers = [...form.querySelectorAll('[id^=div_id_]')]
    .filter(w => [...w.querySelectorAll('.is-invalid, .invalid-feedback')]
      .some(e => e.getClientRects().length && (e.matches('.is-invalid') || e.innerText.trim())));
  const fields = [...form.querySelectorAll('fieldset, [id^=div_id_]')];
  const inView = el => {
    const box = el.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight;
  };
  const first = wrappers[0];
  return {
    summaryFirst: fields.every(
      f => summary.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING),
    summaryText: summary.innerText,
    lines: summary.querySelectorAll('li').length,
    links: [...summary.querySelectorAll('[data-error-link]')].map(a => a.dataset.errorLink),
    errors: wrappers.map(w => ({
      id: w.id,
      label: (w.querySelector('.form-label, legend, label') || {}).innerText || '',
    })),
    firstTop: first ? first.getBoundingClientRect().top + window.scrollY : null,
    firstInView: first ? inView(first) : false,
    focusInFirst: first ? first.contains(document.activeElement) : false,
    focused: document.activeElement.id || document.activeElement.tagName,
    scrollY: window.scrollY,
    height: window.innerHeight,
  };
}"""

FOCUS_IN = """(id) => {
  const wrapper = document.getElementById('div_' + id);
  const box = wrapper.getBoundingClientRect();
  return {
    inside: wrapper.contains(document.activeElement),
    inView: box.bottom > 0 && box.top < window.innerHeight,
  };
}"""


def settle(page: Page) -> None:
    """Until the page stops moving (Bootstrap scrolls smoothly unless the phone asks for less
    motion)."""
    last = None
    for _ in range(40):
        now = page.evaluate("() => window.scrollY")
        if now == last:
            return
        last = now
        page.wait_for_timeout(150)


def check_failed_save(page: Page, at_least: int) -> dict:
    page.locator("[data-error-summary]").wait_for()
    # app.js moves the cursor once the page is in place (polled: the page's CSP forbids the eval
    # that wait_for_function would use).
    for _ in range(50):
        if page.evaluate("() => document.activeElement !== document.body"):
            break
        page.wait_for_timeout(100)
    settle(page)
    state = page.evaluate(STATE)
    where = page.url
    assert state["summaryFirst"], f"{where}: the error summary is not above the fields"
    assert len(state["errors"]) >= at_least, f"{where}: {state['errors']}"
    assert state["lines"] >= len(state["errors"]), state
    for error in state["errors"]:
        label = error["label"].replace("*", "").strip()
        assert label and label in state["summaryText"], f"{where}: {label!r} not in the summary"
        assert error["id"].removeprefix("div_") in state["links"], f"{where}: no link to {error}"
    assert state["firstInView"], f"{where}: the first field in error is out of sight: {state}"
    assert state["focusInFirst"], f"{where}: the cursor is in {state['focused']}: {state}"
    if state["firstTop"] > state["height"]:
        assert state["scrollY"] > 0, f"{where}: the page did not move to the field below: {state}"
    # A summary line takes the cursor to its field: the last one, away from where it is now.
    last = state["links"][-1]
    page.locator(f'[data-error-summary] [data-error-link="{last}"]').click()
    settle(page)
    moved = page.evaluate(FOCUS_IN, last)
    assert moved["inside"] and moved["inView"], f"{where}: the link to {last} left {moved}"
    return state


def test_a_refused_new_child_file_names_each_error_and_moves_to_the_first(open_page, director_a):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, director_a.username)
    page.goto("/children/new/")
    page.get_by_role("button", name="保存").click()
    state = check_failed_save(page, at_least=3)
    assert state["errors"][0]["id"] == "div_id_name", state["errors"]


def test_an_error_below_the_fold_is_scrolled_to(open_page, director_a):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, director_a.username)
    page.goto("/children/new/")
    page.locator("#id_name").fill("查小测")
    page.locator("input[name=gender][value=female]").check()
    page.locator("#id_birth_date").fill("2016-03-08")
    page.locator("#id_hukou_registered").uncheck()  # no hukou: the ID number may stay empty
    # Far down the form, and too long for the server (past the browser's own maxlength check).
    note = page.locator("#id_psych_note")
    note.evaluate("element => element.removeAttribute('maxlength')")
    note.fill("长" * 501)
    page.get_by_role("button", name="保存").click()
    state = check_failed_save(page, at_least=1)
    assert [e["id"] for e in state["errors"]] == ["div_id_psych_note"], state["errors"]
    assert state["firstTop"] > state["height"], "the field was meant to be below the fold"
    assert state["scrollY"] > 0, state


def test_a_refused_visit_names_each_error_and_moves_to_the_first(open_page, director_a, child):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, director_a.username)
    page.goto(f"/visits/new/{child.pk}/")
    # A visit dated after today, with nobody seen: both refused.
    page.locator("#id_visited_on").fill("2030-01-01")
    page.get_by_role("button", name="保存走访").click()
    check_failed_save(page, at_least=1)
