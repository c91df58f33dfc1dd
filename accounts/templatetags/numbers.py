"""``{% phone value area_code %}``: a phone number as the signed-in user may see it — full, as a
tel: link, or masked — decided by accounts.selectors.sees_full_number like every other surface."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from core.masking import PHONE

from .. import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def phone(context, value: str | None, area_code: str, link: bool = True) -> str:
    if not value:
        return ""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return selectors.shown_number_masked(PHONE, value)
    shown = selectors.shown_number(user, PHONE, value, area_code)
    if shown == value and link:
        return format_html('<a href="tel:{}">{}</a>', value, value)
    return shown
