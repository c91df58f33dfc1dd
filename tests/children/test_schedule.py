"""children.schedule: intervals by risk and condition, due dates, status at each boundary (in Python
and as the SQL condition, which must agree)."""

from datetime import date, timedelta

import pytest

from accounts.services import POLICY_DEFAULTS
from children import schedule as rules

P = dict(POLICY_DEFAULTS)


def plan(risk="low", **conditions):
    values = {"child_disabled": False, "psych_concern": False, "parent_serious_disability": False}
    values.update(conditions)
    return rules.intervals(risk_level=risk, policy=P, **values)


def test_intervals_by_risk_and_condition():
    assert (plan().contact_days, plan().home_days) == (30, 90)
    assert (plan("medium").contact_days, plan("medium").home_days) == (30, 30)
    assert (plan("high").contact_days, plan("high").home_days) == (7, 7)
    for condition in ("child_disabled", "psych_concern", "parent_serious_disability"):
        assert plan(**{condition: True}).home_days == 30
    assert plan("high", child_disabled=True).home_days == 7
    assert "残疾儿童" in plan(child_disabled=True).reason
    assert plan().reason == "一般：每30天联系一次，每90天入户走访"


def test_due_dates_roll_from_the_last_visit():
    registered = date(2026, 1, 1)
    contact, home = rules.due_dates(
        registered_on=registered,
        last_contact_on=None,
        last_home_visit_on=None,
        intervals=plan(),
        never_visited_days=14,
    )
    assert home == contact == date(2026, 1, 15)
    contact, home = rules.due_dates(
        registered_on=registered,
        last_contact_on=date(2026, 3, 10),
        last_home_visit_on=date(2026, 3, 1),
        intervals=plan(),
        never_visited_days=14,
    )
    assert home == date(2026, 5, 30) and contact == date(2026, 4, 9)


@pytest.mark.parametrize(
    ("offset", "visited", "expected"),
    [
        (-1, True, "overdue"),  # due yesterday
        (0, True, "due_soon"),  # due today
        (7, True, "due_soon"),
        (8, True, "ok"),
        (-1, False, "overdue"),
        (0, False, "never_visited"),
        (14, False, "never_visited"),
    ],
)
def test_status(offset, visited, expected):
    today = date(2026, 11, 23)
    status = rules.schedule_status(
        next_home_visit_due=today + timedelta(days=offset),
        last_home_visit_on=date(2026, 9, 1) if visited else None,
        today=today,
    )
    assert status == expected


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-1, 0, 1, 7, 8])
@pytest.mark.parametrize("visited", [True, False])
def test_the_sql_condition_agrees_with_the_python_rule(director_a, offset, visited):
    """schedule.status_q (lists, counts), schedule.status_sql (the worklist) and
    schedule.schedule_status (one child) say the same at each boundary."""
    from children.models import Child

    from ..factories import make_child

    today = date(2026, 11, 23)
    child = make_child(director_a)
    Child.objects.filter(pk=child.pk).update(
        next_home_visit_due=today + timedelta(days=offset),
        last_home_visit_on=date(2026, 9, 1) if visited else None,
    )
    expected = rules.schedule_status(
        next_home_visit_due=today + timedelta(days=offset),
        last_home_visit_on=date(2026, 9, 1) if visited else None,
        today=today,
    )
    matching = [
        status
        for status in (rules.OK, rules.DUE_SOON, rules.OVERDUE, rules.NEVER_VISITED)
        if Child.objects.filter(rules.status_q(status, today), pk=child.pk).exists()
    ]
    assert matching == [expected]
    # And the SQL expression (the worklist's one query).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rules.status_sql()} FROM children_child c WHERE c.id = %(id)s",
            {"id": child.pk, "today": today},
        )
        assert cursor.fetchone()[0] == expected


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-30, -8, -7, -1, 0, 1, 6, 7, 8])
def test_overdue_and_due_soon_agree_in_python_q_and_sql(director_a, offset):
    """ "Overdue" and "due soon" of any stored due date: the Python rule, the Q (lists) and the SQL
    text (the sweep, the village counts) give one answer at every boundary."""
    from django.db import connection

    from children.models import Child

    from ..factories import make_child

    today = date(2026, 11, 23)
    due = today + timedelta(days=offset)
    child = make_child(director_a, name="边界")
    Child.objects.filter(pk=child.pk).update(parent_contact_due=due)
    for python_rule, q_rule, sql_rule in (
        (rules.is_overdue, rules.overdue_q, rules.overdue_sql),
        (rules.is_due_soon, rules.due_soon_q, rules.due_soon_sql),
    ):
        by_q = Child.objects.filter(q_rule("parent_contact_due", today), pk=child.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {sql_rule('c.parent_contact_due')} FROM children_child c "
                "WHERE c.id = %(id)s",
                {"today": today, "id": child.pk},
            )
            by_sql = cursor.fetchone()[0]
        assert python_rule(due, today) == by_q == by_sql, (python_rule.__name__, offset)
    assert rules.is_overdue(due, today) == (offset < 0)
    assert rules.is_due_soon(due, today) == (0 <= offset <= 7)
    assert not rules.is_overdue(None, today) and not rules.is_due_soon(None, today)
