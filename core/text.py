"""Small pieces of text shared by the apps, in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import pgettext


def list_separator() -> str:
    """Between the items of a list: ", " in English, "、" in Chinese."""
    return pgettext("list separator", ", ")


def join_list(items: Iterable[object]) -> str:
    """Items as a list a person reads: "a, b" in English, "a、b" in Chinese."""
    return list_separator().join(str(item) for item in items)


def labelled(label: object, value: object) -> str:
    """ "label: value" ("label：value" in Chinese)."""
    return pgettext("label and value", "%(label)s: %(value)s") % {"label": label, "value": value}


def clause_list(items: Iterable[object]) -> str:
    """Clauses of one sentence: "a; b" in English, "a；b" in Chinese."""
    return pgettext("clause separator", "; ").join(str(item) for item in items)


def colon() -> str:
    """What follows a label: ": " in English, "：" in Chinese."""
    return pgettext("label separator", ": ")


def opening_parenthesis() -> str:
    """ " (" in English, "（" in Chinese."""
    return pgettext("opening parenthesis", " (")


def closing_parenthesis() -> str:
    """ ")" in English, "）" in Chinese."""
    return pgettext("closing parenthesis", ")")
