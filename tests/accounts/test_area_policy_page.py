"""The area settings page (设置): civil affairs set their area's numbers; due dates follow."""

from datetime import date

import pytest

from visits.services import visit_record

pytestmark = pytest.mark.django_db


def test_civil_affairs_changes_the_cadence_and_due_dates_follow(
    client_for,
    civil_affairs,
    supervisor,
    director_a,
    child,
):
    from accounts import outbox

    visit_record(user=director_a, child=child, visited_on=date(2026, 11, 20), kind="home")
    client = client_for(civil_affairs)
    page = client.get("/visits/settings/").content.decode()
    assert 'placeholder="90"' in page
    response = client.post("/visits/settings/", {"home_days_low": "60", "never_visited_days": "0"})
    assert response.status_code == 200 and "1" in response.content.decode()  # 0 is refused
    response = client.post("/visits/settings/", {"home_days_low": "60"})
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.home_visit_interval_days != 60  # recomputed in the background, not in the request
    assert outbox.run_inline() == 1
    child.refresh_from_db()
    assert child.home_visit_interval_days == 60 and child.next_home_visit_due == date(2027, 1, 19)
    assert client_for(supervisor).get("/visits/settings/").status_code == 403
    assert client_for(director_a).get("/visits/settings/").status_code == 403


def test_the_sql_form_of_inheritance_agrees_with_policies_for(areas):
    """One rule, two forms: the sweep's SQL (policy_joins_sql/policy_sql) gives every village the
    numbers policies_for gives it — the nearest area's value, else the default."""
    from django.db import connection

    from accounts.models import AreaPolicy
    from accounts.services import POLICY_DEFAULTS, policies_for, policy_joins_sql, policy_sql

    from ..conftest import COUNTY_A, TOWNSHIP_1, VILLAGE_1, VILLAGE_2, VILLAGE_3

    AreaPolicy.objects.create(area_id=COUNTY_A, home_days_low=60, escalate_county_days=20)
    AreaPolicy.objects.create(area_id=TOWNSHIP_1, home_days_low=45)
    AreaPolicy.objects.create(area_id=VILLAGE_2, escalate_county_days=10)
    villages = [VILLAGE_1, VILLAGE_2, VILLAGE_3]
    expected = policies_for(set(villages))
    names = list(POLICY_DEFAULTS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.code, {', '.join(policy_sql(n) for n in names)} "
            f"FROM accounts_area v {policy_joins_sql('v.code')} WHERE v.code = ANY(%s)",
            [villages],
        )
        got = {row[0]: dict(zip(names, row[1:], strict=True)) for row in cursor.fetchall()}
    assert got == expected
    assert (got[VILLAGE_1]["home_days_low"], got[VILLAGE_3]["home_days_low"]) == (45, 60)
    assert got[VILLAGE_2]["escalate_county_days"] == 10
