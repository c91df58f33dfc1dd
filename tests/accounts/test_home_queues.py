"""Issue 18, point 5: home pages are work queues. Each role's numbers against hand-counted
fixtures (rows outside the user's area never counted), each number's link leading to a list of
exactly that many rows, and a query count that does not grow with the area."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from accounts.models import AreaPolicy, Role
from benefits.models import ApplicationStatus, SubsidyApplication
from children.models import Child
from children.services import family_member_add
from reminders.models import Notification
from reporting.models import MandatoryReport
from reporting.services import report_file
from visits.services import visit_record

from ..conftest import TOWNSHIP_2, VILLAGE_3, _user
from ..factories import confirm_categories, make_child

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)  # the ``frozen`` fixture's day: the fourth quarter


# --- Helpers -------------------------------------------------------------------------------------


def due_on(child: Child, due: date) -> Child:
    """Set the child's next home visit (as a visit on file would): overdue when before today."""
    Child.objects.filter(pk=child.pk).update(
        next_home_visit_due=due, last_home_visit_on=due - timedelta(days=90)
    )
    return child


def left_behind(director, name: str) -> Child:
    """A left-behind child, both parents away for work for long: flagged unsupervised."""
    child = make_child(director, name=name, birth_date=date(2016, 3, 8))
    for relation in ("father", "mother"):
        family_member_add(
            user=director,
            child=child,
            relation=relation,
            name=f"{name}{relation}",
            status="working_away",
            has_guardian_capacity=True,
            away_since=date(2025, 2, 1),
        )
    child.refresh_from_db()
    assert "unsupervised" in child.focus_flags
    return child


def report(user, *, situation="other_harm", child=None, days_in_stage=0, stage=None):
    filed = report_file(
        user=user,
        situation=situation,
        discovered_at=timezone.now() - timedelta(hours=1),
        description="情况说明",
        child=child,
        child_name="" if child else "某儿童",
    )
    changes = {"stage_changed_at": timezone.now() - timedelta(days=days_in_stage)}
    if stage:
        changes["stage"] = stage
    MandatoryReport.objects.filter(pk=filed.pk).update(**changes)
    return filed


def application(child, director, status):
    return SubsidyApplication.objects.create(
        child=child, programme="orphan_allowance", submitted_by=director, status=status
    )


_PANEL_START = r'<div class="col[^"]*" id="panel-'
PANEL = re.compile(_PANEL_START + r'([a-z_]+)">(.*?)(?=' + _PANEL_START + "|</section>)", re.S)
NUMBER = re.compile(r'href="([^"]+)"[^>]*data-count="(\d+)"')


def panels(html: str) -> dict[str, list[tuple[str, int]]]:
    """Each panel's numbers, the first its own: [(link, number), …]."""
    return {
        key: [(href.replace("&amp;", "&"), int(n)) for href, n in NUMBER.findall(body)]
        for key, body in PANEL.findall(html)
    }


def rows_behind(client, url: str) -> int:
    """How many rows the list at ``url`` shows (all of its pages)."""
    response = client.get(url)
    assert response.status_code == 200, url
    path = urlsplit(url).path
    context = response.context
    if path in ("/children/", "/visits/review/"):
        return context["page"].paginator.count
    if path == "/reports/":
        assert len(context["rows"]) == context["total"]
        return context["total"]
    if path == "/children/subsidies/queue/":
        assert len(context["rows"]) == context["total"]
        return context["total"]
    if path == "/visits/patrol/":  # the tile's number: the key children patrolled
        return context["data"]["patrolled"]
    if path == "/visits/reminders/":
        return sum(1 for n in context["page"] if n.resolved_at is None)
    raise AssertionError(f"no list known at {url}")


def assert_links_lead_to_as_many_rows(client, found: dict[str, list[tuple[str, int]]]) -> None:
    for key, numbers in found.items():
        for url, count in numbers:
            assert rows_behind(client, url) == count, (key, url)


# --- A township and a county with work waiting ---------------------------------------------------


