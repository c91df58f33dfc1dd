"""Issue 14, L3: the census import had no cap (50,000 rows: 11.5 s and an 18 MB error page). It
refuses a file over 10 MB before opening it and a sheet over 20,000 rows before checking a row
(its stated size) or at the first row past the cap (a sheet that does not state it); the page
and the command list the first 200 errors and count the rest."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from accounts.models import AuditRecord
from children import imports
from children.imports import HEADERS, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, import_children
from children.models import Child

from ..conftest import VILLAGE_1
from ..factories import make_id_number

pytestmark = pytest.mark.django_db

TOO_MANY = "表格超过20000行（不含表头），未导入"
TOO_LARGE = "文件超过10 MB，未导入"


def good_row() -> list:
    values = {
        "姓名": "查小雨",
        "性别": "女",
        "出生日期": "2016-03-08",
        "身份证号": make_id_number("2016-03-08", "female"),
        "村（社区）代码": VILLAGE_1,
    }
    return [values.get(h, "") for h in HEADERS]


def as_upload(data: bytes) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = "census.xlsx"
    return buffer


def saved(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def no_row_checked(monkeypatch):
    """Fails the test if any row reaches the row checks."""

    def refuse(*args, **kwargs):
        raise AssertionError("a row was checked")

    monkeypatch.setattr(imports, "_parse_row", refuse)


@pytest.fixture
def oversized() -> bytes:
    """A real workbook (one good row) that is just over 10 MB: an unread part of random bytes."""
    book = Workbook()
    book.active.append(HEADERS)
    book.active.append(good_row())
    buffer = io.BytesIO(saved(book))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/media/padding.bin", os.urandom(MAX_IMPORT_BYTES))
    data = buffer.getvalue()
    assert len(data) > MAX_IMPORT_BYTES
    return data


def test_a_file_over_10_mb_is_refused_before_it_is_opened(
    monkeypatch, director_a, oversized, tmp_path, client_for, capsys
):
    def never(*args, **kwargs):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(imports, "load_workbook", never)
    report = import_children(source=as_upload(oversized), user=director_a)
    assert [str(e) for e in report.errors] == [f"[文件] {imports.TOO_LARGE_MESSAGE}"]
    assert TOO_LARGE in imports.TOO_LARGE_MESSAGE and report.reason == "too_large"
    path = tmp_path / "census.xlsx"
    path.write_bytes(oversized)
    with pytest.raises(CommandError):
        call_command("import_children", str(path), "--user", "director_a")
    assert TOO_LARGE in capsys.readouterr().err
    response = client_for(director_a).post("/children/import/", {"file": as_upload(oversized)})
    assert response.status_code == 200
    assert TOO_LARGE in response.content.decode()  # the form's own check, same words
    assert Child.objects.count() == 0
    assert [r.detail["reason"] for r in AuditRecord.objects.filter(action="import")] == [
        "too_large",
        "too_large",
    ]


def test_a_sheet_stating_more_than_20000_rows_is_refused_before_any_row(
    director_a, no_row_checked, client_for
):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for _ in range(MAX_IMPORT_ROWS + 1):
        sheet.append(["查小雨", "女"])
    data = saved(book)
    report = import_children(source=as_upload(data), user=director_a)
    assert [e.message for e in report.errors] == [imports.TOO_MANY_ROWS_MESSAGE]
    assert TOO_MANY in imports.TOO_MANY_ROWS_MESSAGE and report.reason == "too_many_rows"
    response = client_for(director_a).post("/children/import/", {"file": as_upload(data)})
    assert TOO_MANY in response.content.decode()
    assert Child.objects.count() == 0


def blank_rows_then(*data_rows: int) -> bytes:
    """A write-only workbook (no stated size): the header, empty rows, and a good row at each
    sheet row number in ``data_rows``."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("摸底排查")
    sheet.append(HEADERS)
    for number in range(2, max(data_rows) + 1):
        sheet.append(good_row() if number in data_rows else [""])
    return saved(book)


def test_reading_stops_at_the_first_row_past_the_cap(director_a, no_row_checked):
    # Nothing says how long this sheet is: the row after the 20,000th is where reading stops.
    report = import_children(
        source=as_upload(blank_rows_then(MAX_IMPORT_ROWS + 2)), user=director_a
    )
    assert [e.message for e in report.errors] == [imports.TOO_MANY_ROWS_MESSAGE]
    assert Child.objects.count() == 0


def test_the_20000th_row_is_still_read(director_a):
    report = import_children(
        source=as_upload(blank_rows_then(MAX_IMPORT_ROWS + 1)), user=director_a
    )
    assert report.ok and report.created == 1


def hopeless_file(rows: int) -> io.BytesIO:
    """``rows`` rows with only the gender filled in: four errors each."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for _ in range(rows):
        sheet.append(["", "男"])
    return as_upload(saved(book))


def test_only_the_first_200_errors_are_listed(director_a, client_for, tmp_path, capsys):
    report = import_children(source=hopeless_file(250), user=director_a)
    total = len(report.errors)
    assert total == 1000 and len(report.shown_errors) == 200 and report.hidden_errors == 800
    assert report.shown_errors == report.errors[:200]

    response = client_for(director_a).post("/children/import/", {"file": hopeless_file(250)})
    body = response.content.decode()
    assert body.count("<tr><td>") == 200
    assert "1000 处错误" in body and "另有 800 处错误未列出" in body
    assert len(response.content) < 200_000

    path = tmp_path / "census.xlsx"
    path.write_bytes(hopeless_file(250).getvalue())
    with pytest.raises(CommandError) as raised:
        call_command("import_children", str(path), "--user", "director_a")
    assert "1000 处错误" in str(raised.value)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 201 and lines[-1].startswith("……另有 800 处错误未列出")


def test_a_small_file_that_unpacks_to_hundreds_of_megabytes_is_refused_unopened(
    monkeypatch, director_a, client_for
):
    """Found by the outside attack run: a 400 KB .xlsx holding one 400 MB cell was inflated by
    openpyxl (a web worker went from 270 to 460 MB)."""
    import tracemalloc

    book = Workbook()
    book.active.append(HEADERS)
    book.active.append(good_row())
    buffer = io.BytesIO(saved(book))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/filler.xml", b"A" * (imports.MAX_IMPORT_EXPANDED_BYTES + 1))
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024  # it is small on the wire

    def never(*args, **kwargs):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr(imports, "load_workbook", never)
    tracemalloc.start()
    report = import_children(source=as_upload(data), user=director_a)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.reason == "too_large"
    assert [e.message for e in report.errors] == [imports.TOO_LARGE_EXPANDED_MESSAGE]
    assert peak < 20 * 1024 * 1024
    response = client_for(director_a).post("/children/import/", {"file": as_upload(data)})
    assert "解压后超过" in response.content.decode()
    assert Child.objects.count() == 0
