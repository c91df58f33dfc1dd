"""Issue 14 L2, the pages' fuzzer: every page route the URL resolver knows (walked as the access
matrix walks them), requested by the in-scope director, supervisor and civil-affairs user with
hostile query strings and hostile form fields. The one rule: no answer is a server error.

Each route's form fields are read from the page itself (its ``name="…"`` attributes), so a new
field or a new page is fuzzed without anyone listing it here.
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ..conftest import log_in
from ..hypothesis_profiles import scaled
from ..security.test_access_matrix import build, walk
from ..security.test_access_matrix import world as world  # the fixture: one child, every record

pytestmark = pytest.mark.django_db

# Examples for every (route, user): each is two hostile GETs and one hostile POST.
ROUNDS = scaled(2)

# Every query parameter a view reads (request.GET / ChildFilters / parse_period), and some none
# reads: unknown ones must be ignored.
QUERY_NAMES = [
    "page", "next", "q", "year", "quarter", "month", "months", "programme", "area", "village",
    "user", "status", "stage", "situation", "show", "role", "report", "object", "kind", "action",
    "agreement", "category", "contact", "flag", "home_visit", "key", "risk", "school_status",
    "visit_status", "from", "to", "section", "amount", "format", "id", "zzz",
]  # fmt: skip
# The first value is what every field gets in hypothesis's first (simplest) example.
HOSTILE = [
    "99999999999999999999",
    "",
    " ",
    "a\x00b",
    "-1",
    "0",
    "1e309",
    "NaN",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "2026-13",
    "javascript:alert(1)",
    "//evil.example",
    "https://evil.example/",
    "=1+1",
    '=HYPERLINK("http://evil.example","点")',
    "@SUM(A1)",
    "+86 138",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "𝕏😀\u202e\ufeff",
    "查小雨",
    "x" * 10_000,
    "true",
    "null",
    "[]",
    "00000000-0000-4000-8000-000000000000",
    "341823103201",
    "3418231032019999999999",
]
hostile_text = st.sampled_from(HOSTILE) | st.text(max_size=30)
hostile_value = hostile_text | st.lists(hostile_text, min_size=2, max_size=3)  # wrong type
# Query strings as sent on the wire: answered before any view (config.security), so cheap.
RAW_QUERIES = [
    "q=%00",
    "page=%00",
    "%00=1",
    "q=%FF",
    "next=%C3%28",
    "q=\x00",
    "page=-1&page=99999999999999999999",
    "next=javascript:alert(1)",
    "q=" + "%E5%A4%A7" * 3000,
]
FILE_BYTES = [b"", b"MZ\x90\x00", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"\xff" * 64]

# Form fields this fuzzer leaves alone: the CSRF token (the test client does not check it
# anyway) and the language switch's own fields on every page.
SKIPPED_FIELDS = {"csrfmiddlewaretoken"}
_NAME = re.compile(r'<(?:input|select|textarea|button)\b[^>]*\bname="([^"]+)"', re.I)
_FILE = re.compile(r'<input\b[^>]*type="file"[^>]*\bname="([^"]+)"', re.I)


class Pages:
    """The clients, each route's fields, and every finding."""

    def __init__(self, users: dict, world) -> None:
        self.users = users
        self.clients = {who: log_in(Client(), user) for who, user in users.items()}
        self.routes = [r for r in walk() if not r.api]
        self.urls = {r.name: build(r, world) for r in self.routes}
        self.fields: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self.failures: list[str] = []
        self.not_allowed: set[tuple[str, str, str]] = set()

    def send(self, who: str, method: str, url: str, **kwargs):
        path = url.split("?")[0]
        if (who, method, path) in self.not_allowed or (who, "*", path) in self.not_allowed:
            return None  # answered 405 (no such method) or 403 (not for this role) before
        self.requests += 1
        client = self.clients[who]
        # Each request is its own transaction in production; a savepoint stands in for it, so
        # one request's database error cannot poison the rest and nothing a POST saves lingers.
        savepoint = transaction.savepoint()
        try:
            response = getattr(client, method)(url, **kwargs)
        except Exception as exc:  # the test client re-raises a view's exception: a 500
            self.failures.append(f"{who} {method.upper()} {url} {kwargs}: {exc!r}"[:600])
            return None
        finally:
            transaction.savepoint_rollback(savepoint)
            transaction.savepoint_commit(savepoint)  # released, as atomic() does: no pile-up
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code == 405:
            self.not_allowed.add((who, method, path))
        elif response.status_code == 403 and method == "get":
            self.not_allowed.add((who, "*", path))
        if response.status_code >= 500:
            self.failures.append(f"{who} {method.upper()} {url} {kwargs}: {response.status_code}")
        if "_auth_user_id" not in client.session:
            self.clients[who] = log_in(Client(), self.users[who])  # the logout route ran
        return response

    def fields_of(self, who: str, route) -> tuple[list[str], set[str]]:
        """The names the page's forms post (read from the page as this user gets it plainly),
        and which are file inputs; for an action with no page, the names such actions take."""
        response = self.send(who, "get", self.urls[route.name])
        names: list[str] = []
        files: set[str] = set()
        readable = response is not None and response.status_code == 200
        if readable and not response.streaming and "html" in response.get("Content-Type", ""):
            html = response.content.decode(errors="replace")
            names = sorted({n for n in _NAME.findall(html) if n not in SKIPPED_FIELDS})
            files = set(_FILE.findall(html))
        return names or ["note", "reason", "name", "id", "decision", "to"], files


@pytest.fixture
def pages(world, director_a, supervisor, civil_affairs) -> Pages:
    return Pages(
        {"director": director_a, "supervisor": supervisor, "civil_affairs": civil_affairs}, world
    )


def fuzz_route(pages: Pages, route, who: str) -> None:
    """ROUNDS hypothesis examples for one route and one user: a GET with hostile parameters,
    a GET with a hostile raw query string, a POST with a hostile value in every field."""
    url = pages.urls[route.name]
    names, files = pages.fields_of(who, route)

    @settings(
        max_examples=ROUNDS,
        deadline=None,
        # Findings are collected, not raised: nothing to shrink, and every route is reached.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        query=st.dictionaries(st.sampled_from(QUERY_NAMES), hostile_value, min_size=3, max_size=8),
        raw=st.sampled_from(RAW_QUERIES),
        body=st.fixed_dictionaries({name: hostile_value for name in names}),
        upload=st.sampled_from(FILE_BYTES),
    )
    def one(query, raw, body, upload):
        pages.send(who, "get", url, data=query)
        pages.send(who, "get", f"{url}?{raw}")
        for name in files & set(body):
            body[name] = SimpleUploadedFile("x.jpg", upload, content_type="image/jpeg")
        pages.send(who, "post", url, data=body)

    one()


def test_no_page_answers_with_a_server_error(pages):
    names = {route.name for route in pages.routes}
    assert len(names) > 40 and {"visits:create", "reporting:create", "children:list"} <= names
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for route in pages.routes:
            for who in pages.clients:
                fuzz_route(pages, route, who)
    print(
        f"page fuzz: {len(pages.routes)} routes × {len(pages.clients)} users × {ROUNDS} "
        f"examples, {pages.requests} requests, statuses {sorted(pages.statuses.items())}"
    )
    assert not pages.failures, "\n".join(pages.failures)
