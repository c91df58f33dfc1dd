"""Pure rules of the supervisors' quarterly patrol (督导巡查) and of a reviewed visit. The visit
schedule itself — due dates and what "overdue" means — is children.schedule."""

from __future__ import annotations

from datetime import date, timedelta


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    end_month = 3 * quarter
    end = date(year + (end_month // 12), end_month % 12 + 1, 1) - timedelta(days=1)
    return start, end


# Review (审核) of a visit by the township or the county.
REVIEWED = "reviewed"


def editable(review_status: str) -> bool:
    """A reviewed visit is not rewritten: what its record lacked is added as an amendment, which
    sends it back to review. A visit awaiting review or returned may still be corrected."""
    return review_status != REVIEWED
