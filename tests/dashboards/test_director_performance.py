"""Issue 8, point 5: directors' performance for their supervisor — visits per month on a
hand-built fixture, the on-time rate at its boundary, key children seen monthly, scope and roles,
grouping by township, constant queries."""

from datetime import date

import pytest
import time_machine

from accounts.models import Role
from dashboards import performance
from dashboards.performance_views import sparkline
from visits.services import visit_record

from ..conftest import COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_2, VILLAGE_3
from ..factories import UserFactory, area_chain, make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


def _url(code: str, query: str = "") -> str:
    return f"/dashboard/{code}/directors/{query}"


def _row(report: performance.DirectorPerformance, username: str) -> performance.DirectorRow:
    return next(
        row for group in report.groups for row in group.rows if row.director.username == username
    )


def _counts(row: performance.DirectorRow) -> list[tuple[str, int, int]]:
    return [(f"{m.month:%Y-%m}", m.home, m.other) for m in row.months]


# --- Visits per month ------------------------------------------------------------------------


@pytest.fixture
def visits_world(frozen, areas, director_a, director_b, supervisor):
    """director_a records six visits, one before the six-month period; the supervisor and
    director_b record visits that must not count for director_a."""
    frozen.move_to("2026-05-01 10:00 +0800")
    x = make_child(director_a, name="甲")
    y = make_child(director_b, name="乙")
    frozen.move_to("2026-11-23 10:00 +0800")
    for day, kind in (
        (date(2026, 5, 31), "home"),  # before June: outside the period
        (date(2026, 6, 30), "home"),
        (date(2026, 7, 1), "phone"),
        (date(2026, 9, 15), "home"),
        (date(2026, 9, 20), "video"),
        (date(2026, 11, 23), "home"),
    ):
        visit_record(user=director_a, child=x, visited_on=day, kind=kind)
    visit_record(user=supervisor, child=x, visited_on=date(2026, 10, 5), kind="home")
    visit_record(user=director_b, child=y, visited_on=date(2026, 10, 6), kind="school")
    return areas


def test_visits_per_month_by_the_director(visits_world):
    report = performance.directors_performance(visits_world[TOWNSHIP_1])
    assert [f"{m:%Y-%m}" for m in report.months] == [
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
    ]
    a = _row(report, "director_a")
    assert _counts(a) == [
        ("2026-06", 1, 0),
        ("2026-07", 0, 1),
        ("2026-08", 0, 0),
        ("2026-09", 1, 1),
        ("2026-10", 0, 0),  # the supervisor's home visit is not director_a's
        ("2026-11", 1, 0),
    ]
    assert (a.home_visits, a.other_contacts) == (3, 2)
    b = _row(report, "director_b")
    assert [(m.home, m.other) for m in b.months] == [(0, 0)] * 4 + [(0, 1), (0, 0)]
    assert report.busiest_month == 2


def test_period_length(visits_world):
    report = performance.directors_performance(visits_world[TOWNSHIP_1], months=3)
    assert _counts(_row(report, "director_a")) == [
        ("2026-09", 1, 1),
        ("2026-10", 0, 0),
        ("2026-11", 1, 0),
    ]
    report = performance.directors_performance(visits_world[TOWNSHIP_1], months=12)
    counts = _counts(_row(report, "director_a"))
    assert counts[0] == ("2025-12", 0, 0)
    assert ("2026-05", 1, 0) in counts
    assert sum(home + other for _, home, other in counts) == 6


@pytest.mark.parametrize(
    ("raw", "months"),
    [(None, 6), ("", 6), ("abc", 6), ("3", 3), ("0", 1), ("-4", 1), ("12", 12), ("99", 12)],
)
def test_months_parameter(raw, months):
    assert performance.parse_months(raw) == months


def test_months_are_shanghai_calendar_months(areas, director_a):
    """At 00:30 on 1 December in Shanghai it is still 30 November in UTC: the period ends with
    December and a visit of 1 December counts in December."""
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False) as traveller:
        child = make_child(director_a)
        traveller.move_to("2026-11-30 23:00 +0800")
        visit_record(user=director_a, child=child, visited_on=date(2026, 11, 30), kind="phone")
        traveller.move_to("2026-12-01 00:30 +0800")
        visit_record(user=director_a, child=child, visited_on=date(2026, 12, 1), kind="home")
        report = performance.directors_performance(areas[TOWNSHIP_1])
    assert _counts(_row(report, "director_a"))[-2:] == [("2026-11", 0, 1), ("2026-12", 1, 0)]
    assert report.months[0] == date(2026, 7, 1)


