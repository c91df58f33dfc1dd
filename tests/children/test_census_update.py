"""Issue 16, point 5: the yearly census update (摸底排查/动态更新). ``import_children … --update``
and the page's 更新 mode merge rows into the files of the user's area by ID number (changed fields
only, recorded in the history as the census), still all or nothing; a number on file outside the
area is a probe, reported as the one message and nothing of the file."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from accounts.models import AuditRecord
from children.imports import HEADERS, import_children
from children.models import Child, ChildEvent, FamilyMember, FamilyMemberEvent
from children.selectors import timeline_for
from children.services import child_close, family_member_add
from core.crypto import decrypt

from ..conftest import VILLAGE_1, VILLAGE_B
from ..factories import make_child, make_id_number

pytestmark = pytest.mark.django_db

OUTSIDE = "已有档案，请联系督导员处理；如儿童已迁入本地，请申请转入"


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


def row_of(child: Child, **cells) -> dict:
    """A census row of ``child`` as on file (required cells only), with ``cells`` on top."""
    values = {
        "姓名": child.name,
        "性别": "男" if child.gender == "male" else "女",
        "出生日期": child.birth_date.isoformat(),
        "身份证号": decrypt(child.id_number_encrypted),
        "村（社区）代码": child.village_id,
    }
    values.update(cells)
    return values


def new_row(seq: int, name: str = "新来的") -> dict:
    return {
        "姓名": name,
        "性别": "女",
        "出生日期": "2017-04-02",
        "身份证号": make_id_number("2017-04-02", "female", area="341823", seq=seq),
        "村（社区）代码": VILLAGE_1,
    }


@pytest.fixture
def files(director_a):
    """Two files in director_a's village: one with its father on file."""
    first = make_child(director_a, name="查小宝", school_name="查济小学", grade="三年级")
    family_member_add(
        user=director_a, child=first, relation="father", name="查建国", status="at_home"
    )
    second = make_child(director_a, name="查小贝", grade="一年级")
    return first, second


def snapshot():
    return (
        list(Child.objects.order_by("pk").values()),
        list(FamilyMember.objects.order_by("pk").values()),
        ChildEvent.objects.count(),
        FamilyMemberEvent.objects.count(),
    )


def test_update_changes_only_changed_fields_recorded_as_the_census(director_a, files):
    first, second = files
    rows = [
        # Grade and school status change; school name as on file; notes empty: kept.
        row_of(
            first,
            就读学校="查济小学",
            年级="四年级",
            就学状态="辍学",
            父亲姓名="查建国",
            父亲状况="外出务工",
            父亲外出时间="2025-02-10",
            母亲姓名="王芳",
            母亲状况="外出务工",
            母亲外出时间="2025-02-10",
        ),
        row_of(second, 年级="一年级"),  # as on file
        new_row(1),
    ]
    version = first.version
    report = import_children(source=workbook(rows), user=director_a, update=True)
    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated, report.unchanged, report.refused) == (1, 1, 1, 0)
    first.refresh_from_db()
    second_after = Child.objects.get(pk=second.pk)
    assert first.grade == "四年级" and first.school_status == "dropped_out"
    assert first.school_name == "查济小学" and first.version == version + 1
    assert second_after.version == second.version and second_after.updated_at == second.updated_at
    # The father is updated (matched by relation and name), the mother added, none removed.
    father = first.family_members.get(relation="father")
    assert (father.name, father.status, father.away_since) == (
        "查建国",
        "working_away",
        date(2025, 2, 10),
    )
    assert first.family_members.filter(relation="mother", name="王芳").exists()
    assert "left_behind" in first.categories
    assert Child.objects.filter(name="新来的").count() == 1

    timeline = timeline_for(first)
    census = [e for e in timeline if e.title.startswith("普查更新")]
    assert census and {e.who for e in census} == {director_a.display_name}
    changed = [(old, new) for e in census for _label, old, new in e.changes]
    assert ("三年级", "四年级") in changed
    assert not any("查济小学" in (old, new) for old, new in changed)  # the same: not changed
    assert not any(e.title.startswith("普查更新") for e in timeline_for(second_after))
    (record,) = AuditRecord.objects.filter(user=director_a, action="import")
    assert record.detail["mode"] == "update"
    assert (record.detail["updated"], record.detail["unchanged"]) == (1, 1)


