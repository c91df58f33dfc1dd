"""Issue 21 point 5: intake of the 12355 line and the police (110), 一门受理 (domain §10).

The line (at a county) and the police (a station at a township, a bureau at a county) file
mandatory reports with their source and incident number, routed to the child's township chosen
on the form, through the report form, POST /api/v1/reports and POST /api/v1/intake; the police
record "parent detained, minor children at home", which asks the village's child director to
check on the children within 24 hours and tells the township supervisor when they have not."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import outbox
from accounts.models import OutboxMessage, Role, User
from reminders.models import Notification
from reminders.services import detention_check_notify, reminders_sweep, reminders_sweep_urgent
from reporting.models import MandatoryReport, ReportTransition

from ..conftest import (
    COUNTY_A,
    TOWNSHIP_1,
    TOWNSHIP_2,
    TOWNSHIP_B,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
)
from ..factories import UserFactory, make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotline(areas) -> User:
    """The county's 12355 line."""
    return UserFactory(username="hotline", role=Role.HOTLINE, area=areas[COUNTY_A], name="热线")


@pytest.fixture
def police(areas) -> User:
    """The police station of township T1 (派出所)."""
    return UserFactory(username="police_t1", role=Role.POLICE, area=areas[TOWNSHIP_1], name="民警")


@pytest.fixture
def director_mail(director_a) -> User:
    director_a.email = "cjw@example.cn"
    director_a.save(update_fields=["email"])
    return director_a


def intake(client, **overrides):
    body = {
        "incident_number": "12355-20261123-0001",
        "township_code": TOWNSHIP_1,
        "situation": "living_alone",
        "discovered_at": "2026-11-23T09:30:00+08:00",
        "description": "来电称孩子独自在家三天",
        "child_name": "李小花",
    }
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    return client.post("/api/v1/intake", body, content_type="application/json")


def file_report(client, **overrides):
    body = {
        "situation": "living_alone",
        "discovered_at": "2026-11-23T09:30:00+08:00",
        "description": "来电称孩子独自在家三天",
        "child_name": "李小花",
    }
    body.update(overrides)
    return client.post("/api/v1/reports", body, content_type="application/json")


def post_form(client, path="/reports/new/", **overrides):
    body = {
        "incident_number": "12355-20261123-0002",
        "child_name": "李小花",
        "situation": "living_alone",
        "discovered_at": "2026-11-23T08:00",
        "description": "来电称孩子独自在家三天",
    }
    body.update(overrides)
    return client.post(path, {k: v for k, v in body.items() if v is not None})


def detained(client, **overrides):
    """The police: a parent detained, minor children at home (no situation: its default)."""
    body = {
        "incident_number": "J3418231032026112300017",
        "township_code": None,
        "village_code": VILLAGE_1,
        "situation": None,
        "parent_detained": True,
        "description": "查获吸毒人员查某，其两名未成年子女在家无人照料",
        "child_name": "查小雨、查小雪",
    }
    return intake(client, **(body | overrides))


def reminders(kind, **lookup):
    return Notification.objects.filter(kind=kind, **lookup).order_by("recipient__username")


# --- Filing: the line and the police, through the API and the pages ----------------------------


