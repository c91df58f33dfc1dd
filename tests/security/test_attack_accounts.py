"""Issue 14, H2 and M1: separation of duties for accounts (等保 三权分立), every account change
audited, privileged second factors enrolled with a one-time code, API tokens that end and are
audited, and a system administrator with no case data."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import staff
from accounts.models import ApiToken, AuditAction, AuditRecord, Role, User

from ..conftest import COUNTY_A, TOWNSHIP_1, VILLAGE_1, VILLAGE_2
from ..factories import TEST_PASSWORD, UserFactory, make_child, make_id_number, make_orphan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]

USERS = "/manage/accounts/user/"
NEW_PASSWORD = "Fresh-Passw0rd-2026"


def _records(action: str, account: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action=action, object_id=account).order_by("id"))


def _admin_add(client: Client, **fields):
    data = {
        "username": "new_person",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "usable_password": "true",
        "name": "新人",
        "phone": "",
        "email": "",
        "role": Role.DIRECTOR,
        "area": VILLAGE_2,
        "_save": "Save",
    }
    data.update(fields)
    return client.post(f"{USERS}add/", data)


def _admin_change_data(user: User, **fields) -> dict:
    data = {
        "username": user.username,
        "name": user.name,
        "phone": user.phone,
        "email": user.email,
        "role": user.role,
        "area": user.area_id or "",
        "is_active": "on" if user.is_active else "",
        "_save": "Save",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not False}


# --- H2: the administrator cannot make or change the three system accounts ---------------------


def test_the_administrator_cannot_create_an_auditor_in_the_admin_site(admin_user, client_for):
    client = client_for(admin_user)
    form = client.get(f"{USERS}add/")
    assert form.status_code == 200
    offered = set(re.findall(r'<option value="(\w+)"', form.content.decode()))
    assert "director" in offered
    assert not offered & {"auditor", "security", "admin"}
    for role in ("auditor", "security", "admin"):
        response = _admin_add(client, username=f"sneaky_{role}", role=role, area=COUNTY_A)
        assert response.status_code == 200  # the form again, with the role refused
        assert not User.objects.filter(username=f"sneaky_{role}").exists()
    assert not AuditRecord.objects.filter(action=AuditAction.STAFF_CREATED).exists()


def test_the_administrator_cannot_change_a_system_account(admin_user, auditor, client_for):
    client = client_for(admin_user)
    change = f"{USERS}{auditor.pk}/change/"
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only
    response = client.post(change, _admin_change_data(auditor, role=Role.DIRECTOR, area=VILLAGE_1))
    assert response.status_code == 403
    response = client.post(
        f"{USERS}{auditor.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    auditor.refresh_from_db()
    assert auditor.role == Role.AUDITOR and auditor.check_password(TEST_PASSWORD)
    # Nor make a case worker a superuser or an administrator by changing the role.
    director = UserFactory(username="plain_director", role=Role.DIRECTOR, area=auditor.area)
    director.area_id = VILLAGE_1
    director.save()
    client.post(
        f"{USERS}{director.pk}/change/",
        _admin_change_data(director, role=Role.ADMIN, area="", is_superuser="on"),
    )
    director.refresh_from_db()
    assert director.role == Role.DIRECTOR and not director.is_superuser


def test_the_service_refuses_it_whatever_the_way_in(admin_user, security_officer, areas):
    from django.core.exceptions import PermissionDenied

    for role in (Role.AUDITOR, Role.SECURITY, Role.ADMIN):
        person = User(username=f"via_service_{role}", role=role, area=areas[COUNTY_A])
        if role == Role.ADMIN:
            person.area = None
        with pytest.raises(PermissionDenied):
            staff.staff_save(by=admin_user, user=person, via="test", password=NEW_PASSWORD)
    # …and the security officer does not manage the case workers.
    person = User(username="director_by_officer", role=Role.DIRECTOR, area=areas[VILLAGE_1])
    with pytest.raises(PermissionDenied):
        staff.staff_save(by=security_officer, user=person, via="test", password=NEW_PASSWORD)
    assert not User.objects.filter(username__startswith="via_service").exists()


def test_every_account_change_in_the_admin_site_is_audited(admin_user, client_for, areas):
    client = client_for(admin_user)
    response = _admin_add(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(username="new_person")
    (created,) = _records(AuditAction.STAFF_CREATED, "new_person")
    assert created.user_id == admin_user.pk and created.area_code == VILLAGE_2
    assert created.detail["after"]["role"] == "director"
    assert created.detail["after"]["is_superuser"] is False
    assert created.detail["via"] == staff.ADMIN_SITE
    assert created.detail["password_set"] is True

    # Role and area change.
    response = client.post(
        f"{USERS}{person.pk}/change/",
        _admin_change_data(person, role=Role.SUPERVISOR, area=TOWNSHIP_1),
    )
    assert response.status_code == 302
    (changed,) = _records(AuditAction.STAFF_CHANGED, "new_person")
    assert changed.detail["before"] == {"role": "director", "area_id": VILLAGE_2}
    assert changed.detail["after"] == {"role": "supervisor", "area_id": TOWNSHIP_1}
    assert "password" not in str(changed.detail)

    # Deactivation.
    person.refresh_from_db()
    client.post(f"{USERS}{person.pk}/change/", _admin_change_data(person, is_active=False))
    deactivated = _records(AuditAction.STAFF_CHANGED, "new_person")[-1]
    assert deactivated.detail["before"] == {"is_active": True}
    assert deactivated.detail["after"] == {"is_active": False}

    # A password set by the administrator.
    response = client.post(
        f"{USERS}{person.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    (password,) = _records(AuditAction.PASSWORD_CHANGED, "new_person")
    assert password.user_id == admin_user.pk and password.detail["via"] == staff.ADMIN_SITE
    # Accounts are deactivated, never deleted.
    assert client.post(f"{USERS}{person.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=person.pk).exists()


def test_a_users_own_password_change_is_audited(director_a, client_for):
    client = client_for(director_a)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    (record,) = _records(AuditAction.PASSWORD_CHANGED, "director_a")
    assert record.user_id == director_a.pk and record.detail["via"] == staff.OWN_ACCOUNT


def test_add_staff_on_the_server_may_create_any_role_and_is_audited(areas):
    call_command(
        "add_staff", "server_auditor", role="auditor", area=COUNTY_A, password=NEW_PASSWORD
    )
    (record,) = _records(AuditAction.STAFF_CREATED, "server_auditor")
    assert record.user_id is None and record.detail["by"] == staff.SERVER
    assert record.detail["after"]["role"] == "auditor"


# --- H2: the security officer's page for the system accounts ----------------------------------


def _code_for(device_key: str) -> str:
    totp = TOTP(bytes.fromhex(device_key))
    totp.time = timezone.now().timestamp()
    return f"{totp.token():06d}"


def _enrol(client: Client, enrolment_code: str | None):
    page = client.get("/accounts/two-factor/set-up/")
    assert page.status_code == 200
    key = TOTPDevice.objects.get(user=page.wsgi_request.user, confirmed=False).key
    data = {"token": _code_for(key)}
    if enrolment_code is not None:
        data["enrolment_code"] = enrolment_code
    return client.post("/accounts/two-factor/set-up/", data)


def test_security_officer_creates_an_auditor_who_enrols_only_with_a_code(
    security_officer, client_for, admin_user
):
    officer = client_for(security_officer)
    # The administrator has no such page.
    assert client_for(admin_user).get("/security/accounts/").status_code == 403
    response = officer.post(
        "/security/accounts/",
        {
            "username": "auditor_new",
            "role": "auditor",
            "area": COUNTY_A,
            "name": "新审计员",
            "password": NEW_PASSWORD,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    auditor = User.objects.get(username="auditor_new")
    assert auditor.role == Role.AUDITOR and not auditor.is_superuser
    (created,) = _records(AuditAction.STAFF_CREATED, "auditor_new")
    assert created.user_id == security_officer.pk
    assert created.detail["via"] == staff.SECURITY_PAGE

    # The auditor signs in with the password: no trust on first use.
    person = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert (
            person.post(
                "/accounts/login/", {"username": "auditor_new", "password": NEW_PASSWORD}
            ).status_code
            == 302
        )
        refused = _enrol(person, None)
        assert refused.status_code == 200
        assert "enrolment_code" in refused.context["form"].errors
        refused = _enrol(person, "AAAA-BBBB-CCCC")
        assert "enrolment_code" in refused.context["form"].errors
        assert not TOTPDevice.objects.filter(user=auditor, confirmed=True).exists()
        assert _records(AuditAction.MFA_FAILED, "auditor_new")

        # The officer issues a code (shown once) and hands it over.
        issued = officer.post("/security/enrolment-code/", {"user": auditor.pk})
        assert issued.status_code == 200
        code = re.search(r'id="enrolment-code">([A-Z0-9-]+)<', issued.content.decode())[1]
        assert issued["Cache-Control"] == "private, no-store"
        assert _records(AuditAction.ENROLMENT_CODE, "auditor_new")

        traveller.shift(timedelta(seconds=31))
        done = _enrol(person, code.lower().replace("-", " "))
        assert done.status_code == 302
        assert TOTPDevice.objects.filter(user=auditor, confirmed=True).exists()
        assert person.get("/audit/").status_code == 200

        # Used once: after a reset, the same code no longer enrols anyone.
        TOTPDevice.objects.filter(user=auditor).delete()
        again = Client()
        again.post("/accounts/login/", {"username": "auditor_new", "password": NEW_PASSWORD})
        traveller.shift(timedelta(seconds=31))
        assert "enrolment_code" in _enrol(again, code).context["form"].errors

        # A new code expires after 72 hours.
        issued = officer.post("/security/enrolment-code/", {"user": auditor.pk})
        late_code = re.search(r'id="enrolment-code">([A-Z0-9-]+)<', issued.content.decode())[1]
        traveller.shift(timedelta(hours=72, seconds=1))
        late = Client()
        late.post("/accounts/login/", {"username": "auditor_new", "password": NEW_PASSWORD})
        assert "enrolment_code" in _enrol(late, late_code).context["form"].errors
        assert not TOTPDevice.objects.filter(user=auditor, confirmed=True).exists()


def test_an_officer_issues_no_code_for_themselves_nor_for_case_workers(
    security_officer, director_a, client_for
):
    officer = client_for(security_officer)
    assert (
        officer.post("/security/enrolment-code/", {"user": security_officer.pk}).status_code == 403
    )
    assert officer.post("/security/enrolment-code/", {"user": director_a.pk}).status_code == 403
    assert not AuditRecord.objects.filter(action=AuditAction.ENROLMENT_CODE).exists()


def test_the_officers_form_refuses_case_workers_and_other_areas(
    security_officer, director_a, client_for, areas
):
    officer = client_for(security_officer)
    base = {"role": "auditor", "password": NEW_PASSWORD, "is_active": "on"}
    # A case worker's username: the administrator's, not here.
    response = officer.post(
        "/security/accounts/", {**base, "username": "director_a", "area": COUNTY_A}
    )
    assert response.status_code == 200 and "username" in response.context["form"].errors
    director_a.refresh_from_db()
    assert director_a.role == Role.DIRECTOR
    # An area outside the officer's county.
    response = officer.post(
        "/security/accounts/", {**base, "username": "far_auditor", "area": "341824000000"}
    )
    assert "area" in response.context["form"].errors
    # An area-less administrator is for a province-level officer only.
    response = officer.post(
        "/security/accounts/", {**base, "role": "admin", "username": "root2", "area": ""}
    )
    assert "area" in response.context["form"].errors
    assert not User.objects.filter(username__in=["far_auditor", "root2"]).exists()


# --- M1: API tokens end, and are audited when issued, used for a change, and revoked -------------


def test_tokens_expire_after_90_days_by_default(director_a, capsys):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        call_command("create_api_token", "director_a")
        raw = capsys.readouterr().out.strip().splitlines()[-1]
        token = ApiToken.objects.get(key_hash=ApiToken.hash(raw))
        assert token.expires_at == timezone.now() + timedelta(days=90)
        (issued,) = _records(AuditAction.TOKEN_ISSUED, "director_a")
        assert issued.detail["by"] == staff.SERVER
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        assert client.get("/api/v1/me").status_code == 200
        traveller.shift(timedelta(days=90, seconds=1))
        assert client.get("/api/v1/me").status_code == 401
        call_command("create_api_token", "director_a", days=7)
        short = capsys.readouterr().out.strip().splitlines()[-1]
        assert ApiToken.objects.get(key_hash=ApiToken.hash(short)).expires_at == (
            timezone.now() + timedelta(days=7)
        )


def test_a_write_with_a_token_and_its_revocation_are_audited(
    director_a, admin_user, api_client, client_for
):
    from accounts.services import api_token_create

    raw = api_token_create(user=director_a)
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/v1/children").status_code == 200
    assert not _records(AuditAction.TOKEN_USED, "director_a")
    response = client.post(
        "/api/v1/children",
        {
            "name": "令牌童",
            "gender": "male",
            "birth_date": "2016-03-08",
            "id_number": make_id_number("2016-03-08", "male"),
            "village_code": VILLAGE_1,
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    (used,) = _records(AuditAction.TOKEN_USED, "director_a")
    assert used.detail["method"] == "POST" and used.detail["token"] == raw[:8]

    token = ApiToken.objects.get(key_hash=ApiToken.hash(raw))
    admin = client_for(admin_user)
    response = admin.post(
        "/manage/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk], "index": 0},
    )
    assert response.status_code == 302
    (revoked,) = _records(AuditAction.TOKEN_REVOKED, "director_a")
    assert revoked.user_id == admin_user.pk
    assert client.get("/api/v1/children").status_code == 401


def test_the_superuser_has_no_case_data_even_with_a_token(
    admin_user, director_a, supervisor, civil_affairs, api_client, areas
):
    """M1: with its MFA-less token the superuser approved a benefit and read full ID numbers."""
    from benefits.services import subsidy_apply, subsidy_decide

    number = make_id_number("2014-05-01", area="341823", seq=81)
    orphan = make_orphan(director_a, name="令牌孤儿", birth_date=date(2014, 5, 1), id_number=number)
    application = subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance")
    subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    client = api_client(admin_user)
    response = client.post(
        f"/api/v1/subsidy-applications/{application.pk}/decisions",
        {"decision": "approve", "note": "root"},
        content_type="application/json",
    )
    assert response.status_code == 404
    application.refresh_from_db()
    assert application.status == "township_approved"
    for url in (
        "/api/v1/children",
        f"/api/v1/children/{orphan.pk}",
        "/api/v1/reports",
        f"/api/v1/stats?area={COUNTY_A}",
    ):
        response = client.get(url)
        assert response.status_code in (200, 403, 404), url
        assert number not in response.content.decode(), url
        assert "令牌孤儿" not in response.content.decode(), url
    # The county's officer still decides.
    make_child(director_a, name="旁证")
    assert api_client(civil_affairs).get(f"/api/v1/children/{orphan.pk}").status_code == 200


def test_the_server_issues_the_first_officers_code(security_officer, director_a, capsys):
    from django.core.management.base import CommandError

    call_command("issue_enrolment_code", security_officer.username)
    code = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    (record,) = _records(AuditAction.ENROLMENT_CODE, security_officer.username)
    assert record.detail["by"] == staff.SERVER
    assert staff.enrolment_code_redeem(user=security_officer, code=code)
    assert not staff.enrolment_code_redeem(user=security_officer, code=code)
    with pytest.raises(CommandError):
        call_command("issue_enrolment_code", director_a.username)


def test_the_administrator_still_keeps_areas_staff_and_settings(admin_user, client_for, areas):
    """No case data is not no work: areas, case workers' accounts and the area settings stay."""
    from accounts.models import AreaPolicy

    client = client_for(admin_user)
    assert client.get(f"/areas/{COUNTY_A}/").status_code == 200
    assert client.get("/staff/").status_code == 200
    response = client.post(
        "/manage/accounts/areapolicy/add/", {"area": COUNTY_A, "home_days_low": "60"}
    )
    assert response.status_code == 302
    assert AreaPolicy.objects.get(area_id=COUNTY_A).home_days_low == 60
    nav = client.get("/").content.decode()
    assert "/manage/" in nav and "/children/" not in nav
    # Django's permission groups are unused (roles decide): not offered in the admin site.
    assert client.get("/manage/auth/group/add/").status_code == 404


