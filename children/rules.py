"""Pure rules of the child file: age, left-behind status, focus flags, key children, risk colour.

No ORM here: callers pass plain values, so every rule is tested directly at its boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

LEFT_BEHIND_MAX_AGE = 16  # under 16 (国发〔2016〕13号)
DEFAULT_AWAY_DAYS = 90  # *default*: "working away for at least 90 days" (3 months)
SCHOOL_AGE = (6, 15)  # compulsory schooling: out_of_school applies to ages 6–15
# The 困境儿童 subtypes (domain §2): every category but left-behind and single-parent. The
# quarterly verification, the spot check's strata and the township's 困境儿童 register use it.
DIFFICULTY_CATEGORIES = (
    "orphan",
    "de_facto_unsupported",
    "hiv_affected",
    "severe_disability",
    "serious_illness",
    "low_income_family",
    "guardian_abuse",
    "street_child",
    "emergency_affected",
)
REASSESS_AFTER_DAYS = 180  # *default*

# A parent with one of these statuses lacks guardianship capacity whatever the checkbox says.
INCAPABLE_STATUSES = frozenset(
    {"deceased", "missing", "imprisoned", "in_rehab", "lost_contact", "declared_missing"}
)
STATUS_ZH = {
    "deceased": "已故",
    "missing": "失踪",
    "imprisoned": "服刑",
    "in_rehab": "强制隔离戒毒",
    "lost_contact": "失联",
    "declared_missing": "被宣告失踪",
}
RELATION_ZH = {"father": "父亲", "mother": "母亲"}


@dataclass(frozen=True)
class Parent:
    relation: str  # "father" | "mother"
    status: str
    has_guardian_capacity: bool
    away_since: date | None
    serious_disability: bool = False
    serious_illness: bool = False
    status_since: date | None = None  # imprisonment, rehab, lost contact began


def age_on(birth_date: date, today: date) -> int:
    """Completed years; a child born on 29 February turns a year older on 1 March."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def birthday_in_year(birth_date: date, year: int) -> date:
    try:
        return birth_date.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def _away_long_enough(parent: Parent, today: date, away_days: int) -> bool:
    if parent.status != "working_away":
        return False
    # No departure date recorded: the director says the parent works away; take it as long-standing.
    return parent.away_since is None or parent.away_since <= today - timedelta(days=away_days)


def _incapable(parent: Parent) -> bool:
    return parent.status in INCAPABLE_STATUSES or not parent.has_guardian_capacity


def _incapacity_words(parent: Parent) -> str:
    if parent.status in STATUS_ZH:
        return f"{RELATION_ZH[parent.relation]}{STATUS_ZH[parent.status]}"
    return f"{RELATION_ZH[parent.relation]}无监护能力"


@dataclass(frozen=True)
class LeftBehind:
    left_behind: bool
    one_parent_away_other_incapable: bool
    reasons: tuple[str, ...]


def left_behind(
    *,
    birth_date: date,
    parents: Sequence[Parent],
    today: date,
    away_days: int = DEFAULT_AWAY_DAYS,
) -> LeftBehind:
    """留守儿童 (domain §2): under 16, and (a) both parents away ≥ away_days, or (b) one parent away
    ≥ away_days and the other without guardianship capacity."""
    fathers = [p for p in parents if p.relation == "father"]
    mothers = [p for p in parents if p.relation == "mother"]
    months = round(away_days / 30)
    father_away = any(_away_long_enough(p, today, away_days) for p in fathers)
    mother_away = any(_away_long_enough(p, today, away_days) for p in mothers)
    reasons: list[str] = []
    branch_b = False
    if father_away and mother_away:
        reasons.append(f"父母双方外出务工满{months}个月")
    else:
        for away_group, other_group in ((fathers, mothers), (mothers, fathers)):
            away = [p for p in away_group if _away_long_enough(p, today, away_days)]
            incapable = [p for p in other_group if _incapable(p)]
            if away and incapable:
                branch_b = True
                reasons.append(
                    f"{RELATION_ZH[away[0].relation]}外出务工满{months}个月，"
                    f"{_incapacity_words(incapable[0])}"
                )
    under_age = age_on(birth_date, today) < LEFT_BEHIND_MAX_AGE
    is_left_behind = under_age and bool(reasons)
    return LeftBehind(
        left_behind=is_left_behind,
        one_parent_away_other_incapable=branch_b and age_on(birth_date, today) < 18,
        reasons=tuple(reasons) if is_left_behind else (),
    )


