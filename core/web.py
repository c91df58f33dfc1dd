"""Helpers for requests that every floor uses."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict


def client_ip(request: HttpRequest) -> str | None:
    """The address that the outermost trusted proxy saw, or REMOTE_ADDR without proxies.

    Each proxy appends the address it received the request from, so with N trusted proxies the
    N-th entry from the right is the last one a client could not have written itself. One
    definition serves the sign-in lock (django-axes), the API rate limits and the audit log, so a
    forged X-Forwarded-For header can neither dodge them nor lock out somebody else.
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


def content_key(rows: Iterable[Any]) -> str:
    """A digest of everything loaded on the rows (every attribute of each model instance or the
    row itself): the key of a kept fragment (``{% kept … %}``, core.templatetags.fragments) that
    shows these rows and nothing else. Rows that differ in anything give another key, so the
    fragment is never stale; the same rows (someone's worklist opened again unchanged) are not
    rendered again."""
    digest = hashlib.blake2b(digest_size=16)
    for row in rows:
        values = vars(row) if hasattr(row, "_state") else row
        if isinstance(values, dict):
            values = sorted((k, v) for k, v in values.items() if k != "_state")
        digest.update(repr(values).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def query_without(params: QueryDict, *names: str) -> str:
    """The page's query string less ``names`` (the area picker's links keep the other filters)."""
    kept = params.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()
