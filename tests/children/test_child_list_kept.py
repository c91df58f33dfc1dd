"""The API's child list: its count and its page are two kept statements sent in one round trip
(issue 20: compiling the list's querysets was a third of its CPU). It lists exactly what the
list page and the export list (the same conditions, as a queryset), for every filter, for
every reach, and over a case's time: a kept statement never keeps yesterday's date."""

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from children.lifecycle import child_reopen
from children.models import Child, ChildStatus
from children.selectors import (
    PARENT_CONTACT_OVERDUE,
    VISIT_STATUSES,
    ChildFilters,
    child_list_for_user,
    child_list_page,
)
from children.services import child_close

from ..conftest import COUNTY_B, TOWNSHIP_1, VILLAGE_1, VILLAGE_2, VILLAGE_3
from ..factories import make_child

pytestmark = pytest.mark.django_db

FILTERS = [
    {},
    {"status": "all"},
    {"status": "closed"},
    {"status": "bogus"},
    {"village": VILLAGE_2},
    {"village": "not a code"},
    {"area": TOWNSHIP_1},
    {"area": VILLAGE_1},
    {"contact": "overdue"},
    {"home_visit": "never"},
    {"under_18": "1"},
    {"escalated": "township"},
    {"escalated": "county"},
    {"agreement": "none"},
    {"category": "orphan"},
    {"category": "pending"},
    {"category": "bogus"},
    {"risk": "high"},
    {"flag": "unsupervised"},
    {"flag": PARENT_CONTACT_OVERDUE},
    {"school_status": "dropped_out"},
    {"key": "1"},
    *({"visit_status": status} for status in VISIT_STATUSES),
    {"q": "小"},
    {"q": "%"},
    {"q": "_"},
    {"q": "雨%"},
    {"q": "0310"},
    {"q": "031x"},
    {"visit_status": "overdue", "village": VILLAGE_1, "q": "小"},
    {"status": "all", "under_18": "1", "risk": "high", "area": VILLAGE_1},
    {"category": "orphan", "flag": "unsupervised", "key": "1", "school_status": "dropped_out"},
]


@pytest.fixture
def case(frozen, director_a, civil_affairs, areas):
    """Files of every kind in two villages of a township and one of the next, 2026-11-23."""
    director_2 = type(director_a).objects.create(
        username="zr_houan", role=director_a.role, area=areas[VILLAGE_2]
    )
    director_3 = type(director_a).objects.create(
        username="zr_zhangdu", role=director_a.role, area=areas[VILLAGE_3]
    )
    files = {
        "plain": make_child(director_a, name="小明"),
        "percent": make_child(director_a, name="小%雨"),
        "underscore": make_child(director_a, name="小_雨"),
        "rain": make_child(director_a, name="查小雨", birth_date=date(2008, 11, 25)),
        "orphan": make_child(civil_affairs, name="王大山", village_code=VILLAGE_2),
        "far": make_child(director_3, name="章小林", village_code=VILLAGE_3),
        "last4": make_child(
            director_2, name="厚一", village_code=VILLAGE_2, id_number="34182320150601031X"
        ),
    }
    today = date(2026, 11, 23)
    Child.objects.filter(pk=files["plain"].pk).update(
        next_contact_due=today - timedelta(days=1),
        last_home_visit_on=today - timedelta(days=20),
        next_home_visit_due=today + timedelta(days=10),
        parent_contact_due=today - timedelta(days=3),
        risk_level="high",
    )
    Child.objects.filter(pk=files["percent"].pk).update(
        last_home_visit_on=today - timedelta(days=25),
        next_home_visit_due=today + timedelta(days=5),
        categories_pending=["orphan"],
    )
    Child.objects.filter(pk=files["orphan"].pk).update(
        categories=["orphan"],
        focus_flags=["unsupervised"],
        is_key_child=True,
        school_status="dropped_out",
        next_home_visit_due=today - timedelta(days=40),
    )
    Child.objects.filter(pk=files["rain"].pk).update(
        risk_level="high", next_home_visit_due=today - timedelta(days=2)
    )
    child_close(user=director_a, child=files["underscore"], reason="moved_away")
    return files


