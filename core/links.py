"""Addresses of the pages, reversed once per process instead of once per link.

Django's ``reverse`` walks the URL patterns on every call (about 0.1 ms here, with this site's
hundreds of routes): a list of 200 children with two links each spent more on its links than on
its query. ``url(name)`` and ``url(name, pk)`` give exactly what ``reverse`` gives; the address of
a name is computed once per (URL configuration, script prefix) and a row's key is put into it.
Only a name without arguments or with one UUID is cached this way; anything else is reversed as
usual. ``{% link %}`` (core/templatetags/links.py) is the template's form.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse

# A UUID no record has; it is replaced by the row's own in the cached address.
_PLACEHOLDER = "ffffffff-ffff-4fff-bfff-ffffffffffff"
_cache: dict[tuple[str, str, str, bool], tuple[str, str]] = {}


def _template(name: str, with_key: bool) -> tuple[str, str]:
    key = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name, with_key)
    found = _cache.get(key)
    if found is None:
        if with_key:
            head, _, tail = reverse(name, args=[_PLACEHOLDER]).partition(_PLACEHOLDER)
            found = (head, tail)
        else:
            found = (reverse(name), "")
        _cache[key] = found
    return found


def url(name: str, *args: Any) -> str:
    """``reverse(name, args=args)``, cached for a name with no argument or one UUID."""
    if not args:
        return _template(name, False)[0]
    if len(args) == 1 and isinstance(args[0], uuid.UUID):
        head, tail = _template(name, True)
        return f"{head}{args[0]}{tail}"
    return reverse(name, args=args)


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _cache.clear()
