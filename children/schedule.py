"""The one definition of the visit schedule (domain §3): how often a child must be contacted and
visited at home, when each is due, and what "overdue", "due soon" and "never visited" mean — as
pure Python (``intervals``, ``due_dates``, ``schedule_status``) and as the SQL condition of the
same statuses (``status_q``) for lists, counts and dashboards, and "overdue" / "due soon" of any
stored due date as Python, a Q and SQL text (the reminder sweep, the village counts), and who is
counted at all (children under 18, ``under_18_q`` / ``under_18_sql``). The due
dates are stored on the child (``next_home_visit_due``, ``next_contact_due``) by
children.services when a visit is recorded or the risk colour or the area's numbers change;
everything else reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from core.text import join_list

from . import rules

HOME = "home"
CONTACT_KINDS = frozenset({"home", "phone", "video", "school", "other"})  # a home visit counts too
DUE_SOON_DAYS = 7

OK, DUE_SOON, OVERDUE, NEVER_VISITED = "ok", "due_soon", "overdue", "never_visited"


@dataclass(frozen=True)
class Intervals:
    contact_days: int
    home_days: int
    reason: str


# Why a child is contacted and visited as often as they are: the conditions of intervals(), in the
# order they are named. The stored ``Child.schedule_reason`` is written in Chinese (the default
# language, whoever saved the file); shown_reason() reads it back in the reader's language.
_CONDITIONS = {
    "high": gettext_lazy("High risk (red)"),
    "medium": gettext_lazy("Medium risk (yellow)"),
    "disabled": gettext_lazy("Child with a disability"),
    "psych": gettext_lazy("Mental health or behaviour problems"),
    "parent": gettext_lazy("A parent severely disabled or seriously ill"),
}


def _reason(conditions: list[str], contact_days: int, home_days: int) -> str:
    if not conditions:
        return gettext(
            "Ordinary: contact every %(contact)s days, home visit every %(home)s days"
        ) % {"contact": contact_days, "home": home_days}
    return gettext("%(conditions)s: home visit every %(home)s days") % {
        "conditions": join_list(_CONDITIONS[key] for key in conditions),
        "home": home_days,
    }


def intervals(
    *,
    risk_level: str,
    child_disabled: bool,
    psych_concern: bool,
    parent_serious_disability: bool,
    policy: dict[str, int],
) -> Intervals:
    """How often the child must be contacted and visited at home, and why (in the active
    language; the file stores it in the default language, see shown_reason)."""
    if risk_level == "high":
        contact, home = policy["contact_days_high"], policy["home_days_high"]
        return Intervals(contact, home, _reason(["high"], contact, home))
    conditions = []
    if risk_level == "medium":
        conditions.append("medium")
    if child_disabled:
        conditions.append("disabled")
    if psych_concern:
        conditions.append("psych")
    if parent_serious_disability:
        conditions.append("parent")
    if conditions:
        contact, home = policy["contact_days_medium"], policy["home_days_medium"]
        return Intervals(contact, home, _reason(conditions, contact, home))
    contact, home = policy["contact_days_low"], policy["home_days_low"]
    return Intervals(contact, home, _reason([], contact, home))


def shown_reason(stored: str) -> str:
    """A stored reason (Chinese, as intervals() wrote it) in the active language. A text that
    does not read as one of intervals()' reasons is shown as it is."""
    if not stored or translation.get_language() == settings.LANGUAGE_CODE:
        return stored
    with translation.override(settings.LANGUAGE_CODE):
        names = {str(text): key for key, text in _CONDITIONS.items()}
        separator = join_list(["", ""])
        label = _reason(["high"], 0, 0).split(str(_CONDITIONS["high"]), 1)[1]
    numbers = [int(n) for n in re.findall(r"\d+", stored)]
    head = stored.split(label[:1], 1)[0] if label else ""
    keys = [names.get(part) for part in head.split(separator)] if head else []
    if len(numbers) == 2 and not all(keys):
        return _reason([], numbers[0], numbers[1])
    if len(numbers) == 1 and keys and all(keys):
        return _reason(keys, 0, numbers[0])
    return stored


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


# due_dates() after one more contact, in SQL, for the UPDATE of a visit as it is recorded
# (children.services.child_contact_recorded): the intervals are those stored on the file (kept by
# children_recompute_derived), the last dates move forward only (GREATEST ignores a NULL), and the
# due dates follow them as due_dates() computes them. %(on)s is the contact's date and %(home)s
# whether it was a home visit. A file that never had a home visit keeps its stored first home
# visit due date. tests/children/test_schedule_after_contact.py holds the two forms together.
_LAST_CONTACT_SQL = "GREATEST(last_contact_on, %(on)s)"
_LAST_HOME_SQL = (
    "CASE WHEN %(home)s THEN GREATEST(last_home_visit_on, %(on)s) ELSE last_home_visit_on END"
)
_HOME_DUE_SQL = (
    f"CASE WHEN ({_LAST_HOME_SQL}) IS NULL THEN next_home_visit_due "
    f"ELSE ({_LAST_HOME_SQL}) + home_visit_interval_days END"
)
AFTER_CONTACT_SET_SQL = (
    f"last_contact_on = {_LAST_CONTACT_SQL}, "
    f"last_home_visit_on = {_LAST_HOME_SQL}, "
    f"next_home_visit_due = {_HOME_DUE_SQL}, "
    f"next_contact_due = LEAST({_LAST_CONTACT_SQL} + contact_interval_days, {_HOME_DUE_SQL})"
)