def test_one_bad_row_changes_nothing_at_all(director_a, files):
    first, second = files
    before = snapshot()
    rows = [
        row_of(first, 年级="四年级", 父亲姓名="查建国", 父亲状况="外出务工"),
        new_row(2),
        row_of(second, 就学状态="出国"),  # row 4: not a school status
    ]
    report = import_children(source=workbook(rows), user=director_a, update=True)
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [(4, "就学状态")]
    assert (report.created, report.updated, report.unchanged, report.refused) == (0, 0, 0, 1)
    assert snapshot() == before


def test_a_number_on_file_outside_the_area_is_the_one_message(director_a, outsider, files):
    first, _second = files
    far = make_child(outsider, name="城东娃", village_code=VILLAGE_B)
    before = snapshot()
    rows = [
        row_of(first, 年级="四年级"),
        row_of(far, **{"村（社区）代码": VILLAGE_1, "年级": "五年级"}),
    ]
    report = import_children(source=workbook(rows), user=director_a, update=True)
    assert [str(e) for e in report.errors] == [f"[身份证号] {OUTSIDE}"]
    said = " ".join(str(e) for e in report.errors)
    assert "城东娃" not in said and VILLAGE_B not in said and "第3行" not in said
    assert report.refused == 1 and snapshot() == before
    (probe,) = AuditRecord.objects.filter(user=director_a, action="id_probe")
    assert (probe.object_id, probe.area_code) == (str(far.pk), VILLAGE_B)


def test_a_closed_file_is_refused_until_reopened(director_a, files):
    first, second = files
    child_close(user=director_a, child=second, reason="moved_away")
    before = snapshot()
    rows = [row_of(first, 年级="四年级"), row_of(second, 年级="二年级")]
    report = import_children(source=workbook(rows), user=director_a, update=True)
    assert [(e.row, e.column) for e in report.errors] == [(3, "身份证号")]
    assert "已结案" in report.errors[0].message and "重新开启" in report.errors[0].message
    assert snapshot() == before


def test_without_update_a_file_in_the_area_is_still_a_duplicate(director_a, files):
    first, _second = files
    report = import_children(source=workbook([row_of(first, 年级="四年级")]), user=director_a)
    assert not report.ok and "请勿重复导入" in report.errors[0].message


def test_command_prints_the_counts_line(director_a, files, tmp_path, capsys):
    first, second = files
    path = tmp_path / "census.xlsx"
    path.write_bytes(
        workbook([row_of(first, 年级="四年级"), row_of(second), new_row(3)]).getvalue()
    )
    call_command("import_children", str(path), "--user", "director_a", "--update")
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "created 1, updated 1, unchanged 1, refused 0"
    first.refresh_from_db()
    assert first.grade == "四年级"

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([row_of(first, 年级="五年级"), row_of(second, 姓名="")]).getvalue())
    with pytest.raises(CommandError):
        call_command("import_children", str(bad), "--user", "director_a", "--update")
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == "created 0, updated 0, unchanged 0, refused 1"
    assert "第3行 [姓名]" in captured.err
    first.refresh_from_db()
    assert first.grade == "四年级"


def test_page_update_mode_shows_the_four_counts(client_for, director_a, files):
    first, second = files
    client = client_for(director_a)
    upload = workbook([row_of(first, 年级="四年级"), row_of(second), new_row(4)])
    response = client.post("/children/import/", {"file": upload, "update": "on"})
    body = response.content.decode()
    assert response.status_code == 200 and 'id="census-result"' in body
    for count, n in (("created", 1), ("updated", 1), ("unchanged", 1), ("refused", 0)):
        assert f'data-count="{count}">{n}<' in body
    first.refresh_from_db()
    assert first.grade == "四年级"
    # The file's record history shows the census change and who made it.
    page = client.get(f"/children/{first.pk}/history/").content.decode()
    assert "普查更新" in page


def test_a_file_changed_during_the_import_changes_nothing(director_a, files, monkeypatch):
    from children import services

    first, second = files
    apply = services.children_census_apply

    def closed_meanwhile(**kwargs):
        child_close(user=director_a, child=second, reason="moved_away")
        return apply(**kwargs)

    monkeypatch.setattr(services, "children_census_apply", closed_meanwhile)
    rows = [row_of(first, 年级="四年级"), row_of(second, 年级="二年级"), new_row(5)]
    report = import_children(source=workbook(rows), user=director_a, update=True)
    assert [(e.row, e.message) for e in report.errors] == [(3, services.CENSUS_STALE_MESSAGE)]
    first.refresh_from_db()
    assert first.grade == "三年级" and not Child.objects.filter(name="新来的").exists()
