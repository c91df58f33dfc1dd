"""Issue 19 point 5: what a director's phone downloads, measured in Chromium through the production
static pipeline (collectstatic with WhiteNoise's CompressedManifestStaticFilesStorage, WhiteNoise
serving hashed, precompressed files; Django's GZipMiddleware for the pages).

The first load of the worklist, with nothing cached, stays under 150 KB on the wire, the service
worker's installation included; a later page (a child's file) under 30 KB. Bytes are what
Chromium received (CDP Network.loadingFinished encodedDataLength: headers and compressed body)
for the page's requests, and Playwright's sizes of the requests the service worker makes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings
from playwright.sync_api import Page
from whitenoise.storage import CompressedManifestStaticFilesStorage

from config.storage import HashedStaticFilesStorage

from ..factories import make_child
from .conftest import PHONE, TIMEOUT_MS, log_in

# The live server answers from its own thread and connection: the data must be committed.
pytestmark = pytest.mark.xdist_group("browser")

FIRST_LOAD_BUDGET = 150 * 1024
LATER_PAGE_BUDGET = 30 * 1024
YEAR = 365 * 24 * 3600
HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.\w+$")
PRODUCTION_STORAGE = "config.storage.ManifestStaticFilesStorage"


# What the pages never link: the admin's files and django-ninja's API docs (24 MB, a minute of
# Brotli compression). Production collects them too; the measured pages do not load them.
NOT_PAGES = ["admin/*", "ninja/*"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """collectstatic as in production: hashed names, gzip and Brotli copies, a manifest."""
    root = tmp_path_factory.mktemp("static")
    storage = {"BACKEND": PRODUCTION_STORAGE}
    with override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": storage}, STATIC_ROOT=root
    ):
        call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=NOT_PAGES)
    return root


class Sent:
    """WSGI wrapper counting the bytes of every response the server sends: status line, headers
    and body (what crossed the network; an answer from the browser's cache is never sent)."""

    def __init__(self) -> None:
        self.responses: list[tuple[str, int]] = []

    def wrap(self, application):
        def counted(environ, start_response):
            head = [0]

            def start(status, headers, exc_info=None):
                head[0] = len(f"HTTP/1.1 {status}\r\n") + sum(
                    len(f"{name}: {value}\r\n") for name, value in headers
                )
                return start_response(status, headers, exc_info)

            body = 0
            for chunk in application(environ, start):
                body += len(chunk)
                yield chunk
            self.responses.append((environ["PATH_INFO"], head[0] + 2 + body))

        return counted

    def total(self) -> int:
        return sum(size for _, size in self.responses)


@pytest.fixture
def production_server(collected: Path) -> Iterator[tuple[str, Sent]]:
    """A live server whose static files are served as in production, and what it sends.

    WhiteNoise reads STATIC_ROOT and its settings when the middleware chain is built, which the
    server thread does when it starts: the settings are overridden first. No StaticFilesHandler in
    front (pytest-django's live_server has one, serving from the finders, uncompressed): every
    request goes through the middleware, WhiteNoise included.
    """
    sent = Sent()
    with override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}},
        STATIC_ROOT=collected,
        WHITENOISE_USE_FINDERS=False,
        WHITENOISE_AUTOREFRESH=False,
        DEBUG=False,
    ):
        server = LiveServerThread("localhost", static_handler=sent.wrap)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield f"http://localhost:{server.port}", sent
        finally:
            server.terminate()


