"""Punctuation in the reader's language for templates: English shows "Label: value", "a, b" and
"name (note)"; Chinese "标签：值", "甲、乙" and "姓名（备注）" (core.text).

    {% load wording %}
    {% translate "Child" %}{% colon %}<strong>{{ child.name }}</strong>
    {{ visit.directors|listed }}  {{ reasons|clauses }}  {{ area.code|parenthesized }}
    {% lparen %}{{ start }} – {{ end }}{% rparen %}
    {% if not forloop.last %}{% list_separator %}{% endif %}
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from core import text

register = template.Library()


def _escaped(value: object, autoescape: bool) -> str:
    return conditional_escape(value) if autoescape else str(value)


@register.simple_tag
def colon() -> str:
    return text.colon()


@register.simple_tag
def lparen() -> str:
    return text.opening_parenthesis()


@register.simple_tag
def rparen() -> str:
    return text.closing_parenthesis()


@register.simple_tag
def list_separator() -> str:
    return text.list_separator()


@register.filter(needs_autoescape=True)
def listed(items: Iterable[object] | None, autoescape: bool = True) -> SafeString:
    """The items as a list: "a, b" / "a、b"."""
    return mark_safe(text.join_list(_escaped(item, autoescape) for item in items or ()))


@register.filter(needs_autoescape=True)
def clauses(items: Iterable[object] | None, autoescape: bool = True) -> SafeString:
    """The items as clauses of one sentence: "a; b" / "a；b"."""
    return mark_safe(text.clause_list(_escaped(item, autoescape) for item in items or ()))


@register.filter(needs_autoescape=True)
def parenthesized(value: object, autoescape: bool = True) -> SafeString:
    """ " (value)" / "（value）"; nothing for an empty value."""
    if value in (None, ""):
        return mark_safe("")
    return mark_safe(
        text.opening_parenthesis() + _escaped(value, autoescape) + text.closing_parenthesis()
    )
