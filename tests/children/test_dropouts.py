"""Issue 21 point 4, 控辍保学: the education department's out-of-school list is matched to the files
of the importer's area — by ID number, or by exact name and birth date when a row has none — and
each matched child is marked out of school with a 劝返复学 case until back in school. Pages and the
API, scope (another county's file is neither matched nor revealed), roles, masking, hostile
files, constant queries and the dashboard's count."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from accounts.models import AuditRecord
from children import dropouts
from children.imports import HEADERS as CENSUS_HEADERS
from children.imports import import_children
from children.lifecycle import transfer_accept, transfer_request_from_sender
from children.models import (
    Child,
    ChildEvent,
    DropoutList,
    DropoutRow,
    ReturnToSchoolCase,
    ReturnToSchoolContact,
)
from children.services import child_close
from core import crypto

from ..conftest import COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_3, VILLAGE_B
from ..factories import make_child, make_id_number

pytestmark = pytest.mark.django_db

HEADERS = ("姓名", "身份证号", "出生日期", "学校", "年级", "状态")
SOURCE = "泾县教育局 2026年秋季"


def xlsx(rows, headers=HEADERS, *, formulas: bool = False) -> bytes:
    """A list as the education department sends it. Text starting with "=" is stored as text
    (openpyxl would write it as a formula) unless ``formulas``."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("=") and not formulas:
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(rows, headers=HEADERS, name="list.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx(rows, headers))


def do_import(user, rows, headers=HEADERS, source=SOURCE):
    return dropouts.dropout_list_import(
        user=user, source=io.BytesIO(xlsx(rows, headers)), source_note=source, file_name="l.xlsx"
    )


def number_for(birth: str, area: str = "341823", seq: int = 50) -> str:
    return make_id_number(birth, "female", area=area, seq=seq)


@pytest.fixture
def files(frozen, director_a, civil_affairs, outsider):
    """小雨 (village 1, with an ID number), 小林 (village 1, no hukou: no ID number), 小云
    (township 2), and 外县 (county B) whose ID number is also on the list."""
    return {
        "xiaoyu": make_child(
            director_a,
            name="查小雨",
            birth_date=date(2012, 3, 8),
            gender="female",
            id_number=number_for("2012-03-08"),
        ),
        "xiaolin": make_child(
            director_a,
            name="查小林",
            birth_date=date(2011, 5, 1),
            id_number="",
            hukou_registered=False,
        ),
        "xiaoyun": make_child(
            civil_affairs,
            name="章小云",
            birth_date=date(2013, 1, 2),
            village_code=VILLAGE_3,
            gender="female",
            id_number=number_for("2013-01-02", seq=51),
        ),
        "elsewhere": make_child(
            outsider,
            name="外县孩子",
            birth_date=date(2012, 7, 7),
            gender="female",
            id_number=number_for("2012-07-07", area="341824", seq=52),
        ),
    }


def _row(report, line) -> DropoutRow:
    return DropoutRow.objects.get(dropout_list=report.dropout_list, line=line)


# --- Matching -----------------------------------------------------------------------------------


def test_a_row_is_matched_by_id_number_and_the_child_marked_out_of_school(files, civil_affairs):
    xiaoyu = files["xiaoyu"]
    number = number_for("2012-03-08")
    report = do_import(civil_affairs, [("查小雨", number, "", "查济小学", "五年级", "辍学")])
    assert report.ok, report.errors
    row = _row(report, 2)
    assert row.result == "matched" and row.child_id == xiaoyu.pk and row.case_opened
    # Encrypted at rest: neither the number nor its hash's input is stored in clear.
    assert (
        number not in row.id_number_encrypted and crypto.decrypt(row.id_number_encrypted) == number
    )
    assert row.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    xiaoyu.refresh_from_db()
    assert xiaoyu.school_status == "dropped_out" and "out_of_school" in xiaoyu.focus_flags
    case = ReturnToSchoolCase.objects.get(child=xiaoyu)
    assert case.status == "open" and case.source_list == report.dropout_list
    assert case.opened_on == date(2026, 11, 23) and case.listed_status == "dropped_out"
    # The file's history shows the change, made by the importer through the list.
    from pghistory.models import Context

    event = ChildEvent.objects.filter(pgh_obj_id=xiaoyu.pk).order_by("-pgh_id").first()
    assert event.school_status == "dropped_out"
    meta = Context.objects.get(pk=event.pgh_context_id).metadata
    assert meta["via"] == "dropout_list" and meta["dropout_list"] == str(report.dropout_list.pk)
    assert meta["user"] == civil_affairs.pk
    counts = DropoutList.objects.values_list("matched_count", "unmatched_count", "cases_opened")
    assert list(counts) == [(1, 0, 1)]


def test_without_an_id_number_a_row_is_matched_by_exact_name_and_birth_date(files, supervisor):
    report = do_import(
        supervisor,
        [
            ("查小林", "", "2011-05-01", "", "", "失学"),  # the file has no ID number either
            ("查小雨", "", "2012/3/8", "", "", "未入学"),  # the file has one; the row has not
            ("查小雨", "", "2012-03-09", "", "", "辍学"),  # another birth date: no match
            ("查 小林", "", "2011-05-01", "", "", ""),  # not the exact name
            ("查小林", "", "", "", "", ""),  # nothing to match on
        ],
    )
    assert report.ok, report.errors
    results = dict(report.dropout_list.rows.values_list("line", "result"))
    assert results == {
        2: "matched",
        3: "matched",
        4: "no_name_match",
        5: "no_name_match",
        6: "no_birth_date",
    }
    assert _row(report, 2).child_id == files["xiaolin"].pk
    # 未入学 is the list's status: the file says not enrolled.
    assert Child.objects.get(pk=files["xiaoyu"].pk).school_status == "not_enrolled"
    assert Child.objects.get(pk=files["xiaolin"].pk).school_status == "dropped_out"
    unmatched = report.dropout_list.rows.exclude(result="matched")
    assert set(unmatched.values_list("follow_up", flat=True)) == {"open"}
    assert set(unmatched.values_list("area_id", flat=True)) == {TOWNSHIP_1}


def test_two_files_of_the_same_name_and_birth_date_are_ambiguous(files, director_a, supervisor):
    make_child(
        director_a,
        name="查小林",
        birth_date=date(2011, 5, 1),
        id_number="",
        hukou_registered=False,
        confirm_possible_duplicate=True,
    )
    report = do_import(supervisor, [("查小林", "", "2011-05-01", "", "", "辍学")])
    row = _row(report, 2)
    assert row.result == "ambiguous" and row.child is None and row.follow_up == "open"
    assert not ReturnToSchoolCase.objects.exists()


def test_matching_is_set_based(files, director_a, supervisor, django_assert_max_num_queries):
    """One query for every ID number, one for every name and birth date: a list of 40 rows costs
    what a list of 2 does."""
    rows = [("查小雨", number_for("2012-03-08"), "", "", "", "辍学")]
    rows += [(f"无档{i}", "", "2012-01-01", "", "", "辍学") for i in range(20)]
    rows += [(f"无号{i}", number_for("2012-02-02", seq=60 + i), "", "", "", "") for i in range(20)]
    with django_assert_max_num_queries(80) as captured:
        report = do_import(supervisor, rows)
    assert report.ok and report.dropout_list.matched_count == 1
    lookups = [q["sql"] for q in captured.captured_queries if "children_child" in q["sql"]]
    assert sum('"id_number_hash" IN' in sql for sql in lookups) == 1
    assert sum('"birth_date" IN' in sql for sql in lookups) == 1


def test_a_file_of_another_area_is_neither_matched_nor_revealed(
    files, supervisor, civil_affairs, client_for, api_client
):
    elsewhere = files["elsewhere"]
    rows = [
        ("外县孩子", number_for("2012-07-07", area="341824", seq=52), "", "", "", "辍学"),
        ("外县孩子", "", "2012-07-07", "", "", "辍学"),
        ("章小云", number_for("2013-01-02", seq=51), "", "", "", "辍学"),  # township 2
    ]
    report = do_import(civil_affairs, rows[:2])
    assert [r.result for r in report.dropout_list.rows.all()] == ["no_file", "no_name_match"]
    township = do_import(supervisor, rows[2:])
    assert _row(township, 2).result == "no_file"  # the county's file, not the township's
    elsewhere.refresh_from_db()
    assert elsewhere.school_status == "in_school"
    assert not ReturnToSchoolCase.objects.exists()
    page = client_for(civil_affairs).get(f"/children/dropouts/{report.dropout_list.pk}/")
    body = page.content.decode()
    assert str(elsewhere.pk) not in body and "城东村" not in body
    answer = api_client(civil_affairs).get(f"/api/v1/dropout-lists/{report.dropout_list.pk}")
    assert [r["child_id"] for r in answer.json()["items"]] == [None, None]
    assert str(elsewhere.pk) not in answer.content.decode()


def test_a_closed_file_a_transferred_child_and_a_child_of_18(
    files, frozen, director_a, civil_affairs, outsider
):
    closed = make_child(director_a, name="已结案", birth_date=date(2012, 1, 1))
    child_close(user=director_a, child=closed, reason="moved_away")
    frozen.move_to("2025-06-01 10:00 +0800")
    adult = make_child(director_a, name="满十八", birth_date=date(2008, 11, 1))
    frozen.move_to("2026-11-23 10:00 +0800")  # 18 since 1 November; not aged out yet
    moved = make_child(director_a, name="迁走了", birth_date=date(2013, 6, 1))
    transfer = transfer_request_from_sender(
        user=director_a, child=moved, to_village_code=VILLAGE_B, reason="随父母迁居"
    )
    transfer_accept(user=outsider, transfer=transfer)
    lines = [closed, adult, moved]
    report = do_import(
        civil_affairs,
        [(c.name, crypto.decrypt(c.id_number_encrypted), "", "", "", "辍学") for c in lines],
    )
    assert report.ok, report.errors
    assert list(report.dropout_list.rows.values_list("result", flat=True)) == [
        "file_closed",
        "adult",
        "no_file",
    ]
    assert not ReturnToSchoolCase.objects.exists()
    for child in lines:
        child.refresh_from_db()
        assert child.school_status == "in_school"
    # A closed file re-opened can be linked later.
    assert _row(report, 2).child_id == closed.pk and _row(report, 4).child_id is None


def test_a_second_import_of_the_same_list_opens_no_second_case(files, civil_affairs):
    rows = [("查小雨", number_for("2012-03-08"), "", "", "", "辍学")]
    first = do_import(civil_affairs, rows)
    events = ChildEvent.objects.filter(pgh_obj_id=files["xiaoyu"].pk).count()
    second = do_import(civil_affairs, rows)
    assert second.ok and second.dropout_list.pk != first.dropout_list.pk
    assert ReturnToSchoolCase.objects.filter(child=files["xiaoyu"]).count() == 1
    row = _row(second, 2)
    assert row.result == "matched" and not row.case_opened and row.case == _row(first, 2).case
    assert second.dropout_list.cases_opened == 0
    assert ChildEvent.objects.filter(pgh_obj_id=files["xiaoyu"].pk).count() == events


def test_english_headers_and_a_township_column(files, civil_affairs):
    report = do_import(
        civil_affairs,
        [
            ("Nobody", "", "2012-01-01", "", "", "dropped out", "云岭镇"),
            ("Nobody2", "", "", "", "", "", ""),
        ],
        headers=("name", "id_number", "birth_date", "school", "grade", "status", "township"),
    )
    assert report.ok, report.errors
    assert list(report.dropout_list.rows.values_list("area_id", flat=True)) == [
        TOWNSHIP_2,
        COUNTY_A,
    ]


# --- Bad and hostile files ----------------------------------------------------------------------


def test_a_list_with_bad_rows_loads_nothing_and_lists_every_error(files, civil_affairs):
    bad = number_for("2012-03-08")[:-1] + ("0" if number_for("2012-03-08")[-1] != "0" else "1")
    report = do_import(
        civil_affairs,
        [
            ("查小雨", number_for("2012-03-08"), "", "", "", "辍学"),  # good, but nothing is saved
            ("坏号", bad, "", "", "", "辍学"),
            ("坏日期", "", "2012-13-40", "", "", "辍学"),
            ("=cmd|' /C calc'!A0", "", "2012-01-01", "", "", "辍学"),
            ("坏状态", "", "2012-01-01", "", "", "转学"),
            ("", "", "2012-01-01", "查济小学", "", "辍学"),
            ("重号", number_for("2012-03-08"), "", "", "", "辍学"),
            ("学校", "", "2012-01-01", "+SUM(A1)", "", "辍学"),
            ("不符", number_for("2012-03-08"), "2012-03-09", "", "", "辍学"),
            ("未来", "", "2027-01-01", "", "", "辍学"),
        ],
    )
    assert not report.ok
    assert sorted({e.row for e in report.errors}) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    columns = {e.row: e.column for e in report.errors}
    assert columns[3] == "身份证号" and columns[5] == "姓名" and columns[6] == "状态"
    assert columns[9] == "学校" and columns[4] == "出生日期"
    assert not DropoutList.objects.exists() and not DropoutRow.objects.exists()
    assert Child.objects.get(pk=files["xiaoyu"].pk).school_status == "in_school"
    assert AuditRecord.objects.filter(object_type="dropoutlist", detail__outcome="refused").exists()


def _sheet_with(content: bytes, old: bytes, new: bytes) -> bytes:
    """The workbook ``content`` with ``old`` replaced by ``new`` in its XML parts."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith(".xml"):
                data = data.replace(old, new)
            target.writestr(item, data)
    return out.getvalue()


def test_hostile_files_are_refused_with_a_message_and_never_a_500(files, civil_affairs):
    def refused(content) -> list[str]:
        report = dropouts.dropout_list_import(
            user=civil_affairs, source=io.BytesIO(content), source_note=SOURCE
        )
        assert not report.ok and not DropoutList.objects.exists()
        return [str(e) for e in report.errors]

    assert "xlsx" in refused(b"MZ\x90\x00 not a spreadsheet")[0]
    assert "10 MB" in refused(b"PK" + b"\x00" * (10 * 1024 * 1024 + 1))[0]
    # A zip bomb: 90 MB of one repeated byte, a few hundred KB packed.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" * (90 * 1024 * 1024))
    assert "80 MB" in refused(bomb.getvalue())[0]
    # A sheet that says it has more rows than an import takes.
    workbook = Workbook()
    workbook.active.append(list(HEADERS))
    workbook.active.cell(row=20_005, column=1, value="末行")
    big = io.BytesIO()
    workbook.save(big)
    assert "20000" in refused(big.getvalue())[0]
    # A NUL character written into the sheet's XML (openpyxl itself cannot write one): the XML
    # does not parse, which shows only as the rows are read — a message, not a 500; the census
    # import reads through the same reader.
    content = xlsx([("查NULHERE小雨", "", "2012-03-08", "", "", "辍学")])
    broken = _sheet_with(content, b"NULHERE", b"&#0;")
    assert "xlsx" in refused(broken)[0]
    census_sheet = xlsx([["查NULHERE小雨", "女", "2012-03-08"]], headers=CENSUS_HEADERS)
    census = import_children(
        source=io.BytesIO(_sheet_with(census_sheet, b"NULHERE", b"&#0;")), user=civil_affairs
    )
    assert not census.ok and "xlsx" in str(census.errors[0])
    # Excel's escape of a NUL is read as the text it is, never as a NUL.
    report = dropouts.dropout_list_import(
        user=civil_affairs,
        source=io.BytesIO(_sheet_with(content, b"NULHERE", b"_x0000_")),
        source_note=SOURCE,
    )
    assert report.ok and report.dropout_list.rows.get().name == "查_x0000_小雨"
    DropoutList.objects.all().delete()
    # The headers say nothing to match on; the source note is hostile.
    assert "身份证号" in refused(xlsx([("查小雨",)], headers=("姓名",)))[0]
    for source in ("", "a\x00b", "=HYPERLINK(1)", "长" * 101):
        report = dropouts.dropout_list_import(
            user=civil_affairs,
            source=io.BytesIO(xlsx([("查小雨", "", "", "", "", "")])),
            source_note=source,
        )
        assert not report.ok and report.reason == "source" and len(report.errors) == 1


# --- Pages --------------------------------------------------------------------------------------


def test_import_page_flow_and_the_result(files, supervisor, client_for):
    client = client_for(supervisor)
    page = client.get("/children/dropouts/")
    assert page.status_code == 200 and 'name="source"' in page.content.decode()
    answer = client.post(
        "/children/dropouts/",
        {
            "source": SOURCE,
            "file": upload(
                [
                    ("查小雨", number_for("2012-03-08"), "", "查济小学", "五年级", "辍学"),
                    ("无档", "", "2012-01-01", "", "", "辍学"),
                ]
            ),
        },
    )
    found = DropoutList.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/children/dropouts/{found.pk}/"
    body = client.get(answer["Location"]).content.decode()
    assert SOURCE in body and "查小雨" in body and "无档" in body
    assert 'data-count="matched">1<' in body and 'data-count="unmatched">1<' in body
    # A supervisor sees ID numbers masked (the project's one decision).
    number = number_for("2012-03-08")
    assert number not in body and number[:4] + "*" * 10 + number[-4:] in body
    assert AuditRecord.objects.filter(
        object_type="child", object_id=str(files["xiaoyu"].pk), user=supervisor
    ).exists()


def test_bad_rows_and_hostile_fields_are_shown_next_to_their_place(files, supervisor, client_for):
    client = client_for(supervisor)
    answer = client.post(
        "/children/dropouts/",
        {"source": SOURCE, "file": upload([("=cmd|' /C calc'!A0", "", "2012-01-01", "", "", "")])},
    )
    body = answer.content.decode()
    assert answer.status_code == 200 and 'id="dropout-errors"' in body
    # The error table names the row and the column; the text is escaped, never markup.
    assert re.search(r"<td>2</td><td>姓名</td><td>[^<]*=[^<]*</td>", body)
    # A formula cell is read as its value (none saved): the name is missing.
    formula = SimpleUploadedFile(
        "f.xlsx", xlsx([("=cmd|' /C calc'!A0", "", "2012-01-01", "", "", "")], formulas=True)
    )
    answer = client.post("/children/dropouts/", {"source": SOURCE, "file": formula})
    assert re.search(r"<td>2</td><td>姓名</td><td>[^<=]+</td>", answer.content.decode())
    assert not DropoutList.objects.exists()
    for data in (
        {"source": "a\x00b", "file": upload([("查小雨", "", "2012-03-08", "", "", "")])},
        {"source": SOURCE, "file": SimpleUploadedFile("list.csv", b"a,b")},
        {"source": "长" * 101, "file": upload([("查小雨", "", "2012-03-08", "", "", "")])},
    ):
        answer = client.post("/children/dropouts/", data)
        assert answer.status_code == 200 and "is-invalid" in answer.content.decode()
        assert not DropoutList.objects.exists()


def test_the_case_page_logs_contacts_keeps_a_plan_and_closes_back_in_school(
    files, civil_affairs, director_a, client_for
):
    do_import(civil_affairs, [("查小雨", number_for("2012-03-08"), "", "", "", "辍学")])
    case = ReturnToSchoolCase.objects.get()
    client = client_for(director_a)  # the village's director follows the case up
    url = f"/children/return-to-school/{case.pk}/"
    assert "查小雨" in client.get("/children/return-to-school/").content.decode()
    assert client.get(url).status_code == 200
    answer = client.post(
        f"{url}contacts/",
        {
            "contacted_on": "2026-11-22",
            "with_whom": "母亲",
            "channel": "home_visit",
            "note": "已劝返",
        },
    )
    assert answer.status_code == 302
    contact = ReturnToSchoolContact.objects.get()
    assert contact.contacted_by == director_a and contact.note == "已劝返"
    # Case notes are encrypted at rest.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM children_returntoschoolcontact")
        assert cursor.fetchone()[0] != "已劝返"
    future = client.post(
        f"{url}contacts/", {"contacted_on": "2026-12-01", "with_whom": "母亲", "channel": "phone"}
    )
    assert future.status_code == 200 and ReturnToSchoolContact.objects.count() == 1
    assert "is-invalid" in future.content.decode()
    assert client.post(f"{url}plan/", {"plan": "联系学校，周一复学"}).status_code == 302
    missing = client.post(f"{url}close/", {"outcome": "returned"})
    assert missing.status_code == 200 and "is-invalid" in missing.content.decode()
    assert ReturnToSchoolCase.objects.get().status == "open"
    closed = client.post(
        f"{url}close/",
        {"outcome": "returned", "returned_on": "2026-11-23", "returned_school": "查济小学"},
    )
    assert closed.status_code == 302
    case.refresh_from_db()
    assert (
        case.status == "closed" and case.outcome == "returned" and case.plan == "联系学校，周一复学"
    )
    child = Child.objects.get(pk=files["xiaoyu"].pk)
    assert child.school_status == "in_school" and child.school_name == "查济小学"
    assert "out_of_school" not in child.focus_flags
    assert client.post(f"{url}plan/", {"plan": "x"}).status_code == 200  # closed: refused, shown
    # The file's history tells the story.
    history = client.get(f"/children/{child.pk}/history/").content.decode()
    assert f"list: {SOURCE}" in history or SOURCE in history
    assert "2026-11-22" in history


def test_the_file_page_shows_the_open_case(files, civil_affairs, director_a, client_for):
    do_import(civil_affairs, [("查小雨", number_for("2012-03-08"), "", "", "", "辍学")])
    case = ReturnToSchoolCase.objects.get()
    body = client_for(director_a).get(f"/children/{files['xiaoyu'].pk}/").content.decode()
    assert 'id="return-to-school"' in body and f"/children/return-to-school/{case.pk}/" in body
    other = client_for(director_a).get(f"/children/{files['xiaolin'].pk}/").content.decode()
    assert 'id="return-to-school"' not in other
    # The child list leads to the cases.
    assert (
        "/children/return-to-school/" in client_for(director_a).get("/children/").content.decode()
    )


def test_unmatched_rows_are_linked_or_dismissed_by_a_case_worker(
    files, supervisor, director_a, client_for
):
    report = do_import(
        supervisor,
        [
            ("查晓林", "", "2011-05-01", "", "", "辍学"),
            ("不在本镇", "", "2012-01-01", "", "", "辍学"),
        ],
    )
    link_row, dismiss_row = _row(report, 2), _row(report, 3)
    client = client_for(supervisor)
    listing = client.get("/children/dropouts/follow-up/").content.decode()
    assert "查晓林" in listing and "不在本镇" in listing
    page = client.get(f"/children/dropouts/rows/{link_row.pk}/link/").content.decode()
    assert "查小林" in page  # the file with the same birth date is offered
    answer = client.post(
        f"/children/dropouts/rows/{link_row.pk}/link/", {"child_id": str(files["xiaolin"].pk)}
    )
    case = ReturnToSchoolCase.objects.get(child=files["xiaolin"])
    assert (
        answer.status_code == 302 and answer["Location"] == f"/children/return-to-school/{case.pk}/"
    )
    link_row.refresh_from_db()
    assert link_row.follow_up == "linked" and link_row.child_id == files["xiaolin"].pk
    assert Child.objects.get(pk=files["xiaolin"].pk).school_status == "dropped_out"
    # Twice: refused, shown on the form.
    again = client.post(
        f"/children/dropouts/rows/{link_row.pk}/link/", {"child_id": str(files["xiaolin"].pk)}
    )
    assert again.status_code == 200 and ReturnToSchoolCase.objects.count() == 1
    # By an ID number of another county: not found, nothing revealed.
    other = number_for("2012-07-07", area="341824", seq=52)
    nothing = client.post(f"/children/dropouts/rows/{dismiss_row.pk}/link/", {"id_number": other})
    assert nothing.status_code == 200 and "外县孩子" not in nothing.content.decode()
    assert (
        client.post(f"/children/dropouts/rows/{dismiss_row.pk}/dismiss/", {"note": ""}).status_code
        == 302
    )
    dismiss_row.refresh_from_db()
    assert dismiss_row.follow_up == "open"  # a note is required
    client.post(f"/children/dropouts/rows/{dismiss_row.pk}/dismiss/", {"note": "外镇学生，已转告"})
    dismiss_row.refresh_from_db()
    assert dismiss_row.follow_up == "dismissed" and dismiss_row.follow_up_note == "外镇学生，已转告"
    assert "不在本镇" not in client.get("/children/dropouts/follow-up/").content.decode()
    # The village's director does not see the township's rows.
    assert (
        client_for(director_a).get(f"/children/dropouts/rows/{link_row.pk}/link/").status_code
        == 404
    )


# --- Scope, roles, masking ---------------------------------------------------------------------


@pytest.fixture
def imported(files, civil_affairs):
    report = do_import(
        civil_affairs,
        [
            ("查小雨", number_for("2012-03-08"), "", "", "", "辍学"),
            ("无档", number_for("2012-02-02", seq=70), "", "", "", "辍学"),
        ],
    )
    return report.dropout_list


def test_an_outsider_gets_404_everywhere(imported, outsider, client_for, api_client):
    case = ReturnToSchoolCase.objects.get()
    row = imported.rows.get(line=3)
    client, api = client_for(outsider), api_client(outsider)
    for url in (
        f"/children/dropouts/{imported.pk}/",
        f"/children/return-to-school/{case.pk}/",
        f"/children/dropouts/rows/{row.pk}/link/",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/children/return-to-school/{case.pk}/plan/", {"plan": "x"}).status_code == 404
    )
    assert (
        client.post(f"/children/dropouts/rows/{row.pk}/dismiss/", {"note": "x"}).status_code == 404
    )
    for url in (
        f"/api/v1/dropout-lists/{imported.pk}",
        f"/api/v1/return-to-school-cases/{case.pk}",
    ):
        assert api.get(url).status_code == 404, url
    assert (
        api.post(
            f"/api/v1/return-to-school-cases/{case.pk}/close",
            {"outcome": "other", "note": "x"},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert (
        api.post(
            f"/api/v1/dropout-rows/{row.pk}/dismiss", {"note": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert api.get("/api/v1/return-to-school-cases").json() == {"items": [], "count": 0}
    assert api.get("/api/v1/dropout-lists").json() == {"items": [], "count": 0}
    assert client.get("/children/return-to-school/").status_code == 200
    assert "查小雨" not in client.get("/children/return-to-school/").content.decode()


def test_the_viewer_reads_but_may_not_write(imported, viewer, director_a, client_for, api_client):
    case = ReturnToSchoolCase.objects.get()
    client, api = client_for(viewer), api_client(viewer)
    assert client.get(f"/children/return-to-school/{case.pk}/").status_code == 200
    assert client.get(f"/children/dropouts/{imported.pk}/").status_code == 200
    contact = {"contacted_on": "2026-11-22", "with_whom": "母亲", "channel": "phone"}
    assert (
        client.post(f"/children/return-to-school/{case.pk}/contacts/", contact).status_code == 403
    )
    assert (
        client.post(
            f"/children/return-to-school/{case.pk}/close/", {"outcome": "other", "note": "x"}
        ).status_code
        == 403
    )
    assert (
        api.post(
            f"/api/v1/return-to-school-cases/{case.pk}/contacts",
            contact,
            content_type="application/json",
        ).status_code
        == 403
    )
    file = upload([("查小雨", "", "2012-03-08", "", "", "")])
    assert client.post("/children/dropouts/", {"source": SOURCE, "file": file}).status_code == 403
    assert (
        api.post(
            "/api/v1/dropout-lists", {"source": SOURCE, "file": upload([("a", "", "2012-01-01")])}
        ).status_code
        == 403
    )
    # The director follows cases up but does not import lists.
    assert (
        client_for(director_a)
        .post("/children/dropouts/", {"source": SOURCE, "file": upload([("a", "", "2012-01-01")])})
        .status_code
        == 403
    )
    assert (
        api_client(director_a)
        .post(
            "/api/v1/dropout-lists", {"source": SOURCE, "file": upload([("a", "", "2012-01-01")])}
        )
        .status_code
        == 403
    )
    assert not ReturnToSchoolContact.objects.exists() and DropoutList.objects.count() == 1


def test_id_numbers_are_masked_by_role(
    imported, civil_affairs, supervisor, viewer, client_for, api_client
):
    number = number_for("2012-02-02", seq=70)
    masked = number[:4] + "*" * 10 + number[-4:]
    full = client_for(civil_affairs).get("/children/dropouts/follow-up/").content.decode()
    assert number in full
    for user in (viewer,):
        body = client_for(user).get("/children/dropouts/follow-up/").content.decode()
        assert number not in body and masked in body
        rows = api_client(user).get("/api/v1/dropout-rows").json()["items"]
        assert rows[0]["id_number"] is None and rows[0]["id_number_masked"] == masked
    rows = api_client(civil_affairs).get("/api/v1/dropout-rows").json()["items"]
    assert rows[0]["id_number"] == number
    # The supervisor of township 1: the county's rows are not theirs.
    assert api_client(supervisor).get("/api/v1/dropout-rows").json()["count"] == 0


# --- API ----------------------------------------------------------------------------------------


def test_the_api_imports_reads_and_follows_up(files, civil_affairs, director_a, api_client):
    api = api_client(civil_affairs)
    answer = api.post(
        "/api/v1/dropout-lists",
        {
            "source": SOURCE,
            "file": upload(
                [
                    ("查小雨", number_for("2012-03-08"), "", "查济小学", "五年级", "辍学"),
                    ("无档", "", "2012-01-01", "", "", "休学"),
                ]
            ),
        },
    )
    assert answer.status_code == 201, answer.content
    created = answer.json()
    assert created["matched"] == 1 and created["unmatched"] == 1 and created["source"] == SOURCE
    listed = api.get("/api/v1/dropout-lists").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == created["id"]
    detail = api.get(f"/api/v1/dropout-lists/{created['id']}").json()
    assert [r["result"] for r in detail["items"]] == ["matched", "no_name_match"]
    assert detail["items"][1]["listed_status"] == "suspended"
    assert detail["items"][0]["child_id"] == str(files["xiaoyu"].pk)
    unmatched = api.get(f"/api/v1/dropout-lists/{created['id']}?result=unmatched").json()
    assert unmatched["count"] == 1
    cases = api.get("/api/v1/return-to-school-cases?status=open").json()
    assert cases["count"] == 1
    case_id = cases["items"][0]["id"]
    director = api_client(director_a)
    contact = director.post(
        f"/api/v1/return-to-school-cases/{case_id}/contacts",
        {"contacted_on": "2026-11-20", "with_whom": "父亲", "channel": "phone", "note": "答应送回"},
        content_type="application/json",
    )
    assert contact.status_code == 201 and contact.json()["contacted_by"] == "director_a"
    bad = director.post(
        f"/api/v1/return-to-school-cases/{case_id}/contacts",
        {"contacted_on": "2026-11-20", "with_whom": "父\x00亲", "channel": "phone"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    plan = director.post(
        f"/api/v1/return-to-school-cases/{case_id}/plan",
        {"plan": "周一送校"},
        content_type="application/json",
    )
    assert plan.status_code == 200 and plan.json()["plan"] == "周一送校"
    incomplete = director.post(
        f"/api/v1/return-to-school-cases/{case_id}/close",
        {"outcome": "returned"},
        content_type="application/json",
    )
    assert incomplete.status_code == 422
    assert {e["loc"][-1] for e in incomplete.json()["detail"]} == {"returned_on", "returned_school"}
    closed = director.post(
        f"/api/v1/return-to-school-cases/{case_id}/close",
        {"outcome": "returned", "returned_on": "2026-11-23", "returned_school": "查济小学"},
        content_type="application/json",
    )
    assert closed.status_code == 200, closed.content
    body = closed.json()
    assert body["status"] == "closed" and body["outcome"] == "returned"
    assert body["contact_count"] == 1 and body["last_contact_on"] == "2026-11-20"
    assert Child.objects.get(pk=files["xiaoyu"].pk).school_status == "in_school"
    again = director.post(
        f"/api/v1/return-to-school-cases/{case_id}/close",
        {"outcome": "other", "note": "x"},
        content_type="application/json",
    )
    assert again.status_code == 409
    assert api.get("/api/v1/return-to-school-cases").json()["count"] == 0
    assert api.get("/api/v1/return-to-school-cases?status=closed").json()["count"] == 1
    one = api.get(f"/api/v1/return-to-school-cases/{case_id}").json()
    assert [c["with_whom"] for c in one["contacts"]] == ["父亲"]
    # The row left over: dismissed, then a second answer is 409.
    row_id = detail["items"][1]["id"]
    assert (
        api.post(
            f"/api/v1/dropout-rows/{row_id}/dismiss",
            {"note": "外县学生"},
            content_type="application/json",
        ).status_code
        == 200
    )
    assert (
        api.post(
            f"/api/v1/dropout-rows/{row_id}/dismiss", {"note": "x"}, content_type="application/json"
        ).status_code
        == 409
    )
    link = api.post(
        f"/api/v1/dropout-rows/{row_id}/link",
        {"child_id": str(files["xiaolin"].pk)},
        content_type="application/json",
    )
    assert link.status_code == 409


def test_the_api_lists_every_bad_row_with_its_line(files, civil_affairs, api_client):
    answer = api_client(civil_affairs).post(
        "/api/v1/dropout-lists",
        {
            "source": SOURCE,
            "file": upload(
                [("查小雨", "", "2012-03-08", "", "", ""), ("坏", "12345", "", "", "", "")]
            ),
        },
    )
    assert answer.status_code == 422
    assert [e["loc"][:3] for e in answer.json()["detail"]] == [["body", "file", 3]]
    nul = api_client(civil_affairs).post(
        "/api/v1/dropout-lists",
        {"source": "县\x00教育局", "file": upload([("a", "", "2012-01-01")])},
    )
    assert nul.status_code in (400, 422) and not DropoutList.objects.exists()


def test_linking_through_the_api(files, supervisor, api_client, outsider):
    report = do_import(supervisor, [("查晓雨", "", "2012-03-08", "", "", "辍学")])
    row = _row(report, 2)
    api = api_client(supervisor)
    other = api.post(
        f"/api/v1/dropout-rows/{row.pk}/link",
        {"child_id": str(files["elsewhere"].pk)},
        content_type="application/json",
    )
    assert other.status_code == 404
    linked = api.post(
        f"/api/v1/dropout-rows/{row.pk}/link",
        {"child_id": str(files["xiaoyu"].pk)},
        content_type="application/json",
    )
    assert linked.status_code == 200 and linked.json()["follow_up"] == "linked"
    assert linked.json()["case_opened"] is True


# --- Constant queries and the dashboard --------------------------------------------------------


def _many(director_a, civil_affairs, n, start):
    """``n`` children on file and on a list, and ``n`` rows with no file."""
    rows = []
    for i in range(start, start + n):
        born = date(2012, 1, 1) + timedelta(days=i)
        number = number_for(born.isoformat(), seq=i)
        make_child(director_a, name=f"孩子{i}", birth_date=born, gender="female", id_number=number)
        rows.append((f"孩子{i}", number, "", "", "", "辍学"))
        rows.append((f"无档{i}", "", born.isoformat(), "", "", "辍学"))
    return do_import(civil_affairs, rows).dropout_list


@pytest.mark.parametrize("who", ["civil_affairs", "viewer"])
def test_list_pages_take_a_constant_number_of_queries(
    request,
    frozen,
    areas,
    director_a,
    civil_affairs,
    client_for,
    django_assert_max_num_queries,
    who,
):
    client = client_for(request.getfixturevalue(who))

    def pages(found):
        case = ReturnToSchoolCase.objects.filter(source_list=found).order_by("pk").first()
        ReturnToSchoolContact.objects.bulk_create(
            ReturnToSchoolContact(
                case=case,
                contacted_on=date(2026, 11, day),
                contacted_by=director_a,
                with_whom="母亲",
                channel="phone",
            )
            for day in range(1, found.matched_count + 1)
        )
        return [
            "/children/dropouts/",
            f"/children/dropouts/{found.pk}/",
            "/children/dropouts/follow-up/",
            "/children/return-to-school/",
            f"/children/return-to-school/{case.pk}/",
            "/api/v1/return-to-school-cases",
            f"/api/v1/dropout-lists/{found.pk}",
            "/api/v1/dropout-rows",
        ]

    counts = []
    for url in pages(_many(director_a, civil_affairs, 1, start=10)):
        client.get(url)  # the session warmed
        with django_assert_max_num_queries(30) as captured:
            assert client.get(url).status_code == 200, url
        counts.append(len(captured.captured_queries))
    for url, count in zip(
        pages(_many(director_a, civil_affairs, 12, start=20)), counts, strict=True
    ):
        with django_assert_max_num_queries(count):
            assert client.get(url).status_code == 200, url


def test_the_dashboard_counts_open_cases_and_drills_down(
    files, civil_affairs, supervisor, director_a, client_for, api_client
):
    do_import(
        civil_affairs,
        [
            ("查小雨", number_for("2012-03-08"), "", "", "", "辍学"),
            ("章小云", number_for("2013-01-02", seq=51), "", "", "", "辍学"),
        ],
    )
    api = api_client(civil_affairs)
    assert api.get("/api/v1/stats").json()["return_to_school_open"] == 2
    assert api.get(f"/api/v1/stats?area={TOWNSHIP_1}").json()["return_to_school_open"] == 1
    assert api_client(supervisor).get("/api/v1/stats").json()["return_to_school_open"] == 1
    page = client_for(civil_affairs).get("/dashboard/").content.decode()
    link = f"/children/return-to-school/?status=open&amp;area={COUNTY_A}"
    assert link in page
    listed = client_for(civil_affairs).get(
        f"/children/return-to-school/?status=open&area={TOWNSHIP_2}"
    )
    assert "章小云" in listed.content.decode() and "查小雨" not in listed.content.decode()
    case = ReturnToSchoolCase.objects.get(child=files["xiaoyun"])
    dropouts.return_case_close(user=civil_affairs, case=case, outcome="exempted", note="送教上门")
    assert api.get("/api/v1/stats").json()["return_to_school_open"] == 1
    assert (
        client_for(supervisor).get(f"/children/return-to-school/?area={TOWNSHIP_2}").status_code
        == 404
    )
    assert re.search(r"return_to_school_open", str(api.get("/api/v1/stats").json()))
