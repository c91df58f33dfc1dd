"""Parts of pages rendered once per process and kept, each rendered from exactly what its key
holds, so that a kept part is never stale and never shows one person what was another's.

``{% constant_fragment "partials/_capture_strings.html" %}``: the same for everybody who reads
that language. The texts of static/js/capture.js are forty ``{% translate %}`` on every signed-in
page (about 0.7 ms of each page's rendering); they change only with the language. The fragment
gets an empty context: no request, no user, no CSRF token.

``{% keyed_fragment "partials/_navbar.html" chrome=chrome open_reminders=open_reminders %}``:
rendered with those values and nothing else (no request, no user, no CSRF token), kept by them
and the language. The values are hashable and equal exactly when what they show is equal (frozen
dataclasses, strings, numbers): two requests with equal values get the same text. The menu bar
of every page costs about 0.3 ms to render; a person's next page is one lookup. At most
KEYED_ENTRIES are kept per process (the oldest go first).

With DEBUG on both are rendered every time, so an edited template shows at once.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_rendered: dict[tuple[str, str | None], SafeString] = {}
_keyed: dict[tuple[Any, ...], SafeString] = {}
KEYED_ENTRIES = 5000


@register.simple_tag
def constant_fragment(template_name: str) -> SafeString:
    if settings.DEBUG:
        return mark_safe(get_template(template_name).render({}))
    key = (template_name, get_language())
    found = _rendered.get(key)
    if found is None:
        found = _rendered[key] = mark_safe(get_template(template_name).render({}))
    return found


@register.simple_tag
def keyed_fragment(template_name: str, **values: Hashable) -> SafeString:
    if settings.DEBUG:
        return mark_safe(get_template(template_name).render(values))
    key = (template_name, get_language(), *sorted(values.items()))
    found = _keyed.get(key)
    if found is None:
        found = mark_safe(get_template(template_name).render(values))
        if len(_keyed) >= KEYED_ENTRIES:
            # Dicts keep their order of insertion: the oldest tenth goes.
            for old in list(_keyed)[: KEYED_ENTRIES // 10]:
                del _keyed[old]
        _keyed[key] = found
    return found


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    _rendered.clear()
    _keyed.clear()
