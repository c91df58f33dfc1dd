"""Benefit programmes (补贴纳入, domain §7): eligibility as pure functions, and the review flow.

No ORM here: the caller passes the child's age, categories, flags and parents.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from children.rules import Parent, birthday_in_year

PUBLIC_NOTICE_DAYS = 7


@dataclass(frozen=True)
class Programme:
    code: str
    name: Any  # a lazy translation
    public_notice: bool = False
    one_off: bool = False
    # Income and assets decide it, which the file cannot judge: never "eligible", only "to be
    # checked by civil affairs" (家庭经济状况核对, domain §7), with what to bring.
    income_checked: bool = False
    # County approval confirms this category of the child file (api.md): the county has judged
    # the family's statuses the rule reads.
    confirms_category: str = ""


# Names are English source strings; the Chinese names (孤儿基本生活费 …) are their translations.
PROGRAMMES = {
    p.code: p
    for p in (
        Programme(
            "orphan_allowance", _("Orphans' basic living allowance"), confirms_category="orphan"
        ),
        Programme(
            "de_facto_unsupported_allowance",
            _("Basic living allowance for children without de facto support"),
            confirms_category="de_facto_unsupported",
        ),
        Programme("hiv_affected_allowance", _("Basic living allowance for HIV-affected children")),
        Programme(
            "minimum_living",
            _("Minimum living guarantee"),
            public_notice=True,
            income_checked=True,
        ),
        Programme(
            "extreme_poverty_support",
            _("Support for people in extreme poverty"),
            public_notice=True,
            income_checked=True,
        ),
        Programme(
            "temporary_assistance", _("Temporary assistance"), one_off=True, income_checked=True
        ),
        Programme("medical_assistance", _("Medical assistance")),
        Programme("disability_rehabilitation", _("Rehabilitation for disabled children")),
        Programme("education_aid", _("Education aid (two exemptions, one subsidy)")),
    )
}

# Gone for good in law: dead, or declared missing by a court. A parent merely 失踪 (as the family
# says) or 失联 does not make an orphan (domain §7).
GONE = frozenset({"deceased", "declared_missing"})
# Deprived of liberty or out of contact this long puts a parent in set A (民发〔2019〕62号).
SET_A_MONTHS = 6
SINCE_LABEL = {
    "imprisoned": _("in prison (deprived of liberty)"),
    "lost_contact": _("out of contact"),
}
RELATION = {"father": _("Father"), "mother": _("Mother")}
ADULT_AGE = 18
REHABILITATION_MAX_AGE = 6
COMPULSORY_SCHOOL_AGE = (6, 15)  # 义务教育: ages 6 to 15


@dataclass(frozen=True)
class Refusal:
    """One reason a child is not eligible, and the evidence on the file that would change it."""

    reason: str
    evidence: str

    def __post_init__(self) -> None:
        # Texts are built lazily; a refusal is read (API, stored notes) in the language of now.
        object.__setattr__(self, "reason", str(self.reason))
        object.__setattr__(self, "evidence", str(self.evidence))


def months_later(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it has no such day (31 August
    + 6 months = 28 or 29 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def in_set_a(parent: Parent, today: date) -> bool:
    """事实无人抚养 set A (domain §7): serious disability or illness; imprisoned or otherwise
    deprived of liberty, or lost contact, for 6 months or more by ``status_since``; compulsory
    drug rehab; guardianship revoked or deported (recorded as status 其他 and unable to act as
    guardian). A parent at home with "unable to act as guardian" ticked is not in set A by that
    alone."""
    if parent.serious_disability or parent.serious_illness or parent.status == "in_rehab":
        return True
    if parent.status in SINCE_LABEL:
        since = parent.status_since
        return since is not None and months_later(since, SET_A_MONTHS) <= today
    return parent.status == "other" and not parent.has_guardian_capacity


def _set_a_gap(parent: Parent, today: date) -> str:
    """Why a parent is not (yet) in set A, in Chinese, for the refusal."""
    who = RELATION[parent.relation]
    if parent.status in SINCE_LABEL:
        label = SINCE_LABEL[parent.status]
        if parent.status_since is None:
            return str(
                _("%(who)s %(status)s: the start date is not recorded")
                % {"who": who, "status": label}
            )
        ready = months_later(parent.status_since, SET_A_MONTHS)
        return str(
            _("%(who)s %(status)s since %(since)s: less than 6 months (reached on %(ready)s)")
            % {
                "who": who,
                "status": label,
                "since": f"{parent.status_since:%Y-%m-%d}",
                "ready": f"{ready:%Y-%m-%d}",
            }
        )
    return str(
        _(
            "%(who)s: not severely disabled, seriously ill, in prison or out of contact for 6 "
            "months, in compulsory rehab or the like"
        )
        % {"who": who}
    )


def _parents(parents: Sequence[Parent]) -> tuple[Parent | None, Parent | None]:
    father = next((p for p in parents if p.relation == "father"), None)
    mother = next((p for p in parents if p.relation == "mother"), None)
    return father, mother


def refusals(
    *,
    programme: str,
    age: int,
    categories: Iterable[str],
    flags: Iterable[str],
    school_status: str,
    parents: Sequence[Parent],
    today: date,
    categories_pending: Iterable[str] = (),
) -> list[Refusal]:
    """Every reason the child is not eligible, with the evidence that would change it.
    ``categories`` are the file's confirmed ones; ``categories_pending`` wait for county civil
    affairs (待民政确认) and qualify for nothing yet."""
    categories, flags = set(categories), set(flags)
    found: list[Refusal] = []
    if programme not in PROGRAMMES:
        return [
            Refusal(
                str(_("Unknown benefit programme: %(programme)s") % {"programme": programme}),
                str(_("Choose a benefit programme")),
            )
        ]
    if age >= ADULT_AGE and programme != "temporary_assistance":
        found.append(
            Refusal(
                _("Already 18 or older"),
                _("No new application after 18; temporary assistance can be requested"),
            )
        )
    father, mother = _parents(parents)
    if programme in ("orphan_allowance", "de_facto_unsupported_allowance"):
        if father is None or mother is None:
            found.append(
                Refusal(
                    _("The situation of both parents is not recorded"),
                    _(
                        "Record the father's and the mother's situation among the family members "
                        "(deceased and missing included)"
                    ),
                )
            )
        elif programme == "orphan_allowance":
            for parent in (father, mother):
                if parent.status not in GONE:
                    who = RELATION[parent.relation]
                    found.append(
                        Refusal(
                            str(_("%(who)s is not deceased or declared missing") % {"who": who}),
                            str(
                                _(
                                    "If the %(who)s has died or was declared missing, update the "
                                    "situation and upload the death certificate or the court's "
                                    "declaration of missing person"
                                )
                                % {"who": who}
                            ),
                        )
                    )
        else:
            both_a = in_set_a(father, today) and in_set_a(mother, today)
            one_gone_other_a = (father.status in GONE and in_set_a(mother, today)) or (
                mother.status in GONE and in_set_a(father, today)
            )
            if not (both_a or one_gone_other_a):
                gaps = [
                    _set_a_gap(p, today)
                    for p in (father, mother)
                    if p.status not in GONE and not in_set_a(p, today)
                ]
                found.append(
                    Refusal(
                        str(
                            _(
                                "Both parents must be severely disabled, seriously ill, in prison "
                                "or out of contact for 6 months, in compulsory rehab or stripped "
                                "of guardianship, or one deceased or declared missing and the "
                                "other so: %(gaps)s"
                            )
                            % {"gaps": pgettext("clause separator", "; ").join(gaps)}
                        ),
                        str(
                            _(
                                "Update the parents' situation and upload the disability "
                                "certificate, diagnosis, judgement or detention or rehab record, "
                                "police record of lost contact, judgement removing guardianship, "
                                "etc."
                            )
                        ),
                    )
                )
    if programme == "hiv_affected_allowance" and "hiv_affected" in set(categories_pending):
        found.append(
            Refusal(
                _("The HIV category waits for county civil affairs to confirm it"),
                _(
                    "Apply once county civil affairs confirm the category (with the CDC "
                    "certificate)"
                ),
            )
        )
    elif programme == "hiv_affected_allowance" and "hiv_affected" not in categories:
        found.append(
            Refusal(
                _("Not confirmed as a child affected by HIV"),
                _("County civil affairs confirm the category, with the CDC certificate"),
            )
        )
    if programme == "medical_assistance" and "ill" not in flags:
        found.append(
            Refusal(
                _("No illness recorded in the file"),
                _("Record the illness in the file and upload the diagnosis"),
            )
        )
    if programme == "disability_rehabilitation":
        if age > REHABILITATION_MAX_AGE:
            found.append(
                Refusal(
                    _("Rehabilitation aid is for disabled children aged 0 to 6"),
                    _("From 7, medical or temporary assistance can be requested"),
                )
            )
        if "disabled" not in flags:
            found.append(
                Refusal(
                    _("No disability recorded in the file"),
                    _(
                        "Record the kind and grade of disability in the file and upload the "
                        "disability certificate"
                    ),
                )
            )
    if programme == "education_aid":
        # 两免一补: compulsory education (primary and junior secondary) only, not preschool.
        if school_status != "in_school":
            found.append(
                Refusal(
                    _("Not in compulsory education"),
                    _(
                        "Update the schooling status and upload the school's certificate of "
                        "enrolment"
                    ),
                )
            )
        elif not COMPULSORY_SCHOOL_AGE[0] <= age <= COMPULSORY_SCHOOL_AGE[1]:
            found.append(
                Refusal(
                    _(
                        "Education aid is for pupils in compulsory education (primary and junior "
                        "secondary)"
                    ),
                    _(
                        "If still in compulsory education, upload the school's certificate of "
                        "enrolment"
                    ),
                )
            )
    return found


# What the family brings for the economic check (家庭经济状况核对) of an income-tested programme.
INCOME_CHECK_DOCUMENTS = (
    _("Household register and family members' ID cards"),
    _("Proof of household income (wages, business, farming, etc.)"),
    _("Savings, housing, vehicles and other property"),
    _("Authorisation of the household economic check (signed by every family member)"),
)


def eligibility(**facts) -> list[str]:
    """Every reason the child is not eligible, in Chinese; an empty list means eligible."""
    return [refusal.reason for refusal in refusals(**facts)]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def last_month_of_minority(birth_date: date) -> date:
    """The last month paid to a child not in full-time education: the month of the 18th birthday."""
    return first_of_month(birthday_in_year(birth_date, birth_date.year + ADULT_AGE))


def payable_in(*, birth_date: date, month: date, education_years: Iterable[int] = ()) -> bool:
    """Whether a monthly benefit is paid for ``month`` by age: up to the month of the 18th birthday,
    and after it only in years with full-time education recorded (domain §7)."""
    return first_of_month(month) <= last_month_of_minority(birth_date) or (
        month.year in set(education_years)
    )


def education_continues_until(
    *,
    education_years: Iterable[int],
    benefit_open: bool,
    last_benefit_ended_on: date | None = None,
) -> date | None:
    """How long a benefit continues for full-time education, which keeps the child's file open
    past the 18th birthday (the child file's ``education_continues_until``, read by its daily
    ageing-out job; the file closes the day after). While a benefit is open: 31 December of the
    latest year with full-time education recorded, the last month ``payable_in`` pays. Once none
    is open: that, or the day the last one ended if earlier. None without education recorded or
    without any benefit. benefits.services keeps the column by its SQL form, EDUCATION_UNTIL_SQL."""
    years = list(education_years)
    if not years:
        return None
    end_of_education = date(max(years), 12, 31)
    if benefit_open:
        return end_of_education
    if last_benefit_ended_on is None:
        return None
    return min(end_of_education, last_benefit_ended_on)


# --- The review flow -------------------------------------------------------------------------

SUBMITTED, TOWNSHIP_APPROVED, APPROVED, REJECTED, RETURNED = (
    "submitted",
    "township_approved",
    "approved",
    "rejected",
    "returned",
)
# Who decides at which status.
DECIDER = {SUBMITTED: "supervisor", TOWNSHIP_APPROVED: "civil_affairs"}
NEXT_ON_APPROVE = {SUBMITTED: TOWNSHIP_APPROVED, TOWNSHIP_APPROVED: APPROVED}


# --- The public notice (公示) of 低保 and 特困 --------------------------------------------------
# The notice's dates are recorded (benefits.models.PublicNotice); these say what they must be and
# what follows from them. ``ends_on`` is the notice's last day.


def notice_default_end(starts_on: date) -> date:
    """The last day of a notice posted on ``starts_on``: 7 days, both ends counted."""
    return starts_on + timedelta(days=PUBLIC_NOTICE_DAYS - 1)


def county_may_approve_from(notice_ends_on: date) -> date:
    """The first day the county may approve: the day after the notice's last day."""
    return notice_ends_on + timedelta(days=1)