def test_page_shows_the_counts_and_the_sparkline(client_for, supervisor, visits_world):
    body = client_for(supervisor).get(_url(TOWNSHIP_1)).content.decode()
    assert "查文静" in body and "王玉兰" in body
    assert "1·1·0·2·0·1" in body  # director_a, June to November
    assert "3 / 2" in body
    assert "<svg" in body and "2026-09: 入户1次，其他1次" in body
    assert f"/children/?village={VILLAGE_1}&amp;under_18=1&amp;visit_status=overdue" in body
    assert "入户走访今日未逾期" in body  # the definition, stated on the page


def test_sparkline_uses_the_common_scale():
    months = [
        performance.MonthVisits(date(2026, 10, 1), home=1, other=1),
        performance.MonthVisits(date(2026, 11, 1), home=0, other=0),
    ]
    spark = sparkline(months, scale=4)
    first, second = spark["bars"]
    assert (first["home_h"], first["other_h"]) == (5.0, 5.0)
    assert (first["home_y"], first["other_y"]) == (15.0, 10.0)
    assert (second["home_h"], second["other_h"]) == (0, 0)
    assert spark["width"] == 12


# --- On-time rate ----------------------------------------------------------------------------


@pytest.fixture
def schedule_world(frozen, areas, director_a, director_b):
    """Village 1: 甲 due today, 乙 due yesterday, 丙 registered today and never visited (due in
    14 days). Village 2: 丁, visited today."""
    a = make_child(director_a, name="甲")
    b = make_child(director_a, name="乙")
    make_child(director_a, name="丙")
    d = make_child(director_b, name="丁")
    # Low risk: a home visit every 90 days.
    a = visit_record(user=director_a, child=a, visited_on=date(2026, 8, 25), kind="home").child
    b = visit_record(user=director_a, child=b, visited_on=date(2026, 8, 24), kind="home").child
    visit_record(user=director_b, child=d, visited_on=date(2026, 11, 23), kind="home")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.next_home_visit_due, b.next_home_visit_due) == (
        date(2026, 11, 23),
        date(2026, 11, 22),
    )
    return areas


def test_on_time_rate_due_today_is_on_time(schedule_world):
    a = _row(performance.directors_performance(schedule_world[TOWNSHIP_1]), "director_a")
    f = a.figures
    assert (f.children, f.overdue, f.never_visited) == (3, 1, 1)
    assert f.on_time_pct == 66.7  # 甲 (due today) and 丙 (never visited, not yet due)


@pytest.mark.parametrize(
    ("moment", "overdue", "pct"),
    [
        ("2026-11-23 23:59 +0800", 1, 66.7),
        # Midnight in Shanghai (16:00 UTC): 甲's due date is now yesterday.
        ("2026-11-24 00:00 +0800", 2, 33.3),
    ],
)
def test_on_time_rate_at_the_shanghai_midnight(schedule_world, frozen, moment, overdue, pct):
    frozen.move_to(moment)
    f = _row(performance.directors_performance(schedule_world[TOWNSHIP_1]), "director_a").figures
    assert (f.overdue, f.on_time_pct) == (overdue, pct)


def test_sorted_by_on_time_rate_lowest_first(client_for, supervisor, schedule_world):
    report = performance.directors_performance(schedule_world[TOWNSHIP_1])
    assert [row.director.username for row in report.groups[0].rows] == [
        "director_a",  # 66.7 %
        "director_b",  # 100 %
    ]
    body = client_for(supervisor).get(_url(TOWNSHIP_1)).content.decode()
    assert body.index("查文静") < body.index("王玉兰")
    assert "66.7%" in body and "100.0%" in body


