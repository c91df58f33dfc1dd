"""Issue 9 §2–3, 等保 三权分立: the system administrator, the security officer (安全管理员) and the
auditor (安全审计员) hold separate powers; neither of the latter two sees child data."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from django.core.management import call_command

from accounts.models import AuditRecord, Role, User
from accounts.services import audit_log

from ..conftest import COUNTY_A, COUNTY_B, PROVINCE, VILLAGE_1, VILLAGE_B
from ..factories import UserFactory, make_child

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]


OWN_ACCOUNT = {"/accounts/password/", "/accounts/security/"}  # everyone's user menu


def nav_links(html: str) -> set[str]:
    nav = html.split('id="mainnav"', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r'href="([^"#]+)"', nav)) - OWN_ACCOUNT


def export_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_add_staff_creates_security_and_auditor(areas):
    call_command(
        "add_staff", "aq", "--role", "security", "--area", PROVINCE, "--password", "Anquan@2026x"
    )
    call_command(
        "add_staff", "sj", "--role", "auditor", "--area", VILLAGE_1, "--password", "Shenji@2026x"
    )
    assert User.objects.get(username="aq").role == Role.SECURITY
    auditor = User.objects.get(username="sj")
    assert auditor.role == Role.AUDITOR and not auditor.is_staff and not auditor.is_superuser


def test_admin_may_not_read_the_audit_log(client_for, admin_user):
    admin = client_for(admin_user)
    assert admin.get("/audit/").status_code == 403
    assert admin.get("/audit/export.csv").status_code == 403
    assert admin.get("/manage/accounts/auditrecord/").status_code == 403
    assert "auditrecord" not in admin.get("/manage/").content.decode()
    # Nor the security officer's work: lockouts and second factors are not in the admin site.
    assert admin.get("/security/").status_code == 403
    assert admin.get("/manage/otp_totp/totpdevice/").status_code == 404
    assert admin.get("/manage/axes/accessattempt/").status_code == 404
    nav = nav_links(admin.get("/").content.decode())
    assert "/audit/" not in nav and "/security/" not in nav and "/manage/" in nav


def test_auditor_reads_and_exports_their_subtree_only(client_for, director_a, outsider, auditor):
    child = make_child(director_a, name="审计甲", birth_date=date(2016, 1, 1))
    client_for(director_a).get(f"/children/{child.pk}/")  # recorded in village 1 (county A)
    client_for(outsider).get("/children/")
    audit_log(
        user=outsider, action="view", object_type="child", records=[("x", VILLAGE_B)]
    )  # county B
    audit_log(user=None, action="login_failed", object_type="user", records=[("ghost", "")])

    client = client_for(auditor)
    page = client.get("/audit/")
    html = page.content.decode()
    assert page.status_code == 200
    assert director_a.display_name in html and outsider.display_name not in html
    assert f'href="/children/{child.pk}/"' not in html  # no links into child files
    assert "审计甲" not in html
    # Readable on a phone: what the record is and where, in Chinese, each cell labelled.
    assert 'data-label="记录">儿童 ' in html and "查济村" in html and 'data-label="操作"' in html
    rows = export_rows(client.get("/audit/export.csv"))
    assert rows[1:] and all(row[5].startswith(COUNTY_A[:6]) for row in rows[1:])
    assert "ghost" not in {row[4] for row in rows}

    # Nothing else: no child data, no staff, no areas, no statistics, no admin site.
    for url in ("/children/", f"/children/{child.pk}/", "/visits/", "/reports/", "/dashboard/"):
        assert client.get(url).status_code in (403, 404), url
    for url in ("/staff/", "/areas/", "/security/", "/manage/"):
        assert client.get(url).status_code in (302, 403, 404), url
    assert client.post("/staff/end-sessions/", {"user": director_a.pk}).status_code == 403
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/audit/"
    assert nav_links(client.get("/audit/").content.decode()) == {"/audit/"}


def test_a_province_auditor_also_sees_records_of_no_area(client_for, areas, outsider):
    auditor = UserFactory(username="sj_province", role=Role.AUDITOR, area=areas[PROVINCE])
    audit_log(user=None, action="login_failed", object_type="user", records=[("ghost", "")])
    audit_log(user=outsider, action="view", object_type="child", records=[("y", VILLAGE_B)])
    rows = export_rows(client_for(auditor).get("/audit/export.csv"))
    assert {row[4] for row in rows[1:]} >= {"ghost", "y"}


def test_civil_affairs_keep_their_county_log(client_for, civil_affairs):
    assert client_for(civil_affairs).get("/audit/").status_code == 200


def test_security_officer_sees_no_child_data(client_for, director_a, security_officer):
    child = make_child(director_a, name="安全甲", birth_date=date(2016, 1, 1))
    client = client_for(security_officer)
    for url in (
        "/children/",
        f"/children/{child.pk}/",
        "/visits/",
        "/reports/",
        "/dashboard/",
        "/audit/",
        "/audit/export.csv",
        f"/api/v1/children/{child.pk}",
    ):
        response = client.get(url)
        assert response.status_code in (403, 404), url
    listing = client.get("/api/v1/children")
    assert "安全甲" not in listing.content.decode()
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/security/"
    nav = nav_links(client.get("/security/").content.decode())
    assert nav == {"/security/"}


def test_security_officer_lists_and_lifts_lockouts(
    client, client_for, director_a, security_officer, outsider
):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "director_a", "password": "wrong-one-x"})
    for _ in range(2):
        client.post(
            "/accounts/login/",
            {"username": "outsider", "password": "wrong-one-x"},
            REMOTE_ADDR="10.9.9.9",
        )
    officer = client_for(security_officer)
    page = officer.get("/security/").content.decode()
    assert "director_a" in page and "已锁定" in page
    assert "outsider" not in page  # county B is not the officer's
    assert officer.post("/security/clear-lockout/", {"username": "outsider"}).status_code == 404

    response = officer.post("/security/clear-lockout/", {"username": "director_a"})
    assert response.status_code == 302
    record = AuditRecord.objects.get(action="lockout_cleared")
    assert record.username == "security_a" and record.object_id == "director_a"
    assert record.area_code == VILLAGE_1
    from axes.models import AccessAttempt

    assert not AccessAttempt.objects.filter(username="director_a").exists()
    assert AccessAttempt.objects.filter(username="outsider").exists()


def test_security_officer_ends_sessions(client_for, director_a, security_officer):
    from accounts.session_limits import session_epoch

    response = client_for(security_officer).post("/staff/end-sessions/", {"user": director_a.pk})
    assert response.status_code == 302 and response.url == "/security/"
    assert session_epoch(director_a.pk) is not None
    record = AuditRecord.objects.get(action="sessions_ended")
    assert record.username == "security_a"


def test_nobody_else_reaches_the_security_page(client_for, civil_affairs, supervisor, auditor):
    for user in (civil_affairs, supervisor, auditor):
        assert client_for(user).get("/security/").status_code == 403
        response = client_for(user).post("/security/reset-device/", {"user": user.pk})
        assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.SECURITY, Role.AUDITOR])
def test_every_level_accepts_the_new_roles(areas, role):
    for code in (PROVINCE, COUNTY_B, VILLAGE_1):
        user = UserFactory(username=f"{role}_{code}", role=role, area=areas[code])
        user.full_clean(exclude=["password"])