def notice_problems(
    *, starts_on: date, ends_on: date, township_approved_on: date
) -> dict[str, list[str]]:
    """Why a notice's dates are refused, by field (none: accepted). A notice follows the
    township's approval and lasts at least 7 days."""
    problems: dict[str, list[str]] = {}
    if starts_on < township_approved_on:
        problems["starts_on"] = [
            gettext("The notice cannot start before the township's approval (%(date)s)")
            % {"date": f"{township_approved_on:%Y-%m-%d}"}
        ]
    if ends_on < notice_default_end(starts_on):
        problems["ends_on"] = [
            gettext("The notice lasts at least %(days)s days: until %(date)s at the earliest")
            % {"days": PUBLIC_NOTICE_DAYS, "date": f"{notice_default_end(starts_on):%Y-%m-%d}"}
        ]
    return problems


# --- Review deadlines --------------------------------------------------------------------------


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday–Friday) after ``start``."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def review_deadline(
    *,
    status: str,
    submitted_on: date,
    township_approved_on: date | None,
    notice_ends_on: date | None,
    policy: dict[str, int],
) -> date:
    """The date the current level must decide by: N working days (*default* 10 for each level,
    per the area's policy) from when the application reached it; with a public notice (its last
    day ``notice_ends_on``) the county's days start when the notice ends."""
    if status == "submitted" or township_approved_on is None:
        return add_working_days(submitted_on, policy["subsidy_township_working_days"])
    since = township_approved_on if notice_ends_on is None else notice_ends_on
    return add_working_days(since, policy["subsidy_county_working_days"])


