"""Dependency inversion between floors (core.extensions): what the apps above do or show without
accounts — or any floor below them — importing them.

- ``register_home_notices(fn)`` with ``fn(request) -> list[dict]``, each notice a
  ``{"text", "url", "link"}`` shown at the top of a person's first page (``accounts.views.home``).
- ``register_case_changed(fn)`` with ``fn(*, child_ids, report_ids) -> None``: the services of
  children, visits, reporting and benefits call ``case_changed`` in the transaction that recorded
  work on a child or a report (a visit, a contact, an assessment, a stage, a decision), so the
  reminders about it are raised or resolved at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from core.extensions import Registry

_home = Registry("home page notices")
register_home_notices = _home.register

_case_changed = Registry("case changed")
register_case_changed = _case_changed.register


def home_notices(request: HttpRequest) -> list[dict]:
    return _home.concatenated(request)


def case_changed(*, child_ids: Iterable = (), report_ids: Iterable = ()) -> None:
    """Work was recorded on these children or reports (in the caller's transaction)."""
    children = sorted({str(c) for c in child_ids if c})
    reports = sorted({str(r) for r in report_ids if r})
    if children or reports:
        _case_changed.call(child_ids=children, report_ids=reports)
