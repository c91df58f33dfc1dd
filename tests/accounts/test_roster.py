"""Issue 21, point 1: the roster of child directors and supervisors and their trainings — the
rule of the training year, its SQL (the reminder's selection), the pages and the API, scope
(404 outside the area), role (403), audit, hostile input, and query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts import permissions, roster, rules, selectors
from accounts.models import (
    AuditAction,
    AuditRecord,
    Role,
    RosterEntry,
    Training,
    TrainingAttendance,
    User,
)
from accounts.permissions import Capability

from ..conftest import COUNTY_A, COUNTY_B, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_B
from ..factories import PDF_BYTES, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)
NUL_MESSAGE = "不能包含空字符（NUL）"
NOT_A_DOCUMENT = "只能上传JPG、PNG图片或PDF文件"
TOO_BIG = "文件不能超过10MB"
DIRECTOR_PHONE = "13912345678"


def formula_message() -> str:
    """The formula refusal as the page shows it (Chinese once locale/ has it)."""
    with translation.override("zh-hans"):
        return translation.gettext(
            "Must not begin with =, +, - or @: a spreadsheet would run it as a formula."
        )


@pytest.fixture
def frozen_today():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def county_b_officer(areas) -> User:
    return UserFactory(username="civil_b", role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_B])


@pytest.fixture
def colleague(areas) -> User:
    """A second director of village 1 (a village may have more than one)."""
    return UserFactory(username="director_a2", role=Role.DIRECTOR, area=areas[VILLAGE_1])


def pdf(name: str = "certificate.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def record(officer, attendees, *, held_on=date(2026, 11, 1), **extra) -> Training:
    values = {"subject": "儿童主任示范培训", "hours": 6, "organiser": "泾县民政局"} | extra
    return roster.training_record(
        user=officer, held_on=held_on, attendees=[p.username for p in attendees], **values
    )


# --- The rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_ago", "trained"), [(364, True), (365, True), (366, False)], ids=str)
def test_trained_within_the_last_year_at_the_boundary(days_ago, trained):
    due = rules.training_due(
        last_trained_on=TODAY - timedelta(days=days_ago),
        appointed_on=None,
        joined_on=date(2020, 1, 1),
    )
    assert rules.trained_within_year(due, TODAY) is trained


def test_the_year_runs_from_the_later_of_training_and_appointment_else_the_account():
    joined = date(2020, 1, 1)
    old_training, appointed = date(2024, 3, 1), date(2026, 2, 1)
    due = rules.training_due(last_trained_on=old_training, appointed_on=appointed, joined_on=joined)
    assert due == appointed + timedelta(days=365)  # a new director has their first year
    due = rules.training_due(last_trained_on=None, appointed_on=None, joined_on=joined)
    assert due == joined + timedelta(days=365)
    later_training = date(2026, 5, 1)
    due = rules.training_due(
        last_trained_on=later_training, appointed_on=appointed, joined_on=joined
    )
    assert due == later_training + timedelta(days=365)


def test_the_reminder_opens_30_days_before_the_year_ends_and_stays_open():
    due = TODAY + timedelta(days=30)
    assert rules.training_reminder_due(due, TODAY)
    assert not rules.training_reminder_due(due + timedelta(days=1), TODAY)
    assert rules.training_reminder_due(TODAY - timedelta(days=100), TODAY)  # a missed day


def test_in_post():
    assert rules.in_post(is_active=True, appointed_on=None, left_on=None, today=TODAY)
    assert not rules.in_post(is_active=False, appointed_on=None, left_on=None, today=TODAY)
    assert not rules.in_post(
        is_active=True, appointed_on=TODAY + timedelta(1), left_on=None, today=TODAY
    )
    assert rules.in_post(
        is_active=True, appointed_on=TODAY, left_on=TODAY + timedelta(1), today=TODAY
    )
    assert not rules.in_post(is_active=True, appointed_on=None, left_on=TODAY, today=TODAY)


# --- The same rule in SQL: the roster's annotations and the reminder's selection ---------------


def _set_joined(user: User, day: date) -> None:
    User.objects.filter(pk=user.pk).update(date_joined=f"{day.isoformat()}T09:00:00+08:00")


def test_the_sql_agrees_with_the_rule(
    frozen_today, director_a, director_b, supervisor, civil_affairs
):
    for person in (director_a, director_b, supervisor):
        _set_joined(person, date(2024, 1, 10))
    RosterEntry.objects.create(user=director_b, appointed_on=date(2026, 3, 1))
    record(civil_affairs, [director_a], held_on=date(2025, 11, 22))
    record(civil_affairs, [director_a, director_b], held_on=date(2025, 1, 5))
    found = {p.username: p for p in selectors.roster_for_user(user=civil_affairs)}
    for person in (director_a, director_b, supervisor):
        entry = RosterEntry.objects.filter(user=person).first()
        last = (
            Training.objects.filter(attendances__person=person)
            .order_by("-held_on")
            .values_list("held_on", flat=True)
            .first()
        )
        expected = rules.training_due(
            last_trained_on=last,
            appointed_on=entry.appointed_on if entry else None,
            joined_on=date(2024, 1, 10),
        )
        assert found[person.username].training_due == expected, person
        assert found[person.username].last_trained_on == last
    assert found["director_a"].training_due == date(2026, 11, 22)  # trained 366 days ago
    assert found["director_b"].training_due == date(2027, 3, 1)  # appointed since


def _due_selected(today: date) -> dict[str, date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.username, s.due_date FROM (" + selectors.training_due_select_sql() + ") s"
            " JOIN accounts_user u ON u.id = s.user_id",
            {"today": today},
        )
        return dict(cursor.fetchall())


def test_the_reminder_selection_30_days_before_and_after(director_a, supervisor, civil_affairs):
    _set_joined(director_a, date(2024, 1, 10))
    _set_joined(supervisor, date(2024, 1, 10))
    with time_machine.travel("2025-12-01 10:00 +0800", tick=False):
        record(civil_affairs, [director_a, supervisor], held_on=date(2025, 12, 1))
    due = date(2026, 12, 1)
    assert _due_selected(due - timedelta(days=31)) == {}
    assert _due_selected(due - timedelta(days=30)) == {"director_a": due, "supervisor": due}
    assert _due_selected(due + timedelta(days=200)) == {"director_a": due, "supervisor": due}
    # Left the post, or an account no longer in use: no reminder. Civil affairs: never listed.
    RosterEntry.objects.create(user=supervisor, left_on=due - timedelta(days=10))
    assert _due_selected(due) == {"director_a": due}
    User.objects.filter(pk=director_a.pk).update(is_active=False)
    assert _due_selected(due) == {}
    # Back in post and trained again: the due date moves a year on, the reminder ends.
    User.objects.filter(pk=director_a.pk).update(is_active=True)
    with time_machine.travel("2026-11-20 10:00 +0800", tick=False):
        record(civil_affairs, [director_a], held_on=date(2026, 11, 20))
    assert _due_selected(due) == {}
    assert _due_selected(date(2027, 10, 21)) == {"director_a": date(2027, 11, 20)}


# --- Pages: the roster list -------------------------------------------------------------------


def test_the_supervisor_reads_the_township_roster(
    frozen_today, client_for, supervisor, director_a, director_b, other_supervisor, outsider
):
    response = client_for(supervisor).get("/roster/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "查文静" in body and "王玉兰" in body and "查丽萍" in body
    assert "other_supervisor" not in body and "outsider" not in body
    # Every person shown is a view of personal data: audited, in each person's area.
    audited = AuditRecord.objects.filter(
        user=supervisor, action=AuditAction.VIEW, object_type="roster"
    )
    assert set(audited.values_list("object_id", "area_code")) == {
        ("director_a", VILLAGE_1),
        ("director_b", director_b.area_id),
        ("supervisor", TOWNSHIP_1),
    }


def test_the_area_picker_narrows_the_list_and_refuses_other_counties(
    frozen_today, client_for, civil_affairs, director_a, other_supervisor
):
    client = client_for(civil_affairs)
    body = client.get(f"/roster/?area={TOWNSHIP_2}").content.decode()
    assert "other_supervisor" in body and "director_a" not in body
    assert client.get(f"/roster/?area={COUNTY_B}").status_code == 404
    assert client.get(f"/roster/?area={VILLAGE_B}").status_code == 404


def test_another_countys_officer_sees_none_of_county_a(
    frozen_today, client_for, county_b_officer, director_a
):
    client = client_for(county_b_officer)
    assert "director_a" not in client.get("/roster/").content.decode()
    assert client.get("/roster/people/director_a/").status_code == 404
    assert client.get("/roster/people/director_a/edit/").status_code == 404
    # The refused access is audited in the record's area, for county A's civil affairs.
    assert AuditRecord.objects.filter(
        user=county_b_officer, action=AuditAction.DENIED, area_code=VILLAGE_1
    ).exists()


def test_a_director_reads_only_their_own_record(
    frozen_today, client_for, director_a, director_b, colleague
):
    client = client_for(director_a)
    response = client.get("/roster/")
    assert response.status_code == 302 and response["Location"] == "/roster/people/director_a/"
    assert client.get("/roster/people/director_a/").status_code == 200
    # A colleague of the same village: in the director's area, not theirs to read.
    assert client.get("/roster/people/director_a2/").status_code == 403
    # Another village: outside the director's area.
    assert client.get("/roster/people/director_b/").status_code == 404
    assert client.get("/roster/people/director_a/edit/").status_code == 403


@pytest.mark.parametrize("who", ["reporter", "security_officer", "auditor", "admin_user"])
def test_roles_without_the_roster_are_refused(frozen_today, request, client_for, director_a, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/roster/").status_code == 403
    assert client.get("/roster/people/director_a/").status_code == 403
    assert client.get("/roster/trainings/").status_code == 403
    assert client.get("/roster/trainings/new/").status_code == 403


def test_phone_numbers_are_masked_unless_the_role_may_see_them(
    frozen_today, client_for, supervisor, civil_affairs, viewer, director_a
):
    User.objects.filter(pk=director_a.pk).update(phone=DIRECTOR_PHONE)
    masked = "139****5678"
    for user, full in ((supervisor, False), (viewer, False), (civil_affairs, True)):
        for url in ("/roster/", "/roster/people/director_a/"):
            body = client_for(user).get(url).content.decode()
            assert (DIRECTOR_PHONE in body) is full, (user, url)
            assert (masked in body) is not full, (user, url)
    # The director reads their own number.
    assert (
        DIRECTOR_PHONE in client_for(director_a).get("/roster/people/director_a/").content.decode()
    )


def test_the_roster_list_costs_the_same_for_3_or_30_people(
    frozen_today, client_for, civil_affairs, director_a, director_b, supervisor, areas
):
    client = client_for(civil_affairs)
    record(civil_affairs, [director_a, supervisor])
    client.get("/roster/")  # warm the session and caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/roster/").status_code == 200
        return len(captured)

    few = queries()
    for n in range(27):
        person = UserFactory(username=f"director_x{n}", role=Role.DIRECTOR, area=areas[VILLAGE_1])
        RosterEntry.objects.create(user=person, appointed_on=date(2025, 1, 1), post="social_worker")
    record(civil_affairs, list(User.objects.filter(username__startswith="director_x")))
    assert queries() == few


def test_the_untrained_filter(frozen_today, client_for, civil_affairs, director_a, director_b):
    _set_joined(director_a, date(2024, 1, 1))
    _set_joined(director_b, date(2024, 1, 1))
    record(civil_affairs, [director_b], held_on=date(2026, 6, 1))
    body = client_for(civil_affairs).get("/roster/?untrained=1").content.decode()
    assert "director_a" in body and "director_b" not in body


# --- Pages: a person's record and its appointment ---------------------------------------------


def test_the_person_page_shows_the_appointment_and_trainings(
    frozen_today, client_for, civil_affairs, supervisor, director_a
):
    RosterEntry.objects.create(
        user=director_a,
        appointed_on=date(2023, 3, 1),
        post="village_committee",
        qualification="助理社会工作师",
    )
    record(civil_affairs, [director_a], certificate=pdf())
    response = client_for(supervisor).get("/roster/people/director_a/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "2023-03-01" in body and "助理社会工作师" in body and "儿童主任示范培训" in body
    assert "/edit/" not in body  # the supervisor may not edit appointments
    assert AuditRecord.objects.filter(
        user=supervisor, action=AuditAction.VIEW, object_type="roster", object_id="director_a"
    ).exists()


def test_civil_affairs_edit_an_appointment_audited(
    frozen_today, client_for, civil_affairs, director_a
):
    client = client_for(civil_affairs)
    assert client.get("/roster/people/director_a/edit/").status_code == 200
    response = client.post(
        "/roster/people/director_a/edit/",
        {
            "appointed_on": "2024-02-01",
            "post": "social_worker",
            "post_detail": "",
            "qualification": "社会工作者职业资格",
            "left_on": "",
        },
    )
    assert response.status_code == 302
    entry = RosterEntry.objects.get(user=director_a)
    assert (entry.appointed_on, entry.post, entry.updated_by) == (
        date(2024, 2, 1),
        "social_worker",
        civil_affairs,
    )
    change = AuditRecord.objects.get(action=AuditAction.ROSTER_CHANGED)
    assert (change.user, change.object_id, change.area_code) == (
        civil_affairs,
        "director_a",
        VILLAGE_1,
    )
    assert change.detail["after"]["post"] == "social_worker"
    assert change.detail["before"]["appointed_on"] is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("qualification", "大专\x00", NUL_MESSAGE),
        ("qualification", "=CMD()", None),
        ("post_detail", "@SUM(A1)", None),
    ],
    ids=["nul", "formula", "formula-at"],
)
def test_hostile_appointment_text_is_refused_next_to_the_field(
    frozen_today, client_for, civil_affairs, director_a, field, value, message
):
    data = {"appointed_on": "2024-02-01", "post": "other", "post_detail": "妇联主席"}
    data[field] = value
    response = client_for(civil_affairs).post("/roster/people/director_a/edit/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors[field] == [message or formula_message()]
    assert not RosterEntry.objects.exists()
    assert not AuditRecord.objects.filter(action=AuditAction.ROSTER_CHANGED).exists()


def test_leaving_before_the_appointment_is_refused(
    frozen_today, client_for, civil_affairs, director_a
):
    response = client_for(civil_affairs).post(
        "/roster/people/director_a/edit/",
        {"appointed_on": "2024-02-01", "left_on": "2024-01-01", "post": ""},
    )
    assert response.status_code == 200
    assert "left_on" in response.context["form"].errors
    assert not RosterEntry.objects.exists()


# --- Pages: a training for many people --------------------------------------------------------


def test_civil_affairs_record_a_training_for_many_at_once(
    frozen_today, client_for, civil_affairs, director_a, director_b, supervisor, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(civil_affairs)
    page = client.get(f"/roster/trainings/new/?area={TOWNSHIP_1}")
    assert page.status_code == 200
    assert {"director_a", "director_b", "supervisor"} <= set(
        p.username for p in page.context["candidates"]
    )
    response = client.post(
        "/roster/trainings/new/",
        {
            "area": TOWNSHIP_1,
            "held_on": "2026-11-20",
            "subject": "强制报告制度培训",
            "hours": "3.5",
            "organiser": "泾县民政局",
            "attendees": ["director_a", "director_b", "supervisor"],
            "certificate": pdf(),
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    training = Training.objects.get()
    assert response["Location"] == f"/roster/trainings/{training.pk}/"
    assert set(training.attendees.values_list("username", flat=True)) == {
        "director_a",
        "director_b",
        "supervisor",
    }
    assert training.certificate_content_type == "application/pdf"
    assert training.area_id == COUNTY_A and training.recorded_by == civil_affairs
    recorded = AuditRecord.objects.filter(action=AuditAction.TRAINING_RECORDED)
    assert set(recorded.values_list("object_id", flat=True)) == {
        "director_a",
        "director_b",
        "supervisor",
    }
    # The people are trained now, on their pages and in the list's filter.
    body = client.get("/roster/?untrained=1").content.decode()
    assert "director_a" not in body
    detail = client.get(f"/roster/trainings/{training.pk}/").content.decode()
    assert "强制报告制度培训" in detail and "查文静" in detail
    download = client.get(f"/roster/trainings/{training.pk}/certificate/")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Cache-Control"] == "private, no-store"
    assert AuditRecord.objects.filter(
        action=AuditAction.VIEW, object_type="training_certificate", object_id=str(training.pk)
    ).exists()


def _training_post(**changes) -> dict:
    data = {
        "held_on": "2026-11-20",
        "subject": "儿童主任示范培训",
        "hours": "6",
        "organiser": "泾县民政局",
        "attendees": ["director_a"],
    }
    data.update(changes)
    return data


def _big_pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * (10 * 1024 * 1024))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"subject": "=CMD()"}, "subject", None),
        ({"organiser": "+1 民政局"}, "organiser", None),
        ({"organiser": "民政\x00局"}, "organiser", NUL_MESSAGE),
        ({"certificate": "text"}, "certificate", NOT_A_DOCUMENT),
        ({"certificate": "big"}, "certificate", TOO_BIG),
        ({"certificate": "exe"}, "certificate", NOT_A_DOCUMENT),
        ({"held_on": "2026-12-01"}, "held_on", None),
        ({"attendees": []}, "attendees", None),
    ],
    ids=["formula", "formula-plus", "nul", "not-a-document", "huge", "exe", "future", "nobody"],
)
def test_a_hostile_training_form_saves_nothing(
    frozen_today, client_for, civil_affairs, director_a, settings, tmp_path, changes, field, message
):
    settings.MEDIA_ROOT = tmp_path
    certificate = changes.pop("certificate", None)
    files = {
        "text": SimpleUploadedFile("c.pdf", b"just some text pretending"),
        "big": _big_pdf(),
        "exe": SimpleUploadedFile("c.pdf", b"MZ\x90\x00\x03" + b"\x00" * 64),
    }
    data = _training_post(**changes)
    if certificate:
        data["certificate"] = files[certificate]
    response = client_for(civil_affairs).post("/roster/trainings/new/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    if message is not None:
        assert errors[field] == [message]
    elif field in ("subject", "organiser"):
        assert errors[field] == [formula_message()]
    assert not Training.objects.exists() and not TrainingAttendance.objects.exists()
    assert not list(tmp_path.rglob("*.*"))
    assert not AuditRecord.objects.filter(action=AuditAction.TRAINING_RECORDED).exists()


def test_attendees_outside_the_area_cannot_be_ticked(
    frozen_today, client_for, civil_affairs, director_a, outsider
):
    response = client_for(civil_affairs).post(
        "/roster/trainings/new/", _training_post(attendees=["director_a", "outsider"])
    )
    assert response.status_code == 200
    assert "attendees" in response.context["form"].errors
    assert not Training.objects.exists()


def test_only_civil_affairs_record_trainings(
    frozen_today, client_for, supervisor, viewer, director_a
):
    for user in (supervisor, viewer, director_a):
        client = client_for(user)
        assert client.get("/roster/trainings/new/").status_code == 403
        assert client.post("/roster/trainings/new/", _training_post()).status_code == 403
    assert not Training.objects.exists()


def test_who_reads_a_training(
    frozen_today, client_for, civil_affairs, county_b_officer, director_a, director_b, supervisor,
    other_supervisor, settings, tmp_path,
):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    training = record(civil_affairs, [director_a], certificate=pdf())
    url = f"/roster/trainings/{training.pk}/"
    assert client_for(director_a).get(url).status_code == 200
    assert client_for(supervisor).get(url).status_code == 200
    for user in (director_b, other_supervisor, county_b_officer):
        client = client_for(user)
        assert client.get(url).status_code == 404, user
        assert client.get(url + "certificate/").status_code == 404, user
    # The attendee reads it in their list; the director who was not there does not.
    assert training.subject in client_for(director_a).get("/roster/trainings/").content.decode()
    assert training.subject not in client_for(director_b).get("/roster/trainings/").content.decode()
    # Reading is not replacing: the supervisor may not upload a certificate.
    response = client_for(supervisor).post(url + "certificate/", {"certificate": pdf("new.pdf")})
    assert response.status_code == 403


def test_a_training_list_costs_the_same_for_1_or_12_trainings(
    frozen_today, client_for, civil_affairs, director_a, supervisor
):
    client = client_for(civil_affairs)
    record(civil_affairs, [director_a])
    client.get("/roster/trainings/")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/roster/trainings/").status_code == 200
        return len(captured)

    one = queries()
    for n in range(11):
        record(civil_affairs, [director_a, supervisor], subject=f"培训{n}")
    assert queries() == one


# --- API --------------------------------------------------------------------------------------


def test_api_roster_list_is_scoped_and_paginated(
    frozen_today, api_client, supervisor, director_a, director_b, other_supervisor
):
    response = api_client(supervisor).get("/api/v1/roster?page_size=2")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3 and len(data["items"]) == 2
    page_two = api_client(supervisor).get("/api/v1/roster?page_size=2&page=2").json()
    usernames = {p["username"] for p in data["items"] + page_two["items"]}
    assert usernames == {"director_a", "director_b", "supervisor"}
    first = data["items"][0]
    assert set(first) >= {
        "username",
        "name",
        "role",
        "area_code",
        "phone",
        "phone_masked",
        "appointed_on",
        "post",
        "qualification",
        "left_on",
        "in_post",
        "last_trained_on",
        "training_due",
        "trained_within_year",
    }
    assert (
        AuditRecord.objects.filter(
            user=supervisor, action=AuditAction.API_READ, object_type="roster"
        ).count()
        == 3
    )


def test_api_roster_scope_and_roles(
    frozen_today, api_client, civil_affairs, county_b_officer, director_a, colleague, reporter
):
    assert api_client(civil_affairs).get(f"/api/v1/roster?area={COUNTY_B}").status_code == 404
    assert api_client(county_b_officer).get("/api/v1/roster/director_a").status_code == 404
    assert api_client(reporter).get("/api/v1/roster").status_code == 403
    assert api_client(reporter).get("/api/v1/roster/director_a").status_code == 403
    mine = api_client(director_a).get("/api/v1/roster").json()
    assert [p["username"] for p in mine["items"]] == ["director_a"]
    assert api_client(director_a).get("/api/v1/roster/director_a2").status_code == 403
    assert api_client(civil_affairs).get("/api/v1/roster/nobody").status_code == 404


def test_api_phone_follows_the_masking_table(
    frozen_today, api_client, supervisor, civil_affairs, director_a
):
    User.objects.filter(pk=director_a.pk).update(phone=DIRECTOR_PHONE)
    seen_by_supervisor = api_client(supervisor).get("/api/v1/roster/director_a").json()
    assert seen_by_supervisor["phone"] == "139****5678" == seen_by_supervisor["phone_masked"]
    assert (
        api_client(civil_affairs).get("/api/v1/roster/director_a").json()["phone"] == DIRECTOR_PHONE
    )


def test_api_patch_the_appointment(
    frozen_today, api_client, civil_affairs, supervisor, county_b_officer, director_a
):
    body = {"appointed_on": "2024-02-01", "post": "other", "post_detail": "村妇联主席"}
    assert (
        api_client(supervisor)
        .patch("/api/v1/roster/director_a", body, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        api_client(county_b_officer)
        .patch("/api/v1/roster/director_a", body, content_type="application/json")
        .status_code
        == 404
    )
    response = api_client(civil_affairs).patch(
        "/api/v1/roster/director_a", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["appointed_on"], data["post"], data["post_detail"]) == (
        "2024-02-01",
        "other",
        "村妇联主席",
    )
    # Only what is sent changes; null clears.
    response = api_client(civil_affairs).patch(
        "/api/v1/roster/director_a", {"appointed_on": None}, content_type="application/json"
    )
    assert response.json()["appointed_on"] is None and response.json()["post"] == "other"
    assert AuditRecord.objects.filter(action=AuditAction.ROSTER_CHANGED).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"qualification": "=CMD()"}, "qualification"),
        ({"qualification": "大专\u0000"}, "qualification"),
        ({"post": "village_head"}, "post"),
        ({"post": "other", "post_detail": ""}, "post_detail"),
        ({"appointed_on": "2024-05-01", "left_on": "2024-04-01"}, "left_on"),
    ],
    ids=["formula", "nul", "post", "other-unsaid", "dates"],
)
def test_api_patch_refuses_bad_values_naming_the_field(
    frozen_today, api_client, civil_affairs, director_a, body, field
):
    response = api_client(civil_affairs).patch(
        "/api/v1/roster/director_a", body, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert any(field in error["loc"] for error in response.json()["detail"]), response.json()
    assert not RosterEntry.objects.exists()


def test_api_record_a_training_and_list_it(
    frozen_today, api_client, civil_affairs, director_a, director_b, supervisor, county_b_officer
):
    body = {
        "held_on": "2026-11-20",
        "subject": "儿童主任示范培训",
        "hours": 6,
        "organiser": "泾县民政局",
        "attendees": ["director_a", "director_b", "supervisor"],
    }
    response = api_client(civil_affairs).post(
        "/api/v1/trainings", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["attendee_count"] == 3
    assert sorted(created["attendees"]) == ["director_a", "director_b", "supervisor"]
    assert created["has_certificate"] is False
    # The director reads it, with themselves only among the attendees.
    mine = api_client(director_a).get("/api/v1/trainings").json()
    assert mine["count"] == 1 and mine["items"][0]["attendees"] == ["director_a"]
    assert api_client(director_a).get(f"/api/v1/trainings/{created['id']}").status_code == 200
    assert api_client(county_b_officer).get(f"/api/v1/trainings/{created['id']}").status_code == 404
    assert api_client(county_b_officer).get("/api/v1/trainings").json()["count"] == 0
    # And the person's record lists it.
    person = api_client(civil_affairs).get("/api/v1/roster/director_a").json()
    assert [t["subject"] for t in person["trainings"]] == ["儿童主任示范培训"]
    assert person["last_trained_on"] == "2026-11-20" and person["trained_within_year"] is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": "=CMD()"}, "subject"),
        ({"organiser": "局\u0000"}, "organiser"),
        ({"attendees": ["director_a", "outsider"]}, "attendees"),
        ({"attendees": ["director_a", "civil_affairs"]}, "attendees"),
        ({"attendees": []}, "attendees"),
        ({"hours": 0}, "hours"),
        ({"hours": 1000}, "hours"),
        ({"held_on": "2027-01-01"}, "held_on"),
    ],
    ids=["formula", "nul", "outsider", "not-on-roster", "nobody", "no-hours", "hours", "future"],
)
def test_api_training_refuses_bad_values_and_saves_nothing(
    frozen_today, api_client, civil_affairs, director_a, outsider, changes, field
):
    body = {
        "held_on": "2026-11-20",
        "subject": "培训",
        "hours": 6,
        "organiser": "民政局",
        "attendees": ["director_a"],
    } | changes
    response = api_client(civil_affairs).post(
        "/api/v1/trainings", body, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert any(field in error["loc"] for error in response.json()["detail"]), response.json()
    assert not Training.objects.exists()
    # Unknown and outside the area read the same: the answer names no area.
    assert "341824" not in response.content.decode()


def test_api_only_civil_affairs_record(frozen_today, api_client, supervisor, director_a):
    body = {
        "held_on": "2026-11-20",
        "subject": "培训",
        "hours": 6,
        "organiser": "民政局",
        "attendees": ["director_a"],
    }
    for user in (supervisor, director_a):
        response = api_client(user).post("/api/v1/trainings", body, content_type="application/json")
        assert response.status_code == 403
    assert not Training.objects.exists()


def test_api_certificate_upload(
    frozen_today, api_client, civil_affairs, supervisor, director_a, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    training = record(civil_affairs, [director_a])
    url = f"/api/v1/trainings/{training.pk}/certificate"
    refused = api_client(civil_affairs).post(url, {"file": SimpleUploadedFile("c.pdf", b"text")})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "certificate"]
    assert api_client(supervisor).post(url, {"file": pdf()}).status_code == 403
    response = api_client(civil_affairs).post(url, {"file": pdf()})
    assert response.status_code == 200, response.content
    assert response.json()["has_certificate"] is True
    assert response.json()["certificate_content_type"] == "application/pdf"


def test_the_api_roster_list_costs_the_same_for_3_or_30(
    frozen_today, api_client, civil_affairs, director_a, director_b, supervisor, areas
):
    client = api_client(civil_affairs)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/roster").status_code == 200
            assert client.get("/api/v1/trainings").status_code == 200
        return len(captured)

    record(civil_affairs, [director_a])
    queries()  # the token's first use is written once
    few = queries()
    for n in range(27):
        UserFactory(username=f"director_y{n}", role=Role.DIRECTOR, area=areas[VILLAGE_1])
    record(civil_affairs, list(User.objects.filter(username__startswith="director_y")))
    assert queries() == few


def test_the_sweep_rule_shape(director_a, supervisor, civil_affairs):
    """What the reminder sweep runs (reminders.services, one SweepRule per role kept on the
    roster): (recipient, child, report, due date, detail), with the sweep's parameters."""
    _set_joined(director_a, date(2024, 1, 10))
    _set_joined(supervisor, date(2024, 1, 10))
    due = date(2024, 1, 10) + timedelta(days=365)  # 2024 is a leap year: 9 January
    rows = {}
    with connection.cursor() as cursor:
        for role in sorted(permissions.roles_with(Capability.ROSTER_LISTED)):
            cursor.execute(
                selectors.training_reminder_select_sql(role, "'请参加年度培训'"),
                {"today": due - timedelta(days=30), "now": "2024-12-11T08:00:00+08:00"},
            )
            rows[role] = cursor.fetchall()
    assert rows == {
        "director": [(director_a.pk, None, None, due, "请参加年度培训")],
        "supervisor": [(supervisor.pk, None, None, due, "请参加年度培训")],
    }
    with pytest.raises(ValueError):
        selectors.training_reminder_select_sql("civil_affairs")
