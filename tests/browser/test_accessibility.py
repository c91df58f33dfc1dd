"""Issue 19 point 8, readable by older eyes: axe-core finds no serious or critical violation on
any page, for any role, on a 390 px phone, with the target-size rule switched on.

The pages are every route the URL resolver knows (tests/security/test_access_matrix.py's walk,
its path parameters filled from its `world`: a child with family, care agreement, parent notice
and contact, visit with a photo, report with an attachment, an orphan's allowance and a 低保
application in its public notice, a transfer), plus an assessment, the day's reminders and the
dashboards' counts. Each role signs in once and opens every URL that answers its GET with an HTML
page (200, text/html; redirects, downloads and refusals are not pages of that role).

The server serves static files as production does (collectstatic with hashed names, WhiteNoise,
DEBUG off): the colours axe measures are those of static/css/site.css, the one stylesheet the
pages link (scripts/build_css.py cuts it from Bootstrap and static/css/app.css).

axe-core is vendored from npm under tests/browser/vendor/ (MPL-2.0), never served to users:
Playwright adds it to every document as an init script, so the pages keep their own
Content-Security-Policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings
from django.utils.functional import empty
from playwright.sync_api import Browser, Page

from children.services import assessment_record
from dashboards.services import village_stats_refresh
from reminders.services import reminders_sweep
from visits.services import visit_record

from ..factories import make_child
from ..security.test_access_matrix import World, build, walk
from ..security.test_access_matrix import world as world  # the fixture: one child, every record
from .conftest import ARTIFACTS, PHONE, TIMEOUT_MS, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "rules": {"target-size": {"enabled": True}},
    "resultTypes": ["violations"],
}
SERIOUS = {"serious", "critical"}
PRODUCTION_STORAGE = "config.storage.ManifestStaticFilesStorage"
# The one stylesheet, by its hashed production name (site.<12 hex>.css).
SITE_CSS = re.compile(r"^/static/css/site\.[0-9a-f]{12}\.css$")
HASHED_CSS = re.compile(r"^/static/css/[\w-]+\.[0-9a-f]{12}\.css$")
UNCUT = re.compile(r"^/static/css/app\.")  # the source site.css is cut from, never linked
# Not pages of ours: the admin's files and the API's docs are collected but never linked.
NOT_PAGES = ["admin/*", "ninja/*"]


@pytest.fixture
def production_server(tmp_path: Path) -> Iterator[str]:
    """A live server with static files collected and served as in production (hashed names,
    WhiteNoise, DEBUG off): no finders, no StaticFilesHandler in front."""
    root = tmp_path / "static"
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    with override_settings(
        STORAGES=storages,
        STATIC_ROOT=root,
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
        DEBUG=False,
    ):
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=NOT_PAGES)
        staticfiles_storage._wrapped = empty  # the manifest collectstatic just wrote
        server = LiveServerThread("localhost", static_handler=lambda application: application)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield f"http://localhost:{server.port}"
        finally:
            server.terminate()
            staticfiles_storage._wrapped = empty


@pytest.fixture
def case(world: World, director_a, supervisor) -> World:
    """The matrix's world, with what else the pages show: an assessment (risk colour), a child
    whose home visit is long overdue, the day's reminders and the dashboards' counts."""
    assessment_record(
        user=director_a,
        child=world.child,
        assessed_on=date(2026, 11, 23),
        guardianship=2,
        safety=1,
        health=0,
        behaviour=1,
        note="祖母年迈",
    )
    overdue = make_child(director_a, name="查小树", birth_date=date(2015, 6, 1))
    visit_record(user=director_a, child=overdue, visited_on=date(2026, 3, 2), kind="home")
    reminders_sweep(on=date(2026, 11, 23))
    village_stats_refresh()
    return world


@pytest.fixture
def people(
    director_a, supervisor, civil_affairs, viewer, reporter, security_officer, auditor, admin_user
) -> dict:
    """Every role that has pages, by the name the failures use."""
    return {
        "director": director_a,
        "supervisor": supervisor,
        "civil_affairs": civil_affairs,
        "viewer": viewer,
        "reporter": reporter,
        "security": security_officer,
        "auditor": auditor,
        "admin": admin_user,
    }


def page_urls(world: World) -> list[str]:
    """Every route of ours as a URL, parameters filled from the world; the API's operations are
    JSON, not pages (its docs are django-ninja's Swagger page, not ours either)."""
    urls = []
    for route in walk():
        if route.api:
            continue
        urls.append(build(route, world))
    return list(dict.fromkeys(urls))


# Which URLs answer this role's GET with a whole page: 200, HTML, no redirect, a document (not
# an htmx fragment, which is checked inside the page that loads it). Asked from the page, four at
# a time: the live server answers in threads.
PAGES_AMONG = """async urls => {
  const pages = [];
  for (let i = 0; i < urls.length; i += 4) {
    const answers = await Promise.all(urls.slice(i, i + 4).map(async url => {
      const answer = await fetch(url, {redirect: 'manual', credentials: 'same-origin'});
      const kind = answer.headers.get('content-type') || '';
      if (answer.status !== 200 || !kind.startsWith('text/html')) return null;
      return /<html[\\s>]/i.test(await answer.text()) ? url : null;
    }));
    pages.push(...answers.filter(Boolean));
  }
  return pages;
}"""


def axe_violations(page: Page) -> list[dict]:
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


def describe(who: str, url: str, violation: dict) -> str:
    lines = [f"{who} {url}: {violation['id']} ({violation['impact']}) — {violation['help']}"]
    for node in violation["nodes"][:8]:
        target = " ".join(" > ".join(t) if isinstance(t, list) else t for t in node["target"])
        summary = " ".join(node.get("failureSummary", "").split())
        lines.append(f"    {target}: {summary[:300]}")
    if len(violation["nodes"]) > 8:
        lines.append(f"    … and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


def test_no_serious_violation_on_any_page_for_any_role_at_390px(
    browser: Browser, production_server: str, case: World, people: dict
):
    urls = page_urls(case)
    assert len(urls) > 40, "the resolver walk lost the app URLs"
    failures: list[str] = []
    checked: list[str] = []
    counts: dict[str, int] = {}
    found: list[dict] = []
    for who, user in people.items():
        context = browser.new_context(
            base_url=production_server,
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            # The service worker's prefetching is not what is measured here, and slows the run.
            service_workers="block",
        )
        context.set_default_timeout(TIMEOUT_MS)
        # In every document before its own scripts (not subject to the page's CSP, which stays on).
        context.add_init_script(path=str(AXE))
        try:
            page = context.new_page()
            log_in(page, user.username)
            for url in page.evaluate(PAGES_AMONG, urls):
                page.goto(url)
                # The production pipeline: the page's stylesheet is the hashed site.css (a printed
                # report adds its own page layout after it), never Bootstrap or app.css whole.
                sheets = page.evaluate(
                    "[...document.styleSheets].map(s => new URL(s.href || '', location).pathname)"
                )
                if (
                    not sheets
                    or not SITE_CSS.search(sheets[0])
                    or not all(
                        HASHED_CSS.search(sheet) and not UNCUT.search(sheet) for sheet in sheets
                    )
                ):
                    failures.append(f"{who} {url}: stylesheets {sheets}, not site.css first")
                violations = axe_violations(page)
                checked.append(f"{who} {url}")
                for violation in violations:
                    if violation["impact"] in SERIOUS:
                        found.append({"who": who, "url": url, **violation})
                        counts[violation["id"]] = counts.get(violation["id"], 0) + len(
                            violation["nodes"]
                        )
                        failures.append(describe(who, url, violation))
        finally:
            context.close()
    (ARTIFACTS / "axe-pages.txt").write_text("\n".join(checked) + "\n")
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    assert len(checked) > 60, f"only {len(checked)} pages opened: the sign-ins or the world broke"
    assert not failures, (
        f"{len(failures)} serious/critical axe violations on {len(checked)} pages "
        f"(elements by rule: {counts}):\n" + "\n".join(failures)
    )