def waiting_since(*, status: str, submitted_on: date, township_approved_on: date | None) -> date:
    """When the application reached the level that must decide now."""
    if status == "township_approved" and township_approved_on is not None:
        return township_approved_on
    return submitted_on


def notice_still_running(*, status: str, notice_ends_on: date | None, today: date) -> date | None:
    """While a public notice (its last day ``notice_ends_on``) is not over, the first day the
    county may approve; None otherwise."""
    if status != "township_approved" or notice_ends_on is None:
        return None
    first_day = county_may_approve_from(notice_ends_on)
    return first_day if first_day > today else None


def programme_name(code: str) -> str:
    """The programme's name, or its code when no programme has it any more."""
    programme = PROGRAMMES.get(code)
    return programme.name if programme else code


# --- Documents each programme needs (api.md EVIDENCE KIND; an area may change them) -----------

# The kinds that prove a parent's status for 事实无人抚养 (set A), beside death and a court's
# declaration of a missing person.
SET_A_KINDS = (
    "judgement",
    "detention_record",
    "rehab_record",
    "lost_contact_record",
    "disability_certificate",
    "illness_diagnosis",
)
GONE_KINDS = ("death_certificate", "court_declaration")
KIND_ZH = {
    "death_certificate": pgettext_lazy("required document", "Death certificate"),
    "court_declaration": pgettext_lazy("required document", "Court declaration of missing person"),
    "judgement": pgettext_lazy("required document", "Judgement (ruling)"),
    "detention_record": pgettext_lazy("required document", "Detention or imprisonment record"),
    "rehab_record": pgettext_lazy("required document", "Compulsory rehab decision"),
    "lost_contact_record": pgettext_lazy("required document", "Police record of lost contact"),
    "disability_certificate": pgettext_lazy("required document", "Disability certificate"),
    "illness_diagnosis": pgettext_lazy("required document", "Diagnosis of serious illness"),
    "medical_certificate": pgettext_lazy("required document", "CDC medical certificate"),
    "school_certificate": pgettext_lazy("required document", "School's certificate of enrolment"),
    "income_check": pgettext_lazy("required document", "Household economic check report"),
    "other": pgettext_lazy("required document", "Other documents"),
}


