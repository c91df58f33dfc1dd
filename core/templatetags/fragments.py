"""``{% constant_fragment "partials/_capture_strings.html" %}``: a part of the page that is the
same for everybody who reads that language, rendered once per process and language.

The texts of static/js/capture.js are forty ``{% translate %}`` on every signed-in page (about
0.7 ms of each page's rendering); they change only with the language. The fragment gets an empty
context: no request, no user, no CSRF token, so nothing personal can be kept and shown to another.
With DEBUG on it is rendered every time, so an edited template shows at once.
"""

from __future__ import annotations

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


@register.simple_tag
def constant_fragment(template_name: str) -> SafeString:
    if settings.DEBUG:
        return mark_safe(get_template(template_name).render({}))
    key = (template_name, get_language())
    found = _rendered.get(key)
    if found is None:
        found = _rendered[key] = mark_safe(get_template(template_name).render({}))
    return found


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    _rendered.clear()