def test_the_line_at_the_county_files_into_a_township_through_the_api(
    api_client, hotline, supervisor, civil_affairs, director_a, frozen
):
    response = intake(api_client(hotline), incident_number="  12355-20261123-0001 ")
    assert response.status_code == 201, response.content
    answer = response.json()
    report = MandatoryReport.objects.get(pk=answer["id"])
    assert (report.area_id, report.source, report.incident_number, report.stage) == (
        TOWNSHIP_1,
        "hotline_12355",
        "12355-20261123-0001",
        "reported",
    )
    assert report.reporter == hotline and not report.parent_detained
    # The answer is the report's, with the intake's fields; the line reads no case side.
    assert {k: answer[k] for k in ("source", "incident_number", "parent_detained")} == {
        "source": "hotline_12355",
        "incident_number": "12355-20261123-0001",
        "parent_detained": False,
    }
    assert answer["township_code"] == TOWNSHIP_1 and answer["detention_checked_at"] is None
    assert answer["area_code"] is None and answer["reporter"] is None
    assert answer["child_name"] == "李小花" and answer["police_notified_at"] is None
    again = api_client(hotline).get(f"/api/v1/reports/{report.pk}").json()
    intake_fields = ("source", "incident_number", "parent_detained", "detention_checked_at")
    assert {k: again[k] for k in intake_fields} == {k: answer[k] for k in intake_fields}
    # Where it went is the case side's (a file linked later may move it): the line gets back
    # the township it chose in the answer to its filing only.
    assert again["township_code"] is None and again["area_code"] is None
    # Routed to the township as any report: its supervisor has it (not the county's inbox), and
    # the usual deadline — no police notification a day later — reminds the supervisor.
    seen = api_client(supervisor).get(f"/api/v1/reports/{report.pk}").json()
    assert (seen["area_code"], seen["township_code"], seen["reporter"], seen["source"]) == (
        TOWNSHIP_1,
        TOWNSHIP_1,
        "热线",
        "hotline_12355",
    )
    outbox.run_inline()
    assert not Notification.objects.filter(recipient=civil_affairs).exists()
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    assert [n.recipient for n in reminders("report_deadline", report_id=report.pk)] == [supervisor]
    # The village's director does not see a township's report.
    assert api_client(director_a).get(f"/api/v1/reports/{report.pk}").status_code == 404


def test_the_line_files_through_the_form(client_for, hotline, supervisor, frozen):
    client = client_for(hotline)
    page = client.get("/reports/new/").content.decode()
    assert 'name="incident_number"' in page and 'name="area_code"' in page
    assert 'name="parent_detained"' not in page  # the police's only
    assert 'name="reporter_org_type"' not in page and 'name="police_receipt"' in page
    assert f'value="桃花潭镇 {TOWNSHIP_1}"' in page and f' {COUNTY_A}"' not in page
    response = post_form(client, area_code="桃花潭镇")
    assert response.status_code == 302, response.context["form"].errors
    report = MandatoryReport.objects.get()
    assert (report.area_id, report.source, report.incident_number) == (
        TOWNSHIP_1,
        "hotline_12355",
        "12355-20261123-0002",
    )
    detail = client.get(response["Location"]).content.decode()
    assert "12355-20261123-0002" in detail and 'id="report-source"' in detail
    # In the line's own list ("my reports"), with its incident number.
    assert "12355-20261123-0002" in client.get("/reports/").content.decode()


def test_the_line_must_choose_a_township(client_for, api_client, hotline, frozen):
    client = client_for(hotline)
    # Left blank, or the county itself: refused next to the field, nothing filed.
    for area_code in ("", COUNTY_A):
        response = post_form(client, area_code=area_code)
        assert response.status_code == 200 and response.context["form"].has_error("area_code")
    api = api_client(hotline)
    for code in (None, COUNTY_A):
        refused = file_report(api, incident_number="12355-1", area_code=code)
        assert refused.status_code == 422 and "area_code" in refused.content.decode(), code
    refused = intake(api, township_code=None)
    assert refused.status_code == 422 and "township_code" in refused.content.decode()
    refused = intake(api, township_code=COUNTY_A)
    assert refused.status_code == 422 and "township_code" in refused.content.decode()
    refused = intake(api, township_code=VILLAGE_1)  # a village's code as a township's
    assert refused.status_code == 422 and "township_code" in refused.content.decode()
    refused = intake(api, township_code=TOWNSHIP_2, village_code=VILLAGE_1)
    assert refused.status_code == 422 and "village_code" in refused.content.decode()
    assert not MandatoryReport.objects.exists()
    # POST /api/v1/reports takes the township as area_code, as for any report.
    filed = file_report(api, incident_number="12355-1", area_code=VILLAGE_3)
    assert filed.status_code == 201 and filed.json()["township_code"] == TOWNSHIP_2
    assert MandatoryReport.objects.get().area_id == VILLAGE_3


