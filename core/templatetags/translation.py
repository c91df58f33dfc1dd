"""Django's ``i18n`` template library, with ``{% translate "text" %}`` looked up once per language.

Our templates ``{% load translation %}`` (not ``i18n``): every tag and filter of Django's library,
the same. Only a ``{% translate %}`` of a written-out text, without a context, filters or ``as``,
keeps what it rendered, per language and autoescaping (the only things that text depends on).
Django's node resolves, translates, localises and escapes the same text each time: about 7 µs a
tag, seventy of them on a child's file. (Mapping the name ``i18n`` to this module instead is
refused by ``check --deploy``: templates.W003, one name for two libraries.)
"""

from __future__ import annotations

from django import template
from django.templatetags import i18n
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)


class KeptTranslateNode(i18n.TranslateNode):
    """A ``TranslateNode`` of a literal text, rendered once per (language, autoescape)."""

    def __init__(self, node: i18n.TranslateNode) -> None:
        super().__init__(node.filter_expression, node.noop, node.asvar, node.message_context)
        self.token = getattr(node, "token", None)
        self.origin = getattr(node, "origin", None)
        self._kept: dict[tuple[str | None, bool], str | SafeString] = {}

    def render(self, context: template.Context) -> str:
        key = (get_language(), context.autoescape)
        value = self._kept.get(key)
        if value is None:
            value = self._kept[key] = super().render(context)
        return value


def _literal(node: i18n.TranslateNode) -> bool:
    expression = node.filter_expression
    return (
        node.asvar is None
        and node.message_context is None
        and not expression.filters
        and getattr(expression.var, "literal", None) is not None
    )


@register.tag("translate")
@register.tag("trans")
def do_translate(parser: template.base.Parser, token: template.base.Token) -> template.Node:
    """Django's ``{% translate %}``; a literal text's node keeps its rendering."""
    node = i18n.do_translate(parser, token)
    return KeptTranslateNode(node) if _literal(node) else node
