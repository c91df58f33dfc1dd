"""Web hardening shared by the pages and the API: the client's address, no-store caching, API rates.

One definition of "the client's IP" serves the login lock (django-axes) and the API rate limits,
so a forged X-Forwarded-For header can neither dodge them nor lock out somebody else.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from core.web import client_ip


class NoStoreMiddleware:
    """`Cache-Control: private, no-store` on every dynamic answer that did not choose its own.

    Pages, exports and API answers carry children's data; neither a shared proxy nor the browser's
    disk cache on a shared township computer may keep them. Static files never reach this
    middleware (WhiteNoise answers them first) and are skipped here too, should that change.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and not request.path.startswith(
            settings.STATIC_URL
        ):
            response["Cache-Control"] = "private, no-store"
        return response


class _RateFromSettings:
    """Reads its rate from a setting at each request, so settings (and tests) can change it."""

    rate_setting: str

    def __init__(self) -> None:  # the rate is not fixed at import time
        pass

    @property
    def rate(self) -> str:
        return getattr(settings, self.rate_setting)

    @property
    def num_requests(self) -> int:
        return self.parse_rate(self.rate)[0]

    @property
    def duration(self) -> int:
        return self.parse_rate(self.rate)[1]

    def get_ident(self, request: HttpRequest) -> str | None:
        return client_ip(request)


class ApiAnonymousThrottle(_RateFromSettings, AnonRateThrottle):
    rate_setting = "API_RATE_LIMIT_ANONYMOUS"


class ApiAuthenticatedThrottle(_RateFromSettings, AuthRateThrottle):
    """Per user, whether the call came with a token or the session (both authenticate a User)."""

    rate_setting = "API_RATE_LIMIT_AUTHENTICATED"

    def get_cache_key(self, request: HttpRequest) -> str:
        user_pk = getattr(getattr(request, "auth", None), "pk", None)
        ident = f"user-{user_pk}" if user_pk is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


# --- Requests the application cannot read (api.md "Bad requests") --------------------------

API_PREFIX = "/api/"
# Each problem: (its text in the reader's language, the API's English). The API answers
# "中文 / english" whatever the language (api.md "Bad requests"); a page, the reader's language.
Problem = tuple[Promise | str, str]
_NUL: Problem = (gettext_lazy("must not contain a NUL character"), "must not contain NUL")
_NOT_UTF8: Problem = (
    gettext_lazy("holds characters that cannot be read (not UTF-8)"),
    "not valid UTF-8",
)
_WHERE = {
    "path": pgettext_lazy("a bad request", "The address"),
    "query": pgettext_lazy("a bad request", "The query"),
}


# Django re-escapes the bytes of a path that are not UTF-8 as %80–%FF (repercent_broken_unicode),
# so they are found by that shape; a literal "%FF" sent as %25FF is refused too (no route has one).
_BROKEN_IN_PATH = re.compile(r"%[89A-F][0-9A-F]")


def _wsgi_bytes(value: str) -> bytes:
    """The bytes a WSGI server put in an environ string (as ISO-8859-1)."""
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _text_problem(raw: bytes) -> Problem | None:
    if b"\x00" in raw:
        return _NUL
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return _NOT_UTF8
    return None


def unreadable_target(request: HttpRequest) -> tuple[list[str], Problem] | None:
    """(where, problem) for a NUL byte or bytes that are not UTF-8 in the path or the query
    string; None when both read cleanly. Django would decode them with replacement characters
    and pass the NUL on to PostgreSQL, which refuses it (a 500)."""
    from urllib.parse import unquote_to_bytes

    if "\x00" in request.path_info:
        return ["path"], _NUL
    if _BROKEN_IN_PATH.search(request.path_info):
        return ["path"], _NOT_UTF8
    query = _wsgi_bytes(request.META.get("QUERY_STRING", ""))
    for part in query.split(b"&"):
        key, _sep, value = part.partition(b"=")
        key_text = unquote_to_bytes(key.replace(b"+", b" "))
        problem = _text_problem(key_text) or _text_problem(
            unquote_to_bytes(value.replace(b"+", b" "))
        )
        if problem:
            name = key_text.replace(b"\x00", b"").decode("utf-8", "replace")
            return ["query", name], problem
    return None


def _too_big_text() -> str:
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return translation.gettext(
        "What was sent is over the limit (at most %(size)s MB besides files, in at most "
        "%(fields)s fields)"
    ) % {"size": f"{size / 1024 / 1024:.1f}", "fields": fields}


class BodyCutShort(Exception):
    """The body ended before its Content-Length, or a multipart body before its closing
    boundary: the connection broke mid-upload. Nothing of it may be saved."""


