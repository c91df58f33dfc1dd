"""What the apps above add to a person's first page (``accounts.views.home``), without accounts
importing them: ``register_home_notices(fn)`` with ``fn(request) -> list[dict]``, each notice a
``{"text", "url", "link"}`` shown at the top of the page (e.g. transfers waiting for an answer)."""

from __future__ import annotations

from django.http import HttpRequest

from core.extensions import Registry

_home = Registry("home page notices")
register_home_notices = _home.register


def home_notices(request: HttpRequest) -> list[dict]:
    return _home.concatenated(request)
