"""``{% fetched_line %}``: 「数据获取于 12月2日 14:03」, the moment the server made the page.

A page a phone keeps for opening with no signal (the worklist, the visit and parent-contact
forms: visits.offline_views) still says, read from the cache days later, how old its data is.
static/js/offline.js reads the ``<time>`` (and rewrites it on a form shell from the short files'
own time).
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, pgettext

register = template.Library()


def fetched_time(moment: datetime | None = None) -> SafeString:
    """``<time datetime="2025-12-02T14:03:00+08:00">12月2日 14:03</time>`` (now by default)."""
    local = timezone.localtime(moment).replace(microsecond=0)
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), _shown(local))


def _shown(local: datetime) -> str:
    """The minute as people read it, in the current language: the same for every page of that
    minute, so formatted once (Django's date_format costs some 40 µs)."""
    key = (get_language(), local.replace(second=0))
    shown = _SHOWN.get(key)
    if shown is None:
        if len(_SHOWN) > 100:
            _SHOWN.clear()
        shown = _SHOWN[key] = date_format(
            local, pgettext("when a page's data was fetched", "M j, H:i")
        )
    return shown


_SHOWN: dict[tuple[str | None, datetime], str] = {}


@register.simple_tag
def fetched_line(extra_class: str = "") -> SafeString:
    text = conditional_escape(gettext("Data fetched %(time)s")) % {"time": fetched_time()}
    return format_html(
        '<p class="small text-secondary mb-2 {}" data-fetched>{}</p>', extra_class, mark_safe(text)
    )


@register.simple_tag
def generated_at() -> str:
    """The moment the page was made, for a data attribute (ISO 8601, local time)."""
    return timezone.localtime().replace(microsecond=0).isoformat()
