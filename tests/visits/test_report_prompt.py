"""A visit that finds danger opens the mandatory-report prompt (domain §6): a safety concern, or a
child under 16 found at home with no guardian or caregiver (脱离监护单独居住生活, issue 18) — and
the supervisor is told when no report follows within 24 hours."""

from datetime import date

import pytest
from django.db import connection

from reminders.models import Notification
from reminders.services import reminders_sweep
from visits import rules
from visits.models import Visit

from ..factories import make_child

pytestmark = pytest.mark.django_db

# Today is 2026-11-23 (the ``frozen`` fixture): born on 2010-11-24 the child is 15, on 2010-11-23
# they turned 16 today.
FIFTEEN = date(2010, 11, 24)
SIXTEEN = date(2010, 11, 23)
ALONE = {"visited_on": "2026-11-23", "kind": "home", "seen": ["child"], "guardian_present": "false"}


def record(client, child, **changes):
    return client.post(f"/visits/new/{child.pk}/", {**ALONE, **changes})


@pytest.mark.parametrize(
    ("kind", "guardian_present", "seen", "age", "alone"),
    [
        ("home", False, ["child"], 15, True),
        ("home", False, [], 0, True),
        ("home", False, ["child", "teacher"], 15, True),
        ("home", False, ["child"], 16, False),
        ("home", False, ["child", "caregiver"], 15, False),
        ("home", False, ["child", "parent"], 15, False),
        ("home", None, ["child"], 15, False),  # not noted is not "not present"
        ("home", True, ["child"], 15, False),
        ("phone", False, ["child"], 15, False),  # a call cannot tell who is at home
        ("school", False, ["child"], 15, False),
    ],
)
def test_found_alone_rule(kind, guardian_present, seen, age, alone):
    assert (
        rules.found_alone(kind=kind, guardian_present=guardian_present, seen=seen, age=age) is alone
    )
    assert (
        rules.prompts_report(
            kind=kind, safety_concern=None, guardian_present=guardian_present, seen=seen, age=age
        )
        is alone
    )
    assert rules.prompts_report(
        kind=kind, safety_concern=True, guardian_present=guardian_present, seen=seen, age=age
    )


@pytest.mark.parametrize(
    ("birth", "visited", "safety", "guardian", "seen"),
    [
        (FIFTEEN, date(2026, 11, 23), None, False, ["child"]),
        (SIXTEEN, date(2026, 11, 23), None, False, ["child"]),
        (SIXTEEN, date(2026, 11, 22), None, False, ["child"]),
        # Born on 29 February: 16 on 1 March of a common year, as children.rules.age_on.
        (date(2008, 2, 29), date(2024, 2, 28), None, False, ["child"]),
        (date(2008, 2, 29), date(2024, 2, 29), None, False, ["child"]),
        (date(2011, 2, 28), date(2027, 2, 27), None, False, ["child"]),
        (FIFTEEN, date(2026, 11, 23), None, False, ["child", "caregiver"]),
        (FIFTEEN, date(2026, 11, 23), True, True, ["child", "caregiver"]),
        (FIFTEEN, date(2026, 11, 23), False, None, []),
    ],
)
def test_python_and_sql_agree(birth, visited, safety, guardian, seen):
    from children.rules import age_on

    expected = rules.prompts_report(
        kind="home",
        safety_concern=safety,
        guardian_present=guardian,
        seen=seen,
        age=age_on(birth, visited),
    )
    # A condition: NULL (a finding not noted) counts as no, as in a WHERE.
    condition = f"coalesce({rules.prompts_report_sql()}, false)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {condition} FROM (SELECT %s::boolean AS safety_concern, "
            "%s::boolean AS guardian_present, 'home' AS kind, %s::date AS visited_on, "
            "%s::varchar[] AS seen) v, (SELECT %s::date AS birth_date) c",
            [safety, guardian, visited, seen, birth],
        )
        assert cursor.fetchone()[0] is expected


def test_a_15_year_old_found_alone_opens_the_report_prompt(client_for, director_a, frozen):
    child = make_child(director_a, name="查小军", birth_date=FIFTEEN)
    client = client_for(director_a)
    response = record(client, child)
    assert response.status_code == 302
    assert response.url == f"/reports/new/{child.pk}/?situation=living_alone"
    assert Visit.objects.get().safety_concern is None  # the prompt did not need the tick
    page = client.get(response.url).content.decode()
    assert 'value="living_alone" selected' in page and "110" in page


def test_no_prompt_at_16_with_a_carer_seen_or_on_a_call(client_for, director_a, frozen):
    client = client_for(director_a)
    fifteen = make_child(director_a, name="查小军", birth_date=FIFTEEN)
    sixteen = make_child(director_a, name="查小兵", birth_date=SIXTEEN)
    assert record(client, fifteen).url.startswith("/reports/new/")  # the rule is there …
    for child, changes in (
        (sixteen, {}),  # … and stops at the 16th birthday
        (fifteen, {"seen": ["child", "caregiver"]}),
        (fifteen, {"seen": ["child", "parent"]}),
        (fifteen, {"kind": "phone"}),
    ):
        response = record(client, child, **changes)
        assert response.status_code == 302 and "/reports/" not in response.url, changes
    # A safety concern still opens it, whatever the age and whoever was there.
    response = record(client, sixteen, seen=["child", "caregiver"], safety_concern="true")
    assert response.url == f"/reports/new/{sixteen.pk}/"


def _visit_by_api(api_client, director_a, child, **findings):
    body = {
        "date": "2026-11-23",
        "kind": "home",
        "seen": ["child"],
        "findings": {"guardian_present": False, **findings},
    }
    response = api_client(director_a).post(
        f"/api/v1/children/{child.pk}/visits", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content


def test_found_alone_without_a_report_tells_the_supervisor_after_24_hours(
    api_client, director_a, supervisor, frozen
):
    fifteen = make_child(director_a, name="查小军", birth_date=FIFTEEN)
    sixteen = make_child(director_a, name="查小兵", birth_date=SIXTEEN)
    for child in (fifteen, sixteen):
        _visit_by_api(api_client, director_a, child)
    told = Notification.objects.filter(recipient=supervisor, kind="report_deadline")
    frozen.move_to("2026-11-24 09:59 +0800")
    reminders_sweep()
    assert not told.exists()
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    reminders_sweep()
    assert [(n.child_id, n.due_date) for n in told] == [(fifteen.pk, date(2026, 11, 24))]


def test_a_visit_corrected_to_found_alone_opens_the_prompt_once(client_for, director_a, frozen):
    """Recorded with the grandmother at home, then corrected: she was not there. The correction
    prompts as the recording would have; a further edit of a visit that already prompted does
    not prompt again."""
    child = make_child(director_a, name="查小军", birth_date=FIFTEEN)
    client = client_for(director_a)
    response = record(client, child, guardian_present="true", seen=["child", "caregiver"])
    assert "/reports/" not in response["Location"]
    visit = Visit.objects.get(child=child)
    response = client.post(f"/visits/{visit.pk}/edit/", ALONE)
    assert response.status_code == 302
    assert response["Location"] == f"/reports/new/{child.pk}/?situation=living_alone"
    response = client.post(f"/visits/{visit.pk}/edit/", {**ALONE, "needs": "午餐"})
    assert response["Location"] == f"/visits/{visit.pk}/"
