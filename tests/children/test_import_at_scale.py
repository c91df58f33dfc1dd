"""Issue 20, point 3: the census import at national scale. It loads only the villages its rows
name (one query, never all 640,000), writes children, households and family members with COPY
(encrypted, hashed, their history written by the triggers under the import's context) and reads
the sheet with python-calamine when that reads it as openpyxl does, with openpyxl otherwise."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from accounts.models import Area
from children import imports
from children.imports import HEADERS, import_children
from children.models import Child, ChildEvent, FamilyMember, FamilyMemberEvent
from core import crypto

from ..conftest import TOWNSHIP_1, VILLAGE_1, VILLAGE_2, VILLAGE_B
from ..factories import make_id_number
from .test_import_export import row, workbook_bytes

pytestmark = pytest.mark.django_db

MORE_VILLAGES = 300


@pytest.fixture
def many_villages(areas) -> list[str]:
    """Villages the file does not name, in the user's township and elsewhere."""
    codes = [f"{TOWNSHIP_1[:9]}{v:03d}" for v in range(300, 300 + MORE_VILLAGES)]
    Area.objects.bulk_create(
        [Area(code=c, name=f"村{c}", level="village", parent_id=TOWNSHIP_1) for c in codes]
    )
    return codes


def area_queries(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if '"accounts_area"' in q["sql"]]


def test_only_the_villages_the_file_names_are_loaded_in_one_query(director_a, many_villages):
    rows = [
        row(),
        row(
            姓名="王大山",
            性别="男",
            出生日期="2013-05-01",
            身份证号=make_id_number("2013-05-01", "male", seq=3),
        ),
    ]
    source = workbook_bytes(rows)
    with CaptureQueriesContext(connection) as captured:
        report = import_children(source=source, user=director_a)
    assert report.ok and report.created == 2
    selects = [q for q in area_queries(captured.captured_queries) if q.startswith("SELECT")]
    assert len(selects) == 1, selects
    # The one code of the file, not every village (there are 300 more).
    assert re.search(r'"accounts_area"\."code" IN \(\'341823103201\'\)', selects[0]), selects[0]
    # COPY writes the rows: no INSERT of children, households or family members is compiled.
    written = re.compile(r'^INSERT INTO "children_(child|household|familymember)"')
    assert not [q for q in captured.captured_queries if written.match(q["sql"].lstrip())]
    assert len(captured.captured_queries) <= 20, [q["sql"][:80] for q in captured]


def test_query_count_does_not_grow_with_rows_or_villages(director_a, many_villages):
    """Rows in many villages (in and out of the user's area, known or not): still one area
    query, and as many queries in all as for a file of one row."""
    one = workbook_bytes([row()])
    with CaptureQueriesContext(connection) as small:
        assert import_children(source=one, user=director_a).ok
    Child.objects.all().delete()
    supervisor_rows = []
    for i, code in enumerate(many_villages[:40]):
        supervisor_rows.append(
            row(
                姓名=f"儿童{i}",
                身份证号=make_id_number("2016-03-08", "female", seq=30 + i),
                **{"村（社区）代码": code},
            )
        )
    with CaptureQueriesContext(connection) as large:
        report = import_children(source=workbook_bytes(supervisor_rows), user=director_a)
    # A director of VILLAGE_1: the other villages are outside the area, as before.
    assert not report.ok and {e.message for e in report.errors} == {str(imports.OUTSIDE_AREA)}
    assert len(area_queries(large.captured_queries)) == 1
    assert len(large.captured_queries) <= len(small.captured_queries)


def test_messages_for_unknown_outside_and_non_village_codes_are_as_before(director_a, areas):
    rows = [
        row(**{"村（社区）代码": "341823103299"}),  # no such village
        row(
            **{"村（社区）代码": VILLAGE_B}, 身份证号=make_id_number("2016-03-08", "female", seq=21)
        ),
        row(
            **{"村（社区）代码": TOWNSHIP_1},
            身份证号=make_id_number("2016-03-08", "female", seq=22),
        ),
        row(
            **{"村（社区）代码": "341821"}, 身份证号=make_id_number("2016-03-08", "female", seq=23)
        ),
    ]
    report = import_children(source=workbook_bytes(rows), user=director_a)
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "村（社区）代码", "区划代码 341823103299 不存在"),
        (3, "村（社区）代码", str(imports.OUTSIDE_AREA)),
        (4, "村（社区）代码", "区划代码 341823103000 不存在"),
        (5, "村（社区）代码", "区划代码 341821 不存在"),
    ]