@dataclass(frozen=True)
class Requirement:
    """The documents a programme needs before county approval: one of ``kinds`` (any of them
    will do), for each parent when ``per_parent`` (the proof of each parent's status, on the
    family member or on the application). No kinds: nothing required."""

    kinds: tuple[str, ...]
    per_parent: bool = False

    def sufficient_kinds(self) -> list[str]:
        """Kinds of documents that together satisfy it on the application alone: the first kind,
        once for each parent where each parent needs one (what the demo and the tests bring)."""
        if not self.kinds:
            return []
        return [self.kinds[0]] * (2 if self.per_parent else 1)


# Per-parent programmes keep per_parent when an area changes their kinds.
PER_PARENT_PROGRAMMES = frozenset({"orphan_allowance", "de_facto_unsupported_allowance"})
DEFAULT_REQUIREMENTS = {
    "orphan_allowance": Requirement(GONE_KINDS, per_parent=True),
    "de_facto_unsupported_allowance": Requirement(SET_A_KINDS + GONE_KINDS, per_parent=True),
    "hiv_affected_allowance": Requirement(("medical_certificate",)),
    "education_aid": Requirement(("school_certificate",)),
    "minimum_living": Requirement(("income_check",)),
    "extreme_poverty_support": Requirement(("income_check",)),
}