class _CountingStream:
    """The request's body stream, counting what arrives and keeping its last bytes: Django reads
    a body that ends early as if it were whole (a photo cut at 60 % would be saved as a visit
    without it, or with half an image)."""

    TAIL = 512

    def __init__(self, stream) -> None:
        self.stream = stream
        self.received = 0
        self.tail = b""

    def _seen(self, data: bytes) -> bytes:
        self.received += len(data)
        self.tail = (self.tail + data)[-self.TAIL :]
        return data

    def read(self, *args, **kwargs) -> bytes:
        return self._seen(self.stream.read(*args, **kwargs))

    def readline(self, *args, **kwargs) -> bytes:
        return self._seen(self.stream.readline(*args, **kwargs))

    def __getattr__(self, name: str):
        return getattr(self.stream, name)  # close() and the rest, as the stream has them

    def check(self, request: HttpRequest) -> None:
        try:
            expected = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            expected = 0
        if self.received < expected:
            raise BodyCutShort
        boundary = request.content_params.get("boundary", "")
        if request.content_type == "multipart/form-data" and boundary:
            closing = b"--" + boundary.encode("ascii", "replace") + b"--"
            if closing not in self.tail:
                raise BodyCutShort


class BadRequestMiddleware:
    """A request the application cannot read is answered here, before any view: 400 for a NUL
    byte or non-UTF-8 bytes in the path or query string (or too many query fields, or a broken
    multipart body), 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE or with more fields or
    files than allowed. JSON under /api/, a short page elsewhere; never a 500.

    The body is read here (it would be by the CSRF check or the API anyway), so Django's limits
    are met in one place rather than as exceptions from whichever code reads it first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.core.exceptions import (
            BadRequest,
            RequestDataTooBig,
            TooManyFieldsSent,
            TooManyFilesSent,
        )
        from django.http import UnreadablePostError
        from django.http.multipartparser import MultiPartParserError

        found = unreadable_target(request)
        if found is not None:
            where, (text, english) = found
            return self._refuse(request, 400, where, text, english, place=_WHERE[where[0]])
        try:
            request.GET  # noqa: B018 — parsing counts the fields
        except TooManyFieldsSent:
            return self._refuse(
                request,
                400,
                ["query"],
                gettext_lazy("The query has too many fields"),
                "too many query fields",
            )
        try:
            self._read_body(request)
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
            return self._refuse(request, 413, ["body"], _too_big_text, "request body too large")
        except (MultiPartParserError, UnreadablePostError, BadRequest):
            return self._refuse(
                request,
                400,
                ["body"],
                gettext_lazy("What was sent cannot be read"),
                "request body cannot be read",
            )
        except BodyCutShort:
            return self._refuse(
                request,
                400,
                ["body"],
                gettext_lazy(
                    "What was sent arrived incomplete (the connection broke): nothing was saved. "
                    "Send it again"
                ),
                "request body cut short: nothing was saved",
            )
        return self.get_response(request)

    @staticmethod
    def _read_body(request: HttpRequest) -> None:
        if request.method in ("GET", "HEAD", "OPTIONS") and not request.META.get("CONTENT_LENGTH"):
            return
        counted = _CountingStream(request._stream)
        request._stream = counted
        if request.content_type == "multipart/form-data":
            request.POST  # noqa: B018 — files go to temporary files, the rest is counted
        else:
            request.body  # noqa: B018 — refused before reading when over the limit
            request.POST  # noqa: B018 — a form body: counts the fields
        counted.check(request)

    @staticmethod
    def _refuse(
        request: HttpRequest,
        status: int,
        where: list[str],
        text: Promise | str | Callable[[], str],
        english: str,
        place: Promise | None = None,
    ) -> HttpResponse:
        """``text`` in the reader's language (a callable is called in it), after ``place`` (where
        the problem is) on a page; the API answers it in Chinese with ``english`` after it."""
        from django.http import JsonResponse
        from django.template.loader import render_to_string

        from config.middleware import chosen_language

        def shown() -> str:
            return str(text() if callable(text) else text)

        if request.path_info.startswith(API_PREFIX):
            with translation.override("zh-hans"):
                chinese = shown()
            if status == 413:
                body: object = f"{chinese} / {english}"
            else:
                body = [{"loc": where, "msg": f"{chinese} / {english}", "type": "value_error"}]
            return JsonResponse(
                {"detail": body}, status=status, json_dumps_params={"ensure_ascii": False}
            )
        # Before the language middleware: the reader's choice is read here.
        with translation.override(chosen_language(request)):
            message = (
                translation.pgettext("where and problem", "%(where)s %(problem)s")
                % {"where": place, "problem": shown()}
                if place
                else shown()
            )
            page = render_to_string(f"{status}.html", {"message": message})
        return HttpResponse(page, status=status)