def test_director_of_a_village_without_children_comes_last(areas, frozen, director_a):
    UserFactory(username="idle", role=Role.DIRECTOR, area=areas[VILLAGE_2])
    child = make_child(director_a)
    visit_record(user=director_a, child=child, visited_on=date(2026, 1, 1), kind="home")  # overdue
    report = performance.directors_performance(areas[TOWNSHIP_1])
    rows = report.groups[0].rows
    assert [row.director.username for row in rows] == ["director_a", "idle"]
    assert rows[0].figures.on_time_pct == 0.0
    assert rows[1].figures.on_time_pct is None


# --- Key children seen monthly ---------------------------------------------------------------


@pytest.fixture
def key_world(frozen, areas, director_a, director_b, supervisor):
    """甲 (red, key) on file from 15 August: whole months September, October, November."""
    frozen.move_to("2026-08-15 10:00 +0800")
    key = make_child(director_a, name="甲", risk_level="high")
    make_child(director_a, name="乙")  # not a key child: never counted
    frozen.move_to("2026-11-23 10:00 +0800")
    make_child(director_b, name="丙", risk_level="medium")  # on file from today: no whole month
    visit_record(user=director_a, child=key, visited_on=date(2026, 8, 20), kind="home")
    visit_record(user=director_a, child=key, visited_on=date(2026, 9, 10), kind="phone")
    # A supervisor's patrol is not a director's contact.
    visit_record(user=supervisor, child=key, visited_on=date(2026, 10, 5), kind="home")
    return {"areas": areas, "key": key}


def test_key_children_seen_monthly(key_world, director_a):
    f = _row(
        performance.directors_performance(key_world["areas"][TOWNSHIP_1]), "director_a"
    ).figures
    assert f.key_children == 1
    # August: not on file from the 1st; September seen; October not; November not yet over.
    assert (f.key_months_due, f.key_months_seen, f.key_seen_pct) == (2, 1, 50.0)
    visit_record(
        user=director_a, child=key_world["key"], visited_on=date(2026, 11, 20), kind="phone"
    )
    f = _row(
        performance.directors_performance(key_world["areas"][TOWNSHIP_1]), "director_a"
    ).figures
    assert (f.key_months_due, f.key_months_seen, f.key_seen_pct) == (3, 2, 66.7)
    b = _row(performance.directors_performance(key_world["areas"][TOWNSHIP_1]), "director_b")
    assert (b.figures.key_children, b.figures.key_seen_pct) == (1, None)


def test_key_children_seen_monthly_once_the_month_is_over(key_world, frozen):
    frozen.move_to("2026-12-01 09:00 +0800")  # November is over, unseen; December just began
    f = _row(
        performance.directors_performance(key_world["areas"][TOWNSHIP_1], months=4), "director_a"
    ).figures
    assert (f.key_months_due, f.key_months_seen) == (3, 1)  # September, October, November


# --- Scope, roles, grouping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code", "status"),
    [
        ("supervisor", TOWNSHIP_1, 200),
        ("supervisor", VILLAGE_1, 200),
        ("civil_affairs", TOWNSHIP_1, 200),
        ("civil_affairs", COUNTY_A, 200),
        ("viewer", TOWNSHIP_1, 200),
        ("admin_user", TOWNSHIP_1, 403),  # the system administrator has no case data
        ("other_supervisor", TOWNSHIP_1, 404),
        ("other_supervisor", TOWNSHIP_2, 200),
        ("supervisor", COUNTY_A, 404),
        ("outsider", TOWNSHIP_1, 404),
        ("director_a", TOWNSHIP_1, 404),  # outside a director's village: does not exist for them
        ("director_a", VILLAGE_1, 403),  # in scope, but not the role's page
        ("reporter", TOWNSHIP_1, 403),
        ("supervisor", "999999999999", 404),
        ("supervisor", "garbage", 404),
    ],
)
def test_scope_and_roles(request, client_for, frozen, areas, director_b, who, code, status):
    user = request.getfixturevalue(who)
    assert client_for(user).get(_url(code)).status_code == status


def test_anonymous_goes_to_login(client, areas):
    response = client.get(_url(TOWNSHIP_1))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_village_page_shows_only_that_village(client_for, supervisor, schedule_world):
    report = performance.directors_performance(schedule_world[VILLAGE_1])
    assert [row.director.username for g in report.groups for row in g.rows] == ["director_a"]
    assert report.page is None