def requirement_for(programme: str, kinds: Iterable[str] | None = None) -> Requirement:
    """The programme's requirement: the area's ``kinds`` when it set them, else the default."""
    if kinds is None:
        return DEFAULT_REQUIREMENTS.get(programme, Requirement(()))
    return Requirement(tuple(kinds), per_parent=programme in PER_PARENT_PROGRAMMES)


def kinds_text(kinds: Iterable[str]) -> str:
    return pgettext("alternatives", " or ").join(str(KIND_ZH.get(kind, kind)) for kind in kinds)


def missing_documents(
    requirement: Requirement,
    *,
    application_kinds: Iterable[str],
    parent_kinds: dict[str, str] | None = None,
) -> list[str]:
    """What is still missing, in Chinese (empty: complete). ``application_kinds`` are the kinds of
    the documents on the application; ``parent_kinds`` the kind of the document on each parent's
    status ({"father": "death_certificate", "mother": ""}). For a per-parent requirement each
    parent needs one: on the parent, or one more on the application."""
    if not requirement.kinds:
        return []
    accepted = set(requirement.kinds)
    on_application = sum(1 for kind in application_kinds if kind in accepted)
    wanted = kinds_text(requirement.kinds)
    if not requirement.per_parent:
        return [] if on_application else [wanted]
    lacking = [
        relation
        for relation in ("father", "mother")
        if (parent_kinds or {}).get(relation, "") not in accepted
    ]
    uncovered = lacking[on_application:] if on_application < len(lacking) else []
    return [
        str(
            pgettext("label and value", "%(label)s: %(value)s")
            % {"label": RELATION[relation], "value": wanted}
        )
        for relation in uncovered
    ]
