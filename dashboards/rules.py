"""Pure rules of the dashboards: how old the numbers and files shown are (no ORM)."""

from __future__ import annotations

from datetime import datetime, timedelta


def data_as_of(*, summary_as_of: datetime | None, read_at: datetime, lag: timedelta) -> datetime:
    """The time what was read is true of: no later than the summary's recount (``summary_as_of``,
    None for live reads only), nor than the moment the database read from had reached — a
    replica ``lag`` behind at ``read_at`` holds the primary's data of ``read_at - lag``."""
    reached = read_at - max(lag, timedelta(0))
    return reached if summary_as_of is None else min(summary_as_of, reached)