@pytest.fixture
def director_c(areas):
    """The director of village 3 (township 2, same county): outside the supervisor's area."""
    return _user("director_c", Role.DIRECTOR, areas[VILLAGE_3], name="章渡主任")


@pytest.fixture
def county(frozen, areas, director_a, director_b, director_c, supervisor, civil_affairs, outsider):
    """Hand-counted work in county A, and the same kinds of work elsewhere that must not count.

    Township 1 (the supervisor's: villages 1 and 2):
      visits to review 4, of which 2 prompt a report (a safety concern, a child found alone);
      open reports 3 (urgent 2, late 2), one closed; overdue children 3; unsupervised 1;
      applications at the township 2, at the county 1; key children 4, patrolled 1.
    County A (civil affairs): categories to confirm 2; overdue past the county's escalation
      days 2 (village 3's policy raises them to 50 days); reports for the county 2;
      applications waiting for the county 2.
    """
    w = {}
    # Children of township 1.
    w["a"] = make_child(director_a, name="甲童")
    w["b"] = make_child(director_b, name="乙童")
    w["c"] = make_child(director_a, name="丙童", birth_date=date(2015, 1, 1))
    w["d"] = make_child(director_b, name="丁童")
    w["lonely"] = left_behind(director_a, "留守童")  # unsupervised, so a key child too
    w["k1"] = make_child(director_a, name="重点一", risk_level="high")
    w["k2"] = make_child(director_b, name="重点二", risk_level="high")
    w["k3"] = make_child(director_a, name="重点三", risk_level="high")
    # Elsewhere: township 2 (county A) and county B.
    w["v3"] = make_child(director_c, name="章渡童", risk_level="high")
    w["far"] = make_child(outsider, name="绩溪童")

    # Visits to review (pending): two that prompt a report, two routine.
    w["old"] = visit_record(
        user=director_a, child=w["a"], visited_on=date(2026, 11, 10), kind="home"
    )
    w["safety"] = visit_record(
        user=director_b,
        child=w["b"],
        visited_on=date(2026, 11, 18),
        kind="home",
        safety_concern=True,
    )
    w["alone"] = visit_record(
        user=director_a,
        child=w["c"],
        visited_on=date(2026, 11, 20),
        kind="home",
        guardian_present=False,
        seen=["child"],
    )
    w["new"] = visit_record(
        user=director_b, child=w["d"], visited_on=date(2026, 11, 21), kind="phone"
    )
    # Not the supervisor's to review: another township's, and their own (patrols).
    visit_record(
        user=director_c,
        child=w["v3"],
        visited_on=date(2026, 11, 19),
        kind="home",
        safety_concern=True,
    )
    visit_record(
        user=supervisor, child=w["k1"], visited_on=date(2026, 11, 5), kind="home"
    )  # patrol
    visit_record(user=supervisor, child=w["k2"], visited_on=date(2026, 11, 6), kind="phone")  # not
    visit_record(user=supervisor, child=w["k3"], visited_on=date(2026, 9, 20), kind="home")  # Q3
    visit_record(user=supervisor, child=w["v3"], visited_on=date(2026, 11, 7), kind="home")

    # The schedule (after the visits, which move it): overdue by 22, 53 and 34 days in
    # township 1; 44 days in township 2 (its policy escalates after 50); 60 in county B.
    due_on(w["a"], date(2026, 11, 1))
    due_on(w["b"], date(2026, 10, 1))
    due_on(w["d"], date(2026, 10, 20))
    due_on(w["c"], date(2026, 12, 30))
    due_on(w["v3"], date(2026, 10, 10))
    due_on(w["k1"], date(2026, 11, 30))  # patrolled: not overdue
    due_on(w["k3"], date(2026, 11, 30))
    due_on(w["far"], date(2026, 9, 24))
    AreaPolicy.objects.create(area_id=TOWNSHIP_2, escalate_county_days=50)

    # Categories awaiting the county (typed orphan / HIV-affected), one confirmed, one elsewhere.
    make_child(director_a, name="待确认一", categories=["orphan"])
    make_child(director_c, name="待确认二", categories=["hiv_affected"])
    confirm_categories(make_child(director_b, name="已确认", categories=["orphan"]), civil_affairs)
    make_child(outsider, name="外县待确认", categories=["orphan"])

    # Mandatory reports. Township 1: urgent fresh, urgent late, late, and a closed one.
    report(supervisor, situation="living_alone", child=w["a"])
    report(supervisor, situation="sexual_abuse", child=w["b"], days_in_stage=2)
    report(supervisor, situation="other_harm", child=w["c"], days_in_stage=10)  # county's too
    report(supervisor, situation="other_harm", child=w["d"], stage="closed", days_in_stage=30)
    # Township 2: a fresh report; the county's own (filed at county level); county B's.
    report(director_c, child=w["v3"])
    report(civil_affairs)  # no child, no township: routed to the county
    report(outsider, child=w["far"], days_in_stage=30)

    # Benefit applications: 2 at township 1, 1 at the county from township 1, 1 from township 2,
    # and the same kinds elsewhere.
    application(w["a"], director_a, ApplicationStatus.SUBMITTED)
    application(w["b"], director_b, ApplicationStatus.SUBMITTED)
    application(w["c"], director_a, ApplicationStatus.TOWNSHIP_APPROVED)
    application(w["d"], director_b, ApplicationStatus.APPROVED)
    application(w["v3"], director_c, ApplicationStatus.TOWNSHIP_APPROVED)
    application(w["v3"], director_c, ApplicationStatus.SUBMITTED)
    application(w["far"], outsider, ApplicationStatus.TOWNSHIP_APPROVED)
    return w


