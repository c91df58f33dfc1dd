"""domain.md §7: each eligibility rule at its boundaries, and the months a benefit is paid."""

from datetime import date

import pytest

from benefits.rules import (
    PROGRAMMES,
    county_may_approve_from,
    eligibility,
    in_set_a,
    last_month_of_minority,
    notice_default_end,
    payable_in,
    refusals,
)
from children.rules import Parent

TODAY = date(2026, 11, 23)
LONG_AGO = date(2025, 1, 1)  # imprisoned or out of contact well over 6 months before TODAY


def parent(relation, status="at_home", capable=True, disabled=False, since=LONG_AGO, ill=False):
    return Parent(relation, status, capable, None, disabled, ill, since)


def check(
    programme, *, age=10, parents=(), categories=(), flags=(), school="in_school", today=TODAY
):
    return eligibility(
        programme=programme,
        age=age,
        categories=categories,
        flags=flags,
        school_status=school,
        parents=list(parents),
        today=today,
    )


ORPHANED = (parent("father", "deceased", False), parent("mother", "declared_missing", False))


def test_orphan_needs_both_parents_dead_or_declared_missing():
    assert check("orphan_allowance", parents=ORPHANED) == []
    one_at_home = (parent("father", "deceased", False), parent("mother"))
    assert check("orphan_allowance", parents=one_at_home) == ["母亲未死亡或未宣告失踪"]
    assert check("orphan_allowance", parents=ORPHANED[:1]) == ["未登记父母双方情况"]
    # A parent who is imprisoned is not gone: de facto unsupported, not an orphan.
    jailed = (parent("father", "deceased", False), parent("mother", "imprisoned", False))
    assert check("orphan_allowance", parents=jailed) == ["母亲未死亡或未宣告失踪"]
    # Missing as the family says (失踪), or out of contact (失联), is not declared by a court.
    for status in ("missing", "lost_contact"):
        both = (parent("father", "deceased", False), parent("mother", status, False))
        assert check("orphan_allowance", parents=both) == ["母亲未死亡或未宣告失踪"], status


@pytest.mark.parametrize(("age", "eligible"), [(0, True), (17, True), (18, False), (19, False)])
def test_under_18_boundary(age, eligible):
    for programme in ("orphan_allowance", "de_facto_unsupported_allowance", "minimum_living"):
        facts = (
            ORPHANED
            if programme == "orphan_allowance"
            else (
                parent("father", "imprisoned", False),
                parent("mother", "in_rehab", False),
            )
        )
        reasons = check(programme, age=age, parents=facts)
        assert (reasons == []) is eligible, (programme, age, reasons)
        assert ("已年满18周岁" in reasons) is (not eligible)


def test_temporary_assistance_has_no_age_limit():
    assert check("temporary_assistance", age=18) == []


@pytest.mark.parametrize(
    ("father", "mother", "eligible"),
    [
        # Both parents in set A.
        (parent("father", "imprisoned", False), parent("mother", "in_rehab", False), True),
        (parent("father", disabled=True), parent("mother", "lost_contact", False), True),
        # One parent dead or declared missing, the other in set A.
        (parent("father", "deceased", False), parent("mother", "imprisoned", False), True),
        (parent("father", "declared_missing", False), parent("mother", disabled=True), True),
        (parent("father", "deceased", False), parent("mother", ill=True), True),
        # Merely missing (the family's word) is neither gone nor in set A.
        (parent("father", "missing", False), parent("mother", disabled=True), False),
        # Two parents at home with "unable to act as guardian" ticked: not in set A by that alone.
        (parent("father", "at_home", False), parent("mother", "at_home", False), False),
        # One parent in set A, the other able: not unsupported.
        (parent("father", "imprisoned", False), parent("mother"), False),
        (parent("father", "deceased", False), parent("mother", "working_away"), False),
        # Both gone is an orphan, not de facto unsupported.
        (parent("father", "deceased", False), parent("mother", "deceased", False), False),
    ],
)
def test_de_facto_unsupported_set_a(father, mother, eligible):
    reasons = check("de_facto_unsupported_allowance", parents=(father, mother))
    assert (reasons == []) is eligible


def test_set_a_members():
    assert in_set_a(parent("father", "imprisoned", True), TODAY)
    assert in_set_a(parent("father", "in_rehab", True, since=None), TODAY)
    assert in_set_a(parent("father", disabled=True), TODAY)
    assert in_set_a(parent("father", ill=True), TODAY)
    assert in_set_a(parent("father", "other", False), TODAY)  # guardianship revoked, deported …
    assert not in_set_a(parent("father", "deceased", False), TODAY)
    assert not in_set_a(parent("father", "working_away"), TODAY)
    assert not in_set_a(parent("father", "at_home", False), TODAY)
    assert not in_set_a(parent("father", "imprisoned", False, since=None), TODAY)


@pytest.mark.parametrize("status", ["imprisoned", "lost_contact"])
@pytest.mark.parametrize(
    ("since", "in_a"),
    [
        (date(2026, 5, 24), False),  # 6 months minus a day
        (date(2026, 5, 23), True),  # exactly 6 months
        (date(2026, 5, 22), True),  # 6 months and a day
    ],
)
def test_six_months_deprived_of_liberty_or_out_of_contact(status, since, in_a):
    father = parent("father", status, False, since=since)
    assert in_set_a(father, TODAY) is in_a
    reasons = check(
        "de_facto_unsupported_allowance", parents=(father, parent("mother", "deceased", False))
    )
    assert (reasons == []) is in_a
    if not in_a:
        assert "不满6个月（2026-11-24满）" in reasons[0]