# --- "Overdue" and "due soon" of a stored due date: once, in the three forms ----------------------
# A duty is overdue the day after its due date (due < today) and due soon from the due date back
# DUE_SOON_DAYS days (today <= due <= today + 7). The same words in Python, as a Q on a field,
# and as SQL text on a column (``today`` is a SQL expression, by default the %(today)s parameter).


def is_overdue(due: date | None, today: date) -> bool:
    return due is not None and due < today


def is_due(due: date | None, today: date) -> bool:
    """Due today or earlier (a duty to do now, e.g. a re-assessment)."""
    return due is not None and due <= today


def is_due_soon(due: date | None, today: date) -> bool:
    return due is not None and today <= due <= today + timedelta(days=DUE_SOON_DAYS)


def overdue_q(field: str, today: date) -> Q:
    return Q(**{f"{field}__lt": today})


def due_soon_q(field: str, today: date) -> Q:
    return Q(**{f"{field}__range": (today, today + timedelta(days=DUE_SOON_DAYS))})


def overdue_sql(column: str, today: str = "%(today)s", *, days_late: str = "") -> str:
    """``column`` is past due (with ``days_late``, a SQL number: by more than that many days)."""
    return f"{column} < {today} - {days_late}" if days_late else f"{column} < {today}"


def due_soon_sql(column: str, today: str = "%(today)s") -> str:
    return f"{column} BETWEEN {today} AND {today} + {DUE_SOON_DAYS}"


# --- Who is counted: children under 18 ------------------------------------------------------------
# A file stays open past the 18th birthday only while a benefit continues for full-time education
# (children.rules.ages_out_on); such a young adult is not on the visit schedule: the reminders
# and every dashboard count leave them out. The same condition as a Q and as SQL text (``c`` is
# the child table's alias with its dot, ``today`` a SQL date expression).


def under_18_q(today: date, field: str = "birth_date") -> Q:
    return Q(**{f"{field}__gt": rules.latest_adult_birth_date(today)})


def under_18_sql(c: str = "c.", today: str = "%(today)s") -> str:
    # A date minus whole years keeps the day, or takes the month's last when it does not exist
    # (29 February → 28 February): rules.latest_adult_birth_date in SQL.
    return f"{c}birth_date > ({today}::date - interval '{rules.ADULT_AGE} years')::date"


def eighteenth_birthday_sql(c: str = "c.") -> str:
    """rules.eighteenth_birthday in SQL: 18 years on, 1 March for a child born on 29 February
    (PostgreSQL would say 28 February; 18 years after a leap year is never one)."""
    return (
        f"(({c}birth_date + interval '{rules.ADULT_AGE} years')::date"
        f" + CASE WHEN to_char({c}birth_date, 'MM-DD') = '02-29' THEN 1 ELSE 0 END)"
    )


def schedule_status(
    *, next_home_visit_due: date, last_home_visit_on: date | None, today: date
) -> str:
    """``overdue`` when the home visit is past due; ``never_visited`` for a child not yet visited
    at home (and not yet overdue); ``due_soon`` within 7 days; otherwise ``ok``."""
    if is_overdue(next_home_visit_due, today):
        return OVERDUE
    if last_home_visit_on is None:
        return NEVER_VISITED
    if is_due_soon(next_home_visit_due, today):
        return DUE_SOON
    return OK


def status_sql(c: str = "c.", today: str = "%(today)s") -> str:
    """``schedule_status`` as a SQL expression on the child table (``c`` its alias with the
    dot, ``today`` a SQL date): the four conditions in the same order."""
    due = f"{c}next_home_visit_due"
    return (
        f"CASE WHEN {overdue_sql(due, today)} THEN '{OVERDUE}' "
        f"WHEN {c}last_home_visit_on IS NULL THEN '{NEVER_VISITED}' "
        f"WHEN {due_soon_sql(due, today)} THEN '{DUE_SOON}' ELSE '{OK}' END"
    )


def status_q(status: str, today: date) -> Q:
    """The SQL form of ``schedule_status``, on a queryset of children."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    overdue = overdue_q("next_home_visit_due", today)
    if status == OVERDUE:
        return overdue
    if status == NEVER_VISITED:
        return Q(last_home_visit_on__isnull=True) & ~overdue
    if status == DUE_SOON:
        return Q(last_home_visit_on__isnull=False) & due_soon_q("next_home_visit_due", today)
    if status == OK:
        return Q(last_home_visit_on__isnull=False, next_home_visit_due__gt=soon)
    return Q()
