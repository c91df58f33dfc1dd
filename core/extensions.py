"""Dependency inversion between floors: a page of a lower app shows what higher apps add, without
importing them. The higher app registers a function in its ``AppConfig.ready``; the lower page
calls the registry when it renders. Nothing runs on a save (no signals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Registry:
    """Functions registered by the apps above, called in registration order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._functions: list[Callable[..., Any]] = []

    def register(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if fn not in self._functions:
            self._functions.append(fn)
        return fn

    def call(self, *args: Any, **kwargs: Any) -> None:
        """Call each function for what it does (e.g. raise and resolve reminders)."""
        for fn in self._functions:
            fn(*args, **kwargs)

    def merged(self, *args: Any) -> dict:
        """Each function returns a dict (a part of a template context): all of them merged."""
        merged: dict = {}
        for fn in self._functions:
            merged.update(fn(*args))
        return merged

    def each(self, *args: Any) -> list:
        """What each function returns, one item per function."""
        return [fn(*args) for fn in self._functions]

    def concatenated(self, *args: Any) -> list:
        """Each function returns a list (e.g. timeline entries): all of them, one after another."""
        items: list = []
        for fn in self._functions:
            items.extend(fn(*args))
        return items
