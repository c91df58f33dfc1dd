"""Census import (摸底排查) from the .xlsx template: every row checked first, all or nothing."""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from typing import IO
from xml.parsers.expat import ExpatError

from django.core.exceptions import PermissionDenied
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineWorkbook

from accounts import selectors as scope
from accounts import services as account_services
from accounts.models import Area, AuditAction, User
from accounts.services import audit_log
from core import cells, crypto
from core.text import join_list
from core.uploads import zip_expanded_size

from . import services
from .models import Child, ChildStatus, FamilyMember

# Issue 14, L3: 50,000 rows took 11.5 s and answered with an 18 MB page. Refused before reading.
MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000  # data rows, below the header
ERRORS_SHOWN = 200  # on the page and by the command; the rest are counted
# An .xlsx is a zip: what it unpacks to is capped too (20,000 rows of the template unpack to about
# 20 MB of XML), before openpyxl inflates anything.
MAX_IMPORT_EXPANDED_BYTES = 80 * 1024 * 1024
# The messages are lazy: in the reader's language when shown (the command's: Chinese).
TOO_LARGE_EXPANDED_MESSAGE = lazy(
    lambda: (
        _(
            "The file unpacks to more than %(mb)s MB (the sheet may hold very long content) and "
            "was not imported. Fill in the import template again and import it."
        )
        % {"mb": MAX_IMPORT_EXPANDED_BYTES // (1024 * 1024)}
    ),
    str,
)()
TOO_LARGE_MESSAGE = lazy(
    lambda: (
        _(
            "The file is larger than %(mb)s MB. Split it into files of at most "
            "%(rows)s rows and import them one by one."
        )
        % {"mb": MAX_IMPORT_BYTES // (1024 * 1024), "rows": MAX_IMPORT_ROWS}
    ),
    str,
)()
TOO_MANY_ROWS_MESSAGE = lazy(
    lambda: (
        _(
            "The sheet has more than %(rows)s rows (besides the header) and was not imported. "
            "Split it into several files and import them one by one; if the sheet ends in many "
            "empty rows, delete them first."
        )
        % {"rows": MAX_IMPORT_ROWS}
    ),
    str,
)()
# Where an error is when it is not in one column of the sheet (the columns keep the template's
# Chinese headers: they name the file's columns).
ACCOUNT = pgettext_lazy("where an import error is", "Account")
FILE = pgettext_lazy("where an import error is", "File")
HEADER_ROW = pgettext_lazy("where an import error is", "Header row")
OUTSIDE_AREA = pgettext_lazy("an import error", "Outside your area")

MEMBER_STATUS_OPTIONS = "在家,外出务工,服刑,强制戒毒,已故,失踪,失联,宣告失踪,其他"


def _parent_columns(key: str, zh: str) -> list[tuple[str, str, bool, str]]:
    """The father's or the mother's columns, in the template's order."""
    return [
        (f"{zh}姓名", f"{key}_name", False, ""),
        (f"{zh}身份证号", f"{key}_id_number", False, f"填写后，同村同一{zh}的子女共用家庭成员"),
        (f"{zh}状况", f"{key}_status", False, MEMBER_STATUS_OPTIONS.replace(",", "/")),
        (f"{zh}状况开始日期", f"{key}_status_since", False, "服刑、强制戒毒、失联的开始日期"),
        (f"{zh}重度残疾", f"{key}_serious_disability", False, "是 / 否"),
        (f"{zh}重病", f"{key}_serious_illness", False, "是 / 否"),
        (f"{zh}外出时间", f"{key}_away_since", False, "2025-02-10"),
        (f"{zh}务工地", f"{key}_work_place", False, "浙江省杭州市"),
        (f"{zh}电话", f"{key}_phone", False, ""),
    ]


# (header, key, required, help) — the sheet is Chinese whatever the UI language.
COLUMNS: list[tuple[str, str, bool, str]] = [
    ("姓名", "name", True, ""),
    ("性别", "gender", True, "男 / 女"),
    ("出生日期", "birth_date", True, "2015-06-01"),
    ("身份证号", "id_number", False, "无户籍可空"),
    ("是否登记户籍", "hukou_registered", False, "是 / 否，默认是"),
    ("民族", "ethnicity", False, "默认汉族"),
    ("村（社区）代码", "village_code", True, "12位区划代码"),
    ("家庭住址", "address", False, ""),
    ("就读学校", "school_name", False, ""),
    ("年级", "grade", False, ""),
    ("就学状态", "school_status", False, "在校/学前/未入学/辍学/休学/毕业"),
    ("疾病情况", "illness", False, ""),
    ("残疾类别", "disability_type", False, "视力/听力/言语/肢体/智力/精神/多重"),
    ("残疾等级", "disability_grade", False, "1-4"),
    ("困境类别", "categories", False, "多个用、分隔"),
    *_parent_columns("father", "父亲"),
    *_parent_columns("mother", "母亲"),
    ("备注", "notes", False, ""),
    (
        "确认不是同一儿童",
        "not_duplicate",
        False,
        "无身份证号、且与已有档案同名同出生日期时，核实后填“是”",
    ),
]
HEADERS = [c[0] for c in COLUMNS]

GENDERS = {"男": "male", "女": "female", "male": "male", "female": "female"}
YES_NO = {"是": True, "否": False, "有": True, "无": False, "": True}
SCHOOL = {
    "在校": "in_school",
    "学前": "preschool",
    "未入学": "not_enrolled",
    "辍学": "dropped_out",
    "休学": "suspended",
    "毕业": "graduated",
}
DISABILITY = {
    "视力": "visual",
    "听力": "hearing",
    "言语": "speech",
    "肢体": "physical",
    "智力": "intellectual",
    "精神": "mental",
    "多重": "multiple",
}
CATEGORIES = {
    "孤儿": "orphan",
    "事实无人抚养儿童": "de_facto_unsupported",
    "事实无人抚养": "de_facto_unsupported",
    "艾滋病病毒感染儿童": "hiv_affected",
    "艾滋病病毒感染": "hiv_affected",
    "重残儿童": "severe_disability",
    "重残": "severe_disability",
    "重病儿童": "serious_illness",
    "重病": "serious_illness",
    "低保/特困/低收入家庭": "low_income_family",
    "低收入家庭": "low_income_family",
    "低保": "low_income_family",
    "特困": "low_income_family",
    "受监护人侵害": "guardian_abuse",
    "流浪儿童": "street_child",
    "流浪": "street_child",
    "遭遇突发事件": "emergency_affected",
    "单亲家庭儿童": "single_parent",
    "单亲家庭": "single_parent",
}
MEMBER_STATUS = {
    "在家": "at_home",
    "外出务工": "working_away",
    "服刑": "imprisoned",
    "强制戒毒": "in_rehab",
    "强制隔离戒毒": "in_rehab",
    "已故": "deceased",
    "失踪": "missing",
    "失联": "lost_contact",
    "宣告失踪": "declared_missing",
    "其他": "other",
}


@dataclass
class RowError:
    row: int  # 0: the whole file, not one row
    column: str  # a column's header as in the template, or where else (ACCOUNT, FILE …)
    message: str

    def __str__(self) -> str:
        if not self.row:
            return f"[{self.column}] {self.message}"
        return _("Row %(row)s [%(column)s] %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    rows: int = 0
    reason: str = ""  # why the file was refused before its rows were checked (audit detail)
    duplicates_in_area: int = 0
    duplicates_outside: int = 0
    update: bool = False  # the census update: rows merged into files by ID number
    updated: int = 0
    unchanged: int = 0

    @property
    def refused(self) -> int:
        """Rows refused: each row with an error, and each number on file outside the user's
        area (reported once, without its row)."""
        rows = {e.row for e in self.errors if e.row}
        return min(self.rows, len(rows) + self.duplicates_outside)

    @property
    def summary(self) -> str:
        """The command's summary line (api.md, Census update)."""
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, refused {self.refused}"
        )

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown_errors(self) -> list[RowError]:
        """The first ERRORS_SHOWN errors: a bad 20,000-row file must not make a page of
        megabytes (the rest are counted in ``hidden_errors``)."""
        return self.errors[:ERRORS_SHOWN]

    @property
    def hidden_errors(self) -> int:
        return max(0, len(self.errors) - ERRORS_SHOWN)

    def refuse(self, reason: str, error: RowError) -> ImportReport:
        """Refuse the whole file with one error, whatever was found before."""
        self.reason, self.errors, self.rows = reason, [error], 0
        return self


# The guide's line when the template carries no sheet of village codes (too many to list).
VILLAGE_CODES_NOT_LISTED = (
    "辖区内村（社区）较多，本模板不附代码表：“村（社区）代码”请填写12位统计用区划代码，"
    "可在“新建档案”页的“村（社区）”栏输入名称查到。"
)


def template_bytes(villages: list[Area] | None = None, *, villages_listed: bool = True) -> bytes:
    """The downloadable template: Chinese headers, a hint row, drop-downs, a sheet of the
    villages' codes. ``villages_listed=False``: the user's area has too many villages to list
    (a city's, a province's): the guide says where to find a village's code instead."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "摸底排查"
    sheet.append(cells.xlsx_row(sheet, HEADERS))
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, (_header, _key, required, _hint) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if required:
            cell.fill = required_fill
        sheet.column_dimensions[cell.column_letter].width = max(10, len(HEADERS[index - 1]) * 2 + 4)
    for column, options in (
        ("性别", "男,女"),
        ("是否登记户籍", "是,否"),
        ("就学状态", ",".join(SCHOOL)),
        ("父亲状况", MEMBER_STATUS_OPTIONS),
        ("母亲状况", MEMBER_STATUS_OPTIONS),
        ("父亲重度残疾", "是,否"),
        ("父亲重病", "是,否"),
        ("母亲重度残疾", "是,否"),
        ("母亲重病", "是,否"),
    ):
        letter = sheet.cell(row=1, column=HEADERS.index(column) + 1).column_letter
        validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True)
        validation.add(f"{letter}2:{letter}{MAX_IMPORT_ROWS + 1}")
        sheet.add_data_validation(validation)
    guide = workbook.create_sheet("填写说明")
    guide.append(cells.xlsx_row(guide, ["列", "必填", "说明"]))
    for header, _key, required, hint in COLUMNS:
        guide.append(cells.xlsx_row(guide, [header, "是" if required else "", hint]))
    guide.append([])
    guide.append(cells.xlsx_row(guide, ["“留守儿童”不在此填写：系统根据父母外出情况自动认定。"]))
    if not villages_listed:
        guide.append(cells.xlsx_row(guide, [VILLAGE_CODES_NOT_LISTED]))
    if villages:
        codes = workbook.create_sheet("村（社区）代码")
        codes.append(cells.xlsx_row(codes, ["代码", "名称"]))
        for village in villages:
            codes.append(cells.xlsx_row(codes, [village.code, village.name]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-")
    text = text.rstrip("日")
    return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))


class _Row:
    def __init__(self, number: int, cells: dict[str, object], report: ImportReport) -> None:
        self.number = number
        self.cells = cells
        self.report = report

    def error(self, key: str, message: str) -> None:
        header = next((c[0] for c in COLUMNS if c[1] == key), key)
        self.report.errors.append(RowError(self.number, header, message))

    def text(self, key: str) -> str:
        return _text(self.cells.get(key))

    def choice(self, key: str, mapping: dict, default=None):
        value = self.text(key)
        if not value:
            return default
        if value not in mapping:
            self.error(
                key,
                _('Cannot read "%(value)s"; fill in one of: %(options)s')
                % {"value": value, "options": "/".join(k for k in mapping if k)},
            )
            return default
        return mapping[value]

    def date(self, key: str) -> date | None:
        try:
            return _date(self.cells.get(key))
        except ValueError:
            self.error(
                key, _('Dates are written YYYY-MM-DD, not "%(value)s"') % {"value": self.text(key)}
            )
            return None


# Which service field an error of validate_child belongs to, as a template column.
_FIELD_TO_KEY = {"village_code": "village_code", "id_number": "id_number"}


def _parse_row(row: _Row, user: User, villages: dict[str, Area]) -> tuple[dict, list[dict]] | None:
    before = len(row.report.errors)
    values = {
        "name": row.text("name"),
        "gender": row.choice("gender", GENDERS),
        "birth_date": row.date("birth_date"),
        "id_number": row.text("id_number"),
        "hukou_registered": row.choice("hukou_registered", YES_NO, True),
        "ethnicity": row.text("ethnicity") or "汉族",
        "village_code": row.text("village_code"),
        "address": row.text("address"),
        "school_name": row.text("school_name"),
        "grade": row.text("grade"),
        "school_status": row.choice("school_status", SCHOOL, "in_school"),
        "illness": row.text("illness"),
        "disability_type": row.choice("disability_type", DISABILITY, ""),
        "disability_grade": None,
        "categories": [],
        "risk_level": "low",
        "notes": row.text("notes"),
    }
    grade = row.text("disability_grade").replace("级", "")
    if grade:
        if grade in {"1", "2", "3", "4"}:
            values["disability_grade"] = int(grade)
        else:
            row.error("disability_grade", _("The disability grade is 1 to 4"))
    for part in row.text("categories").replace("，", "、").replace(",", "、").split("、"):
        part = part.strip()
        if not part:
            continue
        if part == "留守儿童":
            continue  # derived from the parents, never typed in
        if part in CATEGORIES:
            values["categories"].append(CATEGORIES[part])
        else:
            row.error("categories", _('Unknown category "%(value)s"') % {"value": part})

    errors: dict[str, list[str]] = {}
    try:
        services.validate_child(user, values, errors, current=None, villages=villages)
    except PermissionDenied:
        errors.setdefault("village_code", []).append(str(OUTSIDE_AREA))
    for service_field, messages in errors.items():
        for message in messages:
            row.error(_FIELD_TO_KEY.get(service_field, service_field), message)

    members = []
    for relation, prefix in (("father", "father"), ("mother", "mother")):
        name = row.text(f"{prefix}_name")
        status = row.choice(f"{prefix}_status", MEMBER_STATUS)
        if not name and not status:
            continue
        member = {
            "relation": relation,
            "name": name or ("父亲" if relation == "father" else "母亲"),
            "status": status or "at_home",
            "has_guardian_capacity": True,
            "away_since": row.date(f"{prefix}_away_since"),
            "work_place": row.text(f"{prefix}_work_place"),
            "phone": row.text(f"{prefix}_phone"),
            "id_number": row.text(f"{prefix}_id_number"),
            "status_since": row.date(f"{prefix}_status_since"),
            "has_serious_disability": row.choice(f"{prefix}_serious_disability", YES_NO, False),
            "has_serious_illness": row.choice(f"{prefix}_serious_illness", YES_NO, False),
        }
        member_errors: dict[str, list[str]] = {}
        services.validate_member(member, member_errors)
        for member_field, messages in member_errors.items():
            key = {
                "away_since": "away_since",
                "phone": "phone",
                "id_number": "id_number",
                "status_since": "status_since",
            }.get(member_field, "status")
            for message in messages:
                row.error(f"{prefix}_{key}", message)
        members.append(member)
    if len(row.report.errors) > before:
        return None
    return values, members


def import_children(
    *,
    source: str | IO[bytes],
    user: User,
    request=None,
    origin: str = "page",
    path: str = "",
    update: bool = False,
) -> ImportReport:
    """Check every row; if all are valid, create every child and family member in one transaction.

    Any bad row: nothing is saved and the report lists every error with row number and column.
    Every outcome is audited (action ``import``): what was created, or why nothing was.

    ``update`` (the yearly census update, 摸底排查/动态更新): a row whose ID number is on an
    active file in the user's area is merged into that file instead of being refused as a
    duplicate (see _census_updates); still all or nothing.
    """
    report = _check_and_create(source=source, user=user, request=request, update=update)
    detail: dict = {
        "outcome": "imported" if report.ok else "refused",
        "origin": origin,
        "rows": report.rows,
        "created": report.created,
    }
    if update:
        detail.update(mode="update", updated=report.updated, unchanged=report.unchanged)
    if path:
        detail["path"] = path
    if not report.ok:
        detail.update(
            reason=report.reason or "rows",
            errors=len(report.errors),
            duplicates_in_area=report.duplicates_in_area,
            duplicates_outside=report.duplicates_outside,
        )
    audit_log(
        user=user,
        action=AuditAction.IMPORT,
        object_type="child_import",
        records=[("", user.area_id or "")],
        request=request,
        detail=detail,
    )
    return report


def _size_of(source: str | IO[bytes]) -> int | None:
    """The upload's size in bytes, without reading it (None when it cannot be told)."""
    size = getattr(source, "size", None)  # Django's UploadedFile
    if isinstance(size, int):
        return size
    try:
        if isinstance(source, str | os.PathLike):
            return os.path.getsize(source)
        position = source.tell()
        end = source.seek(0, os.SEEK_END)
        source.seek(position)
        return end
    except (AttributeError, OSError, ValueError):
        return None


# The fast reader (python-calamine, Rust: 10,000 rows in 0.4 s against openpyxl's 6-8 s) reads
# the whole sheet into a dense grid, rows × columns: a 5 KB file with a cell at XFD20001 would take
# 10 GB. It is given only a sheet whose every row and cell states its place, within the row cap and
# FAST_MAX_COLUMNS columns, and only what Python's zipfile inflated (within the sizes the zip
# declares), re-packed; and only when it reads the sheet as openpyxl does: no error cells (#N/A,
# which it reads as empty), no _xHHHH_ escapes (which it decodes: a NUL), no integer of more than
# 15 digits (which it reads as a float). Any other file is read by openpyxl, as before.
FAST_MAX_COLUMNS = 64
MIDNIGHT = clock_time()
_CELL_OR_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(c|row)[\s/>]")
_PLACE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(?:c|row)\s[^>]*?\br\s*=\s*[\"']([A-Z]*)([0-9]+)[\"']"
)
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)")
_DIMENSION_PLACE = re.compile(rb"([A-Z]+)([0-9]+)")
# Each with a literal to find first (one alternation of them took 0.6 s on 13 MB): an error
# cell (t="e"; any attribute valued "e" counts), an _xHHHH_ escape, a value of 16 digits or more,
# a phonetic run (rPh) in a string. (Dates agree: the same number formats read as dates.)
_NOT_AS_OPENPYXL = [
    re.compile(rb"=\s*[\"']e[\"']"),
    re.compile(rb"_x[0-9A-Fa-f]{4}_"),
    re.compile(rb"v>-?[0-9]{16}"),
    re.compile(rb"rPh[\s>]"),
]


def _read_otherwise(content: bytes) -> bool:
    """Whether python-calamine would read something in ``content`` otherwise than openpyxl."""
    return any(pattern.search(content) for pattern in _NOT_AS_OPENPYXL)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _fast_rows(source: str | IO[bytes], size: int | None) -> list[list] | None:
    """The first sheet's rows as openpyxl would give them, read by python-calamine; None when
    the file is not one it may read (see FAST_MAX_COLUMNS): openpyxl reads it then."""
    if size is None or size > MAX_IMPORT_BYTES:
        return None
    try:
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as file:
                data = file.read()
        else:
            position = source.tell()
            source.seek(0)
            data = source.read()
            source.seek(position)
        parts: dict[str, bytes] = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if member.filename.endswith((".xml", ".rels")):
                    parts[member.filename] = archive.read(member)  # CRC and size checked
        sheet = _first_sheet(parts)
        if sheet is None or not _fits(sheet):
            return None
        if any(
            _read_otherwise(content)
            for name, content in parts.items()
            if not name.startswith("xl/worksheets/")  # the shared strings, wherever they are
        ):
            return None
        del data, sheet
        repacked = io.BytesIO()
        with zipfile.ZipFile(repacked, "w", compression=zipfile.ZIP_STORED) as archive:
            while parts:  # each part let go once copied
                archive.writestr(*parts.popitem())
        repacked.seek(0)
        rows = CalamineWorkbook.from_filelike(repacked).get_sheet_by_index(0)
        rows = rows.to_python(skip_empty_area=False)
    except Exception:  # whatever it is, openpyxl reads the file and says what is wrong
        return None
    # openpyxl's dates are datetimes (a date in a text column reads the same in an error).
    return [[datetime.combine(v, MIDNIGHT) if type(v) is date else v for v in row] for row in rows]


def _first_sheet(parts: dict[str, bytes]) -> bytes | None:
    """The XML of the workbook's first sheet (calamine's index 0), None unless it is a worksheet
    (openpyxl's first worksheet then)."""
    workbook = parts.get("xl/workbook.xml", b"")
    first = re.search(rb"<(?:\w+:)?sheet\s[^>]*?\br:id\s*=\s*[\"']([^\"']+)", workbook)
    rels = parts.get("xl/_rels/workbook.xml.rels", b"")
    if first is None:
        return None
    for relation in re.finditer(rb"<(?:\w+:)?Relationship\s[^>]*>", rels):
        tag = relation.group(0)
        if re.search(rb"\bId\s*=\s*[\"']" + re.escape(first.group(1)) + rb"[\"']", tag):
            target = re.search(rb"\bTarget\s*=\s*[\"']([^\"']+)", tag)
            if target is None or b"worksheets/" not in target.group(1):
                return None
            path = target.group(1).decode("utf-8", "replace").lstrip("/")
            return parts.get(path if path.startswith("xl/") else f"xl/{path}")
    return None


def _fits(sheet: bytes) -> bool:
    """Whether every row and cell of the sheet states its place, all within the row cap and
    FAST_MAX_COLUMNS (its stated dimension too), and nothing in it reads otherwise than openpyxl
    reads it."""
    if _read_otherwise(sheet):
        return False
    places = _PLACE.findall(sheet)
    if len(places) != len(_CELL_OR_ROW.findall(sheet)):
        return False  # a row or cell placed by counting: its extent is not known beforehand
    dimension = _DIMENSION.search(sheet)
    if dimension is not None:
        places += _DIMENSION_PLACE.findall(dimension.group(1))
    rows = max((int(number) for _letters, number in places), default=0)
    columns = max((_column_number(letters) for letters, _n in places if letters), default=0)
    return rows <= MAX_IMPORT_ROWS + 1 and columns <= FAST_MAX_COLUMNS


# What reading a sheet's rows raises for a damaged file (XML that does not parse, a part that does
# not inflate or fails its CRC).
_BROKEN_SHEET = (SyntaxError, ExpatError, zipfile.BadZipFile, zlib.error, EOFError)


class SheetRefused(Exception):
    """The upload is refused as a whole: too large, not an .xlsx file, or a sheet that cannot be
    read to its end."""

    def __init__(self, reason: str, error: RowError) -> None:
        super().__init__(reason)
        self.reason, self.error = reason, error

    @classmethod
    def unreadable(cls, exc: Exception) -> SheetRefused:
        message = _("Cannot read the .xlsx file: %(error)s") % {"error": exc.__class__.__name__}
        return cls("not_xlsx", RowError(0, FILE, message))


@contextmanager
def first_sheet_rows(source: str | IO[bytes]) -> Iterator[tuple[int | None, Iterator[Sequence]]]:
    """The first sheet of an uploaded .xlsx, read safely, as (the number of rows the sheet
    states, None when it does not say; its rows as values). Refused (SheetRefused) over
    MAX_IMPORT_BYTES, when it unpacks to more than MAX_IMPORT_EXPANDED_BYTES, or when it is not
    an .xlsx. Read by python-calamine when it may (_fast_rows), else by openpyxl, read-only.
    The caller stops at its own row cap: past the stated size the rows go on."""
    size = _size_of(source)
    if size is not None and size > MAX_IMPORT_BYTES:
        raise SheetRefused("too_large", RowError(0, FILE, TOO_LARGE_MESSAGE))
    expanded = zip_expanded_size(source)
    if expanded is not None and expanded > MAX_IMPORT_EXPANDED_BYTES:
        raise SheetRefused("too_large", RowError(0, FILE, TOO_LARGE_EXPANDED_MESSAGE))
    rows = _fast_rows(source, size)
    if rows is not None:
        yield None, iter(rows)
        return
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not .xlsx
        raise SheetRefused.unreadable(exc) from exc
    try:
        sheet = workbook.worksheets[0]
        declared = sheet.max_row  # from the sheet's <dimension>, None when it does not say
        # Past the stated size openpyxl must not stop: the caller stops at the cap itself.
        sheet.reset_dimensions()
        yield declared, sheet.iter_rows(values_only=True)
    except _BROKEN_SHEET as exc:
        # The sheet is parsed as its rows are read: broken XML (a NUL written as &#0;) or a
        # damaged part shows only then.
        raise SheetRefused.unreadable(exc) from exc
    finally:
        workbook.close()


def _check_and_create(
    *, source: str | IO[bytes], user: User, request, update: bool = False
) -> ImportReport:
    report = ImportReport(update=update)
    if account_services.import_lock_open(user) is not None:
        return report.refuse("locked", RowError(0, ACCOUNT, account_services.IMPORT_LOCKED_MESSAGE))
    try:
        services.require_writer(user)
    except PermissionDenied:
        return report.refuse("role", RowError(0, ACCOUNT, _("Your role cannot import child files")))
    try:
        with first_sheet_rows(source) as (declared, rows):
            parsed, villages, seen_numbers = _read_rows(declared, rows, user, report)
    except SheetRefused as refused:
        return report.refuse(refused.reason, refused.error)
    if report.reason:
        return report

    on_file: dict[str, Child] = {}
    if seen_numbers:
        on_file = _check_duplicates(user, seen_numbers, report, request, update=update)
    if report.rows == 0:
        report.errors.append(RowError(2, FILE, _("No data rows")))
    updates: list[services.CensusUpdate] = []
    new_rows = []
    families: dict = defaultdict(list)  # household id → its members (siblings share them)
    for member in FamilyMember.objects.filter(
        household_id__in={c.household_id for c in on_file.values()}
    ):
        families[member.household_id].append(member)
    for number, values, members, filled in parsed:
        child = on_file.get(values.get("id_number") or "")
        if child is None:
            new_rows.append((values, members))
            continue
        census = _census_update(
            _Row(number, {}, report),
            user,
            child,
            values,
            members,
            filled,
            families[child.household_id],
        )
        if census is not None:
            updates.append(census)
    _ask_about_possible_duplicates(user, parsed, new_rows, report)
    report.errors.sort(key=lambda e: e.row)
    if report.errors:
        return report

    if not update:
        children = services.children_bulk_create(user=user, rows=new_rows, villages=villages)
        report.created = len(children)
        return report
    try:
        children = services.children_census_apply(
            user=user, rows=new_rows, updates=updates, villages=villages
        )
    except services.CensusStale as stale:
        report.errors.append(RowError(stale.row, "身份证号", stale.message))
        return report
    report.created = len(children)
    report.updated = sum(1 for u in updates if u.changes or u.new_members or u.member_changes)
    report.unchanged = len(updates) - report.updated
    return report


def _ask_about_possible_duplicates(
    user: User, parsed: list, new_rows: list, report: ImportReport
) -> None:
    """A new child without an ID number like a file on record (the same name and birth date in
    the village or township: services.possible_duplicates), or like another row of the sheet, is
    an error on its row unless the row says it is not the same child. Only files in the user's
    area are named."""
    new = {id(values) for values, _members in new_rows}
    rows = [
        (number, values)
        for number, values, _members, filled in parsed
        if id(values) in new and not values.get("id_number") and "not_duplicate" not in filled
    ]
    matches = services.possible_duplicates_many(
        [(v["name"], v["birth_date"], v["village_code"]) for _n, v in rows]
    )
    seen: dict[tuple, int] = {}
    for (number, values), found in zip(rows, matches, strict=True):
        key = (values["name"].strip(), values["birth_date"], values["village_code"])
        if key in seen:
            report.errors.append(
                RowError(
                    number,
                    "姓名",
                    _(
                        "Same name, birth date and village as row %(row)s, and neither has an ID "
                        "number"
                    )
                    % {"row": seen[key]},
                )
            )
            continue
        seen[key] = number
        if found:
            # Matched on the name: the files in the user's area are named by it and their village,
            # with no query per row.
            names = [
                _("%(name)s (%(code)s)") % {"name": key[0], "code": code}
                for _pk, code in found
                if scope.code_in_scope(user, code)
            ]
            # The column's header and its answer 是 are the template's words.
            message = (
                _(
                    "A file with the same name and birth date is already in the village or "
                    "township: %(names)s. Check whether it is the same child; if it is not, fill "
                    "in 是 in the column 确认不是同一儿童"
                )
                % {"names": join_list(names)}
                if names
                else _(
                    "A file with the same name and birth date is already in the village or "
                    "township. Check whether it is the same child; if it is not, fill in 是 in "
                    "the column 确认不是同一儿童"
                )
            )
            report.errors.append(RowError(number, "姓名", message))


# Child fields a census row may change, by column key (the ID number is the key itself; the risk
# colour changes through an assessment only).
# What a census row may change on a file: the file's own fields but its key (the ID number) and
# those the template does not carry (hukou place, psychological concern and note, risk colour).
_UPDATABLE = tuple(
    field
    for field in services.CHILD_FIELDS
    if field not in {"id_number", "hukou_place", "psych_concern", "psych_note", "risk_level"}
)
_MEMBER_UPDATABLE = ("status", "away_since", "work_place", "phone", "status_since")


def _census_update(
    row: _Row,
    user: User,
    child: Child,
    values: dict,
    members: list[dict],
    filled: set[str],
    existing: list[FamilyMember],
) -> services.CensusUpdate | None:
    """What a census row changes in the active file ``child`` (in the user's area): each child
    field whose cell is filled and differs (an empty cell never clears a value); family members
    matched by relation and name: status, away since, work place and phone when filled and
    different; a parent of a new name is added; none is ever deleted. Checks the merged file as
    an edit would (validate_child); errors go on the row and None is returned."""
    current = {key: getattr(child, key) for key in _UPDATABLE if key != "village_code"}
    current["village_code"] = child.village_id
    current["categories"] = services.manual_categories(child.categories)
    changes: dict = {}
    for key in _UPDATABLE:
        if key not in filled:
            continue
        value = values[key]
        if key == "categories":
            value = services.manual_categories(value)
            if not value or set(value) == set(current["categories"]):
                continue  # only 留守儿童 (derived) in the cell: nothing to set
        if value != current[key]:
            changes[key] = value
    merged = {
        **current,
        **changes,
        "id_number": values["id_number"],
        "risk_level": child.risk_level,
    }
    errors: dict[str, list[str]] = {}
    try:
        village = services.validate_child(user, merged, errors, current=child)
    except PermissionDenied:
        errors.setdefault("village_code", []).append(str(OUTSIDE_AREA))
        village = None
    for service_field, messages in errors.items():
        for message in messages:
            row.error(_FIELD_TO_KEY.get(service_field, service_field), message)
    if errors:
        return None
    if "village_code" in changes:
        del changes["village_code"]
        changes["village"] = village

    census = services.CensusUpdate(
        child_id=child.pk, version=child.version, row=row.number, changes=changes
    )
    for member in members:
        prefix = member["relation"]
        named = f"{prefix}_name" in filled
        same = [
            m
            for m in existing
            if m.relation == member["relation"] and (not named or m.name == member["name"])
        ]
        if not same:
            census.new_members.append(member)
            continue
        if len(same) > 1:
            row.error(
                f"{prefix}_name",
                _("The child has several family members of this relation: fill in the name"),
            )
            continue
        found = same[0]
        member_changes = {
            key: member[key]
            for key in _MEMBER_UPDATABLE
            if f"{prefix}_{key}" in filled and member[key] != getattr(found, key)
        }
        if "status" in member_changes and not member["has_guardian_capacity"]:
            member_changes["has_guardian_capacity"] = False  # validate_member: cannot be guardian
        if member_changes:
            census.member_changes.append((found.pk, member_changes))
    return census


def _read_rows(
    declared: int | None, rows: Iterator[Sequence], user: User, report: ImportReport
) -> tuple[list[tuple[int, dict, list[dict], set[str]]], dict[str, Area], dict[str, int]]:
    """Parse the first sheet's rows into (row number, child values, members, filled columns);
    refuses a sheet of more than MAX_IMPORT_ROWS rows before parsing any (its stated size,
    ``declared``) or on reaching the first row past it (a sheet that does not state its size, or
    states it wrongly). Also returns the villages the rows name ({code: Area}, one query) and the
    ID numbers seen ({number: row})."""
    if declared is not None and declared > MAX_IMPORT_ROWS + 1:
        report.refuse("too_many_rows", RowError(0, FILE, TOO_MANY_ROWS_MESSAGE))
        return [], {}, {}
    header = [_text(h) for h in next(rows, [])]
    missing = [h for h, _k, required, _ in COLUMNS if required and h not in header]
    if missing:
        report.refuse(
            "headers",
            RowError(
                1,
                HEADER_ROW,
                _("Required columns are missing: %(columns)s. Use the downloaded template")
                % {"columns": join_list(missing)},
            ),
        )
        return [], {}, {}
    positions = {key: header.index(h) for h, key, _r, _ in COLUMNS if h in header}

    # Every row is read before any is checked: the villages they name are loaded in one query,
    # not every village of the country (issue 20: 640,000 of them).
    filled_rows: list[tuple[int, dict[str, object]]] = []
    for number, raw in enumerate(rows, start=2):
        if number > MAX_IMPORT_ROWS + 1:
            report.refuse("too_many_rows", RowError(0, FILE, TOO_MANY_ROWS_MESSAGE))
            return [], {}, {}
        if raw is None or all(v in (None, "") for v in raw):
            continue
        filled_rows.append(
            (number, {key: raw[i] if i < len(raw) else None for key, i in positions.items()})
        )
    villages = _villages_named({_text(by_key.get("village_code")) for _n, by_key in filled_rows})
    parsed: list[tuple[int, dict, list[dict], set[str]]] = []
    seen_numbers: dict[str, int] = {}
    for number, values_by_key in filled_rows:
        report.rows += 1
        row = _Row(number, values_by_key, report)
        result = _parse_row(row, user, villages)
        if result is None:
            continue
        values, members = result
        id_number = values.get("id_number") or ""
        if id_number:
            if id_number in seen_numbers:
                row.error(
                    "id_number",
                    _("Same ID number as row %(row)s") % {"row": seen_numbers[id_number]},
                )
                continue
            seen_numbers[id_number] = number
        filled = {key for key, value in values_by_key.items() if _text(value)}
        if not row.choice("not_duplicate", YES_NO, False):
            filled.discard("not_duplicate")  # "not_duplicate" in filled: the row says 是
        parsed.append((number, values, members, filled))
    return parsed, villages, seen_numbers


def _villages_named(codes: set[str]) -> dict[str, Area]:
    """The villages among ``codes`` ({code: Area}), in one query. Every one named, in the user's
    area or not: the row checks tell an unknown code from one outside the area, as before."""
    wellformed = [c for c in codes if len(c) == 12 and c.isascii() and c.isdigit()]
    if not wellformed:
        return {}
    return {a.code: a for a in Area.objects.filter(level="village", code__in=wellformed)}


def _check_duplicates(
    user: User, seen_numbers: dict[str, int], report: ImportReport, request, *, update: bool
) -> dict[str, Child]:
    """Numbers already on file. In the user's area: named, with their row; in update mode an
    active file there is returned (by number) to merge the row into, a closed one is refused.
    Elsewhere: one message for the whole file (no row, name or area of a file the user may not
    see), and each number is a probe that counts toward the import lock (issue 14, M5)."""
    hashes = {crypto.lookup_hash(n): n for n in seen_numbers}
    outside: list[tuple[str, str]] = []
    to_update: dict[str, Child] = {}
    found = Child.objects.filter(id_number_hash__in=hashes)
    if update:  # the files to merge into, checked as an edit would (validate_child)
        found = found.select_related("village")
    else:
        found = found.only("id_number_hash", "pk", "village_id", "name", "status")
    for child in found:
        digest, pk, area_code, name, status = (
            child.id_number_hash,
            child.pk,
            child.village_id,
            child.name,
            child.status,
        )
        if scope.code_in_scope(user, area_code):
            if update and status != ChildStatus.CLOSED:
                to_update[hashes[digest]] = child
                continue
            report.duplicates_in_area += 1
            if update:
                message = _(
                    "A file with this ID number is in your area: %(name)s, closed. Re-open it on "
                    "its page first, then import the update (or delete the row from the sheet)"
                ) % {"name": name}
            elif status == ChildStatus.CLOSED:
                message = _(
                    "A file with this ID number is in your area: %(name)s (closed; it can be "
                    "re-opened on its page)"
                ) % {"name": name}
            else:
                message = _(
                    "A file with this ID number is in your area: %(name)s. Do not import it again"
                ) % {"name": name}
            report.errors.append(RowError(seen_numbers[hashes[digest]], "身份证号", message))
        else:
            outside.append((str(pk), area_code))
    if not outside:
        return to_update
    report.duplicates_outside = len(outside)
    report.errors.append(RowError(0, "身份证号", services.DUPLICATE_ID_MESSAGE))
    lock = account_services.id_probes_record(
        user=user, records=outside, channel="import", request=request
    )
    if lock is not None:
        report.errors.append(RowError(0, ACCOUNT, account_services.IMPORT_LOCKED_MESSAGE))
    return to_update
