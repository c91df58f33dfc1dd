"""Benefit programmes (补贴纳入, domain §7): eligibility as pure functions, and the review flow.

No ORM here: the caller passes the child's age, categories, flags and parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .rules import Parent

PUBLIC_NOTICE_DAYS = 7


@dataclass(frozen=True)
class Programme:
    code: str
    name: str
    public_notice: bool = False
    one_off: bool = False


PROGRAMMES = {
    p.code: p
    for p in (
        Programme("orphan_allowance", "孤儿基本生活费"),
        Programme("de_facto_unsupported_allowance", "事实无人抚养儿童基本生活补贴"),
        Programme("hiv_affected_allowance", "艾滋病病毒感染儿童基本生活费"),
        Programme("minimum_living", "最低生活保障", public_notice=True),
        Programme("extreme_poverty_support", "特困人员救助供养", public_notice=True),
        Programme("temporary_assistance", "临时救助", one_off=True),
        Programme("medical_assistance", "医疗救助"),
        Programme("disability_rehabilitation", "残疾儿童康复救助"),
        Programme("education_aid", "教育资助（两免一补）"),
    )
}

GONE = frozenset({"deceased", "missing"})
RELATION = {"father": "父亲", "mother": "母亲"}


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


def eligibility(
    *,
    programme: str,
    age: int,
    categories: Iterable[str],
    flags: Iterable[str],
    school_status: str,
    parents: Sequence[Parent],
) -> list[str]:
    """Every reason the child is not eligible, in Chinese; an empty list means eligible."""
    categories, flags = set(categories), set(flags)
    reasons: list[str] = []
    if programme not in PROGRAMMES:
        return [f"未知的补贴项目：{programme}"]
    if age >= 18 and programme != "temporary_assistance":
        reasons.append("已年满18周岁")
    father, mother = _parents(parents)
    if programme in ("orphan_allowance", "de_facto_unsupported_allowance"):
        if father is None or mother is None:
            reasons.append("未登记父母双方情况")
        elif programme == "orphan_allowance":
            for parent in (father, mother):
                if parent.status not in GONE:
                    reasons.append(f"{RELATION[parent.relation]}未死亡或未宣告失踪")
        else:
            both_a = in_set_a(father) and in_set_a(mother)
            one_gone_other_a = (father.status in GONE and in_set_a(mother)) or (
                mother.status in GONE and in_set_a(father)
            )
            if not (both_a or one_gone_other_a):
                reasons.append(
                    "须父母双方均重残、重病、服刑、强制戒毒或被撤销监护资格等，"
                    "或一方死亡、失踪且另一方符合上述情形"
                )
    if programme == "hiv_affected_allowance" and "hiv_affected" not in categories:
        reasons.append("未认定为艾滋病病毒感染儿童")
    if programme == "medical_assistance" and "ill" not in flags:
        reasons.append("档案中未登记疾病情况")
    if programme == "disability_rehabilitation":
        if age > 6:
            reasons.append("康复救助限0至6岁残疾儿童")
        if "disabled" not in flags:
            reasons.append("档案中未登记残疾情况")
    if programme == "education_aid" and school_status not in ("in_school", "preschool"):
        reasons.append("未在校就读")
    return reasons


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