# --- The supervisor --------------------------------------------------------------------------


def test_the_supervisors_home_counts_the_township_only(client_for, county, supervisor):
    client = client_for(supervisor)
    found = panels(client.get("/").content.decode())
    numbers = {key: [n for _url, n in values] for key, values in found.items()}
    assert numbers["review"] == [4, 2]  # to review, of which safety concerns / found alone
    assert numbers["reports"] == [3, 2, 2]  # open, urgent, late
    assert numbers["overdue"] == [3]
    assert numbers["unsupervised"] == [1]
    assert numbers["applications_township"] == [2]
    assert numbers["patrol"] == [1]  # of 4 key children
    assert "applications_county" not in found and "categories_pending" not in found
    body = client.get("/").content.decode()
    assert "1<span" in body and "/ 4" in body  # patrolled / key children
    # The review queue's first few, safety concerns first.
    review = body.split('id="panel-review"', 1)[1].split('id="panel-', 1)[0]
    assert review.index("乙童") < review.index("丙童") < review.index("甲童")


def test_the_supervisors_numbers_lead_to_as_many_rows(client_for, county, supervisor):
    client = client_for(supervisor)
    found = panels(client.get("/").content.decode())
    assert_links_lead_to_as_many_rows(client, found)
    assert client.get("/visits/patrol/").context["data"]["total"] == 4
    links = {url for values in found.values() for url, _n in values}
    assert {
        "/visits/review/",
        "/visits/review/?safety=1",
        "/reports/",
        "/reports/?urgent=1",
        "/reports/?late=1",
        "/children/?visit_status=overdue&under_18=1",
        "/children/?flag=unsupervised&under_18=1",
        "/children/subsidies/queue/",
        "/visits/patrol/",
    } <= links


# --- County civil affairs --------------------------------------------------------------------


def test_the_countys_home_counts_the_county_only(client_for, county, civil_affairs):
    client = client_for(civil_affairs)
    found = panels(client.get("/").content.decode())
    numbers = {key: [n for _url, n in values] for key, values in found.items()}
    assert numbers["applications_county"] == [2]
    assert numbers["categories_pending"] == [2]
    assert numbers["escalated_county"] == [2]  # 53 and 34 days; village 3's 44 < its 50
    # Filed at county level, and one still open 8 days past its stage's limit (urgent 0, late 1).
    assert numbers["county_reports"] == [2, 0, 1]
    assert "review" not in found and "applications_township" not in found
    assert_links_lead_to_as_many_rows(client, found)