def test_six_months_from_the_end_of_a_month():
    from benefits.rules import months_later

    assert months_later(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert months_later(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert months_later(date(2026, 12, 15), 6) == date(2027, 6, 15)


@pytest.mark.parametrize(("age", "eligible"), [(0, True), (6, True), (7, False)])
def test_rehabilitation_from_0_to_6(age, eligible):
    reasons = check("disability_rehabilitation", age=age, flags=("disabled",))
    assert (reasons == []) is eligible
    assert "档案中未登记残疾情况" in check("disability_rehabilitation", age=3)


def test_category_and_flag_programmes():
    assert check("hiv_affected_allowance") == ["未认定为艾滋病病毒感染儿童"]
    assert check("hiv_affected_allowance", categories=("hiv_affected",)) == []
    assert check("medical_assistance") == ["档案中未登记疾病情况"]
    assert check("medical_assistance", flags=("ill",)) == []
    assert check("education_aid", school="dropped_out") == ["未在义务教育阶段就读"]
    # 两免一补 is for compulsory education only: not preschool, not senior secondary.
    assert check("education_aid", school="preschool", age=5) == ["未在义务教育阶段就读"]
    assert check("education_aid", age=6) == [] and check("education_aid", age=15) == []
    assert check("education_aid", age=16) == ["两免一补限义务教育阶段（小学、初中）学生"]
    assert check("education_aid", age=5) == ["两免一补限义务教育阶段（小学、初中）学生"]


def test_every_reason_says_what_evidence_would_change_it():
    for code in PROGRAMMES:
        for refusal in refusals(
            programme=code,
            age=19,
            categories=(),
            flags=(),
            school_status="dropped_out",
            parents=[parent("father")],
            today=TODAY,
        ):
            assert refusal.reason and refusal.evidence, code
    assert refusals(
        programme="nonsense",
        age=1,
        categories=(),
        flags=(),
        school_status="",
        parents=[],
        today=TODAY,
    )[0].reason.startswith("未知的补贴项目")


def test_public_notice_programmes():
    assert {c for c, p in PROGRAMMES.items() if p.public_notice} == {
        "minimum_living",
        "extreme_poverty_support",
    }
    assert not PROGRAMMES["orphan_allowance"].public_notice  # privacy: no public notice
    # Approved by the township on 23 November: noticed 23–29 November, approved from the 30th.
    assert notice_default_end(date(2026, 11, 23)) == date(2026, 11, 29)
    assert county_may_approve_from(date(2026, 11, 29)) == date(2026, 11, 30)


def test_paid_up_to_the_month_of_the_18th_birthday():
    born = date(2009, 1, 15)
    assert last_month_of_minority(born) == date(2027, 1, 1)
    assert payable_in(birth_date=born, month=date(2027, 1, 1))
    assert not payable_in(birth_date=born, month=date(2027, 2, 1))
    # Full-time education recorded for the year keeps the benefit that year only.
    assert payable_in(birth_date=born, month=date(2027, 2, 1), education_years=[2027])
    assert not payable_in(birth_date=born, month=date(2028, 1, 1), education_years=[2027])
    # Born on 29 February: 18 on 1 March of a common year.
    assert last_month_of_minority(date(2008, 2, 29)) == date(2026, 3, 1)


def test_review_deadline_counts_working_days_from_the_level_now_deciding():
    from benefits.rules import notice_still_running, review_deadline, waiting_since

    policy = {"subsidy_township_working_days": 10, "subsidy_county_working_days": 10}
    monday = date(2026, 11, 23)
    # The township: ten working days from submission (two weekends in between).
    assert review_deadline(
        status="submitted",
        submitted_on=monday,
        township_approved_on=None,
        notice_ends_on=None,
        policy=policy,
    ) == date(2026, 12, 7)
    # The county: from the township's approval, or, with a public notice, from its last day.
    approved = date(2026, 11, 30)
    for notice_ends_on, expected in (
        (None, date(2026, 12, 14)),  # education_aid: no notice
        (date(2026, 12, 6), date(2026, 12, 18)),  # minimum_living: noticed 30 November–6 December
    ):
        assert (
            review_deadline(
                status="township_approved",
                submitted_on=monday,
                township_approved_on=approved,
                notice_ends_on=notice_ends_on,
                policy=policy,
            )
            == expected
        ), notice_ends_on
    facts = {"status": "township_approved", "township_approved_on": approved}
    assert waiting_since(submitted_on=monday, **facts) == approved
    assert (
        waiting_since(submitted_on=monday, status="submitted", township_approved_on=None) == monday
    )
    running = {"status": "township_approved", "notice_ends_on": date(2026, 12, 6)}
    assert notice_still_running(today=date(2026, 12, 6), **running) == date(2026, 12, 7)
    assert notice_still_running(today=date(2026, 12, 7), **running) is None
    assert (
        notice_still_running(status="township_approved", notice_ends_on=None, today=approved)
        is None
    )
