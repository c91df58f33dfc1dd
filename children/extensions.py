"""What the apps above the child file add to its page, without the file importing them.

The child's page shows the visits, the mandatory reports and the benefits of the child, but
``children`` sits below ``visits``, ``reporting`` and ``benefits`` and may not import them. So the
higher app registers, in its ``AppConfig.ready``, a function that returns its part of the page:

* ``register_page_context(fn)``: ``fn(request, child, today) -> dict`` merged into the page's
  template context (e.g. ``{"visits": [...], "can_visit": True}``); the template includes the
  app's own fragment.
* ``register_timeline_source(fn)``: ``fn(child) -> list[TimelineEntry]`` added to the file's
  timeline.

Dependency inversion, not signals: nothing runs on a save, the page asks at render time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.http import HttpRequest

PageContext = Callable[[HttpRequest, Any, date], dict]
TimelineSource = Callable[[Any], list]

_page_contexts: list[PageContext] = []
_timeline_sources: list[TimelineSource] = []


def register_page_context(fn: PageContext) -> PageContext:
    if fn not in _page_contexts:
        _page_contexts.append(fn)
    return fn


def register_timeline_source(fn: TimelineSource) -> TimelineSource:
    if fn not in _timeline_sources:
        _timeline_sources.append(fn)
    return fn


def page_context(request: HttpRequest, child, today: date) -> dict:
    context: dict = {}
    for fn in _page_contexts:
        context.update(fn(request, child, today))
    return context


def timeline_entries(child) -> list:
    entries: list = []
    for fn in _timeline_sources:
        entries.extend(fn(child))
    return entries
