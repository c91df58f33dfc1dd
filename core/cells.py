"""The one writer of spreadsheet and CSV cells. Text that a spreadsheet would run as a formula
(OWASP "CSV injection": it begins with =, +, -, @, a tab or a line break) is stored as text, so a
child's name such as ``=HYPERLINK(...)`` stays a name in every ledger, payment list and CSV.

Every .xlsx and CSV the application writes goes through ``xlsx_cell``/``xlsx_row`` or
``csv_field``/``csv_row``; numbers, dates and times stay numbers, dates and times.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

# OWASP's list (=, +, -, @, tab, carriage return) and the line feed, which some spreadsheets
# also skip before looking for a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# Values a cell keeps as they are (datetime is a date; bool an int).
_PLAIN = (int, float, Decimal, date, time, timedelta)


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def cell_value(value: Any) -> Any:
    """``value`` as a workbook can hold it: None; numbers, dates and times unchanged (an aware
    datetime in local time: a workbook has no time zones); anything else as text, without the
    control characters a workbook cannot hold (openpyxl would raise) and with line breaks as a
    cell's own line break (LF)."""
    if value is None:
        return None
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, _PLAIN):
        return value
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _as_text(cell: Cell) -> Cell:
    """Never a formula: a string cell (inline string), marked with Excel's quote prefix so that
    editing the cell later does not turn it into one either."""
    cell.data_type = "s"
    if is_formula_like(cell.value or ""):
        cell.quotePrefix = True
    return cell


def xlsx_cell(sheet, value: Any, *, font: Font | None = None, number_format: str = "") -> Cell:
    """One cell for ``sheet`` (write-only or not): text always as text, other values as they
    are, with an optional font and number format."""
    value = cell_value(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        _as_text(cell)
    if font is not None:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    return cell


def xlsx_row(sheet, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append``: text as text cells, numbers and dates as plain values (cheap:
    openpyxl reuses one cell for those), cells made by ``xlsx_cell`` as they are."""
    row: list[Any] = []
    for value in values:
        if isinstance(value, Cell):
            if value.data_type == "f":  # made elsewhere from text: never a formula
                _as_text(value)
            row.append(value)
            continue
        value = cell_value(value)
        row.append(xlsx_cell(sheet, value) if isinstance(value, str) else value)
    return row


def csv_field(value: Any) -> str:
    """A CSV field: text that a spreadsheet would run as a formula gets a leading single quote
    (OWASP's advice), which spreadsheets show as text; the csv module does the quoting."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if is_formula_like(text) else text


def csv_row(values: Iterable[Any]) -> list[str]:
    return [csv_field(value) for value in values]
