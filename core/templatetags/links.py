"""``{% link "children:detail" child.pk %}``: ``{% url %}`` for the links of long lists and of
every page's frame, reversed once per process (core.links)."""

from __future__ import annotations

from typing import Any

from django import template

from core import links

register = template.Library()


@register.simple_tag
def link(name: str, *args: Any) -> str:
    return links.url(name, *args)
