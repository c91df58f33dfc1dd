"""Pure rules of the visit schedule (domain §3) and of reminders (§4). No ORM here.

Intervals depend on the risk colour and special conditions; due dates roll from the last
qualifying visit; a child never visited at home is due a fixed number of days after registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

HOME = "home"
CONTACT_KINDS = frozenset({"home", "phone", "video", "school", "other"})  # a home visit counts too
DUE_SOON_DAYS = 7

OK, DUE_SOON, OVERDUE, NEVER_VISITED = "ok", "due_soon", "overdue", "never_visited"


@dataclass(frozen=True)
class Intervals:
    contact_days: int
    home_days: int
    reason: str


def intervals(
    *,
    risk_level: str,
    child_disabled: bool,
    psych_concern: bool,
    parent_serious_disability: bool,
    policy: dict[str, int],
) -> Intervals:
    """How often the child must be contacted and visited at home, and why, in Chinese."""
    if risk_level == "high":
        return Intervals(
            policy["contact_days_high"],
            policy["home_days_high"],
            f"高风险（红色）：每{policy['home_days_high']}天入户走访",
        )
    conditions = []
    if risk_level == "medium":
        conditions.append("中风险（黄色）")
    if child_disabled:
        conditions.append("残疾儿童")
    if psych_concern:
        conditions.append("心理或行为问题")
    if parent_serious_disability:
        conditions.append("父母一方重度残疾")
    if conditions:
        return Intervals(
            policy["contact_days_medium"],
            policy["home_days_medium"],
            f"{'、'.join(conditions)}：每{policy['home_days_medium']}天入户走访",
        )
    return Intervals(
        policy["contact_days_low"],
        policy["home_days_low"],
        f"一般：每{policy['contact_days_low']}天联系一次，每{policy['home_days_low']}天入户走访",
    )


def due_dates(
    *,
    registered_on: date,
    last_contact_on: date | None,
    last_home_visit_on: date | None,
    intervals: Intervals,
    never_visited_days: int,
) -> tuple[date, date]:
    """(next_contact_due, next_home_visit_due)."""
    first_due = registered_on + timedelta(days=never_visited_days)
    home_due = (
        last_home_visit_on + timedelta(days=intervals.home_days)
        if last_home_visit_on is not None
        else first_due
    )
    contact_due = (
        last_contact_on + timedelta(days=intervals.contact_days)
        if last_contact_on is not None
        else first_due
    )
    # A contact is never due later than the home visit, which is a contact too.
    return min(contact_due, home_due), home_due


def schedule_status(
    *, next_home_visit_due: date, last_home_visit_on: date | None, today: date
) -> str:
    """``overdue`` when the home visit is past due; ``never_visited`` for a child not yet visited
    at home (and not yet overdue); ``due_soon`` within 7 days; otherwise ``ok``."""
    if next_home_visit_due < today:
        return OVERDUE
    if last_home_visit_on is None:
        return NEVER_VISITED
    if next_home_visit_due <= today + timedelta(days=DUE_SOON_DAYS):
        return DUE_SOON
    return OK


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    end_month = 3 * quarter
    end = date(year + (end_month // 12), end_month % 12 + 1, 1) - timedelta(days=1)
    return start, end
