"""What the apps above the child file add to its page, without the file importing them.

The child's page shows the visits and the benefits of the child, but ``children`` sits below
``visits`` and ``benefits`` and may not import them. So the higher app registers, in its
``AppConfig.ready``, a function that returns its part of the page:

* ``register_page_context(fn)``: ``fn(request, child, today) -> dict`` merged into the page's
  template context (e.g. ``{"visits": [...], "can_visit": True}``); the template includes the
  app's own fragment. It may return a ``core.compiled.Read`` of that dict instead: the page
  sends it with its own reads in one round trip (``page_context_reads``).
* ``register_timeline_source(fn)``: ``fn(child) -> list[TimelineEntry]`` added to the file's
  timeline.
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest

from core.compiled import Read, together
from core.extensions import Registry

_page = Registry("child page")
_timeline = Registry("child timeline")
register_page_context = _page.register
register_timeline_source = _timeline.register


def page_context_reads(request: HttpRequest, child, today: date) -> list[Read[dict]]:
    """Each app's part of the page as a read, to send with the page's own
    (core.compiled.together); ``merged`` joins what they make."""
    return [
        part if isinstance(part, Read) else Read.of(part)
        for part in _page.each(request, child, today)
    ]


def merged(parts: list[dict]) -> dict:
    context: dict = {}
    for part in parts:
        context.update(part)
    return context


def page_context(request: HttpRequest, child, today: date) -> dict:
    """Every app's part of the page, read in one round trip."""
    return merged(together(*page_context_reads(request, child, today)))


def timeline_entries(child) -> list:
    return _timeline.concatenated(child)
