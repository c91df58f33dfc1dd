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
    categories_pending: Iterable[str] = (),
) -> list[Refusal]:
    """Every reason the child is not eligible, with the evidence that would change it.
    ``categories`` are the file's confirmed ones; ``categories_pending`` wait for county civil
    affairs (待民政确认) and qualify for nothing yet."""
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
    if programme == "hiv_affected_allowance" and "hiv_affected" in set(categories_pending):
        found.append(
            Refusal(
                "艾滋病病毒感染儿童类别待县级民政部门确认",
                "县级民政部门确认类别（附疾控机构证明）后再申请",
            )
        )
    elif programme == "hiv_affected_allowance" and "hiv_affected" not in categories:
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
        problems["starts_on"] = [f"公示不能早于乡镇初审通过日期（{township_approved_on:%Y-%m-%d}）"]
    if ends_on < notice_default_end(starts_on):
        problems["ends_on"] = [
            f"公示期不少于{PUBLIC_NOTICE_DAYS}天，最早至{notice_default_end(starts_on):%Y-%m-%d}"
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
    "death_certificate": "死亡证明",
    "court_declaration": "人民法院宣告失踪判决书",
    "judgement": "判决书（裁定书）",
    "detention_record": "羁押、服刑证明",
    "rehab_record": "强制隔离戒毒决定书",
    "lost_contact_record": "公安机关失联证明",
    "disability_certificate": "残疾证",
    "illness_diagnosis": "重病诊断证明",
    "medical_certificate": "疾控机构出具的医学证明",
    "school_certificate": "学校出具的在读证明",
    "income_check": "家庭经济状况核对报告",
    "other": "其他材料",
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
    return "或".join(KIND_ZH.get(kind, kind) for kind in kinds)


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
    return [f"{RELATION[relation]}：{wanted}" for relation in uncovered]