def _compare(user, params):
    filters = ChildFilters.from_params(params)
    try:
        expected = [child.pk for child in child_list_for_user(user=user, filters=filters)]
    except Http404:  # an area above the user's: the same for both
        with pytest.raises(Http404):
            child_list_page(user=user, filters=filters, offset=0, limit=500)
        return []
    with CaptureQueriesContext(connection) as queries:
        count, children = child_list_page(user=user, filters=filters, offset=0, limit=500)
    # The count and the page in one round trip (and the area's row, when one is asked for).
    assert len(queries) == 1 + ("area" in params), params
    assert (count, [child.pk for child in children]) == (len(expected), expected), params
    # A page further on is the same slice of the same order.
    count, page = child_list_page(user=user, filters=filters, offset=1, limit=2)
    assert [child.pk for child in page] == expected[1:3], params
    if children:
        assert children[0].village.code == children[0].village_id  # loaded with it
    return expected


def test_the_kept_list_lists_what_the_queryset_lists(case, director_a, supervisor, civil_affairs):
    seen = set()
    for user in (director_a, supervisor, civil_affairs):
        for params in FILTERS:
            seen.update(_compare(user, params))
    # Every file was listed somewhere, and the filters tell them apart.
    assert seen == {child.pk for child in case.values()}
    names = {
        tuple(sorted(c.name for c in child_list_for_user(user=civil_affairs, filters=f)))
        for f in map(ChildFilters.from_params, FILTERS)
    }
    assert len(names) > 15


def test_search_text_is_a_value_never_a_pattern(case, supervisor):
    """'%' and '_' typed into the search are the characters themselves."""

    def names(q):
        filters = ChildFilters.from_params({"q": q, "status": "all"})
        return sorted(
            c.name for c in child_list_page(user=supervisor, filters=filters, offset=0, limit=50)[1]
        )

    assert names("%") == ["小%雨"]
    assert names("_") == ["小_雨"]
    assert names("小") == ["小%雨", "小_雨", "小明", "查小雨"]
    assert names("031x") == ["厚一"]  # the ID number's last four, any case
    assert names("'; DROP TABLE children_child; --") == []


def test_over_a_case_the_day_is_todays(case, supervisor, civil_affairs):
    """The same filters on later days: overdue, due soon and under 18 follow the clock although
    the statement is kept (its day is part of what is kept)."""
    overdue = ChildFilters.from_params({"visit_status": "overdue"})
    under_18 = ChildFilters.from_params({"under_18": "1", "area": VILLAGE_1})

    def listed(filters):
        return {
            c.name for c in child_list_page(user=supervisor, filters=filters, offset=0, limit=50)[1]
        }

    assert listed(overdue) == {"王大山", "查小雨"}
    assert "查小雨" in listed(under_18)
    with time_machine.travel("2026-11-25 10:00 +0800", tick=False):  # 查小雨 turns 18
        assert "查小雨" not in listed(under_18)
        assert listed(overdue) == {"王大山", "查小雨"}
        _compare(supervisor, {"under_18": "1"})
    with time_machine.travel("2026-12-04 10:00 +0800", tick=False):  # 小明 due 12-03, 小%雨 11-28
        assert listed(overdue) == {"王大山", "查小雨", "小明", "小%雨"}
        _compare(supervisor, {"visit_status": "due_soon"})
        # Moved to the next township: gone from this supervisor's list, there for the county.
        Child.objects.filter(pk=case["plain"].pk).update(village_id=VILLAGE_3)
        assert listed(overdue) == {"王大山", "查小雨", "小%雨"}
        _compare(supervisor, {"visit_status": "overdue"})
        # Closed, then re-opened: off the active list, on the closed one, then back.
        orphan = Child.objects.get(pk=case["orphan"].pk)
        child_close(user=civil_affairs, child=orphan, reason="other", note="寄养")
        assert listed(overdue) == {"查小雨", "小%雨"}
        closed = ChildFilters.from_params({"status": "closed"})
        assert "王大山" in listed(closed)
        child_reopen(user=civil_affairs, child=Child.objects.get(pk=orphan.pk), reason="回村")
        assert Child.objects.get(pk=orphan.pk).status == ChildStatus.ACTIVE
        assert "王大山" not in listed(closed)
        for params in FILTERS:
            _compare(civil_affairs, params)


def test_an_area_outside_is_404_and_no_reach_lists_nothing(case, director_a):
    with pytest.raises(Http404):
        child_list_page(user=director_a, filters=ChildFilters(area=COUNTY_B), offset=0, limit=10)
    # A director whose area was taken away: nothing, and nothing asked of the database.
    director_a.area = None
    with CaptureQueriesContext(connection) as queries:
        assert child_list_page(user=director_a, filters=ChildFilters(), offset=0, limit=10) == (
            0,
            [],
        )
    assert len(queries) == 0
    assert list(child_list_for_user(user=director_a, filters=ChildFilters())) == []
