"""Issue 8: every indicator against a hand-built fixture, drill-down counts equal the numbers,
GET /api/v1/stats exactly as api.md, scope, constant queries."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from benefits.services import subsidy_apply
from children.services import care_agreement_create, child_close
from dashboards.services import village_stats_refresh
from dashboards.views import drill_links
from reporting.services import report_file
from visits.services import visit_record

from ..conftest import COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_2, VILLAGE_3
from ..factories import UserFactory, add_parents, confirm_categories, make_child, make_orphan

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


def _away(user, child):
    add_parents(
        user,
        child,
        names=("father", "mother"),
        status="working_away",
        has_guardian_capacity=True,
        away_since=date(2025, 2, 1),
    )


@pytest.fixture
def world(frozen, areas, director_a, director_b, supervisor, civil_affairs):
    """Township 1: village 1 (four children, one closed) and village 2 (two); township 2:
    village 3 (one). Every number below is counted by hand."""
    from accounts.models import Role

    director_c = UserFactory(username="director_c", role=Role.DIRECTOR, area=areas[VILLAGE_3])
    # Village 1
    a = make_child(director_a, name="甲", birth_date=date(2016, 3, 8))  # left-behind, no agreement
    _away(director_a, a)
    b = make_child(director_a, name="乙", birth_date=date(2015, 1, 1), risk_level="high")
    _away(director_a, b)  # left-behind with an agreement
    care_agreement_create(
        user=director_a,
        child=b,
        caregiver_name="祖母",
        caregiver_relation="grandparent",
        caregiver_phone="13905631888",
        caregiver_birth_date=date(1958, 4, 2),
        start_date=date(2026, 11, 1),
        end_date=date(2027, 10, 31),
        parent_work_place="浙江省杭州市",
        parent_phone="13812345678",
    )
    c = make_orphan(
        director_a,
        name="丙",
        birth_date=date(2014, 5, 1),
        categories=["orphan"],
        school_status="dropped_out",
        risk_level="medium",
    )
    confirm_categories(c, civil_affairs)  # counted once county civil affairs confirm it
    subsidy_apply(user=director_a, child=c, programme="orphan_allowance")
    gone = make_child(director_a, name="已结案", birth_date=date(2013, 1, 1), risk_level="high")
    child_close(user=director_a, child=gone, reason="moved_away")
    # Visits: 乙 visited at home today (not overdue, not never visited); 丙 phoned today.
    visit_record(user=director_a, child=b, visited_on=date(2026, 11, 23), kind="home")
    visit_record(user=director_a, child=c, visited_on=date(2026, 11, 23), kind="phone")
    report_file(
        user=director_a,
        situation="living_alone",
        discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
        description="独自在家",
        child=a,
    )
    # Village 2: 丁 has no hukou; 戊 was last visited at home 100 days ago (overdue).
    make_child(
        director_b, name="丁", birth_date=date(2019, 2, 2), hukou_registered=False, id_number=""
    )
    frozen.move_to("2026-08-15 10:00 +0800")
    e = make_child(director_b, name="戊", birth_date=date(2012, 6, 6))
    visit_record(user=director_b, child=e, visited_on=date(2026, 8, 15), kind="home")
    frozen.move_to("2026-11-23 10:00 +0800")
    # Village 3 (township 2)
    make_child(director_c, name="己", birth_date=date(2011, 7, 7), categories=["single_parent"])
    village_stats_refresh()
    return {"a": a, "b": b, "c": c, "e": e}


EXPECTED_TOWNSHIP_1 = {
    "area_code": TOWNSHIP_1,
    "children_total": 5,
    "by_category": {
        "left_behind": 2,
        "orphan": 1,
        "de_facto_unsupported": 0,
        "hiv_affected": 0,
        "severe_disability": 0,
        "serious_illness": 0,
        "low_income_family": 0,
        "guardian_abuse": 0,
        "street_child": 0,
        "emergency_affected": 0,
        "single_parent": 0,
    },
    "by_risk": {"low": 3, "medium": 1, "high": 1},
    "home_visits_overdue": 1,  # 戊
    "never_visited": 3,  # 甲, 丙 (phone only), 丁
    "left_behind_without_agreement": 1,
    "agreement_coverage_pct": 50.0,
    "reports_open_by_stage": {
        "reported": 1,
        "police_received": 0,
        "emergency_handled": 0,
        "assessed": 0,
        "intervention": 0,
    },
    "out_of_school": 1,
    "no_hukou": 1,
    "subsidy_applications_pending": 1,
}


def test_stats_for_a_township_match_the_hand_count(api_client, world, supervisor):
    response = api_client(supervisor).get(f"/api/v1/stats?area={TOWNSHIP_1}")
    assert response.status_code == 200
    body = response.json()
    for key, value in EXPECTED_TOWNSHIP_1.items():
        assert body[key] == value, key
    # Every contract field is there, and as_of is an ISO datetime with an offset.
    for key in (
        "contacts_overdue",
        "as_of",
    ):
        assert key in body
    assert datetime.fromisoformat(body["as_of"]).tzinfo is not None


def test_county_sums_its_townships_and_village_is_its_own(api_client, world, civil_affairs):
    county = api_client(civil_affairs).get(f"/api/v1/stats?area={COUNTY_A}").json()
    assert county["children_total"] == 6
    assert county["by_category"]["single_parent"] == 1
    own = api_client(civil_affairs).get("/api/v1/stats").json()  # default: the user's area
    assert own["area_code"] == COUNTY_A and own["children_total"] == 6
    village = api_client(civil_affairs).get(f"/api/v1/stats?area={VILLAGE_2}").json()
    assert village["children_total"] == 2 and village["no_hukou"] == 1
    assert village["agreement_coverage_pct"] is None  # no left-behind child there


def test_contacts_overdue(api_client, world, supervisor, frozen):
    # 乙 is red: a contact and a home visit every 7 days, so both fell due on 2026-11-30;
    # 戊 was last seen on 2026-08-15. The others' first visits fall due on 2026-12-07.
    frozen.move_to("2026-12-01 10:00 +0800")
    village_stats_refresh()
    body = api_client(supervisor).get(f"/api/v1/stats?area={TOWNSHIP_1}").json()
    assert body["contacts_overdue"] == 2
    assert body["home_visits_overdue"] == 2
    frozen.move_to("2026-12-08 10:00 +0800")  # now every child of township 1 is overdue
    village_stats_refresh()
    body = api_client(supervisor).get(f"/api/v1/stats?area={TOWNSHIP_1}").json()
    assert body["contacts_overdue"] == body["home_visits_overdue"] == 5


def test_scope_of_stats(
    api_client, world, supervisor, other_supervisor, outsider, reporter, viewer
):
    assert api_client(other_supervisor).get(f"/api/v1/stats?area={TOWNSHIP_1}").status_code == 404
    assert api_client(supervisor).get(f"/api/v1/stats?area={TOWNSHIP_2}").status_code == 404
    assert api_client(outsider).get(f"/api/v1/stats?area={COUNTY_A}").status_code == 404
    assert api_client(reporter).get(f"/api/v1/stats?area={TOWNSHIP_1}").status_code == 403
    assert api_client(viewer).get(f"/api/v1/stats?area={TOWNSHIP_1}").status_code == 200
    assert api_client(supervisor).get("/api/v1/stats?area=999999999999").status_code == 404
    assert api_client(supervisor).get("/api/v1/stats?area=nonsense").status_code == 404


def _list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    context = response.context
    if "page" in context and hasattr(context["page"], "paginator"):
        return context["page"].paginator.count
    return context["total"]


@pytest.mark.parametrize("area", [TOWNSHIP_1, VILLAGE_1, VILLAGE_2])
def test_every_number_drills_down_to_a_list_of_that_size(client_for, world, civil_affairs, area):
    from dashboards import indicators

    board = indicators.dashboard_for(user=civil_affairs, area_code=area, with_rows=False)
    total = board.total
    client = client_for(civil_affairs)
    numbers = {
        **total.counts,
        "reports_open": total.reports_open,
        "subsidy_applications_pending": total.subsidy_applications_pending,
        **{f"stage_{s}": n for s, n in total.reports_open_by_stage.items()},
        "return_to_school_open": total.return_to_school_open,  # children.dropouts
    }
    links = drill_links(area)
    for key, url in links.items():
        assert _list_count(client, url) == numbers[key], (key, url)
    # The counts kept only for sums have no list of their own.
    assert set(numbers) - set(links) == {"left_behind_with_agreement"}


def test_dashboard_pages_by_role(
    client_for, world, supervisor, other_supervisor, civil_affairs, director_a, reporter
):
    page = client_for(supervisor).get("/dashboard/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "查济村" in content and "厚岸村" in content  # villages of the township
    assert "查文静" in content  # the director of village 1, on the township's table
    assert client_for(other_supervisor).get(f"/dashboard/{TOWNSHIP_1}/").status_code == 404
    assert client_for(reporter).get("/dashboard/").status_code == 403
    county = client_for(civil_affairs).get("/dashboard/").content.decode()
    assert "桃花潭镇" in county and "云岭镇" in county
    assert f"/dashboard/{TOWNSHIP_1}/" in county  # drills down to the township's dashboard
    assert client_for(director_a).get(f"/dashboard/{VILLAGE_1}/").status_code == 200


def test_summary_is_recounted_when_older_than_15_minutes(
    api_client, world, supervisor, frozen, director_a
):
    make_child(director_a, name="新来", birth_date=date(2017, 1, 1))
    frozen.move_to("2026-11-23 10:14 +0800")
    assert api_client(supervisor).get("/api/v1/stats").json()["children_total"] == 5
    frozen.move_to("2026-11-23 10:16 +0800")
    assert api_client(supervisor).get("/api/v1/stats").json()["children_total"] == 6


def test_refresh_task_and_beat(world):
    from config.celery_app import BEAT_SCHEDULE
    from dashboards.models import VillageStats
    from dashboards.tasks import refresh_stats

    assert BEAT_SCHEDULE["dashboards-refresh-stats"]["task"] == "dashboards.refresh_stats"
    assert refresh_stats() == 3  # three villages have children
    assert VillageStats.objects.get(village_id=VILLAGE_1).children_total == 3


def test_dashboard_queries_are_constant(
    client_for, django_assert_max_num_queries, frozen, areas, director_a, civil_affairs
):
    client = client_for(civil_affairs)
    make_child(director_a, name="一", birth_date=date(2015, 1, 1))
    village_stats_refresh()
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        assert client.get("/dashboard/").status_code == 200
    for index in range(15):
        make_child(director_a, name=f"多{index}", birth_date=date(2015, 1, 1))
    village_stats_refresh()
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        assert client.get("/dashboard/").status_code == 200
    with django_assert_max_num_queries(DASHBOARD_QUERIES + 1):  # + the township's directors
        assert client.get(f"/dashboard/{TOWNSHIP_1}/").status_code == 200


DASHBOARD_QUERIES = 14


@pytest.mark.django_db
def test_a_city_without_counties_counts_its_towns_row_by_row(frozen):
    """东莞 (4419) has no counties: its dashboard's rows are its towns, each with its own
    children, not one row for a county "441900" that does not exist (domain §1, issue 20)."""
    from accounts.models import Area, Role
    from dashboards.indicators import indicators_for_area

    from ..factories import area_chain

    for village, count in (("441900003001", 1), ("441900101201", 2)):
        director = UserFactory(role=Role.DIRECTOR, area=area_chain(village))
        for i in range(count):
            make_child(director, name=f"东莞{village[-3:]}{i}")
    city = Area.objects.get(code="441900000000")
    village_stats_refresh()
    board = indicators_for_area(city)
    by_town = {row.code: row.counts["children_total"] for row in board.rows}
    assert by_town == {"441900003000": 1, "441900101000": 2}
    assert board.total.counts["children_total"] == 3
