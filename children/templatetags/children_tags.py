"""Labels and colours for child-file codes in templates."""

from django import template

from children.models import Category, FocusFlag, RiskLevel

register = template.Library()

_CATEGORY = dict(Category.choices)
_FLAG = dict(FocusFlag.choices)
_RISK = dict(RiskLevel.choices)
RISK_CLASS = {"low": "success", "medium": "warning", "high": "danger"}


@register.filter
def category_label(code: str) -> str:
    return _CATEGORY.get(code, code)


@register.filter
def flag_label(code: str) -> str:
    return _FLAG.get(code, code)


@register.filter
def risk_label(code: str) -> str:
    return _RISK.get(code, code)


@register.filter
def risk_class(code: str) -> str:
    return RISK_CLASS.get(code, "secondary")
