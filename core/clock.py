"""The one clock of the domain: "today" is the date in Asia/Shanghai (domain §3), whatever the
server's own time zone."""

from __future__ import annotations

from datetime import date

from django.utils import timezone


def today() -> date:
    """Today in Asia/Shanghai (settings.TIME_ZONE)."""
    return timezone.localdate()
