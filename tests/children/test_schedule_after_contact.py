"""A visit recorded moves the child's dates by one UPDATE (children.services.child_contact_recorded,
schedule.AFTER_CONTACT_SET_SQL) instead of re-deriving the whole file: the two must write the same
dates in every case — first visit or not, home or phone, back-dated, a child whose schedule is
short (high risk) — and over a case that goes on: registered, visited, risk raised, closed,
re-opened, visited again."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from children.models import Child
from children.services import (
    assessment_record,
    child_contact_recorded,
    children_recompute_derived,
)
from visits.services import visit_record

from ..factories import make_child

DATES = (
    "last_contact_on",
    "last_home_visit_on",
    "next_contact_due",
    "next_home_visit_due",
)
TODAY = date(2026, 11, 23)


def dates_of(child_id) -> dict:
    return Child.objects.filter(pk=child_id).values(*DATES).get()


def full_recompute_after(child_id, *, on: date, home: bool) -> dict:
    """What the whole derivation writes for the same contact: the last dates moved by hand as
    children_refresh_last_visits would, then every derived field recomputed."""
    child = Child.objects.get(pk=child_id)
    last_contact = max(d for d in (child.last_contact_on, on) if d)
    last_home = child.last_home_visit_on
    if home:
        last_home = max(d for d in (last_home, on) if d)
    Child.objects.filter(pk=child_id).update(
        last_contact_on=last_contact, last_home_visit_on=last_home
    )
    children_recompute_derived([child_id])
    return dates_of(child_id)


CASES = [
    # (risk, last contact, last home visit, the new contact's date, home?)
    ("low", None, None, TODAY, True),  # the first visit ever, at home
    ("low", None, None, TODAY, False),  # the first contact, by phone: the home visit stays due
    ("low", date(2026, 10, 1), date(2026, 9, 1), TODAY, False),
    ("low", date(2026, 10, 1), date(2026, 9, 1), TODAY, True),
    ("low", date(2026, 11, 1), date(2026, 11, 1), date(2026, 10, 20), True),  # back-dated
    ("low", date(2026, 11, 1), date(2026, 8, 1), date(2026, 10, 20), False),  # back-dated
    ("medium", date(2026, 9, 1), date(2026, 9, 1), TODAY, False),
    ("high", date(2026, 11, 20), date(2026, 11, 20), TODAY, False),
    ("high", None, None, date(2026, 11, 2), True),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("risk", "last_contact", "last_home", "on", "home"), CASES)
def test_one_update_writes_what_the_whole_derivation_writes(
    frozen, director_a, risk, last_contact, last_home, on, home
):
    child = make_child(director_a, name="对照", birth_date=date(2015, 5, 5), risk_level=risk)
    Child.objects.filter(pk=child.pk).update(
        last_contact_on=last_contact, last_home_visit_on=last_home
    )
    children_recompute_derived([child.pk])
    twin = make_child(director_a, name="对照二", birth_date=date(2015, 5, 5), risk_level=risk)
    Child.objects.filter(pk=twin.pk).update(
        created_at=Child.objects.get(pk=child.pk).created_at,
        last_contact_on=last_contact,
        last_home_visit_on=last_home,
    )
    children_recompute_derived([twin.pk])
    assert dates_of(child.pk) == dates_of(twin.pk)

    assert child_contact_recorded(child.pk, on=on, home=home) is True
    assert dates_of(child.pk) == full_recompute_after(twin.pk, on=on, home=home)


@pytest.mark.django_db
def test_a_file_whose_schedule_was_never_derived_is_left_to_the_whole_derivation(
    frozen, director_a
):
    child = make_child(director_a, name="未排期")
    Child.objects.filter(pk=child.pk).update(contact_interval_days=None)
    before = dates_of(child.pk)
    assert child_contact_recorded(child.pk, on=TODAY, home=True) is False
    assert dates_of(child.pk) == before


@pytest.mark.django_db
def test_recording_a_visit_is_a_few_statements_and_keeps_the_schedule_right_over_a_case(
    frozen, director_a
):
    """Through the service the views and the API call, over a case that goes on."""
    child = make_child(director_a, name="全程", birth_date=date(2015, 5, 5))

    def record(on: date, kind: str = "home") -> None:
        visit_record(
            user=director_a,
            child=Child.objects.get(pk=child.pk),
            visited_on=on,
            kind=kind,
            seen=["child"],
            guardian_present=True,
            caregiver_capable=True,
            in_school=True,
            safety_concern=False,
        )

    with CaptureQueriesContext(connection) as recorded:
        record(TODAY - timedelta(days=3))
    statements = [q["sql"] for q in recorded.captured_queries]
    # Not the whole derivation (the family, the area's numbers, the agreements read again).
    assert not any("children_familymember" in sql for sql in statements), statements
    # No full_clean: Django checks a CheckConstraint with SELECT … AS "_check".
    assert not any('AS "_check"' in sql for sql in statements), statements
    after_first = dates_of(child.pk)
    assert after_first["last_home_visit_on"] == TODAY - timedelta(days=3)
    assert after_first["next_home_visit_due"] == TODAY - timedelta(days=3) + timedelta(days=90)

    # A phone call: the contact moves, the home visit stays.
    frozen.move_to("2026-12-10 10:00 +0800")
    record(date(2026, 12, 10), kind="phone")
    assert dates_of(child.pk)["next_contact_due"] == date(2026, 12, 10) + timedelta(days=30)
    assert dates_of(child.pk)["next_home_visit_due"] == after_first["next_home_visit_due"]

    # An assessment finds high risk: the intervals change (a whole derivation), the next visit
    # uses them.
    assessment_record(
        user=director_a,
        child=Child.objects.get(pk=child.pk),
        assessed_on=date(2026, 12, 10),
        guardianship=3,
        safety=3,
        health=0,
        behaviour=0,
    )
    assert Child.objects.get(pk=child.pk).risk_level == "high"
    record(date(2026, 12, 10))
    assert dates_of(child.pk)["next_home_visit_due"] == date(2026, 12, 17)

    # A back-dated visit moves nothing back.
    record(date(2026, 12, 1))
    assert dates_of(child.pk)["last_home_visit_on"] == date(2026, 12, 10)
    assert dates_of(child.pk)["next_home_visit_due"] == date(2026, 12, 17)
    twin = dates_of(child.pk)
    children_recompute_derived([child.pk])
    assert dates_of(child.pk) == twin