def test_a_police_station_files_into_its_township(
    client_for, api_client, police, supervisor, frozen
):
    response = intake(api_client(police), incident_number="J-110-0001", village_code=VILLAGE_2)
    assert response.status_code == 201, response.content
    report = MandatoryReport.objects.get()
    assert (report.area_id, report.source, report.incident_number) == (
        VILLAGE_2,
        "police_110",
        "J-110-0001",
    )
    # The police are the police: told at once, the incident number as the receipt.
    assert report.police_notified_at is not None and report.police_receipt == "J-110-0001"
    assert response.json()["police_notified_at"] is not None
    # So no "police not told" reminder a day later.
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    assert not reminders("report_deadline").filter(rule="report_police").exists()
    # Through the form: its own township (the only township: typed or chosen), no police call.
    client = client_for(police)
    page = client.get("/reports/new/").content.decode()
    assert 'name="parent_detained"' in page and 'name="police_notified_at"' not in page
    response = post_form(client, incident_number="J-110-0002", area_code=TOWNSHIP_1)
    assert response.status_code == 302, response.context["form"].errors
    second = MandatoryReport.objects.get(incident_number="J-110-0002")
    assert (second.area_id, second.source, second.police_receipt) == (
        TOWNSHIP_1,
        "police_110",
        "J-110-0002",
    )


def test_a_township_outside_the_users_area_is_404(client_for, api_client, hotline, police):
    for user, code in (
        (hotline, TOWNSHIP_B),
        (hotline, "341823999000"),
        (police, TOWNSHIP_2),
        (police, VILLAGE_3),
    ):
        field = "village_code" if code.endswith("201") else "township_code"
        api = api_client(user)
        where = {"township_code": None, field: code}
        assert intake(api, **where).status_code == 404, (user, code)
        assert file_report(api, incident_number="X-1", area_code=code).status_code == 404
        assert post_form(client_for(user), area_code=code).status_code == 404, (user, code)
    assert not MandatoryReport.objects.exists()


def test_a_child_named_outside_the_area_is_404(api_client, police, director_a, frozen):
    elsewhere = make_child(
        UserFactory(role=Role.DIRECTOR, area_id=VILLAGE_3), name="章小明", gender="male"
    )
    assert intake(api_client(police), child_id=str(elsewhere.pk)).status_code == 404
    here = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    response = intake(api_client(police), township_code=None, child_id=str(here.pk))
    assert response.status_code == 201, response.content
    assert MandatoryReport.objects.get().area_id == VILLAGE_1


@pytest.mark.parametrize(
    "role_user", ["director_a", "supervisor", "civil_affairs", "viewer", "reporter"]
)
def test_other_roles_may_not_use_intake(api_client, request, role_user):
    user = request.getfixturevalue(role_user)
    assert intake(api_client(user)).status_code == 403
    assert not MandatoryReport.objects.exists()


def test_an_incident_number_or_a_detention_is_not_for_other_roles(
    api_client, client_for, hotline, reporter, director_a, frozen
):
    refused = file_report(api_client(reporter), incident_number="12355-1")
    assert refused.status_code == 422 and "incident_number" in refused.content.decode()
    assert file_report(api_client(director_a), parent_detained=True).status_code == 403
    # The line's source is its own; a detention is the police's.
    refused = intake(api_client(hotline), source="police_110")
    assert refused.status_code == 422 and "source" in refused.content.decode()
    assert intake(api_client(hotline), parent_detained=True).status_code == 403
    # A reporting body's form is unchanged.
    assert (
        'name="incident_number"' not in client_for(reporter).get("/reports/new/").content.decode()
    )
    assert not MandatoryReport.objects.exists()
    assert intake(api_client(hotline), source="hotline_12355").status_code == 201


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("", None),
        ("   ", None),
        ("A" * 51, None),
        ("J-110\x01-7", None),
        ("J-110\u202e-7", None),  # a direction mark: looks the same, searches differently
        ("J-110\n7", None),
        ("=cmd|' /C calc'!A0", None),
        ("@SUM(A1)", None),
        ("A" * 50, "A" * 50),
        (" 泾公(110)接字[2026]17号 ", "泾公(110)接字[2026]17号"),
    ],
)
def test_incident_number_validation(api_client, client_for, hotline, frozen, typed, stored):
    api = api_client(hotline)
    response = intake(api, incident_number=typed)
    if stored is None:
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == ["body", "incident_number"]
        page = post_form(client_for(hotline), incident_number=typed, area_code=TOWNSHIP_1)
        assert page.status_code == 200 and page.context["form"].has_error("incident_number")
        assert 'class="invalid-feedback' in page.content.decode()
        assert not MandatoryReport.objects.exists()
    else:
        assert response.status_code == 201, response.content
        assert MandatoryReport.objects.get().incident_number == stored