def parent_at_home_with_capacity(parents: Iterable[Parent]) -> bool:
    return any(
        p.status == "at_home" and p.has_guardian_capacity and p.status not in INCAPABLE_STATUSES
        for p in parents
    )


def focus_flags(
    *,
    birth_date: date,
    today: date,
    left_behind_result: LeftBehind,
    parent_at_home: bool,
    has_active_care_agreement: bool,
    school_status: str,
    hukou_registered: bool,
    illness: str,
    disability_type: str,
    disability_grade: int | None,
    categories: Iterable[str],
) -> list[str]:
    """重点对象 flags (domain §2), in a stable order."""
    categories = set(categories)
    age = age_on(birth_date, today)
    flags = []
    # 无人监护: a left-behind child with no parent at home able to care and no active care
    # agreement (domain §5).
    if left_behind_result.left_behind and not parent_at_home and not has_active_care_agreement:
        flags.append("unsupervised")
    if left_behind_result.one_parent_away_other_incapable:
        flags.append("one_parent_away_other_incapable")
    if school_status in {"dropped_out", "not_enrolled"} and SCHOOL_AGE[0] <= age <= SCHOOL_AGE[1]:
        flags.append("out_of_school")
    if not hukou_registered:
        flags.append("no_hukou")
    if illness.strip() or "serious_illness" in categories:
        flags.append("ill")
    if disability_type or disability_grade or "severe_disability" in categories:
        flags.append("disabled")
    return flags


def is_key_child(flags: Iterable[str], risk_level: str) -> bool:
    return bool(list(flags)) or risk_level in {"medium", "high"}


def assessment_result(*, guardianship: int, safety: int, health: int, behaviour: int) -> str:
    """Scores 0 (no concern) … 3 (severe) → colour. Any severe item, or serious concern about both
    guardianship and safety, is red; any serious item or a total of 3 or more is yellow; otherwise
    green."""
    scores = (guardianship, safety, health, behaviour)
    if max(scores) >= 3 or (guardianship >= 2 and safety >= 2):
        return "high"
    if max(scores) >= 2 or sum(scores) >= 3:
        return "medium"
    return "low"


def next_assessment_due(assessed_on: date, days: int = REASSESS_AFTER_DAYS) -> date:
    return assessed_on + timedelta(days=days)


def next_change(
    *, birth_date: date, parents: Sequence[Parent], today: date, away_days: int = DEFAULT_AWAY_DAYS
) -> date | None:
    """The next date on which the derived state could change with no write to the file: a birthday
    at a threshold age (6, 16, 18) or a parent reaching ``away_days`` away."""
    age = age_on(birth_date, today)
    candidates = [
        birthday_in_year(birth_date, birth_date.year + threshold)
        for threshold in (SCHOOL_AGE[0], SCHOOL_AGE[1] + 1, LEFT_BEHIND_MAX_AGE, 18)
        if threshold > age
    ]
    for parent in parents:
        if parent.status == "working_away" and parent.away_since is not None:
            reached = parent.away_since + timedelta(days=away_days)
            if reached > today:
                candidates.append(reached)
    return min(candidates) if candidates else None


ADULT_AGE = 18
AGREEMENT_TERM_DAYS = 365  # *default* term offered for a new care agreement (one year)
# *default*: a transfer not answered by then goes to the supervisor of the side that must answer.
TRANSFER_ANSWER_DAYS = 7
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def valid_phone(phone: str) -> bool:
    """A mainland mobile (11 digits from 13…19) or a landline with its area code (0563-5021001)."""
    phone = phone.strip().replace(" ", "")
    return bool(_MOBILE.match(phone) or _LANDLINE.match(phone))


def caregiver_is_adult(birth_date: date, on: date) -> bool:
    return age_on(birth_date, on) >= ADULT_AGE


# --- Coming of age (domain §2: the file closes by itself on the 18th birthday) ---------------


def eighteenth_birthday(birth_date: date) -> date:
    """The day a child turns 18: the birthday 18 years on, 1 March for one born on 29 February
    (the same day ``age_on`` counts the year)."""
    return birthday_in_year(birth_date, birth_date.year + ADULT_AGE)


def latest_adult_birth_date(on: date) -> date:
    """The latest birth date of someone who is 18 on ``on``: born on or before it, 18 or over;
    after it, under 18. The same day 18 years before; for 29 February, 28 February (someone born
    on 1 March of that year is not yet 18)."""
    if (on.month, on.day) == (2, 29):
        return date(on.year - ADULT_AGE, 2, 28)  # 18 years before a leap year is a common one
    return on.replace(year=on.year - ADULT_AGE)


