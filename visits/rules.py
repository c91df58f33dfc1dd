"""Pure rules of the supervisors' quarterly patrol (督导巡查) and of a reviewed visit. The visit
schedule itself — due dates and what "overdue" means — is children.schedule."""

from __future__ import annotations

from datetime import date, timedelta

from children import rules as child_rules


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    end_month = 3 * quarter
    end = date(year + (end_month // 12), end_month % 12 + 1, 1) - timedelta(days=1)
    return start, end


# A patrol is a supervisor seeing the child in person: a phone or video call is a contact, not a
# patrol (domain §3; issue 18).
PATROL_ROLE = "supervisor"
PATROL_KINDS = ("home", "school", "other")
PATROL_NOTICE_DAYS = 14  # patrol_due: this many days before the quarter ends


def is_patrol(*, visitor_role: str, kind: str) -> bool:
    return visitor_role == PATROL_ROLE and kind in PATROL_KINDS


def patrolled_sql(c: str = "c.", since: str = "%(quarter_start)s") -> str:
    """SQL: the child ``c`` was patrolled on or after ``since`` (a date)."""
    kinds = ", ".join(f"'{k}'" for k in PATROL_KINDS)
    return (
        f"EXISTS (SELECT 1 FROM visits_visit pv WHERE pv.child_id = {c}id "
        f"AND pv.visitor_role = '{PATROL_ROLE}' AND pv.kind IN ({kinds}) "
        f"AND pv.visited_on >= {since})"
    )


def quarter_start_sql(day: str = "%(today)s") -> str:
    return f"date_trunc('quarter', {day}::date)::date"


def quarter_end_sql(day: str = "%(today)s") -> str:
    return f"(date_trunc('quarter', {day}::date) + interval '3 months' - interval '1 day')::date"


# Review (审核) of a visit by the township or the county.
REVIEWED = "reviewed"


def editable(review_status: str) -> bool:
    """A reviewed visit is not rewritten: what its record lacked is added as an amendment, which
    sends it back to review. A visit awaiting review or returned may still be corrected."""
    return review_status != REVIEWED


# A visit whose findings show a reportable situation prompts the director to file a mandatory
# report (domain §6); the sweep tells the supervisor when none follows within 24 hours.
HOME = "home"
# A child under 16 may not be left without a guardian (domain §5).
ALONE_MAX_AGE = child_rules.LEFT_BEHIND_MAX_AGE
# Who, seen at the home, is an adult looking after the child: the guardian or the caregiver.
CARERS_SEEN = ("parent", "caregiver")


def found_alone(*, kind: str, guardian_present: bool | None, seen: list[str], age: int) -> bool:
    """A home visit found a child under 16 with no guardian (``guardian_present`` false, not just
    not noted) and no parent or caregiver among the people seen: 脱离监护单独居住生活, the first
    situation of the mandatory report. A phone or school contact cannot tell."""
    return (
        kind == HOME
        and guardian_present is False
        and age < ALONE_MAX_AGE
        and not any(person in CARERS_SEEN for person in seen or [])
    )


def prompts_report(
    *,
    kind: str,
    safety_concern: bool | None,
    guardian_present: bool | None,
    seen: list[str],
    age: int,
) -> bool:
    """Whether the visit opens the report prompt: a safety concern, or a child found alone."""
    return bool(safety_concern) or found_alone(
        kind=kind, guardian_present=guardian_present, seen=seen, age=age
    )


def prompts_report_sql(v: str = "v.", c: str = "c.") -> str:
    """``prompts_report`` in SQL as a condition (NULL, for findings not noted, is no), on the
    visit row ``v`` and its child ``c``. It starts with
    ``(safety_concern OR NOT guardian_present)``, the predicate of the partial index the
    sweep reads (visit_danger_recent). PostgreSQL's age() is children.rules.age_on (a child born
    on 29 February turns a year older on 1 March)."""
    carers = ", ".join(f"'{person}'" for person in CARERS_SEEN)
    return (
        f"(({v}safety_concern OR NOT {v}guardian_present) AND ({v}safety_concern OR ("
        f"{v}kind = '{HOME}' AND {v}guardian_present = false"
        f" AND age({v}visited_on, {c}birth_date) < interval '{ALONE_MAX_AGE} years'"
        f" AND NOT {v}seen && ARRAY[{carers}]::varchar[])))"
    )