def test_hostile_input_on_the_form_is_refused_next_to_the_field(client_for, hotline, frozen):
    client = client_for(hotline)
    for field, value in (
        ("incident_number", "J\x00110"),
        ("area_code", "桃花\x00潭镇"),
        ("area_code", "桃" * 10_000),
        ("area_code", "=1+1"),
    ):
        response = post_form(client, **{"area_code": TOWNSHIP_1, field: value})
        assert response.status_code == 200 and response.context["form"].has_error(field), field
    assert not MandatoryReport.objects.exists()


# --- Scope: the line and the police see the reports they filed only -----------------------------


def test_the_line_sees_only_its_own_reports(
    api_client, client_for, hotline, director_a, areas, frozen
):
    other_line = UserFactory(username="hotline_2", role=Role.HOTLINE, area=areas[COUNTY_A])
    own = intake(api_client(hotline)).json()["id"]
    theirs = intake(api_client(other_line)).json()["id"]
    director_report = file_report(api_client(director_a)).json()["id"]
    api = api_client(hotline)
    listing = api.get("/api/v1/reports").json()
    assert (listing["count"], [r["id"] for r in listing["items"]]) == (1, [own])
    for report_id in (theirs, director_report):
        assert api.get(f"/api/v1/reports/{report_id}").status_code == 404
        assert client_for(hotline).get(f"/reports/{report_id}/").status_code == 404
    assert client_for(hotline).get(f"/reports/{own}/").status_code == 200


def test_who_sees_what_of_an_intake_report(api_client, police, director_a, supervisor, frozen):
    report_id = detained(api_client(police)).json()["id"]
    # Everyone who reads the report reads where it came from; who filed it, only the supervisor
    # and civil affairs (reporters' identity).
    for user, reporter in ((director_a, None), (supervisor, "民警"), (police, None)):
        seen = api_client(user).get(f"/api/v1/reports/{report_id}").json()
        assert (seen["source"], seen["incident_number"], seen["parent_detained"]) == (
            "police_110",
            "J3418231032026112300017",
            True,
        )
        assert seen["reporter"] == reporter, user
        assert all(t["by"] is None for t in seen["transitions"]) == (reporter is None)


