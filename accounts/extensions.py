"""Dependency inversion between floors (core.extensions): what the apps above do or show without
accounts — or any floor below them — importing them.

- ``register_home_notices(fn)`` with ``fn(request) -> list[dict]``, each notice a
  ``{"text", "url", "link"}`` shown at the top of a person's first page (``accounts.views.home``).
- ``register_home_panels(fn)`` with ``fn(request) -> list[dict]``: the work queues of a first page
  (the home page; for a director the worklist), each panel a dict (``HomePanel`` says which keys)
  shown in the order of its ``order``. Each function asks a capability, counts in the user's
  scope only (accounts.selectors) and runs a constant number of queries, whatever the area holds.
  A function may instead return a ``core.compiled.Read`` of its panels: the page sends it with
  its other reads in one round trip (``home_panel_reads``).
- ``register_case_changed(fn)`` with ``fn(*, child_ids, report_ids) -> None``: the services of
  children, visits, reporting and benefits call ``case_changed`` in the transaction that recorded
  work on a child or a report (a visit, a contact, an assessment, a stage, a decision), so the
  reminders about it are raised or resolved at once.
- ``register_duty_done(fn)`` with ``fn(*, kind, area_code, due_date) -> None``: a duty owed by an
  area's staff rather than about one child or report (a village's quarterly verification) was
  done, in the caller's transaction: its reminders are answered at once, not at the next sweep.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import NotRequired, TypedDict

from django.http import HttpRequest

from core.compiled import Read, together
from core.extensions import Registry

_home = Registry("home page notices")
register_home_notices = _home.register

_panels = Registry("home page panels")
register_home_panels = _panels.register

_case_changed = Registry("case changed")
register_case_changed = _case_changed.register


def home_notices(request: HttpRequest) -> list[dict]:
    return _home.concatenated(request)


class PanelLine(TypedDict):
    """A number of the panel, with the list behind it (that list shows exactly ``count`` rows)."""

    label: str
    count: int
    url: str
    tone: NotRequired[str]  # a Bootstrap colour when the number is not zero: "danger", "warning"


class PanelEntry(TypedDict):
    """One of the first few rows of the list (a reminder, a visit, a report)."""

    text: str
    url: str
    note: NotRequired[str]
    badge: NotRequired[str]
    tone: NotRequired[str]


class HomePanel(TypedDict):
    order: int  # the place on the page, smallest first
    key: str  # for the page's id and the tests
    title: str
    count: int  # the panel's number, linked to ``url``
    url: str
    tone: NotRequired[str]
    total: NotRequired[int]  # "count / total" (e.g. patrolled / key children)
    lines: NotRequired[list[PanelLine]]
    entries: NotRequired[list[PanelEntry]]


def home_panels(request: HttpRequest) -> list[HomePanel]:
    """The panels of every app for this person, in their order."""
    return arranged(together(*home_panel_reads(request)))


def home_panel_reads(request: HttpRequest) -> list[Read[list[HomePanel]]]:
    """Each app's panels as a read, to send with the page's own (core.compiled.together);
    ``arranged`` puts what they make in order."""
    return [
        panels if isinstance(panels, Read) else Read.of(panels) for panels in _panels.each(request)
    ]


def arranged(made: list[list[HomePanel]]) -> list[HomePanel]:
    return sorted((panel for panels in made for panel in panels), key=lambda p: p["order"])


_duty_done = Registry("duty done")
register_duty_done = _duty_done.register


def duty_done(*, kind: str, area_code: str, due_date: date) -> None:
    """The duty of ``area_code``'s staff reminded as ``kind`` and due on ``due_date`` is done."""
    _duty_done.call(kind=kind, area_code=area_code, due_date=due_date)


def case_changed(*, child_ids: Iterable = (), report_ids: Iterable = ()) -> None:
    """Work was recorded on these children or reports (in the caller's transaction)."""
    children = sorted({str(c) for c in child_ids if c})
    reports = sorted({str(r) for r in report_ids if r})
    if children or reports:
        _case_changed.call(child_ids=children, report_ids=reports)