def test_rows_written_by_copy_are_encrypted_hashed_and_in_the_history(director_a):
    number = make_id_number("2016-03-08", "female")
    father = make_id_number("1985-01-01", "male", seq=7)
    source = workbook_bytes([row(备注="父亲常年在外", 父亲身份证号=father)])
    report = import_children(source=source, user=director_a)
    assert report.ok and report.created == 1
    child = Child.objects.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number_encrypted, id_number_hash, id_number_masked, notes "
            "FROM children_child"
        )
        encrypted, digest, masked, notes = cursor.fetchone()
        cursor.execute("SELECT id_number_encrypted, id_number_hash FROM children_familymember")
        members = cursor.fetchall()
    assert number not in encrypted and crypto.decrypt(encrypted) == number
    assert digest == crypto.lookup_hash(number) and masked != number and "*" in masked
    assert "父亲" not in notes and child.notes == "父亲常年在外"  # a token on disk
    by_hash = {h: e for e, h in members}
    assert crypto.decrypt(by_hash[crypto.lookup_hash(father)]) == father
    assert FamilyMember.objects.filter(household_id=child.household_id).count() == 2
    # The triggers fired for COPY, under the import's context (who imported).
    event = ChildEvent.objects.select_related("pgh_context").get(pgh_obj_id=child.pk)
    assert event.pgh_label == "insert" and event.pgh_context.metadata["user"] == director_a.pk
    assert event.categories == ["left_behind"]
    member_events = FamilyMemberEvent.objects.select_related("pgh_context")
    assert member_events.count() == 2
    assert {e.pgh_context.metadata["user"] for e in member_events} == {director_a.pk}


def test_history_events_are_what_the_triggers_write(director_a):
    """The insert events copy_insert writes in the triggers' stead (set-based) hold what the
    triggers copy: every column of the new row as stored, the label, the time, the context."""
    report = import_children(source=workbook_bytes([row(备注="备注")]), user=director_a)
    assert report.ok and Child.objects.count() == 1
    for model, event_model, rows in (
        (Child, ChildEvent, Child.objects.all()),
        (FamilyMember, FamilyMemberEvent, FamilyMember.objects.all()),
    ):
        tracked = {f.name for f in model._meta.fields}
        copied = [
            f.attname
            for f in event_model._meta.concrete_fields
            if f.name in tracked and not f.name.startswith("pgh_")
        ]
        assert "id" in copied and "name" in copied and "household_id" in copied
        with connection.cursor() as cursor:  # as stored: encrypted columns as their tokens
            columns = ", ".join(f'"{model._meta.get_field(a).column}"' for a in copied)
            cursor.execute(f"SELECT {columns} FROM {model._meta.db_table} ORDER BY id")
            stored = cursor.fetchall()
            cursor.execute(
                f"SELECT {columns}, pgh_label, pgh_obj_id, pgh_created_at, pgh_context_id "
                f"FROM {event_model._meta.db_table} ORDER BY id"
            )
            events = cursor.fetchall()
        assert [e[: len(copied)] for e in events] == stored and len(stored) == rows.count()
        assert {e[-4] for e in events} == {"insert"}
        assert [e[-3] for e in events] == [r[copied.index("id")] for r in stored]
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            assert {e[-2] for e in events} == {cursor.fetchone()[0]}  # the transaction's time
        assert len({e[-1] for e in events}) == 1 and events[0][-1] is not None
    assert ChildEvent.objects.get().notes == "备注"
    # The triggers stood aside for the COPY only: in the same transaction they write again.
    child = Child.objects.get()
    child.address = "新地址"
    child.save(update_fields=["address"])
    FamilyMember.objects.create(
        household_id=child.household_id, relation="other", name="外婆", status="at_home"
    )
    assert ChildEvent.objects.filter(pgh_label="update", address="新地址").count() == 1
    assert FamilyMemberEvent.objects.filter(pgh_label="insert", name="外婆").count() == 1


def test_census_update_history_of_new_children_says_census(director_a):
    report = import_children(source=workbook_bytes([row()]), user=director_a, update=True)
    assert report.ok and report.created == 1
    event = ChildEvent.objects.select_related("pgh_context").get()
    assert event.pgh_context.metadata.get("via") == "census"


def test_a_plain_file_is_read_by_calamine_not_openpyxl(monkeypatch, director_a):
    def never(*args, **kwargs):
        raise AssertionError("openpyxl opened a file calamine may read")

    monkeypatch.setattr(imports, "load_workbook", never)
    report = import_children(source=workbook_bytes([row()]), user=director_a)
    assert report.ok and report.created == 1


def bad_cells_file() -> io.BytesIO:
    """Rows with every kind of bad cell the checks know, and dates and numbers as cells."""
    from datetime import date, datetime

    rows = [
        row(姓名="", 性别="未知", 出生日期="2016-13-45", 就学状态="上班"),
        row(出生日期=datetime(2016, 3, 8), 身份证号=12345, 残疾等级=7.0, 困境类别="外星"),
        row(出生日期=date(2030, 1, 1), 父亲状况="出国", 父亲外出时间="去年"),
        row(姓名=date(2016, 3, 8), 是否登记户籍="也许", **{"村（社区）代码": 341823103201}),
        row(父亲电话="abc", 母亲状况="服刑", 母亲状况开始日期=3.5),
    ]
    return workbook_bytes(rows)


