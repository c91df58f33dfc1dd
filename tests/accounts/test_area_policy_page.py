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
