"""Routing of mandatory reports (issue 18): a reporter placed above a village chooses the child's
township or village; a report of a county or above goes to county civil affairs at once, and the
24-hour police rule reminds them; one with a township goes to that township's supervisor."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts import outbox
from accounts.models import Role
from reminders.models import Notification
from reminders.services import reminders_sweep
from reporting.models import MandatoryReport

from ..conftest import (
    COUNTY_A,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
    VILLAGE_B,
)
from ..factories import UserFactory, make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital(areas):
    """县医院: a reporter placed at the county, with no child file to name."""
    return UserFactory(username="county_hospital", role=Role.REPORTER, area=areas[COUNTY_A])


@pytest.fixture
def county_civil_affairs(civil_affairs):
    civil_affairs.email = "mzj@example.cn"
    civil_affairs.save(update_fields=["email"])
    return civil_affairs


def file(client, **overrides):
    body = {
        "situation": "living_alone",
        "discovered_at": "2026-11-23T08:30:00+08:00",
        "description": "孩子独自来院就诊，称家中无大人",
        "reporter_org_type": "medical",
        "child_name": "李小花",
    }
    body.update(overrides)
    return client.post("/api/v1/reports", body, content_type="application/json")


def post_form(client, **overrides):
    body = {
        "child_name": "李小花",
        "situation": "living_alone",
        "discovered_at": "2026-11-23T08:00",
        "description": "孩子独自来院就诊，称家中无大人",
    }
    body.update(overrides)
    return client.post("/reports/new/", body)


def filed_notices(**lookup):
    return Notification.objects.filter(kind="report_filed", **lookup)


def deadlines(**lookup):
    return Notification.objects.filter(kind="report_deadline", **lookup)


def test_a_county_report_reaches_county_civil_affairs_at_once(
    api_client, hospital, county_civil_affairs, supervisor, frozen
):
    response = file(api_client(hospital))
    assert response.status_code == 201, response.content
    report = MandatoryReport.objects.get(pk=response.json()["id"])
    assert report.area_id == COUNTY_A
    outbox.run_inline()  # the relay, within milliseconds of the commit
    notice = filed_notices().get()
    assert (notice.recipient, str(notice.report_id), notice.due_date) == (
        county_civil_affairs,
        str(report.pk),
        date(2026, 11, 23),
    )
    assert "李小花" in notice.detail
    # Sent at once, not in tomorrow's digest.
    assert [m.to for m in mail.outbox] == [["mzj@example.cn"]]
    assert "李小花" in mail.outbox[0].body
    # Idempotent: the task delivered twice, then the sweep, add nothing.
    from reminders.services import report_filed_notify

    assert report_filed_notify(report_id=str(report.pk)) == 0
    reminders_sweep()
    assert filed_notices().count() == 1
    assert not Notification.objects.filter(recipient=supervisor).exists()
    # The county sees it in their queue and in their reminders.
    listing = api_client(county_civil_affairs).get("/api/v1/reminders").json()
    assert [(r["kind"], r["report_id"]) for r in listing["items"]] == [
        ("report_filed", str(report.pk))
    ]


def test_the_sweep_catches_up_a_county_report_the_relay_missed(
    api_client, hospital, civil_affairs, frozen
):
    report_id = file(api_client(hospital)).json()["id"]
    reminders_sweep()  # the outbox task has not run
    assert [str(n.report_id) for n in filed_notices(recipient=civil_affairs)] == [report_id]


def test_the_police_rule_reminds_county_civil_affairs_at_24_hours(
    api_client, hospital, civil_affairs, supervisor, frozen
):
    report_id = file(api_client(hospital)).json()["id"]  # filed 2026-11-23 10:00
    # (At the default limits the stage "reported" falls late at the same moment.)
    police = deadlines(recipient=civil_affairs, report_id=report_id)
    for moment in ("2026-11-24 09:59 +0800", "2026-11-24 10:00 +0800"):
        frozen.move_to(moment)
        reminders_sweep()
        assert not police.exists(), moment
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    reminders_sweep()
    assert [n.due_date for n in police] == [date(2026, 11, 24)]
    assert not Notification.objects.filter(recipient=supervisor).exists()


def test_the_police_rule_alone(api_client, hospital, civil_affairs, frozen):
    """The police rule without the stage limit that coincides with it: the stage's clock set
    later, as if the stage had just been entered."""
    report_id = file(api_client(hospital)).json()["id"]
    MandatoryReport.objects.filter(pk=report_id).update(
        stage_changed_at=timezone.now() + timedelta(hours=12)
    )
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    assert deadlines(recipient=civil_affairs, report_id=report_id).count() == 1
    MandatoryReport.objects.filter(pk=report_id).update(police_notified_at=timezone.now())
    Notification.objects.all().delete()
    reminders_sweep()
    assert not deadlines(recipient=civil_affairs, report_id=report_id).exists()


@pytest.mark.parametrize(
    ("code", "responsible"), [(TOWNSHIP_1, "supervisor"), (VILLAGE_3, "other_supervisor")]
)
def test_a_chosen_township_goes_to_its_supervisor(
    api_client, hospital, civil_affairs, supervisor, other_supervisor, frozen, code, responsible
):
    response = file(api_client(hospital), area_code=code)
    assert response.status_code == 201, response.content
    report = MandatoryReport.objects.get(pk=response.json()["id"])
    assert report.area_id == code
    assert api_client(civil_affairs).get(f"/api/v1/reports/{report.pk}").json()["area_code"] == code
    outbox.run_inline()
    assert not filed_notices().exists()
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    assert [n.recipient.username for n in deadlines(report_id=report.pk)] == [responsible]


def test_the_form_offers_the_townships_and_villages_of_the_reporters_area(
    client_for, hospital, director_a
):
    # Typed by name or code (issue 20); a county's few places are all suggested in its list.
    page = client_for(hospital).get("/reports/new/").content.decode()
    assert 'name="area_code"' in page
    assert f'value="桃花潭镇 {TOWNSHIP_1}"' in page and "查济村 — 泾县 › 桃花潭镇" in page
    assert VILLAGE_B not in page and f' {COUNTY_A}"' not in page
    # A village's director has nothing to choose.
    assert 'name="area_code"' not in client_for(director_a).get("/reports/new/").content.decode()


def test_filing_through_the_form(client_for, hospital, civil_affairs, supervisor, frozen):
    client = client_for(hospital)
    assert post_form(client).status_code == 302
    assert post_form(client, area_code=VILLAGE_1).status_code == 302
    county, village = MandatoryReport.objects.order_by("filed_at", "area_id")
    assert {county.area_id, village.area_id} == {COUNTY_A, VILLAGE_1}
    outbox.run_inline()
    assert [str(n.report_id) for n in filed_notices(recipient=civil_affairs)] == [
        str(r.pk) for r in (county, village) if r.area_id == COUNTY_A
    ]


def test_an_area_outside_the_reporters_is_404(client_for, api_client, hospital, reporter):
    # Another county, an unknown code, and for a township's reporter the neighbouring township.
    for user, code in (
        (hospital, VILLAGE_B),
        (hospital, "341823999999"),
        (hospital, "nonsense"),
        (reporter, TOWNSHIP_2),
        (reporter, VILLAGE_3),
    ):
        assert file(api_client(user), area_code=code).status_code == 404, (user, code)
        if code.isdigit():
            assert post_form(client_for(user), area_code=code).status_code == 404, (user, code)
    # The form's field takes a name too (issue 20): one that no place holds is said there.
    response = post_form(client_for(hospital), area_code="nonsense")
    assert response.status_code == 200 and response.context["form"].has_error("area_code")
    assert not MandatoryReport.objects.exists()


def test_a_chosen_area_must_hold_the_childs_village(api_client, supervisor, director_a, frozen):
    child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    wrong = file(api_client(supervisor), child_id=str(child.pk), area_code=VILLAGE_2)
    assert wrong.status_code == 422 and "area_code" in wrong.content.decode()
    right = file(api_client(supervisor), child_id=str(child.pk), area_code=TOWNSHIP_1)
    assert right.status_code == 201
    assert MandatoryReport.objects.get().area_id == VILLAGE_1
