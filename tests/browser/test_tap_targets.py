"""Issue 19 point 6, measured in the browser: on a 390 px phone every tap target of the main pages
is at least 44 × 44 CSS px.

What is measured: every visible a[href], button, input (not hidden), select, textarea, summary and
[role=button], by its bounding box. A checkbox or radio is pressed through its label: its box is
the largest of the input's, its label's (label[for] or the wrapping label) and the wrapping
.form-check's or .btn's. The skip link is measured when focused (it is invisible until then). The
navbar's menu is measured open, as a finger would find it.

The one exception, WCAG 2.5.5's "inline" one: a link inside running text keeps the size of the
text. A link is in running text when it is displayed inline and the block it sits in (its nearest
ancestor not displayed inline) holds, in the same lines (text nodes whose own nearest block is that
block) and outside any control, at least two characters other than spaces and separators
(/ · | 、 , ， : ： ( ) （ ） - — –). So a link in a sentence or a table cell with words is
exempt, a breadcrumb ("镇 / 村 /") or a lone number is not.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import ARTIFACTS, PHONE, log_in
from .test_accessibility import case as case  # the world of the access matrix, and more
from .test_accessibility import world as world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

MINIMUM = 44

MEASURE = """
(minimum) => {
  const SEPARATORS = /[\\s\\/·|、,，:：()（）\\-—–]/g;
  const CONTROLS = 'a[href], button, input, select, textarea, summary, label, [role=button]';
  const inline = el => ['inline', 'contents'].includes(getComputedStyle(el).display);
  const blockOf = node => {
    let el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node.parentElement;
    while (el && inline(el)) el = el.parentElement;
    return el;
  };
  const inRunningText = a => {
    if (getComputedStyle(a).display !== 'inline') return false;
    const block = blockOf(a);
    if (!block) return false;
    let text = '';
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.parentElement.closest(CONTROLS)) continue;
      if (blockOf(node) !== block) continue;
      text += node.textContent;
    }
    return text.replace(SEPARATORS, '').length >= 2;
  };
  const shown = el => {
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('[hidden], [aria-hidden=true]')) return false;
    const box = el.getBoundingClientRect();
    return box.width > 1 && box.height > 1;  // not visually-hidden (1 × 1 px)
  };
  const boxOf = el => {
    const boxes = [el.getBoundingClientRect()];
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      const labels = [...(el.labels || [])];
      for (const holder of [...labels, el.closest('.form-check'), el.closest('.btn')]) {
        if (holder) boxes.push(holder.getBoundingClientRect());
      }
      // A .btn-check is drawn by its label.btn, already among the labels.
    }
    return boxes.reduce((a, b) => (a.width * a.height >= b.width * b.height ? a : b));
  };
  const describe = el => {
    let path = el.tagName.toLowerCase();
    if (el.id) path += '#' + el.id;
    else if (el.name) path += `[name="${el.name}"]`;
    else if (el.getAttribute('href')) path += `[href="${el.getAttribute('href')}"]`;
    const classes = [...el.classList].slice(0, 4).join('.');
    if (classes) path += '.' + classes;
    let parent = el.parentElement;
    for (let i = 0; i < 2 && parent && parent !== document.body; i++) {
      const first = parent.classList[0];
      const name = parent.id ? '#' + parent.id : first ? '.' + first : '';
      path = parent.tagName.toLowerCase() + name + ' > ' + path;
      parent = parent.parentElement;
    }
    return path;
  };
  const small = [];
  const targets = 'a[href], button, input:not([type=hidden]), select, textarea, summary, ' +
                  '[role=button]';
  for (const el of document.querySelectorAll(targets)) {
    const checkable = el.matches('input[type=checkbox], input[type=radio]');
    if (!checkable && !shown(el)) continue;
    if (checkable && !shown(el) && !(el.labels || []).length) continue;
    if (el.matches('a') && inRunningText(el)) continue;
    const box = boxOf(el);
    if (box.width < 2 || box.height < 2) continue;  // a checkbox with no visible label or box
    if (box.width + 0.5 < minimum || box.height + 0.5 < minimum) {
      const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
      small.push(`${el.tagName.toLowerCase()} "${text.replace(/\\s+/g, ' ').slice(0, 30)}" ` +
                 `${describe(el)}: ${box.width.toFixed(1)} × ${box.height.toFixed(1)}`);
    }
  }
  return small;
}
"""


def small_targets(page: Page) -> list[str]:
    found = []
    page.keyboard.press("Tab")  # the skip link is the first stop, and shows only when focused
    skip = page.evaluate(
        """() => { const el = document.activeElement; const box = el.getBoundingClientRect();
                   return [el.getAttribute('href'), box.width, box.height]; }"""
    )
    assert skip[0] == "#main", f"{page.url}: the first Tab stop is {skip[0]}, not the skip link"
    if skip[1] + 0.5 < MINIMUM or skip[2] + 0.5 < MINIMUM:
        found.append(f'a "skip to content" (focused): {skip[1]:.1f} × {skip[2]:.1f}')
    page.evaluate("document.activeElement.blur()")
    found += page.evaluate(MEASURE, MINIMUM)
    toggler = page.locator(".navbar-toggler")
    if toggler.count() and toggler.is_visible():  # the menu, open as a finger would find it
        toggler.click()
        page.locator("#mainnav.show").wait_for()
        found += page.evaluate(MEASURE, MINIMUM)
        toggler.click()
    return list(dict.fromkeys(found))


def director_pages(case) -> list[str]:
    child = case.values["child_id"]
    return [
        "/",
        "/visits/",
        "/children/",
        f"/children/{child}/",
        f"/visits/new/{child}/",
        f"/children/{child}/parent-contacts/new/",
        "/visits/reminders/",
        "/accounts/security/",
    ]


def test_every_tap_target_of_the_main_pages_is_44px_on_a_phone(
    open_page,
    case,
    director_a,
    supervisor,
    civil_affairs,
):
    visits = {
        director_a.username: director_pages(case),
        supervisor.username: ["/", "/visits/review/"],
        civil_affairs.username: ["/", "/dashboard/", f"/dashboard/{case.values['code']}/"],
    }
    failures: list[str] = []
    for username, paths in visits.items():
        page = open_page(PHONE, is_mobile=True, has_touch=True)
        log_in(page, username)
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{username} {path}"
            name = path.strip("/").replace("/", "_") or "home"
            page.screenshot(path=str(ARTIFACTS / f"tap-{username}-{name}.png"), full_page=True)
            failures += [f"{username} {path}: {line}" for line in small_targets(page)]
    assert not failures, (
        f"{len(failures)} tap targets under {MINIMUM} × {MINIMUM} px:\n" + "\n".join(failures)
    )
