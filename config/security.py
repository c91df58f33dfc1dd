"""Web hardening shared by the pages and the API: the client's address, no-store caching, API rates.

One definition of "the client's IP" serves the login lock (django-axes) and the API rate limits,
so a forged X-Forwarded-For header can neither dodge them nor lock out somebody else.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja.throttling import AnonRateThrottle, AuthRateThrottle


def client_ip(request: HttpRequest) -> str | None:
    """The address that the outermost trusted proxy saw, or REMOTE_ADDR without proxies.

    Each proxy appends the address it received the request from, so with N trusted proxies the
    N-th entry from the right is the last one a client could not have written itself.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(proxies, len(addresses))]


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
