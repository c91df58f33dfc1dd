"""Pure rules of the supervisors' quarterly patrol (督导巡查). The visit schedule itself — due
dates and what "overdue" means — is children.schedule."""

from __future__ import annotations

from datetime import date, timedelta


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    end_month = 3 * quarter
    end = date(year + (end_month // 12), end_month % 12 + 1, 1) - timedelta(days=1)
    return start, end
