"""Errors every floor raises and the API and pages translate (409 Conflict)."""

from __future__ import annotations

from typing import Any


class Conflict(Exception):
    """409: a duplicate ID number, a stale version, or a transition that is not allowed.

    ``code`` names the kind of conflict for a client that acts on it (e.g. ``file_closed``: the
    ID number's file is closed and may be re-opened); ``data`` carries what the user may know
    about it (e.g. the id of a file in their own area). Both go into the API's answer."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        code: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        self.field = field
        self.code = code
        self.data = data or {}

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.message, "field": self.field}
        if self.code:
            body["code"] = self.code
        return {**body, **self.data}
