"""Derived left-behind status and focus flags at their boundaries, with time frozen."""

from datetime import date

import pytest
import time_machine

from children import rules
from children.models import Child
from children.services import children_refresh_due, family_member_add, family_member_update

from ..factories import make_child

P = rules.Parent


def lb(birth, parents, today, **kw):
    return rules.left_behind(birth_date=birth, parents=parents, today=today, **kw)


def test_both_parents_away_89_and_90_days():
    today = date(2026, 11, 23)
    away_90 = date(2026, 8, 25)  # 90 days before
    away_89 = date(2026, 8, 26)
    both_89 = [
        P("father", "working_away", True, away_90),
        P("mother", "working_away", True, away_89),
    ]
    assert not lb(date(2015, 1, 1), both_89, today).left_behind
    both_90 = [
        P("father", "working_away", True, away_90),
        P("mother", "working_away", True, away_90),
    ]
    result = lb(date(2015, 1, 1), both_90, today)
    assert result.left_behind and result.reasons == ("父母双方外出务工满3个月",)


def test_one_parent_away_other_incapable():
    today = date(2026, 11, 23)
    away = date(2026, 1, 1)
    for other, words in [
        (P("mother", "at_home", False, None), "母亲无监护能力"),
        (P("mother", "deceased", True, None), "母亲已故"),
        (P("mother", "imprisoned", True, None), "母亲服刑"),
        (P("mother", "in_rehab", True, None), "母亲强制隔离戒毒"),
        (P("mother", "missing", True, None), "母亲失踪"),
    ]:
        result = lb(date(2015, 1, 1), [P("father", "working_away", True, away), other], today)
        assert result.left_behind and result.one_parent_away_other_incapable
        assert result.reasons == (f"父亲外出务工满3个月，{words}",)
    capable = lb(
        date(2015, 1, 1),
        [P("father", "working_away", True, away), P("mother", "at_home", True, None)],
        today,
    )
    assert not capable.left_behind
    alone = lb(date(2015, 1, 1), [P("mother", "working_away", True, away)], today)
    assert not alone.left_behind


def test_under_16_boundary():
    parents = [
        P("father", "working_away", True, date(2020, 1, 1)),
        P("mother", "working_away", True, date(2020, 1, 1)),
    ]
    birth = date(2010, 11, 24)
    assert lb(birth, parents, date(2026, 11, 23)).left_behind  # day before 16th birthday
    assert not lb(birth, parents, date(2026, 11, 24)).left_behind  # on the birthday


def test_custom_away_days():
    parents = [
        P("father", "working_away", True, date(2026, 10, 1)),
        P("mother", "working_away", True, date(2026, 10, 1)),
    ]
    assert not lb(date(2015, 1, 1), parents, date(2026, 11, 23)).left_behind
    assert lb(date(2015, 1, 1), parents, date(2026, 11, 23), away_days=30).left_behind


def test_leap_day_birthday():
    assert rules.age_on(date(2012, 2, 29), date(2028, 2, 28)) == 15
    assert rules.age_on(date(2012, 2, 29), date(2028, 2, 29)) == 16
    assert rules.age_on(date(2012, 2, 29), date(2027, 3, 1)) == 15
    assert rules.birthday_in_year(date(2012, 2, 29), 2027) == date(2027, 3, 1)


@pytest.mark.parametrize(
    ("birth", "status", "expected"),
    [
        (date(2020, 11, 24), "not_enrolled", False),  # 5 years old the day before the 6th birthday
        (date(2020, 11, 23), "not_enrolled", True),  # 6 today
        (date(2010, 11, 24), "dropped_out", True),  # 15
        (date(2010, 11, 23), "dropped_out", False),  # 16
        (date(2014, 1, 1), "in_school", False),
    ],
)
def test_out_of_school_ages_6_to_15(birth, status, expected):
    result = rules.LeftBehind(False, False, ())
    flags = rules.focus_flags(
        birth_date=birth,
        today=date(2026, 11, 23),
        left_behind_result=result,
        parent_at_home=True,
        has_active_care_agreement=False,
        school_status=status,
        hukou_registered=True,
        illness="",
        disability_type="",
        disability_grade=None,
        categories=[],
    )
    assert ("out_of_school" in flags) is expected