def test_county_groups_directors_by_township(client_for, civil_affairs, frozen, areas, director_a):
    director_c = UserFactory(
        username="director_c", role=Role.DIRECTOR, area=areas[VILLAGE_3], name="章小燕"
    )
    make_child(director_c, name="章渡")
    make_child(director_a, name="查济")
    # Village 2 has a child and no director: shown under its township, not lost.
    make_child(civil_affairs, name="厚岸", village_code=VILLAGE_2)
    report = performance.directors_performance(areas[COUNTY_A])
    assert [g.township.code for g in report.groups] == [TOWNSHIP_1, TOWNSHIP_2]
    assert [r.director.username for r in report.groups[0].rows] == ["director_a"]
    assert [r.director.username for r in report.groups[1].rows] == ["director_c"]
    assert report.groups[0].uncovered == [(VILLAGE_2, "厚岸村", 1)]
    body = client_for(civil_affairs).get(_url(COUNTY_A)).content.decode()
    assert (
        body.index("桃花潭镇") < body.index("查文静") < body.index("云岭镇") < body.index("章小燕")
    )
    assert f'href="/dashboard/{TOWNSHIP_2}/directors/?months=6"' in body
    assert "厚岸村" in body


def test_county_pages_through_townships(frozen, areas, monkeypatch):
    monkeypatch.setattr(performance, "TOWNSHIPS_PER_PAGE", 1)
    UserFactory(role=Role.DIRECTOR, area=areas[VILLAGE_1])
    UserFactory(role=Role.DIRECTOR, area=areas[VILLAGE_3])
    first = performance.directors_performance(areas[COUNTY_A])
    second = performance.directors_performance(areas[COUNTY_A], page_number="2")
    assert [g.township.code for g in first.groups] == [TOWNSHIP_1]
    assert [g.township.code for g in second.groups] == [TOWNSHIP_2]
    assert first.page.paginator.num_pages == 2


def test_dashboard_links_to_the_page(client_for, frozen, supervisor, director_a):
    body = client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/").content.decode()
    assert f'href="/dashboard/{TOWNSHIP_1}/directors/"' in body
    body = client_for(director_a).get(f"/dashboard/{VILLAGE_1}/").content.decode()
    assert "/directors/" not in body  # a director may not open it


# --- Queries ---------------------------------------------------------------------------------


def _directors_with_work(areas, count: int, first: int) -> None:
    """``count`` more directors, each in a new village of township 1 or 2, each with a key child
    visited at home and by phone."""
    for n in range(first, first + count):
        township = TOWNSHIP_1 if n % 2 else TOWNSHIP_2
        village = area_chain(f"{township[:9]}{300 + n:03d}")
        director = UserFactory(username=f"dir{n}", role=Role.DIRECTOR, area=village)
        with time_machine.travel("2026-09-01 10:00 +0800", tick=False):
            child = make_child(director, name=f"儿童{n}", risk_level="medium")
        visit_record(user=director, child=child, visited_on=date(2026, 10, 2), kind="home")
        visit_record(user=director, child=child, visited_on=date(2026, 11, 2), kind="phone")


@pytest.mark.parametrize(
    ("who", "code", "budget"),
    [
        # session, user, area, directors, children, key-child months, visits per month, the base
        # template's reminder badge and area name, and the session save (savepoint, update, release)
        ("supervisor", TOWNSHIP_1, 12),
        ("civil_affairs", COUNTY_A, 14),  # and the page of townships: count, rows
    ],
)
def test_constant_queries(
    request, client_for, frozen, areas, django_assert_max_num_queries, who, code, budget
):
    client = client_for(request.getfixturevalue(who))
    _directors_with_work(areas, 2, 0)
    with django_assert_max_num_queries(budget) as few:
        response = client.get(_url(code))
    assert response.status_code == 200
    assert sum(len(g.rows) for g in response.context["report"].groups) == (
        2 if code == COUNTY_A else 1
    )
    _directors_with_work(areas, 8, 2)
    with django_assert_max_num_queries(budget) as many:
        response = client.get(_url(code))
    assert response.status_code == 200
    assert sum(len(g.rows) for g in response.context["report"].groups) == (
        10 if code == COUNTY_A else 5
    )
    assert len(many.captured_queries) == len(few.captured_queries)
