"""Issue 21, point 1: the network's gaps on the dashboard (dashboards.network) — directors
untrained for over a year, villages over 30 left-behind children and children in difficulty with
one director in post, villages with children and no director in post — over time (frozen at
the boundaries), scoped, each with its list, in a constant number of queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from accounts import roster
from accounts.models import Area, AuditAction, AuditRecord, Role, RosterEntry, User
from children.models import Child
from dashboards import network

from ..conftest import (
    COUNTY_A,
    COUNTY_B,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
)
from ..factories import UserFactory, area_chain, make_child

pytestmark = pytest.mark.django_db

TRAINED_ON = date(2025, 11, 23)


def at(day: date):
    return time_machine.travel(f"{day.isoformat()} 10:00 +0800", tick=False)


def joined_long_ago(*people: User) -> None:
    User.objects.filter(pk__in=[p.pk for p in people]).update(
        date_joined="2023-01-01T09:00:00+08:00"
    )


def children(officer, village: str, count: int, categories=("left_behind",)) -> list[Child]:
    made = [
        make_child(officer, village_code=village, name=f"儿童{village[-3:]}{n}")
        for n in range(count)
    ]
    Child.objects.filter(pk__in=[c.pk for c in made]).update(categories=list(categories))
    return made


def counts(area_code: str) -> network.NetworkCounts:
    return network.network_counts(Area.objects.get(code=area_code))


@pytest.fixture
def county_b_officer(areas) -> User:
    return UserFactory(username="civil_b", role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_B])


@pytest.mark.parametrize(("days_after", "untrained"), [(364, 0), (365, 0), (366, 1)])
def test_a_director_is_untrained_366_days_after_their_training(
    civil_affairs, director_a, director_b, days_after, untrained
):
    joined_long_ago(director_a, director_b)
    with at(TRAINED_ON):
        roster.training_record(
            user=civil_affairs,
            held_on=TRAINED_ON,
            subject="示范培训",
            hours=6,
            organiser="民政局",
            attendees=["director_a"],
        )
    with at(TRAINED_ON + timedelta(days=days_after)):
        assert counts(VILLAGE_1).untrained_directors == untrained
        assert counts(TOWNSHIP_1).untrained_directors == untrained + 1
        # director_b, never trained, joined long ago: untrained all along.
        assert counts(VILLAGE_2).untrained_directors == 1


def test_a_new_director_has_a_year_from_their_appointment(civil_affairs, director_a):
    joined_long_ago(director_a)
    appointed = date(2026, 3, 1)
    RosterEntry.objects.create(user=director_a, appointed_on=appointed)
    with at(appointed + timedelta(days=365)):
        assert counts(VILLAGE_1).untrained_directors == 0
    with at(appointed + timedelta(days=366)):
        assert counts(VILLAGE_1).untrained_directors == 1


def test_supervisors_are_counted_apart(supervisor, director_a):
    joined_long_ago(supervisor, director_a)
    with at(date(2026, 11, 23)):
        found = counts(TOWNSHIP_1)
    assert (found.untrained_directors, found.untrained_supervisors) == (1, 1)


def test_a_director_who_left_is_not_in_post(civil_affairs, director_a, areas):
    joined_long_ago(director_a)
    with at(date(2026, 11, 1)):
        children(civil_affairs, VILLAGE_1, 2)
    RosterEntry.objects.create(
        user=director_a, appointed_on=date(2020, 1, 1), left_on=date(2026, 11, 23)
    )
    with at(date(2026, 11, 22)):  # the last day in post
        found = counts(VILLAGE_1)
        assert (found.untrained_directors, found.villages_no_director) == (1, 0)
    with at(date(2026, 11, 23)):  # the first day out of it
        found = counts(VILLAGE_1)
        assert (found.untrained_directors, found.villages_no_director) == (0, 1)
    # A deactivated account is out of post too, whatever the roster says.
    RosterEntry.objects.filter(user=director_a).update(left_on=None)
    User.objects.filter(pk=director_a.pk).update(is_active=False)
    with at(date(2026, 11, 23)):
        assert counts(VILLAGE_1).villages_no_director == 1


def test_villages_over_30_with_one_director(civil_affairs, director_a, areas):
    with at(date(2026, 11, 1)):
        made = children(civil_affairs, VILLAGE_1, 31, categories=("left_behind", "orphan"))
    with at(date(2026, 11, 23)):
        assert counts(COUNTY_A).villages_one_director == 1
        # 30 is not over 30: a single-parent child alone is not counted (domain §2, S2).
        Child.objects.filter(pk=made[0].pk).update(categories=["single_parent"])
        assert counts(COUNTY_A).villages_one_director == 0
        Child.objects.filter(pk=made[0].pk).update(categories=["low_income_family"])
        assert counts(COUNTY_A).villages_one_director == 1
        # A closed file does not count.
        Child.objects.filter(pk=made[1].pk).update(
            status="closed", closed_reason="moved_away", closed_on=date(2026, 11, 20)
        )
        assert counts(COUNTY_A).villages_one_director == 0
        Child.objects.filter(pk=made[1].pk).update(
            status="active", closed_reason="", closed_on=None
        )
        # A second director in post: covered.
        second = UserFactory(username="director_a2", role=Role.DIRECTOR, area=areas[VILLAGE_1])
        assert counts(COUNTY_A).villages_one_director == 0
        # …unless they have not taken the post yet.
        RosterEntry.objects.create(user=second, appointed_on=date(2026, 12, 1))
        assert counts(COUNTY_A).villages_one_director == 1


def test_villages_with_children_and_no_director(civil_affairs, director_a, director_b):
    with at(date(2026, 11, 1)):
        children(civil_affairs, VILLAGE_1, 1)
        children(civil_affairs, VILLAGE_2, 1)
        children(civil_affairs, VILLAGE_3, 2)  # township 2: nobody works there
    with at(date(2026, 11, 23)):
        assert counts(COUNTY_A).villages_no_director == 1
        assert counts(TOWNSHIP_1).villages_no_director == 0
        assert counts(TOWNSHIP_2).villages_no_director == 1
        User.objects.filter(pk=director_b.pk).update(is_active=False)
        assert counts(COUNTY_A).villages_no_director == 2


def test_the_counts_are_one_query_however_many_villages(civil_affairs, director_a):
    with at(date(2026, 11, 1)):
        children(civil_affairs, VILLAGE_1, 1)
    with at(date(2026, 11, 23)):
        with CaptureQueriesContext(connection) as few:
            counts(COUNTY_A)
        for n in range(8):
            code = f"341823103{n + 10:03d}"
            area_chain(code)
            children(civil_affairs, code, 1)
        with CaptureQueriesContext(connection) as many:
            found = counts(COUNTY_A)
    assert found.villages_no_director == 8
    # The Area lookup of the test's helper, and the one query.
    assert len(many) == len(few) == 2


# --- Pages ------------------------------------------------------------------------------------


def test_each_count_has_its_list(client_for, civil_affairs, director_a, director_b, supervisor):
    joined_long_ago(director_a, director_b, supervisor)
    with at(date(2026, 11, 1)):
        children(civil_affairs, VILLAGE_1, 31)
        children(civil_affairs, VILLAGE_3, 2)
    with at(date(2026, 11, 23)):
        client = client_for(civil_affairs)
        body = client.get(f"/dashboard/{COUNTY_A}/network/untrained/").content.decode()
        assert "查文静" in body and "王玉兰" in body and "查丽萍" not in body
        body = client.get(f"/dashboard/{COUNTY_A}/network/untrained/?role=supervisor")
        assert "查丽萍" in body.content.decode()
        body = client.get(f"/dashboard/{COUNTY_A}/network/one-director/").content.decode()
        assert "查济村" in body and "查文静" in body and "章渡村" not in body
        body = client.get(f"/dashboard/{COUNTY_A}/network/no-director/").content.decode()
        assert "章渡村" in body and "查济村" not in body
    # The people listed are a view of the roster: audited.
    assert AuditRecord.objects.filter(
        user=civil_affairs, action=AuditAction.VIEW, object_type="roster", object_id="director_a"
    ).exists()


def test_the_partial_links_each_number(civil_affairs, director_a, supervisor):
    joined_long_ago(director_a, supervisor)
    with at(date(2026, 11, 23)):
        html = render_to_string("dashboards/_network.html", {"network": counts(TOWNSHIP_1)})
    assert f"/dashboard/{TOWNSHIP_1}/network/untrained/" in html
    assert f"/dashboard/{TOWNSHIP_1}/network/one-director/" in html
    assert f"/dashboard/{TOWNSHIP_1}/network/no-director/" in html
    assert "?role=supervisor" in html
    assert render_to_string("dashboards/_network.html", {"network": None}).strip() == ""


@pytest.mark.parametrize("page", ["untrained", "one-director", "no-director"])
def test_the_lists_are_scoped(client_for, director_a, supervisor, county_b_officer, viewer, page):
    with at(date(2026, 11, 23)):
        assert (
            client_for(county_b_officer).get(f"/dashboard/{VILLAGE_1}/network/{page}/").status_code
            == 404
        )
        assert (
            client_for(supervisor).get(f"/dashboard/{TOWNSHIP_2}/network/{page}/").status_code
            == 404
        )
        # In the director's own village, not a director's page to read.
        assert (
            client_for(director_a).get(f"/dashboard/{VILLAGE_1}/network/{page}/").status_code == 403
        )
        assert (
            client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/network/{page}/").status_code
            == 200
        )
        assert client_for(viewer).get(f"/dashboard/{COUNTY_A}/network/{page}/").status_code == 200


def test_the_dashboard_counts_are_for_those_who_supervise(director_a, supervisor, areas):
    with at(date(2026, 11, 23)):
        assert network.counts_for(user=director_a, area=areas[VILLAGE_1]) is None
        assert network.counts_for(user=supervisor, area=areas[TOWNSHIP_1]) is not None


def test_the_lists_cost_the_same_for_1_or_9_villages(client_for, civil_affairs, director_a):
    joined_long_ago(director_a)
    client = client_for(civil_affairs)
    with at(date(2026, 11, 1)):
        children(civil_affairs, VILLAGE_3, 1)
    urls = [f"/dashboard/{COUNTY_A}/network/{page}/" for page in ("untrained", "no-director")]
    with at(date(2026, 11, 23)):
        for url in urls:
            client.get(url)

        def queries() -> list[int]:
            found = []
            for url in urls:
                with CaptureQueriesContext(connection) as captured:
                    assert client.get(url).status_code == 200
                found.append(len(captured))
            return found

        few = queries()

        for n in range(8):
            code = f"341823105{n + 2:03d}"
            area_chain(code)
            children(civil_affairs, code, 1)
            UserFactory(
                username=f"director_z{n}", role=Role.DIRECTOR, area=Area.objects.get(code=code)
            )
        User.objects.filter(username__startswith="director_z").update(
            date_joined="2023-01-01T09:00:00+08:00"
        )
        assert queries() == few


def test_the_dashboard_shows_the_network_to_those_who_supervise(
    client_for, civil_affairs, director_a
):
    joined_long_ago(director_a)
    with at(date(2026, 11, 23)):
        body = client_for(civil_affairs).get(f"/dashboard/{COUNTY_A}/").content.decode()
        assert f"/dashboard/{COUNTY_A}/network/untrained/" in body
        assert 'id="network-heading"' in body
        body = client_for(director_a).get(f"/dashboard/{VILLAGE_1}/").content.decode()
        assert "network-heading" not in body


def test_the_counts_read_the_areas_children_once(civil_affairs, director_a):
    """Both village counts come from one count of the area's children by village (a WITH):
    each had its own, and at a million children a province's dashboard took 590 ms."""
    joined_long_ago(director_a)
    with at(date(2026, 11, 23)):
        children(civil_affairs, VILLAGE_1, 2)
        county = Area.objects.get(code=COUNTY_A)
        with CaptureQueriesContext(connection) as queries:
            found = network.network_counts(county)
    assert len(queries) == 1
    assert queries.captured_queries[0]["sql"].count("FROM children_child") == 1
    assert (found.villages_one_director, found.villages_no_director) == (0, 0)
