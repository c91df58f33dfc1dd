"""Errors every floor raises and the API and pages translate (409 Conflict)."""

from __future__ import annotations


class Conflict(Exception):
    """409: a duplicate ID number, a stale version, or a transition that is not allowed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