def test_the_administrator_cannot_end_the_security_officers_or_auditors_sessions(
    admin_user, security_officer, auditor, director_a, client_for
):
    """Found by the outside attack run: the administrator could keep the auditor signed out."""
    admin = client_for(admin_user)
    watched = client_for(auditor)
    for person in (security_officer, auditor):
        assert admin.post("/staff/end-sessions/", {"user": person.pk}).status_code == 403
    assert watched.get("/audit/").status_code == 200
    assert not AuditRecord.objects.filter(action=AuditAction.SESSIONS_ENDED).exists()
    # The case workers' sessions are still the administrator's to end, and the security
    # officer ends anyone's.
    assert admin.post("/staff/end-sessions/", {"user": director_a.pk}).status_code == 302
    officer = client_for(security_officer)
    assert officer.post("/staff/end-sessions/", {"user": auditor.pk}).status_code == 302
    assert watched.get("/audit/").status_code == 302
    listing = admin.get("/staff/").content.decode()
    assert f'name="user" value="{auditor.pk}"' not in listing
    assert f'name="user" value="{director_a.pk}"' in listing


def test_civil_affairs_created_by_the_administrator_enrol_only_with_the_officers_code(
    admin_user, security_officer, client_for, settings
):
    """Found by the outside attack run: the administrator creates a civil-affairs account (and
    so knows its first password) and could enrol its second factor, then read full ID numbers
    county-wide. The enrolment code comes from the security officer."""
    assert set(settings.MFA_ENROLMENT_CODE_ROLES) == {
        "admin",
        "security",
        "auditor",
        "civil_affairs",
    }
    response = _admin_add(
        client_for(admin_user),
        username="new_county_officer",
        role=Role.CIVIL_AFFAIRS,
        area=COUNTY_A,
    )
    assert response.status_code == 302
    officer = User.objects.get(username="new_county_officer")
    person = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        person.post("/accounts/login/", {"username": officer.username, "password": NEW_PASSWORD})
        assert "enrolment_code" in _enrol(person, None).context["form"].errors
        assert person.get("/children/").status_code == 302  # still held at enrolment
        issued = client_for(security_officer).post(
            "/security/enrolment-code/", {"user": officer.pk}
        )
        code = re.search(r'id="enrolment-code">([A-Z0-9-]+)<', issued.content.decode())[1]
        traveller.shift(timedelta(seconds=31))
        assert _enrol(person, code).status_code == 302
        assert person.get("/children/").status_code == 200
