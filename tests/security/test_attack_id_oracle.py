"""Issue 14, M5: the census import and the child API told which ID numbers are on file anywhere.
A duplicate outside the user's area now reads only the one message OUTSIDE (once per file, no
row), each such number found is a probe in the audit log, failed imports are audited, and more
than 20 probes in an hour lock the user's imports and ID-number changes until the security
officer of an area covering the user lifts the lock (it never expires by itself)."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from accounts import outbox
from accounts.models import AuditRecord, Role
from children.imports import HEADERS, import_children
from children.models import Child
from core.crypto import decrypt

from ..conftest import COUNTY_B, PROVINCE, VILLAGE_1, VILLAGE_2, VILLAGE_B
from ..factories import UserFactory, make_child, make_id_number

pytestmark = pytest.mark.django_db

OUTSIDE = "已有档案，请联系督导员处理；如儿童已迁入本地，请申请转入"
LOCKED = "摸底排查导入和身份证号修改已暂停"


def census_row(number: str, name: str = "新生儿") -> dict:
    return {
        "姓名": name,
        "性别": "男",
        "出生日期": "2015-06-01",  # as every make_child below: the numbers fit this row
        "身份证号": number,
        "村（社区）代码": VILLAGE_1,
    }


def workbook(rows) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for values in rows:
        sheet.append([values.get(h, "") for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "census.xlsx"
    return buffer


def fresh_number(seq: int) -> str:
    return make_id_number("2015-06-01", "male", area="341823", seq=seq)


def number_of(child: Child) -> str:
    return decrypt(child.id_number_encrypted)


def probes_of(user):
    return AuditRecord.objects.filter(user=user, action="id_probe")


def import_records(user):
    return AuditRecord.objects.filter(user=user, action="import").order_by("at", "id")


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def outside_children(outsider):
    """21 files in county B: numbers director_a may not know about."""
    return [make_child(outsider, name=f"城东娃{n}", village_code=VILLAGE_B) for n in range(21)]


@pytest.fixture
def officers(areas, security_officer):
    """The county's security officer, one at the province (both cover director_a) and one in
    county B (does not)."""
    security_officer.email = "security_a@example.cn"
    security_officer.save(update_fields=["email"])
    province = UserFactory(
        username="security_p", role=Role.SECURITY, area=areas[PROVINCE], email="p@example.cn"
    )
    other = UserFactory(
        username="security_b", role=Role.SECURITY, area=areas[COUNTY_B], email="b@example.cn"
    )
    return {"county": security_officer, "province": province, "other": other}


def test_duplicates_outside_read_as_one_message_inside_ones_by_row(
    director_a, director_b, outsider
):
    mine = make_child(director_a, name="查小宝")
    far = make_child(outsider, name="城东娃", village_code=VILLAGE_B)
    next_door = make_child(director_b, name="厚岸娃", village_code=VILLAGE_2)
    rows = [
        census_row(fresh_number(1), "甲"),
        census_row(number_of(mine), "乙"),  # row 3: in director_a's village
        census_row(number_of(far), "丙"),  # row 4: another county
        census_row(fresh_number(2), "丁"),
        census_row(number_of(next_door), "戊"),  # row 6: the next village, not director_a's
    ]
    report = import_children(source=workbook(rows), user=director_a)
    assert [str(e) for e in report.errors] == [
        f"[身份证号] {OUTSIDE}",
        "第3行 [身份证号] 本辖区已有该身份证号的档案：查小宝，请勿重复导入",
    ]
    said = " ".join(str(e) for e in report.errors)
    for secret in ("城东娃", "厚岸娃", VILLAGE_B, VILLAGE_2, "第4行", "第6行", "绩溪", "厚岸村"):
        assert secret not in said
    assert Child.objects.count() == 3  # nothing saved
    probes = probes_of(director_a)
    assert {(p.object_id, p.area_code) for p in probes} == {
        (str(far.pk), VILLAGE_B),
        (str(next_door.pk), VILLAGE_2),
    }
    (record,) = import_records(director_a)
    assert record.detail["outcome"] == "refused"
    assert record.detail["duplicates_outside"] == 2
    assert record.detail["duplicates_in_area"] == 1


def test_the_page_shows_the_single_message(client_for, director_a, outsider):
    far = make_child(outsider, name="城东娃", village_code=VILLAGE_B)
    upload = workbook([census_row(fresh_number(1)), census_row(number_of(far))])
    response = client_for(director_a).post("/children/import/", {"file": upload})
    body = response.content.decode()
    assert response.status_code == 200 and OUTSIDE in body
    assert "城东娃" not in body and "第3行" not in body and VILLAGE_B not in body
    assert Child.objects.count() == 1


def test_failed_imports_are_audited_page_and_command(client_for, director_a, tmp_path):
    bad = workbook([census_row(fresh_number(1), name="")])
    assert client_for(director_a).post("/children/import/", {"file": bad}).status_code == 200
    path = tmp_path / "not-a-workbook.xlsx"
    path.write_bytes(b"MZ not a spreadsheet")
    with pytest.raises(CommandError):
        call_command("import_children", str(path), "--user", "director_a")
    good = tmp_path / "census.xlsx"
    good.write_bytes(workbook([census_row(fresh_number(2))]).getvalue())
    call_command("import_children", str(good), "--user", "director_a")
    page, command, imported = import_records(director_a)
    assert page.detail == {
        "outcome": "refused",
        "origin": "page",
        "rows": 1,
        "created": 0,
        "reason": "rows",
        "errors": 1,
        "duplicates_in_area": 0,
        "duplicates_outside": 0,
    }
    assert page.ip == "127.0.0.1" and page.area_code == VILLAGE_1
    assert command.detail["outcome"] == "refused" and command.detail["reason"] == "not_xlsx"
    assert command.detail["origin"] == "command" and command.detail["path"] == str(path)
    assert imported.detail["outcome"] == "imported" and imported.detail["created"] == 1


def test_api_duplicates_keep_409_and_count_outside_ones(api_client, director_a, outsider):
    far = make_child(outsider, village_code=VILLAGE_B)
    mine = make_child(director_a)
    sibling = make_child(director_a)
    client = api_client(director_a)
    patch = client.patch(
        f"/api/v1/children/{mine.pk}",
        {"id_number": number_of(far)},
        content_type="application/json",
    )
    assert patch.status_code == 409 and patch.json()["detail"] == OUTSIDE
    post = client.post(
        "/api/v1/children",
        {
            "name": "另一个",
            "gender": "male",
            "birth_date": "2015-06-01",
            "id_number": number_of(far),
            "village_code": VILLAGE_1,
        },
        content_type="application/json",
    )
    assert post.status_code == 409 and post.json()["detail"] == OUTSIDE
    for text in (patch.content.decode(), post.content.decode()):
        assert VILLAGE_B not in text and str(far.pk) not in text
    assert sorted(p.detail["channel"] for p in probes_of(director_a)) == [
        "child_create",
        "child_update",
    ]
    # A duplicate in the user's own village is named and is no probe.
    inside = client.patch(
        f"/api/v1/children/{sibling.pk}",
        {"id_number": number_of(mine)},
        content_type="application/json",
    )
    assert inside.status_code == 409 and "本辖区已有" in inside.json()["detail"]
    assert probes_of(director_a).count() == 2


def test_the_21st_probe_locks_imports_and_id_changes(
    frozen, api_client, director_a, outside_children, officers
):
    own = [make_child(director_a, name=f"本村{n}") for n in range(5)]
    numbers = [number_of(c) for c in outside_children]
    # 20 outside and 5 inside duplicates, interleaved: only the outside ones count.
    rows = []
    for index, number in enumerate(numbers[:20]):
        rows.append(census_row(number))
        if index % 4 == 0:
            rows.append(census_row(number_of(own[index // 4])))
    report = import_children(source=workbook(rows), user=director_a)
    assert report.duplicates_outside == 20 and report.duplicates_in_area == 5
    assert [e.message for e in report.errors].count(OUTSIDE) == 1
    assert not any(LOCKED in e.message for e in report.errors)
    assert not director_a.import_locks.exists()
    # The 21st, through the API: still a 409, and now the lock.
    client = api_client(director_a)
    response = client.patch(
        f"/api/v1/children/{own[0].pk}",
        {"id_number": numbers[20]},
        content_type="application/json",
    )
    assert response.status_code == 409
    (lock,) = director_a.import_locks.all()
    assert lock.lifted_at is None and lock.probes == 21
    assert AuditRecord.objects.filter(action="import_locked", object_id="director_a").exists()
    # The security officers over director_a hear of it, once; not the one of county B.
    assert outbox.run_inline() == 1
    (message,) = mail.outbox
    assert message.to == ["security_a@example.cn", "p@example.cn"]
    assert "director_a" in message.body and "21" in message.body
    assert not any(number in message.body for number in numbers)
    assert outbox.run_inline() == 0 and len(mail.outbox) == 1
    # Locked: imports (even a good file), ID-number changes and registrations with a number.
    report = import_children(source=workbook([census_row(fresh_number(5))]), user=director_a)
    assert not report.ok and LOCKED in report.errors[0].message and report.rows == 0
    assert Child.objects.filter(village_id=VILLAGE_1).count() == 5
    patch = client.patch(
        f"/api/v1/children/{own[1].pk}",
        {"id_number": fresh_number(6)},
        content_type="application/json",
    )
    assert patch.status_code == 403 and LOCKED in patch.json()["detail"]
    post = client.post(
        "/api/v1/children",
        {
            "name": "新来的",
            "gender": "male",
            "birth_date": "2015-06-01",
            "id_number": fresh_number(7),
            "village_code": VILLAGE_1,
        },
        content_type="application/json",
    )
    assert post.status_code == 403 and LOCKED in post.json()["detail"]
    # Other work goes on.
    rename = client.patch(
        f"/api/v1/children/{own[1].pk}", {"name": "改名"}, content_type="application/json"
    )
    assert rename.status_code == 200
    assert import_records(director_a).last().detail["reason"] == "locked"


def test_the_lock_outlasts_the_hour_until_the_officer_lifts_it(
    frozen, client_for, director_a, outsider, outside_children, officers
):
    rows = [census_row(number_of(c)) for c in outside_children]  # 21 in one file
    import_children(source=workbook(rows), user=director_a)
    (lock,) = director_a.import_locks.all()
    frozen.shift(3 * 3600)  # the hour of the probes is long past: still locked
    report = import_children(source=workbook([census_row(fresh_number(1))]), user=director_a)
    assert not report.ok and LOCKED in report.errors[0].message

    page = client_for(officers["county"]).get("/security/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "director_a" in body and 'name="lock"' in body and "/security/lift-import-lock/" in body
    assert 'name="lock"' not in client_for(officers["other"]).get("/security/").content.decode()

    url = "/security/lift-import-lock/"
    assert client_for(officers["other"]).post(url, {"lock": lock.pk}).status_code == 404
    assert client_for(director_a).post(url, {"lock": lock.pk}).status_code == 403
    assert client_for(officers["county"]).post(url, {"lock": "x"}).status_code == 404
    response = client_for(officers["county"]).post(url, {"lock": lock.pk})
    assert response.status_code == 302
    lock.refresh_from_db()
    assert lock.lifted_at is not None and lock.lifted_by == officers["county"]
    lifted = AuditRecord.objects.get(action="import_unlocked")
    assert lifted.user == officers["county"] and lifted.object_id == "director_a"
    assert 'name="lock"' not in client_for(officers["county"]).get("/security/").content.decode()

    report = import_children(source=workbook([census_row(fresh_number(1))]), user=director_a)
    assert report.ok and report.created == 1
    # The count starts again from the lift: one more probe does not lock at once.
    far = make_child(outsider, village_code=VILLAGE_B)
    report = import_children(source=workbook([census_row(number_of(far))]), user=director_a)
    assert [e.message for e in report.errors] == [OUTSIDE]
    assert not director_a.import_locks.filter(lifted_at__isnull=True).exists()