def test_errors_are_the_same_whichever_reader(monkeypatch, director_a):
    fast = import_children(source=bad_cells_file(), user=director_a)
    assert imports._fast_rows(bad_cells_file(), 10_000) is not None  # calamine read it
    monkeypatch.setattr(imports, "_fast_rows", lambda source, size: None)
    slow = import_children(source=bad_cells_file(), user=director_a)
    assert [str(e) for e in fast.errors] == [str(e) for e in slow.errors]
    assert len(fast.errors) >= 12 and Child.objects.count() == 0


def with_sheet_xml(data: bytes, change) -> io.BytesIO:
    """The workbook with its first sheet's XML changed by ``change``."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            out.writestr(item, content)
    target.seek(0)
    return target


def test_a_far_cell_is_left_to_openpyxl(director_a):
    """A 5 KB file with a cell at XFD20001 made python-calamine allocate 10 GB (a dense grid):
    such a sheet is read by openpyxl, as before."""
    book = Workbook()
    book.active.append(HEADERS)
    book.active.append([row().get(h, "") for h in HEADERS])
    book.active.cell(row=20_001, column=16_384, value="x")
    data = io.BytesIO()
    book.save(data)
    assert imports._fast_rows(io.BytesIO(data.getvalue()), len(data.getvalue())) is None
    report = import_children(source=io.BytesIO(data.getvalue()), user=director_a)
    assert report.rows == 2 and {e.row for e in report.errors} == {20_001}
    # Cells placed by counting (no r="…"): their extent is unknown beforehand, openpyxl reads.
    unplaced = with_sheet_xml(
        workbook_bytes([row()]).getvalue(), lambda xml: re.sub(rb' r="[A-Z]+[0-9]+"', b"", xml)
    )
    assert imports._fast_rows(unplaced, 10_000) is None


def inline_file() -> bytes:
    """One good row with its strings written inline in the sheet (as a write-only workbook
    writes them), so that a test can change one cell's XML in place."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("摸底排查")
    sheet.append(HEADERS)
    sheet.append([row().get(h, "") for h in HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


NAME_CELL = '<c r="A2" t="inlineStr"><is><t>查小雨</t></is></c>'.encode()


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        # An error cell: calamine reads it as empty, openpyxl as "#N/A".
        (b'<c r="A2" t="e"><v>#N/A</v></c>', "#N/A"),
        # An _xHHHH_ escape: calamine decodes it (here a NUL), openpyxl keeps the text.
        (b'<c r="A2" t="inlineStr"><is><t>_x0000_</t></is></c>', "_x0000_"),
        # An integer of 18 digits: calamine reads a float, openpyxl the exact number.
        (b'<c r="A2" t="n"><v>341823201603081234</v></c>', "341823201603081234"),
    ],
)
def test_cells_calamine_reads_otherwise_are_left_to_openpyxl(director_a, cell, name):
    data = inline_file()
    assert NAME_CELL in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    source = with_sheet_xml(data, lambda xml: xml.replace(NAME_CELL, cell))
    assert imports._fast_rows(source, 10_000) is None
    report = import_children(source=source, user=director_a)
    assert report.ok and Child.objects.get().name == name  # as openpyxl reads it


def test_villages_named_ignores_malformed_codes(areas):
    assert set(imports._villages_named({VILLAGE_1, VILLAGE_2, "3418\x00", "１２", ""})) == {
        VILLAGE_1,
        VILLAGE_2,
    }


def test_both_readers_read_cells_alike():
    """Every cell as the row checks read it (_text, and _date for dates), in number formats a
    census sheet meets: dates (Chinese ones too), times, numbers, text, booleans."""
    from datetime import datetime

    from openpyxl import load_workbook

    formats = [
        "General",
        "yyyy-mm-dd",
        'yyyy"年"m"月"d"日"',
        '[DBNum1][$-804]yyyy"年"m"月"d"日"',
        "yyyy/m/d;@",
        "m/d/yy h:mm",
        "h:mm:ss",
        "0.00",
        "@",
        "yyyymmdd",
    ]
    book = Workbook()
    sheet = book.active
    values = [42000.5, 42000, datetime(2016, 3, 8), "2016-03-08", True, "  查小雨 ", 1234567]
    for number, style in enumerate(formats, start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=number, column=column, value=value)
            cell.number_format = style
    data = io.BytesIO()
    book.save(data)
    fast = imports._fast_rows(io.BytesIO(data.getvalue()), len(data.getvalue()))
    assert fast is not None
    slow = list(
        load_workbook(io.BytesIO(data.getvalue()), read_only=True, data_only=True)
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    assert len(fast) == len(slow)
    for ours, theirs in zip(fast, slow, strict=True):
        assert [imports._text(v) for v in ours] == [imports._text(v) for v in theirs]
        for a, b in zip(ours, theirs, strict=True):
            try:
                expected = imports._date(b)
            except ValueError:
                with pytest.raises(ValueError):
                    imports._date(a)
            else:
                assert imports._date(a) == expected
