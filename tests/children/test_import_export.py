"""Census import (all or nothing, every bad row reported) and the 台账 export (masked, audited)."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from accounts.models import AuditRecord
from children.imports import HEADERS, import_children
from children.models import Child, FamilyMember

from ..conftest import VILLAGE_1, VILLAGE_2, VILLAGE_B
from ..factories import make_child, make_id_number

ROOT = Path(__file__).resolve().parents[2]


def row(**overrides):
    values = {
        "姓名": "查小雨",
        "性别": "女",
        "出生日期": "2016-03-08",
        "身份证号": make_id_number("2016-03-08", "female"),
        "村（社区）代码": VILLAGE_1,
        "就学状态": "在校",
        "父亲姓名": "查建国",
        "父亲状况": "外出务工",
        "父亲外出时间": "2024-01-01",
        "父亲务工地": "浙江省杭州市",
        "母亲姓名": "王芳",
        "母亲状况": "外出务工",
        "母亲外出时间": "2024-03-01",
    }
    values.update(overrides)
    return values


def workbook_bytes(rows, headers=HEADERS) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for values in rows:
        sheet.append([values.get(h, "") for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def test_valid_file_imports_children_and_parents(director_a):
    rows = [
        row(),
        row(
            姓名="王大山",
            性别="男",
            出生日期="2013-05-01",
            身份证号=make_id_number("2013-05-01", "male", seq=3),
            父亲状况="在家",
            母亲状况="在家",
            困境类别="低保、单亲家庭",
        ),
    ]
    report = import_children(source=workbook_bytes(rows), user=director_a)
    assert report.ok and report.created == 2
    rain = Child.objects.get(name="查小雨")
    assert "left_behind" in rain.categories and rain.left_behind_reasons == [
        "父母双方外出务工满3个月"
    ]
    assert rain.family_members.count() == 2
    assert Child.objects.get(name="王大山").categories == ["low_income_family", "single_parent"]
    # Derived before the insert: one history event per child, already left-behind.
    from children.models import ChildEvent

    events = list(ChildEvent.objects.filter(pgh_obj_id=rain.pk))
    assert [(e.pgh_label, e.categories) for e in events] == [("insert", ["left_behind"])]


def test_one_bad_row_saves_nothing_and_every_error_is_listed(director_a):
    rows = [
        row(),
        row(
            姓名="",
            身份证号=make_id_number("2015-01-01", "male", seq=4),
            出生日期="2015-01-01",
            性别="男",
        ),
        row(姓名="错性别", 性别="男", 身份证号=make_id_number("2016-03-08", "female", seq=5)),
        row(姓名="坏日期", 出生日期="2016-13-45"),
        row(
            姓名="别村",
            身份证号=make_id_number("2016-03-08", "female", seq=6),
            **{"村（社区）代码": VILLAGE_2},
        ),
        row(姓名="重复", 身份证号=make_id_number("2016-03-08", "female")),
        row(姓名="坏状况", 身份证号=make_id_number("2016-03-08", "female", seq=8), 父亲状况="出国"),
    ]
    report = import_children(source=workbook_bytes(rows), user=director_a)
    assert not report.ok
    assert Child.objects.count() == 0 and FamilyMember.objects.count() == 0
    found = {(e.row, e.column) for e in report.errors}
    assert (3, "姓名") in found
    assert (4, "身份证号") in found
    assert (5, "出生日期") in found
    assert (6, "村（社区）代码") in found
    assert (7, "身份证号") in found
    assert (8, "父亲状况") in found
    assert str(next(e for e in report.errors if e.row == 4)).startswith("第4行 [身份证号]")


def test_duplicate_of_an_existing_file_elsewhere_is_reported(director_a, outsider):
    make_child(
        outsider,
        id_number=make_id_number("2016-03-08", "female"),
        gender="female",
        birth_date=__import__("datetime").date(2016, 3, 8),
        village_code=VILLAGE_B,
    )
    report = import_children(source=workbook_bytes([row()]), user=director_a)
    # Issue 14, M5: outside the user's area, one message for the file and no row.
    assert [str(e) for e in report.errors] == [
        "[身份证号] 已有档案，请联系督导员处理；如儿童已迁入本地，请申请转入"
    ]
    assert Child.objects.count() == 1


def test_wrong_headers_and_not_a_workbook(director_a):
    report = import_children(
        source=workbook_bytes([row()], headers=["名字", "性别"]), user=director_a
    )
    assert not report.ok and "缺少必填列" in report.errors[0].message
    report = import_children(source=io.BytesIO(b"MZ\x90\x00 not a spreadsheet"), user=director_a)
    assert not report.ok and report.errors[0].column == "文件"


def test_viewer_cannot_import(viewer):
    report = import_children(source=workbook_bytes([row()]), user=viewer)
    assert not report.ok and Child.objects.count() == 0


def test_command_prints_every_bad_row(director_a, tmp_path, capsys):
    path = tmp_path / "census.xlsx"
    path.write_bytes(workbook_bytes([row(), row(姓名="")]).getvalue())
    with pytest.raises(CommandError) as excinfo:  # CommandError: exit status 1
        call_command("import_children", str(path), "--user", "director_a")
    assert "nothing was imported" in str(excinfo.value)
    assert "第3行 [姓名] 请填写姓名" in capsys.readouterr().err
    assert Child.objects.count() == 0


def test_command_imports_a_valid_file(director_a, tmp_path, capsys):
    path = tmp_path / "census.xlsx"
    path.write_bytes(workbook_bytes([row()]).getvalue())
    call_command("import_children", str(path), "--user", "director_a")
    assert Child.objects.count() == 1
    assert "imported 1 children" in capsys.readouterr().out


def test_upload_page_and_template(client_for, director_a):
    client = client_for(director_a)
    template = client.get("/children/import/template.xlsx")
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book.worksheets[0][1]] == HEADERS
    assert VILLAGE_1 in [c.value for c in book["村（社区）代码"]["A"]]
    bad = workbook_bytes([row(姓名="")])
    bad.name = "census.xlsx"
    response = client.post("/children/import/", {"file": bad})
    assert response.status_code == 200 and "第3行" not in response.content.decode()
    assert "请填写姓名" in response.content.decode() and Child.objects.count() == 0
    good = workbook_bytes([row()])
    good.name = "census.xlsx"
    response = client.post("/children/import/", {"file": good})
    assert response.status_code == 302 and Child.objects.count() == 1


def test_export_masks_by_role_and_is_audited(client_for, director_a, supervisor, civil_affairs):
    number = make_id_number("2016-03-08", "female")
    child = make_child(
        director_a,
        gender="female",
        birth_date=__import__("datetime").date(2016, 3, 8),
        id_number=number,
    )

    def exported_ids(user):
        response = client_for(user).get("/children/export.xlsx")
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        sheet = load_workbook(io.BytesIO(response.content)).active
        header = [c.value for c in sheet[1]]
        return [r[header.index("身份证号")] for r in sheet.iter_rows(min_row=2, values_only=True)]

    assert exported_ids(director_a) == [number]
    assert exported_ids(civil_affairs) == [number]
    assert exported_ids(supervisor) == [child.id_number_masked]
    exports = AuditRecord.objects.filter(action="export", object_id=str(child.pk))
    assert exports.count() == 3


def test_export_is_scoped_and_filtered(client_for, director_a, outsider):
    make_child(director_a, name="查小雨")
    response = client_for(outsider).get("/children/export.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 1  # headers only


def test_audit_list_for_civil_affairs(client_for, director_a, civil_affairs, supervisor, outsider):
    child = make_child(director_a, name="查小雨")
    client_for(supervisor).get(f"/children/{child.pk}/")
    body = client_for(civil_affairs).get("/audit/").content.decode()
    assert "查丽萍" in body and "查看档案" in body
    assert client_for(supervisor).get("/audit/").status_code == 403
    assert client_for(director_a).get("/audit/").status_code == 403
    # An officer of another county sees none of county A's records.
    from accounts.models import Role

    from ..factories import UserFactory

    other = UserFactory(username="ca_b", role=Role.CIVIL_AFFAIRS, area=outsider.area.parent.parent)
    assert "查丽萍" not in client_for(other).get("/audit/").content.decode()
