"""Issue 9 §3: the audit log records reads, exports, failed sign-ins and refusals, and is
append-only (a database trigger refuses UPDATE and DELETE); civil affairs read and export it."""

import csv
import io
from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import AuditRecord

from ..conftest import COUNTY_A, VILLAGE_1
from ..factories import make_child

pytestmark = pytest.mark.django_db


def test_the_database_refuses_to_change_or_delete_audit_records(client_for, director_a):
    child = make_child(director_a, name="审计", birth_date=date(2016, 1, 1))
    client_for(director_a).get(f"/children/{child.pk}/")
    record = AuditRecord.objects.get(action="view", object_id=str(child.pk))
    assert record.username == "director_a"
    for statement in (
        ("UPDATE accounts_auditrecord SET ip = '10.0.0.1' WHERE id = %s", [record.pk]),
        ("DELETE FROM accounts_auditrecord WHERE id = %s", [record.pk]),
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(*statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()


def test_deleting_a_user_keeps_what_they_did(client_for, director_a):
    from accounts.models import User

    child = make_child(director_a, name="离职", birth_date=date(2016, 1, 1))
    client_for(director_a).get(f"/children/{child.pk}/")
    User.objects.filter(pk=director_a.pk).delete()
    record = AuditRecord.objects.get(object_id=str(child.pk), action="view")
    assert record.username == "director_a" and record.user_id == director_a.pk


def test_failed_sign_in_is_recorded_with_the_area(client, director_a):
    client.post("/accounts/login/", {"username": "director_a", "password": "wrong-password"})
    record = AuditRecord.objects.get(action="login_failed")
    assert record.object_id == "director_a" and record.area_code == VILLAGE_1
    assert record.user_id is None and record.ip == "127.0.0.1"
    assert "wrong-password" not in str(record.detail)


def test_bad_api_token_and_forbidden_are_recorded(client, api_client, director_a, viewer):
    client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    bad = AuditRecord.objects.get(action="denied", detail__reason="bad_token")
    assert bad.object_id == "/api/v1/me"
    child = make_child(director_a, name="越权", birth_date=date(2016, 1, 1))
    response = api_client(viewer).post(
        f"/api/v1/children/{child.pk}/visits",
        {"date": "2026-01-01", "kind": "home"},
        content_type="application/json",
    )
    assert response.status_code == 403
    refused = AuditRecord.objects.get(action="denied", detail__reason="forbidden")
    assert refused.username == "viewer" and refused.detail["method"] == "POST"


def test_a_record_outside_the_area_is_a_recorded_refusal(client_for, director_a, outsider):
    child = make_child(director_a, name="外区", birth_date=date(2016, 1, 1))
    assert client_for(outsider).get(f"/children/{child.pk}/").status_code == 404
    record = AuditRecord.objects.get(action="denied", detail__reason="outside_area")
    assert record.username == "outsider" and record.object_id == str(child.pk)
    assert record.area_code == VILLAGE_1  # the child's own county sees the attempt
    # A record that does not exist at all is not an access to anything.
    client_for(outsider).get("/children/00000000-0000-0000-0000-000000000000/")
    assert AuditRecord.objects.filter(action="denied").count() == 1


def test_civil_affairs_read_and_export_their_area_only(
    client_for, director_a, civil_affairs, outsider, supervisor
):
    child = make_child(director_a, name="导出", birth_date=date(2016, 1, 1))
    client_for(director_a).get(f"/children/{child.pk}/")
    client_for(outsider).get(f"/children/{child.pk}/")  # refused, recorded in village 1
    response = client_for(civil_affairs).get("/audit/export.csv")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["时间", "用户", "操作"]
    assert {row[1] for row in rows[1:]} >= {"director_a", "outsider"}
    assert all(row[5].startswith(COUNTY_A[:6]) for row in rows[1:])
    filtered = client_for(civil_affairs).get("/audit/export.csv?user=outsider")
    lines = b"".join(filtered.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert client_for(supervisor).get("/audit/export.csv").status_code == 403
    page = client_for(civil_affairs).get("/audit/").content.decode()
    assert outsider.display_name in page and "/audit/export.csv" in page


def test_audit_records_the_address_behind_the_trusted_proxy(client_for, director_a, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    child = make_child(director_a, name="代理", birth_date=date(2016, 1, 1))
    client_for(director_a).get(
        f"/children/{child.pk}/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    )
    assert AuditRecord.objects.get(object_id=str(child.pk), action="view").ip == "203.0.113.9"