def ages_out_on(birth_date: date, education_continues_until: date | None = None) -> date:
    """The day the file closes by itself (closed_reason ``turned_18``): the 18th birthday, or,
    while a benefit continues for full-time education past it, the day after that ends."""
    birthday = eighteenth_birthday(birth_date)
    if education_continues_until is not None and education_continues_until >= birthday:
        return education_continues_until + timedelta(days=1)
    return birthday


def agreement_default_end(start: date) -> date:
    """The end date offered for a care agreement starting on ``start``."""
    return start + timedelta(days=AGREEMENT_TERM_DAYS)


# --- Households (siblings share their family members) -----------------------------------------

PARENT_RELATIONS = ("father", "mother")


@dataclass(frozen=True)
class Person:
    """A family member as the household rules see it: the keyed hash of the ID number ("" when
    none was recorded) and the name."""

    key: object  # the member's primary key
    relation: str
    name: str
    id_hash: str = ""


def same_person(a: Person, b: Person) -> bool:
    """Two records of one relative: the same ID number when both have one, else the same relation
    and name."""
    if a.relation != b.relation:
        return False
    if a.id_hash and b.id_hash:
        return a.id_hash == b.id_hash
    return a.name.strip() == b.name.strip()


@dataclass
class FamilyMerge:
    """What joining ``incoming`` to ``kept`` does: ``matched`` pairs (incoming, kept) are one
    person (the kept record stays), ``added`` join as they are, and ``conflicts`` (Chinese
    sentences) say why the two families cannot be one: a father or mother on each side who are
    not the same person."""

    matched: list[tuple[Person, Person]]
    added: list[Person]
    conflicts: list[str]


def merge_families(kept: Sequence[Person], incoming: Sequence[Person]) -> FamilyMerge:
    merge = FamilyMerge([], [], [])
    for person in incoming:
        same = next((k for k in kept if same_person(person, k)), None)
        if same is not None:
            merge.matched.append((person, same))
            continue
        if person.relation in PARENT_RELATIONS:
            other = next((k for k in kept if k.relation == person.relation), None)
            if other is not None:
                merge.conflicts.append(
                    _(
                        "The two files name different people as the %(relation)s (%(kept)s, "
                        "%(incoming)s); correct the family members first"
                    )
                    % {
                        "relation": _("father") if person.relation == "father" else _("mother"),
                        "kept": other.name,
                        "incoming": person.name,
                    }
                )
                continue
        merge.added.append(person)
    return merge


# --- Categories that county civil affairs confirm (api.md, issue 17) -----------------------------

COUNTY_CONFIRMED_ZH = {
    "orphan": "孤儿",
    "de_facto_unsupported": "事实无人抚养儿童",
    "hiv_affected": "艾滋病病毒感染儿童",
}
COUNTY_CONFIRMED = frozenset(COUNTY_CONFIRMED_ZH)


@dataclass(frozen=True)
class CategoryChange:
    """Typed categories split into those that stand and those that wait for the county."""

    categories: list[str]  # the file's categories (confirmed ones included)
    pending: list[str]  # 待民政确认
    withdrawn_confirmed: list[str]  # confirmed ones the typist may not take away


def split_categories(
    requested: Iterable[str],
    *,
    confirmed_now: Iterable[str] = (),
    pending_now: Iterable[str] = (),
    by_county: bool,
) -> CategoryChange:
    """What typing ``requested`` does to a file whose categories are ``confirmed_now`` and whose
    pending ones are ``pending_now``. County civil affairs set any category and it stands (a
    pending one it leaves out stays pending: they decide on it by confirming or rejecting).
    Anyone else: orphan, de facto unsupported and HIV-affected not yet confirmed wait for the
    county; one left out is withdrawn if pending, and may not be taken away once confirmed."""
    requested = list(dict.fromkeys(requested))
    confirmed_now = set(confirmed_now)
    pending_now = list(dict.fromkeys(pending_now))
    if by_county:
        return CategoryChange(
            categories=requested,
            pending=[c for c in pending_now if c not in requested],
            withdrawn_confirmed=[],
        )
    categories = [c for c in requested if c not in COUNTY_CONFIRMED or c in confirmed_now]
    pending = [c for c in requested if c in COUNTY_CONFIRMED and c not in confirmed_now]
    withdrawn = sorted(c for c in confirmed_now & COUNTY_CONFIRMED if c not in requested)
    return CategoryChange(categories=categories, pending=pending, withdrawn_confirmed=withdrawn)