def test_the_queue_of_the_line_runs_a_constant_number_of_queries(
    client_for, hotline, frozen, django_assert_max_num_queries
):
    def add(first, n):
        MandatoryReport.objects.bulk_create(
            MandatoryReport(
                situation="living_alone",
                discovered_at=timezone.now(),
                description="来电",
                child_name=f"孩子{i}",
                area_id=TOWNSHIP_1,
                reporter=hotline,
                source="hotline_12355",
                incident_number=f"12355-{i:04d}",
                parent_detained=bool(i % 2),
                stage_changed_at=timezone.now(),
            )
            for i in range(first, first + n)
        )

    client = client_for(hotline)
    add(0, 2)
    client.get("/reports/")
    with django_assert_max_num_queries(12) as few:
        client.get("/reports/")
    add(2, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/reports/").content.decode()
    assert page.count("12355-0") == 32


# --- A parent detained, minor children at home ----------------------------------------------


def test_a_detained_parents_children_are_checked_within_24_hours(
    api_client, client_for, police, director_mail, director_b, supervisor, civil_affairs, frozen
):
    response = detained(api_client(police))
    assert response.status_code == 201, response.content
    report = MandatoryReport.objects.get(pk=response.json()["id"])
    assert (report.situation, report.parent_detained, report.area_id) == (
        "guardian_incapable",
        True,
        VILLAGE_1,
    )
    # At once, before any sweep: the village's director is asked to check, by 24 hours on.
    check = reminders("detention_check", report_id=report.pk)
    assert [(n.recipient, n.due_date) for n in check] == [(director_mail, date(2026, 11, 24))]
    assert check.get().detail == "父母被羁押，请于2026-11-24 10:00前核查子女情况"
    # ... and sent now, not in tomorrow's digest.
    outbox.run_inline()
    assert [m.to for m in mail.outbox] == [["cjw@example.cn"]]
    assert detention_check_notify(report_id=str(report.pk)) == 0  # idempotent
    listing = api_client(director_mail).get("/api/v1/reminders?status=open").json()
    assert [(r["kind"], r["report_id"]) for r in listing["items"]] == [
        ("detention_check", str(report.pk))
    ]
    assert not Notification.objects.filter(recipient__in=[director_b, civil_affairs]).exists()
    # The report page asks the director, who may record the check; the police may not.
    page = client_for(director_mail).get(f"/reports/{report.pk}/").content.decode()
    assert 'id="detention-check"' in page and "/detention-check/" in page
    assert (
        "/detention-check/" not in client_for(police).get(f"/reports/{report.pk}/").content.decode()
    )
    # Still open, not escalated, at 23 h 59 and at 24 h exactly.
    for moment in ("2026-11-24 09:59 +0800", "2026-11-24 10:00 +0800"):
        frozen.move_to(moment)
        reminders_sweep()
        assert check.get().resolved_at is None, moment
        assert not reminders("escalation", report_id=report.pk).exists(), moment
    # After 24 hours: the township supervisor is told within ten minutes (the urgent sweep,
    # beat), not at the next morning's sweep; and sent at once.
    frozen.move_to("2026-11-24 10:01 +0800")
    assert reminders_sweep_urgent() == 1
    assert reminders_sweep_urgent() == 0  # idempotent
    late = reminders("escalation", report_id=report.pk)
    assert [(n.recipient, n.rule) for n in late] == [(supervisor, "detention_check_late")]
    assert OutboxMessage.objects.filter(task="reminders.send_digest", args=[supervisor.pk]).exists()
    reminders_sweep()  # the daily sweep agrees: the same one reminder
    assert [(n.recipient, n.rule) for n in late] == [(supervisor, "detention_check_late")]
    assert (
        "/detention-check/" in client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    )
    # The director records the check on the report page: both reminders resolved at once.
    frozen.move_to("2026-11-24 11:30 +0800")
    response = client_for(director_mail).post(
        f"/reports/{report.pk}/detention-check/",
        {"outcome": "placed_with_relatives", "note": "已送至外婆家照料"},
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.detention_checked_by == director_mail
    assert report.detention_checked_at.isoformat() == "2026-11-24T03:30:00+00:00"
    assert not reminders("detention_check").filter(resolved_at__isnull=True).exists()
    assert not reminders("escalation").filter(resolved_at__isnull=True).exists()
    reminders_sweep()
    assert reminders("detention_check").count() == 1 and reminders("escalation").count() == 1
    assert (
        not Notification.objects.filter(resolved_at__isnull=True)
        .exclude(kind__in=["assessment_due", "report_deadline"])
        .exists()
    )
    # The timeline keeps who found what; the stage has not moved.
    row = ReportTransition.objects.get(report=report, data__has_key="detention_check")
    assert (row.from_stage, row.to_stage, row.by, row.note) == (
        "reported",
        "reported",
        director_mail,
        "已送至外婆家照料",
    )
    page = client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    assert "已送至外婆家照料" in page and "/detention-check/" not in page
    seen = api_client(supervisor).get(f"/api/v1/reports/{report.pk}").json()
    assert seen["detention_check_outcome"] == "placed_with_relatives"
    assert seen["detention_checked_at"] is not None and seen["stage"] == "reported"
    assert [t["to_stage"] for t in seen["transitions"]] == ["reported"]
    # The police see that it was done, not what was found.
    by_police = api_client(police).get(f"/api/v1/reports/{report.pk}").json()
    assert by_police["detention_checked_at"] is not None
    assert by_police["detention_check_outcome"] is None
    assert (
        "已送至外婆家照料" not in client_for(police).get(f"/reports/{report.pk}/").content.decode()
    )


def test_a_check_before_24_hours_means_no_escalation(
    api_client, police, director_a, supervisor, frozen
):
    report_id = detained(api_client(police)).json()["id"]
    frozen.move_to("2026-11-23 18:00 +0800")
    response = api_client(director_a).post(
        f"/api/v1/reports/{report_id}/detention-check",
        {"outcome": "safe", "note": "祖母在家照料"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["detention_check_outcome"] == "safe"
    checked_at = datetime.fromisoformat(response.json()["detention_checked_at"])
    assert checked_at == datetime.fromisoformat("2026-11-23T18:00:00+08:00")
    frozen.move_to("2026-11-25 08:00 +0800")
    reminders_sweep()
    assert not reminders("escalation").exists()
    assert reminders("detention_check").get().resolved_at is not None


@pytest.mark.parametrize(
    ("where", "directors", "expected"),
    [
        # Only the township chosen: its supervisor checks.
        ({"township_code": TOWNSHIP_1, "village_code": None}, True, ["supervisor"]),
        # A village with no director in post: its township's supervisor.
        ({"village_code": VILLAGE_2}, False, ["supervisor"]),
        # Two directors in the village: both asked.
        ({"village_code": VILLAGE_1}, True, ["director_a", "director_a2"]),
    ],
)
def test_who_is_asked_to_check(
    api_client, police, director_a, supervisor, areas, frozen, where, directors, expected
):
    UserFactory(username="director_a2", role=Role.DIRECTOR, area=areas[VILLAGE_1])
    response = detained(api_client(police), **where)
    assert response.status_code == 201, response.content
    check = reminders("detention_check", report_id=response.json()["id"])
    assert [n.recipient.username for n in check] == expected


def test_no_director_and_no_supervisor_asks_county_civil_affairs(
    api_client, police, civil_affairs, frozen
):
    report_id = detained(api_client(police), village_code=VILLAGE_2).json()["id"]
    assert [n.recipient for n in reminders("detention_check", report_id=report_id)] == [
        civil_affairs
    ]
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    assert [(n.recipient, n.rule) for n in reminders("escalation", report_id=report_id)] == [
        (civil_affairs, "detention_check_late_county")
    ]


def test_a_detention_filed_through_the_police_form(client_for, police, director_a, frozen):
    client = client_for(police)
    response = post_form(
        client,
        incident_number="J-110-0009",
        area_code=VILLAGE_1,
        situation="",
        parent_detained="on",
    )
    assert response.status_code == 302, response.context["form"].errors
    report = MandatoryReport.objects.get()
    assert (report.parent_detained, report.situation) == (True, "guardian_incapable")
    assert reminders("detention_check").get().recipient == director_a
    # Without a detention, the situation is still asked.
    refused = post_form(client, incident_number="J-110-0010", area_code=VILLAGE_1, situation="")
    assert refused.status_code == 200 and refused.context["form"].has_error("situation")


def test_recording_the_check_is_the_case_workers_in_scope(
    api_client, police, hotline, director_a, director_b, outsider, viewer, supervisor, frozen
):
    report_id = detained(api_client(police)).json()["id"]

    def check(user, **body):
        return api_client(user).post(
            f"/api/v1/reports/{report_id}/detention-check",
            {"outcome": "safe", **body},
            content_type="application/json",
        )

    assert check(outsider).status_code == 404
    assert check(director_b).status_code == 404  # the next village's
    assert check(hotline).status_code == 404  # not the line's report
    assert check(police).status_code == 403
    assert check(viewer).status_code == 403
    refused = check(director_a, outcome="unknown")
    assert refused.status_code == 422 and "outcome" in refused.content.decode()
    refused = check(director_a, outcome="needs_action")
    assert refused.status_code == 422 and "note" in refused.content.decode()
    assert check(director_a, outcome="needs_action", note="需临时安置").status_code == 200
    assert check(supervisor).status_code == 409  # already recorded
    # A report without a detained parent has no check to record.
    plain = intake(api_client(police)).json()["id"]
    response = api_client(supervisor).post(
        f"/api/v1/reports/{plain}/detention-check",
        {"outcome": "safe"},
        content_type="application/json",
    )
    assert response.status_code == 409


def test_a_refused_check_on_the_page_says_why(client_for, api_client, police, director_a, frozen):
    report_id = detained(api_client(police)).json()["id"]
    client = client_for(director_a)
    response = client.post(
        f"/reports/{report_id}/detention-check/", {"outcome": "needs_action"}, follow=True
    )
    assert MandatoryReport.objects.get().detention_checked_at is None
    assert any("请说明子女的需求" in str(m) for m in response.context["messages"])
    assert client_for(police).post(f"/reports/{report_id}/detention-check/", {}).status_code == 403


# --- The new roles: home, menu, and the pages they must not see ----------------------------------


@pytest.mark.parametrize("role_user", ["hotline", "police"])
def test_home_and_menu_of_the_line_and_the_police(client_for, request, role_user):
    from accounts.context_processors import nav_items_for

    user = request.getfixturevalue(role_user)
    home = client_for(user).get("/").content.decode()
    assert 'href="/reports/new/"' in home and 'href="/reports/"' in home
    assert 'id="home-intake"' in home  # their intake, not a reporting body's duty
    assert {item["url_name"] for item in nav_items_for(user)} == {"home", "reporting:queue"}


def test_a_reporting_bodys_home_is_unchanged(client_for, reporter):
    home = client_for(reporter).get("/").content.decode()
    assert 'href="/reports/new/"' in home and 'id="home-intake"' not in home


@pytest.mark.parametrize("role_user", ["hotline", "police"])
def test_the_line_and_the_police_see_no_case_files(
    client_for, api_client, request, director_a, frozen, role_user
):
    user = request.getfixturevalue(role_user)
    child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    client = client_for(user)
    for path in (
        "/children/",
        f"/children/{child.pk}/",
        "/visits/",
        "/visits/township/",
        "/children/subsidies/queue/",
        "/dashboard/",
        "/roster/",
        "/areas/",
    ):
        # In their area, not for their role: 403.
        assert client.get(path).status_code == 403, path
    api = api_client(user)
    for path in (
        "/api/v1/children",
        f"/api/v1/children/{child.pk}",
        f"/api/v1/children/{child.pk}/visits",
        f"/api/v1/stats?area={COUNTY_A}",
    ):
        assert api.get(path).status_code == 403, path
    # Nor do they move a report's stages (the township's and civil affairs').
    report_id = intake(api).json()["id"]
    moved = api.post(
        f"/api/v1/reports/{report_id}/transitions",
        {"to": "police_received", "note": ""},
        content_type="application/json",
    )
    assert moved.status_code == 403


@pytest.mark.parametrize(
    ("role", "code", "accepted"),
    [
        ("police", VILLAGE_1, False),
        ("police", TOWNSHIP_1, True),
        ("police", COUNTY_A, True),
        ("hotline", TOWNSHIP_1, False),
        ("hotline", COUNTY_A, True),
    ],
)
def test_add_staff_places_the_new_roles(areas, role, code, accepted):
    args = ("add_staff", "jing", "--role", role, "--area", code, "--password", "Qingshan-2026")
    if accepted:
        call_command(*args)
        assert User.objects.get(username="jing").role == role
    else:
        with pytest.raises(CommandError):
            call_command(*args)
        assert not User.objects.filter(username="jing").exists()


def test_the_reminders_detail_reads_in_english_too():
    from django.utils import translation

    from reminders.details import shown_detail
    from reminders.services import DETENTION_LATE_DETAIL

    with translation.override("en"):
        assert shown_detail("父母被羁押，请于2026-11-24 10:00前核查子女情况") == (
            "A parent was detained: check on the children by 2026-11-24 10:00"
        )
        assert shown_detail(DETENTION_LATE_DETAIL) == (
            "A parent was detained: the children were not checked within 24 hours"
        )
