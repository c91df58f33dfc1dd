"""Issue 20 point 5 on the visits overview (走访, the worklist of supervisors and civil affairs):
the areas one level below the current one, never every village of a county or a province; a
county's or a township's rows counted live, a city's or a province's left to the statistics."""

from __future__ import annotations

import re
from datetime import date

import pytest

from accounts.models import Role
from visits.services import visit_record

from ..children.test_area_picker import add_villages
from ..conftest import CITY, COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_2, VILLAGE_3
from ..factories import UserFactory, make_child

pytestmark = pytest.mark.django_db


def rows_of(html: str) -> list[str]:
    """The first cell's link of each row of the overview's table."""
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r'<tr>\s*<td><a href="([^"]*)">', table)


@pytest.fixture
def children(frozen, director_a, director_b, other_supervisor):
    overdue = make_child(director_a, name="查小雨")  # never visited: overdue since registration
    visit_record(user=director_a, child=overdue, visited_on=date(2026, 6, 1), kind="home")
    make_child(director_b, name="王大山")
    far = make_child(other_supervisor, name="章小林", village_code=VILLAGE_3)
    visit_record(user=other_supervisor, child=far, visited_on=date(2026, 6, 1), kind="home")
    return overdue, far


def test_a_county_sees_its_townships_counted_not_its_300_villages(
    client_for, civil_affairs, children, django_assert_max_num_queries
):
    towns = add_villages()
    client = client_for(civil_affairs)
    client.get("/visits/township/")
    with django_assert_max_num_queries(12):
        html = client.get("/visits/township/").content.decode()
    assert rows_of(html) == [
        f"?area={c}" for c in (TOWNSHIP_1, TOWNSHIP_2, *(t.code for t in towns))
    ]
    assert "示范村" not in html and "查济村</a></td>" not in html
    first = html[html.index(f'?area={TOWNSHIP_1}"') :]
    cells = re.findall(r'<td class="text-end">(.*?)</td>', first[: first.index("</tr>")])
    assert cells[0] == "2"  # two children in the township's villages
    # The county's children to visit are listed a township at a time (below).
    assert "查小雨" not in html


def test_a_township_chosen_shows_its_villages_and_their_directors(
    client_for, civil_affairs, children
):
    html = client_for(civil_affairs).get("/visits/township/", {"area": TOWNSHIP_1}).content.decode()
    assert rows_of(html) == [
        f"?area={TOWNSHIP_1}&amp;village={VILLAGE_1}",
        f"?area={TOWNSHIP_1}&amp;village={VILLAGE_2}",
    ]
    assert "查文静" in html and "王玉兰" in html
    crumbs = re.search(r'<nav class="small sw-crumbs[^"]*"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert 'href="?">泾县</a>' in crumbs and "桃花潭镇" in crumbs
    # The children needing a visit are the township's only.
    assert "查小雨" in html and "章小林" not in html


def test_a_city_sees_its_counties_uncounted_with_the_way_to_the_statistics(
    client_for, areas, children
):
    city = UserFactory(username="city_mz", role=Role.CIVIL_AFFAIRS, area=areas[CITY])
    html = client_for(city).get("/visits/township/").content.decode()
    assert rows_of(html) == [f"?area={COUNTY_A}", "?area=341824000000"]
    assert "Overdue" not in html and "逾期" not in html.split("<tbody>")[0][-400:]
    assert f"/dashboard/{CITY}/" in html
    # A city's children to visit are listed a township at a time.
    assert "查小雨" not in html
    html = client_for(city).get("/visits/township/", {"area": COUNTY_A}).content.decode()
    assert "查小雨" not in html and f"?area={TOWNSHIP_1}" in html
    html = client_for(city).get("/visits/township/", {"area": TOWNSHIP_2}).content.decode()
    assert "章小林" in html and "查小雨" not in html


@pytest.mark.parametrize("code", [TOWNSHIP_2, VILLAGE_3, "341824100201", "nonsense"])
def test_an_area_outside_the_supervisors_is_404(client_for, supervisor, code):
    assert client_for(supervisor).get("/visits/township/", {"area": code}).status_code == 404
