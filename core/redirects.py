"""The one rule for ``next`` (where a form returns to): a path of this site, else the default."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.shortcuts import resolve_url

# Longer values are refused rather than echoed into a Location header that proxies may reject.
MAX_NEXT_LENGTH = 2000


def is_safe_next(candidate: object) -> bool:
    """True for a relative path on this site: one leading "/", no scheme or host, no backslash
    (browsers read "/\\host" as "//host") and no control character (browsers drop tabs and
    newlines, so "/\\t/host" would become "//host")."""
    if not isinstance(candidate, str) or not 0 < len(candidate) <= MAX_NEXT_LENGTH:
        return False
    if not candidate.startswith("/") or candidate.startswith("//"):
        return False
    if "\\" in candidate or any(ord(c) < 32 or ord(c) == 127 for c in candidate):
        return False
    parts = urlsplit(candidate)
    return not parts.scheme and not parts.netloc


def safe_next(candidate: object, default: str) -> str:
    """``candidate`` when it is a safe path of this site, else ``default`` (a URL, a URL name
    as for ``redirect``, or "" for none)."""
    if is_safe_next(candidate):
        return candidate  # type: ignore[return-value]
    return resolve_url(default) if default else ""


class SafeNextMixin:
    """For Django's sign-in and sign-out views (RedirectURLMixin): ``next`` by the rule above,
    stricter than Django's own check, which also lets absolute URLs of this host through."""

    def get_redirect_url(self) -> str:
        name = self.redirect_field_name  # type: ignore[attr-defined]
        request = self.request  # type: ignore[attr-defined]
        return safe_next(request.POST.get(name, request.GET.get(name)), "")
