"""Pure rules of the quarterly verification (季度核查, domain §10): who is on a village's
checklist, which quarters may be verified, when a verification is due and who is reminded.

The checklist of a quarter holds the village's children in difficulty (困境儿童: the categories
of domain §2 other than left-behind and single-parent, confirmed or still waiting for county
civil affairs) whose file is open and in the village, and who are under 18, as of the quarter's
last day — or today while the quarter runs; a file registered after that day is not on it. A
child who moved in during the quarter is on the new village's list; one who moved away, whose
file closed or who turned 18 is on no list.
"""

from __future__ import annotations

from datetime import date, timedelta

from children.rules import DIFFICULTY_CATEGORIES

from . import rules

# 困境儿童 (domain §2): orphans, de facto unsupported children and the other subtypes.
IN_DIFFICULTY = DIFFICULTY_CATEGORIES
# Reported to the township by the 10th day after the quarter ends (Q3: by 10 October).
DUE_DAYS_AFTER_QUARTER = 10
# The director is reminded from this many days before the quarter ends (as the patrol is).
NOTICE_DAYS = 14
# A verification the township re-opens is submitted again within this many days (or by the
# quarter's own due date, if later).
REOPEN_DAYS = 7
EARLIEST_YEAR = 2000

# A village's state in a quarter (the township's overview).
SUBMITTED = "submitted"
IN_PROGRESS = "in_progress"
NOT_STARTED = "not_started"
NOTHING_TO_VERIFY = "nothing_to_verify"

quarter_of = rules.quarter_of
quarter_bounds = rules.quarter_bounds


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter - 1) if quarter > 1 else (year - 1, 4)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter + 1) if quarter < 4 else (year + 1, 1)


def valid_quarter(year: int, quarter: int, today: date) -> bool:
    """A quarter that exists and has begun."""
    return (
        quarter in (1, 2, 3, 4)
        and EARLIEST_YEAR <= year <= today.year
        and (year, quarter) <= quarter_of(today)
    )


def may_open(year: int, quarter: int, today: date) -> bool:
    """A verification is started for the quarter under way or, late, for the one before it: the
    checklist reads the files as they are now, which says little of an older quarter."""
    current = quarter_of(today)
    return (year, quarter) in (current, previous_quarter(*current))


def as_of(year: int, quarter: int, today: date) -> date:
    """The day the checklist is drawn for: the quarter's last day, or today while it runs."""
    return min(today, quarter_bounds(year, quarter)[1])


def due_date(year: int, quarter: int, *, reopened_on: date | None = None) -> date:
    """The day the verification is due at the township: the DUE_DAYS_AFTER_QUARTER-th day after
    the quarter ends; once re-opened, REOPEN_DAYS after the re-opening if that is later."""
    due = quarter_bounds(year, quarter)[1] + timedelta(days=DUE_DAYS_AFTER_QUARTER)
    if reopened_on is not None:
        due = max(due, reopened_on + timedelta(days=REOPEN_DAYS))
    return due


def reminded(year: int, quarter: int, today: date) -> bool:
    """Whether a village's unsubmitted verification of the quarter is reminded on ``today``:
    from NOTICE_DAYS before the quarter ends until the following quarter ends (then that
    quarter's own takes over). verification_selectors.verification_due_select_sql in SQL."""
    end = quarter_bounds(year, quarter)[1]
    following_end = quarter_bounds(*next_quarter(year, quarter))[1]
    return end - timedelta(days=NOTICE_DAYS) <= today <= following_end


def needs_explanation(
    *, family_ok: bool, guardianship_ok: bool, schooling_ok: bool, benefits_received: str
) -> bool:
    """Anything not as on file, or a benefit not received, is explained in ``changes_found``."""
    return not (family_ok and guardianship_ok and schooling_ok) or benefits_received == "no"


def village_state(status: str | None, listed: int) -> str:
    """A village's state in a quarter from its verification's status (None: none started) and the
    number of children on its checklist."""
    if status == "submitted":
        return SUBMITTED
    if status == "draft":
        return IN_PROGRESS
    return NOT_STARTED if listed else NOTHING_TO_VERIFY


def may_reopen(*, user_area_code: str | None, village_code: str) -> bool:
    """A submitted verification is re-opened by the township (or a level above) over the
    village, never by the village that submitted it."""
    return bool(user_area_code) and user_area_code != village_code
