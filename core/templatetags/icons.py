"""``{% icon "bell" %}``: a Bootstrap icon drawn from static/icons/sprite.svg, by its hashed URL.

Only the icons the templates name are in the sprite (scripts/build_icons.py, run by `make css`),
instead of the whole bootstrap-icons font. The icon is decoration: hidden from screen readers,
so the text next to it (or the link's aria-label) says what it means.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

SPRITE = "icons/sprite.svg"


@register.simple_tag
def icon(name: str, extra_class: str = "") -> SafeString:
    return _svg(static(SPRITE), name, extra_class)


@lru_cache(maxsize=512)
def _svg(sprite: str, name: str, extra_class: str) -> SafeString:
    # A page draws the same few icons on every row: each is escaped and joined once per process.
    return format_html(
        '<svg class="bi{}" width="1em" height="1em" aria-hidden="true" focusable="false">'
        '<use href="{}#{}"></use></svg>',
        f" {extra_class}" if extra_class else "",
        sprite,
        name,
    )
