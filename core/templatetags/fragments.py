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
KEPT_CHARACTERS are kept per process (the oldest go first).

``{% kept "worklist" key LANGUAGE_CODE %}…{% endkept %}``: a part of the page kept by the
values named, rendered in the page's own context; for a part whose values the key holds all of
(a digest of the rows it shows: core.web.content_key). Kept with the keyed fragments, in the
process (Django's ``{% cache %}`` pickles into a cache and hashes the key: 0.05 ms a page).

With DEBUG on they are rendered every time, so an edited template shows at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import FilterExpression
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_rendered: dict[tuple[str, str | None], SafeString] = {}
_keyed: dict[tuple[Any, ...], SafeString] = {}
# At most this many characters kept in a process, the oldest going first: a director's worklist
# is some 20 KB, a menu bar 3 KB, a county's worklist at most 600 rows (about 400 KB).
KEPT_CHARACTERS = 16_000_000
_size = [0]
_keeping = threading.Lock()


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
    return _keep(key, lambda: get_template(template_name).render(values))


def _keep(key: tuple[Any, ...], make: Callable[[], str]) -> SafeString:
    found = _keyed.get(key)
    if found is None:
        found = mark_safe(make())
        with _keeping:  # threads of one process (a threaded server) add and evict in turn
            if key not in _keyed:
                _size[0] += len(found)
                # Dicts keep their order of insertion: the oldest go first.
                while _size[0] > KEPT_CHARACTERS and _keyed:
                    _size[0] -= len(_keyed.pop(next(iter(_keyed))))
                _keyed[key] = found
    return found


class KeptNode(template.Node):
    def __init__(self, nodelist: template.NodeList, values: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.values = values

    def render(self, context: template.Context) -> str:
        if settings.DEBUG:
            return self.nodelist.render(context)
        key = ("kept", get_language(), *(value.resolve(context) for value in self.values))
        return _keep(key, lambda: self.nodelist.render(context))


@register.tag
def kept(parser: template.base.Parser, token: template.base.Token) -> KeptNode:
    values = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    if not values:
        raise template.TemplateSyntaxError("{% kept %} needs the values it is kept by")
    nodelist = parser.parse(("endkept",))
    parser.delete_first_token()
    return KeptNode(nodelist, values)


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    _rendered.clear()
    with _keeping:
        _keyed.clear()
        _size[0] = 0