class Meter:
    """Bytes on the wire for one context: the page's requests (CDP) and its service worker's."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.responses: dict[str, dict] = {}
        self.page_bytes: dict[str, int] = {}
        self.worker_bytes: list[tuple[str, int]] = []
        self.last_event = time.monotonic()
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        page.context.on("requestfinished", self._worker_request)

    def _response(self, event: dict) -> None:
        response = event["response"]
        response["headers"] = {k.lower(): v for k, v in response["headers"].items()}
        self.responses[event["requestId"]] = response
        self.last_event = time.monotonic()

    def _finished(self, event: dict) -> None:
        response = self.responses.get(event["requestId"])
        # A response the service worker gave: what it fetched is counted on its side.
        if response and not response.get("fromServiceWorker"):
            self.page_bytes[event["requestId"]] = int(event["encodedDataLength"])
        self.last_event = time.monotonic()

    def _worker_request(self, request) -> None:
        if request.service_worker is not None:
            sizes = request.sizes()
            received = max(0, sizes["responseBodySize"] + sizes["responseHeadersSize"])
            self.worker_bytes.append((request.url, received))
            self.last_event = time.monotonic()

    def reset(self) -> None:
        self.responses.clear()
        self.page_bytes.clear()
        self.worker_bytes.clear()

    def settle(self, quiet_ms: int = 1500) -> None:
        """Until nothing has arrived for quiet_ms (the service worker's installation and
        offline.js's fetches run after the load event)."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(250)
            if time.monotonic() - self.last_event > quiet_ms / 1000:
                return
        raise AssertionError("the page kept loading")

    def total(self) -> int:
        return sum(self.page_bytes.values()) + sum(size for _, size in self.worker_bytes)

    def report(self, label: str) -> str:
        lines = [f"{label}: {self.total() / 1024:.1f} KiB"]
        for request_id, size in sorted(self.page_bytes.items(), key=lambda item: -item[1]):
            lines.append(f"  {size:>7}  page    {self.responses[request_id]['url']}")
        for url, size in sorted(self.worker_bytes, key=lambda item: -item[1]):
            lines.append(f"  {size:>7}  worker  {url}")
        return "\n".join(lines)

    def static_responses(self) -> list[dict]:
        return [
            r
            for rid, r in self.responses.items()
            if "/static/" in r["url"] and rid in self.page_bytes and r["status"] == 200
        ]


@pytest.fixture
def village(director_a):
    """A director's worklist as a village has it: a dozen children."""
    return [make_child(director_a, name=f"查小{n}") for n in "一二三四五六七八九十甲乙"]


@pytest.mark.django_db(transaction=True)
def test_first_load_of_the_worklist_and_a_later_page_stay_light(
    browser, production_server, director_a, village
):
    base, sent = production_server
    context = browser.new_context(
        base_url=base, viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        meter = Meter(page)
        log_in(page, director_a.username)
        meter.settle()

        # The first load: signed in, but nothing cached and no service worker yet.
        page.goto("about:blank")
        meter.cdp.send("Network.clearBrowserCache")
        meter.cdp.send(
            "Storage.clearDataForOrigin",
            {"origin": base, "storageTypes": "service_workers,cache_storage"},
        )
        meter.reset()
        sent.responses.clear()
        page.goto("/visits/")
        assert page.locator("h1").text_content() == "走访任务"
        meter.settle()
        first = max(meter.total(), sent.total())
        print(meter.report("first load of the worklist"), f"server sent {sent.total()}", sep="\n")
        if registered := page.evaluate("navigator.serviceWorker.getRegistrations()"):
            assert len(registered) == 1 and any("/sw.js" in url for url, _ in sent.responses)

        document = next(r for r in meter.responses.values() if r["url"].endswith("/visits/"))
        assert document["headers"].get("content-encoding") == "gzip"
        static = meter.static_responses()
        assert {Path(r["url"]).suffix for r in static} >= {".css", ".js", ".svg"}
        for response in static:
            headers = response["headers"]
            assert HASHED.search(response["url"]), response["url"]
            max_age = int(re.search(r"max-age=(\d+)", headers["cache-control"]).group(1))
            assert max_age >= YEAR and "immutable" in headers["cache-control"], response["url"]
            if response["url"].endswith((".css", ".js")):
                assert headers.get("content-encoding") in {"gzip", "br"}, response["url"]
        stylesheets = [r["url"] for r in static if r["url"].endswith(".css")]
        assert len(stylesheets) == 1 and "/static/css/site." in stylesheets[0]
        scripts = [path for path, _ in sent.responses if path.endswith(".js")]
        assert not [path for path in scripts if "bootstrap" in path or "htmx" in path], scripts
        # Chromium's count of the page's own requests agrees with the server's.
        # (The first answer for each path: the service worker fetches some of them again.)
        page_urls = [meter.responses[rid]["url"] for rid in meter.page_bytes]
        page_paths = {urlsplit(url).path for url in page_urls if url.startswith(base)}
        first_answers = dict(reversed(sent.responses))
        from_server = sum(first_answers[path] for path in page_paths)
        assert abs(sum(meter.page_bytes.values()) - from_server) < 0.1 * from_server

        # A later page in the same session: the static files are cached.
        meter.reset()
        sent.responses.clear()
        page.goto(f"/children/{village[0].pk}/")
        assert page.locator("h1").text_content().startswith(village[0].name)
        meter.settle()
        later = max(meter.total(), sent.total())
        print(meter.report("later page (a child's file)"), f"server sent {sent.total()}", sep="\n")
        assert not [path for path, _ in sent.responses if path.startswith(settings.STATIC_URL)]

        assert first <= FIRST_LOAD_BUDGET, f"first load {first} > {FIRST_LOAD_BUDGET}"
        assert later <= LATER_PAGE_BUDGET, f"later page {later} > {LATER_PAGE_BUDGET}"
        assert first > 20 * 1024 and later > 1024  # something was measured
        assert not errors, errors
    finally:
        context.close()


def test_make_run_serves_static_files_as_production_does():
    """`make run` collects the static files before the server starts, and the local settings
    serve them by hashed names, compressed, as production does."""
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text(encoding="utf-8")
    run = re.search(r"^run:.*?(?=^\S)", makefile, re.S | re.M).group(0)
    assert run.index("manage.py collectstatic --noinput") < run.index("honcho")

    from config.settings import local

    assert local.STORAGES["staticfiles"]["BACKEND"] == "config.storage.HashedStaticFilesStorage"
    assert issubclass(HashedStaticFilesStorage, CompressedManifestStaticFilesStorage)
    assert local.WHITENOISE_USE_FINDERS is False
    production = (Path(settings.BASE_DIR) / "config" / "settings" / "production.py").read_text()
    assert PRODUCTION_STORAGE in production


def test_local_storage_gives_hashed_names_with_debug_on(collected: Path):
    """Django's manifest storage gives unhashed names while DEBUG is on; `make run`'s does not."""
    storage = {"BACKEND": "config.storage.HashedStaticFilesStorage"}
    with override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": storage}, STATIC_ROOT=collected, DEBUG=True
    ):
        url = staticfiles_storage.url("css/site.css")
        assert HASHED.search(url), url
        file = collected / url.removeprefix(settings.STATIC_URL)
        assert file.exists()
        for compressed in (".gz", ".br"):  # WhiteNoise sends these to browsers that take them
            assert file.with_name(file.name + compressed).exists(), compressed
