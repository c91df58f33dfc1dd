"""Benefit programmes (补贴纳入, domain §7): eligibility as pure functions, and the review flow.

No ORM here: the caller passes the child's age, categories, flags and parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from children.rules import Parent, birthday_in_year

PUBLIC_NOTICE_DAYS = 7


@dataclass(frozen=True)
class Programme:
    code: str
    name: Any  # a lazy translation
    public_notice: bool = False
    one_off: bool = False


# Names are English source strings; the Chinese names (孤儿基本生活费 …) are their translations.
PROGRAMMES = {
    p.code: p
    for p in (
        Programme("orphan_allowance", _("Orphans' basic living allowance")),
        Programme(
            "de_facto_unsupported_allowance",
            _("Basic living allowance for children without de facto support"),
        ),
        Programme("hiv_affected_allowance", _("Basic living allowance for HIV-affected children")),
        Programme("minimum_living", _("Minimum living guarantee"), public_notice=True),
        Programme(
            "extreme_poverty_support",
            _("Support for people in extreme poverty"),
            public_notice=True,
        ),
        Programme("temporary_assistance", _("Temporary assistance"), one_off=True),
        Programme("medical_assistance", _("Medical assistance")),
        Programme("disability_rehabilitation", _("Rehabilitation for disabled children")),
        Programme("education_aid", _("Education aid (two exemptions, one subsidy)")),
    )
}

GONE = frozenset({"deceased", "missing"})
RELATION = {"father": "父亲", "mother": "母亲"}
ADULT_AGE = 18
REHABILITATION_MAX_AGE = 6


@dataclass(frozen=True)
class Refusal:
    """One reason a child is not eligible, and the evidence on the file that would change it."""

    reason: str
    evidence: str


def in_set_a(parent: Parent) -> bool:
    """事实无人抚养 set A: serious disability or illness, deprived of liberty, compulsory rehab,
    guardianship revoked, deported … (recorded as 'unable to act as guardian')."""
    return (
        parent.serious_disability
        or parent.status in ("imprisoned", "in_rehab")
        or (parent.status not in GONE and not parent.has_guardian_capacity)
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
) -> list[Refusal]:
    """Every reason the child is not eligible, with the evidence that would change it."""
    categories, flags = set(categories), set(flags)
    found: list[Refusal] = []
    if programme not in PROGRAMMES:
        return [Refusal(f"未知的补贴项目：{programme}", "请选择补贴项目")]
    if age >= ADULT_AGE and programme != "temporary_assistance":
        found.append(Refusal("已年满18周岁", "年满18周岁后不能新申请，可申请临时救助"))
    father, mother = _parents(parents)
    if programme in ("orphan_allowance", "de_facto_unsupported_allowance"):
        if father is None or mother is None:
            found.append(
                Refusal("未登记父母双方情况", "在家庭成员中登记父亲和母亲的情况（含已故、失踪）")
            )
        elif programme == "orphan_allowance":
            for parent in (father, mother):
                if parent.status not in GONE:
                    who = RELATION[parent.relation]
                    found.append(
                        Refusal(
                            f"{who}未死亡或未宣告失踪",
                            f"如{who}已死亡或被宣告失踪，更新其状况并上传死亡证明或"
                            "人民法院宣告失踪判决书",
                        )
                    )
        else:
            both_a = in_set_a(father) and in_set_a(mother)
            one_gone_other_a = (father.status in GONE and in_set_a(mother)) or (
                mother.status in GONE and in_set_a(father)
            )
            if not (both_a or one_gone_other_a):
                found.append(
                    Refusal(
                        "须父母双方均重残、重病、服刑、强制戒毒或被撤销监护资格等，"
                        "或一方死亡、失踪且另一方符合上述情形",
                        "更新父母状况并上传残疾证、诊断证明、判决书或羁押、戒毒证明、"
                        "公安机关失联证明、撤销监护资格判决书等",
                    )
                )
    if programme == "hiv_affected_allowance" and "hiv_affected" not in categories:
        found.append(
            Refusal("未认定为艾滋病病毒感染儿童", "由县级民政部门确认类别，并附疾控机构证明")
        )
    if programme == "medical_assistance" and "ill" not in flags:
        found.append(Refusal("档案中未登记疾病情况", "在档案中登记所患疾病，并上传诊断证明"))
    if programme == "disability_rehabilitation":
        if age > REHABILITATION_MAX_AGE:
            found.append(Refusal("康复救助限0至6岁残疾儿童", "7周岁以上可申请医疗救助或临时救助"))
        if "disabled" not in flags:
            found.append(
                Refusal("档案中未登记残疾情况", "在档案中登记残疾类别和等级，并上传残疾证")
            )
    if programme == "education_aid" and school_status not in ("in_school", "preschool"):
        found.append(Refusal("未在校就读", "更新就学状态，并上传学校出具的在读证明"))
    return found


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


def notice_ends(township_approved_on: date) -> date:
    """The first day the county may approve a programme with public notice."""
    return township_approved_on + timedelta(days=PUBLIC_NOTICE_DAYS)


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
    programme: str,
    submitted_on: date,
    township_approved_on: date | None,
    policy: dict[str, int],
) -> date:
    """The date the current level must decide by: N working days (*default* 10 for each level,
    per the area's policy) from when the application reached it; for a programme with public
    notice the county's days start when the notice ends."""
    if status == "submitted" or township_approved_on is None:
        return add_working_days(submitted_on, policy["subsidy_township_working_days"])
    since = township_approved_on
    if PROGRAMMES[programme].public_notice:
        since = notice_ends(since) - timedelta(days=1)
    return add_working_days(since, policy["subsidy_county_working_days"])


def waiting_since(*, status: str, submitted_on: date, township_approved_on: date | None) -> date:
    """When the application reached the level that must decide now."""
    if status == "township_approved" and township_approved_on is not None:
        return township_approved_on
    return submitted_on


def notice_still_running(
    *, status: str, programme: str, township_approved_on: date | None, today: date
) -> date | None:
    """The end of a public notice not yet over (the county may not approve before it)."""
    if status != "township_approved" or township_approved_on is None:
        return None
    if not PROGRAMMES[programme].public_notice:
        return None
    ends = notice_ends(township_approved_on)
    return ends if ends > today else None


def programme_name(code: str) -> str:
    """The programme's name, or its code when no programme has it any more."""
    programme = PROGRAMMES.get(code)
    return programme.name if programme else code