def test_other_flags_and_key_child():
    result = rules.LeftBehind(True, True, ("x",))
    flags = rules.focus_flags(
        birth_date=date(2015, 1, 1),
        today=date(2026, 11, 23),
        left_behind_result=result,
        parent_at_home=False,
        has_active_care_agreement=False,
        school_status="in_school",
        hukou_registered=False,
        illness="哮喘",
        disability_type="physical",
        disability_grade=3,
        categories=[],
    )
    assert flags == [
        "unsupervised",
        "one_parent_away_other_incapable",
        "no_hukou",
        "ill",
        "disabled",
    ]
    assert rules.is_key_child([], "medium") and rules.is_key_child(["ill"], "low")
    assert not rules.is_key_child([], "low")


@pytest.mark.parametrize(
    ("scores", "colour"),
    [
        ((0, 0, 0, 0), "low"),
        ((1, 1, 0, 0), "low"),
        ((1, 1, 1, 0), "medium"),
        ((0, 2, 0, 0), "medium"),
        ((2, 2, 0, 0), "high"),
        ((0, 0, 3, 0), "high"),
    ],
)
def test_assessment_colour(scores, colour):
    g, s, h, b = scores
    assert rules.assessment_result(guardianship=g, safety=s, health=h, behaviour=b) == colour


@pytest.mark.django_db
def test_child_becomes_left_behind_on_day_90_through_the_daily_job(director_a):
    with time_machine.travel("2026-11-23 09:00 +0800", tick=False) as traveller:
        child = make_child(director_a, birth_date=date(2015, 5, 5))
        for relation in ("father", "mother"):
            family_member_add(
                user=director_a,
                child=child,
                relation=relation,
                name=f"家长{relation}",
                status="working_away",
                has_guardian_capacity=True,
                away_since=date(2026, 8, 26),
            )  # 89 days away today
        child.refresh_from_db()
        assert "left_behind" not in child.categories
        assert child.derived_refresh_on == date(2026, 11, 24)
        children_refresh_due()
        child.refresh_from_db()
        assert "left_behind" not in child.categories
        traveller.move_to("2026-11-24 08:00 +0800")
        assert children_refresh_due() == 1
        child.refresh_from_db()
        assert "left_behind" in child.categories and "unsupervised" in child.focus_flags
        assert child.is_key_child
        assert children_refresh_due() == 0  # idempotent


@pytest.mark.django_db
def test_left_behind_ends_on_16th_birthday_even_after_missed_days(director_a):
    with time_machine.travel("2026-11-20 09:00 +0800", tick=False) as traveller:
        child = make_child(director_a, birth_date=date(2010, 11, 22))
        for relation in ("father", "mother"):
            family_member_add(
                user=director_a,
                child=child,
                relation=relation,
                name=relation,
                status="working_away",
                has_guardian_capacity=True,
                away_since=date(2024, 1, 1),
            )
        child.refresh_from_db()
        assert "left_behind" in child.categories
        traveller.move_to("2026-11-21 09:00 +0800")  # the day before the birthday
        children_refresh_due()
        assert "left_behind" in Child.objects.get(pk=child.pk).categories
        traveller.move_to("2026-11-25 09:00 +0800")  # the job did not run on 22–24 November
        children_refresh_due()
        child.refresh_from_db()
        assert "left_behind" not in child.categories and child.left_behind_reasons == []


@pytest.mark.django_db
def test_status_change_of_a_parent_recomputes(director_a):
    child = make_child(director_a)
    father = family_member_add(
        user=director_a,
        child=child,
        relation="father",
        name="父",
        status="working_away",
        has_guardian_capacity=True,
        away_since=date(2020, 1, 1),
    )
    family_member_add(
        user=director_a,
        child=child,
        relation="mother",
        name="母",
        status="deceased",
        has_guardian_capacity=True,
    )
    child.refresh_from_db()
    assert child.left_behind_reasons == ["父亲外出务工满3个月，母亲已故"]
    assert "one_parent_away_other_incapable" in child.focus_flags
    family_member_update(user=director_a, member=father, changes={"status": "at_home"})
    child.refresh_from_db()
    assert "left_behind" not in child.categories and child.focus_flags == []