def test_the_escalation_follows_the_area_policy(client_for, county, civil_affairs):
    client = client_for(civil_affairs)
    AreaPolicy.objects.filter(area_id=TOWNSHIP_2).update(escalate_county_days=40)
    assert panels(client.get("/").content.decode())["escalated_county"][0][1] == 3
    AreaPolicy.objects.create(area_id="341823000000", escalate_county_days=40)  # the county
    AreaPolicy.objects.filter(area_id=TOWNSHIP_2).update(escalate_county_days=None)  # inherits
    found = panels(client.get("/").content.decode())["escalated_county"]
    assert found[0][1] == 2  # 53 and 44 days; 34 no longer
    assert rows_behind(client, found[0][0]) == 2


def test_a_province_sees_the_same_panels_over_its_area(client_for, county, areas):
    from ..conftest import PROVINCE

    province = _user("mz_province", Role.CIVIL_AFFAIRS, areas[PROVINCE])
    client = client_for(province)
    found = panels(client.get("/").content.decode())
    numbers = {key: [n for _url, n in values] for key, values in found.items()}
    # County B's rows count too now.
    assert numbers["applications_county"] == [3]
    assert numbers["categories_pending"] == [3]
    assert numbers["escalated_county"] == [3]
    assert_links_lead_to_as_many_rows(client, found)


