"""Benefit programmes (补贴纳入, domain §7): eligibility as pure functions, and the review flow.

No ORM here: the caller passes the child's age, categories, flags and parents.
"""

from __future__ import annotations

import calendar
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
    # Income and assets decide it, which the file cannot judge: never "eligible", only "to be
    # checked by civil affairs" (家庭经济状况核对, domain §7), with what to bring.
    income_checked: bool = False


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
SINCE_LABEL = {"imprisoned": "服刑（被限制人身自由）", "lost_contact": "失联"}
RELATION = {"father": "父亲", "mother": "母亲"}
ADULT_AGE = 18
REHABILITATION_MAX_AGE = 6
COMPULSORY_SCHOOL_AGE = (6, 15)  # 义务教育: ages 6 to 15


@dataclass(frozen=True)
class Refusal:
    """One reason a child is not eligible, and the evidence on the file that would change it."""

    reason: str
    evidence: str


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
            return f"{who}{label}的开始日期未登记"
        ready = months_later(parent.status_since, SET_A_MONTHS)
        return f"{who}{label}自{parent.status_since:%Y-%m-%d}起不满6个月（{ready:%Y-%m-%d}满）"
    return f"{who}不属于重残、重病、服刑或失联满6个月、强制戒毒等情形"


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
                        "须父母双方均重残、重病、服刑或失联满6个月、强制戒毒或被撤销监护资格等，"
                        "或一方死亡、被宣告失踪且另一方符合上述情形：" + "；".join(gaps),
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
    if programme == "education_aid":
        # 两免一补: compulsory education (primary and junior secondary) only, not preschool.
        if school_status != "in_school":
            found.append(Refusal("未在义务教育阶段就读", "更新就学状态，并上传学校出具的在读证明"))
        elif not COMPULSORY_SCHOOL_AGE[0] <= age <= COMPULSORY_SCHOOL_AGE[1]:
            found.append(
                Refusal(
                    "两免一补限义务教育阶段（小学、初中）学生",
                    "如仍在义务教育阶段就读，上传学校出具的在读证明",
                )
            )
    return found


# What the family brings for the economic check (家庭经济状况核对) of an income-tested programme.
INCOME_CHECK_DOCUMENTS = (
    "户口簿和家庭成员身份证",
    "家庭收入证明（务工、经营、养殖种植等）",
    "存款、房产、车辆等财产情况",
    "家庭经济状况核对授权书（全体家庭成员签字）",
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