def test_the_escalation_policy_is_resolved_once_per_village(county, areas):
    """The province's four numbers are one statement whose policy lookup is a join by village,
    never a lookup per overdue child: a correlated subquery kept the count of a million children
    in one process (0.9 s at province scale, issue 20's page limit of 1 s)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from children.selectors import home_counts
    from core import clock

    from ..conftest import PROVINCE

    province = _user("mz_province", Role.CIVIL_AFFAIRS, areas[PROVINCE])
    names = ["overdue", "unsupervised", "categories_pending", "escalated_county"]
    with CaptureQueriesContext(connection) as queries:
        counts = home_counts(user=province, today=clock.today(), names=names)
    assert len(queries) == 1
    assert counts["escalated_county"] == 3 and counts["categories_pending"] == 3
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "SubPlan" not in plan and "accounts_areapolicy" in plan, plan


def test_the_county_reports_filter(client_for, county, civil_affairs, supervisor):
    body = client_for(civil_affairs).get("/reports/?county=1").content.decode()
    assert "某儿童" in body and "丙童" in body and "甲童" not in body
    # A township has no county-level reports of its own: its late one is the county's business.
    assert rows_behind(client_for(supervisor), "/reports/?county=1") == 1


# --- The director: the worklist with reminders and transfers ----------------------------------


def test_the_directors_worklist_carries_the_open_reminders(
    client_for, frozen, director_a, director_b
):
    first = make_child(director_a, name="提醒一")
    second = make_child(director_a, name="提醒二")
    third = make_child(director_a, name="提醒三")
    fourth = make_child(director_a, name="提醒四")
    today = date(2026, 11, 23)

    def remind(child, kind, due, recipient=director_a, resolved=False):
        Notification.objects.create(
            recipient=recipient,
            kind=kind,
            child=child,
            due_date=due,
            created_on=today,
            resolved_at=timezone.now() if resolved else None,
        )

    remind(first, "visit_due_soon", date(2026, 11, 28))
    remind(second, "visit_overdue", date(2026, 11, 2))
    remind(third, "agreement_expiring", date(2026, 12, 10))
    remind(fourth, "visit_overdue", date(2026, 11, 10))
    remind(fourth, "visit_overdue", date(2026, 10, 1), resolved=True)  # done
    remind(first, "visit_overdue", date(2026, 10, 1), recipient=director_b)  # someone else's
    client = client_for(director_a)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/visits/"
    html = response.content.decode()
    found = panels(html)
    assert list(found) == ["reminders"] and found["reminders"] == [("/visits/reminders/", 4)]
    assert rows_behind(client, "/visits/reminders/") == 4
    # The first three by urgency: the earliest due first.
    box = html.split('id="panel-reminders"', 1)[1].split("</section>", 1)[0]
    assert box.index("提醒二") < box.index("提醒四") < box.index("提醒一")
    assert "提醒三" not in box
    # Above the lists.
    assert html.index('id="panel-reminders"') < html.index('id="overdue"')


def test_the_worklist_shows_no_panels_where_it_is_not_the_first_page(
    client_for, county, supervisor
):
    assert 'id="panel-' not in client_for(supervisor).get("/visits/").content.decode()


def test_roles_without_queues_keep_their_home(client_for, county, viewer, reporter):
    viewer_home = client_for(viewer).get("/").content.decode()
    assert set(panels(viewer_home)) <= {"reminders"}
    assert "泾县" in viewer_home  # the areas list stays
    assert "110" in client_for(reporter).get("/").content.decode()


def test_the_areas_stay_as_a_secondary_section(client_for, county, supervisor):
    body = client_for(supervisor).get("/").content.decode()
    assert body.index("</section>") < body.index("查济村")


def test_the_new_list_filters_keep_scope_and_roles(
    client_for, county, outsider, reporter, director_a
):
    # Outside the area nothing is listed; a role without the list is refused.
    assert (
        rows_behind(
            client_for(outsider), "/children/?visit_status=overdue&under_18=1&escalated=county"
        )
        == 1
    )
    assert rows_behind(client_for(outsider), "/reports/?county=1") == 1  # their own, late
    body = client_for(outsider).get("/reports/?county=1").content.decode()
    assert "绩溪童" in body and "丙童" not in body and "某儿童" not in body
    assert client_for(reporter).get("/children/?escalated=county").status_code == 403
    assert client_for(director_a).get("/visits/review/?safety=1").status_code == 403


# --- Constant queries ------------------------------------------------------------------------


def more_work(director, supervisor, n: int) -> None:
    """``n`` more children in the township with every kind of work."""
    for i in range(n):
        child = make_child(director, name=f"增童{n}-{i}", risk_level="high", categories=["orphan"])
        visit_record(
            user=director,
            child=child,
            visited_on=date(2026, 11, 15),
            kind="home",
            safety_concern=i % 2 == 0,
        )
        due_on(child, date(2026, 9, 1))
        report(supervisor, child=child, days_in_stage=i)
        application(
            child,
            director,
            ApplicationStatus.SUBMITTED if i % 2 else ApplicationStatus.TOWNSHIP_APPROVED,
        )
        Notification.objects.create(
            recipient=supervisor,
            kind="escalation",
            child=child,
            due_date=date(2026, 9, 1),
            created_on=TODAY,
        )


@pytest.mark.parametrize(("who", "queries"), [("supervisor", 12), ("civil_affairs", 9)])
def test_home_queries_do_not_grow_with_the_area(
    request, client_for, county, director_a, supervisor, who, queries, django_assert_num_queries
):
    user = request.getfixturevalue(who)
    client = client_for(user)
    client.get("/")  # warm the session
    for n in (2, 12):
        more_work(director_a, supervisor, n)
        with django_assert_num_queries(queries):
            assert client.get("/").status_code == 200


def test_worklist_queries_with_reminders_do_not_grow(
    client_for, frozen, director_a, django_assert_num_queries
):
    client = client_for(director_a)
    client.get("/visits/")
    for n in (2, 12):
        for i in range(n):
            child = make_child(director_a, name=f"工作{n}-{i}")
            Notification.objects.create(
                recipient=director_a,
                kind="visit_due_soon",
                child=child,
                due_date=date(2026, 11, 30),
                created_on=TODAY,
            )
        # session, user and area; then the three lists, returned visits, transfers and reminders
        # sent together (core.compiled.together; the bell counts with the reminders' panel)
        with django_assert_num_queries(3):
            assert client.get("/visits/").status_code == 200
