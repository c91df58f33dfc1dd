"""Pure rules of 控辍保学 (children.dropouts): the education department's list as it is read
(headers, statuses), how a row's match is judged, and what closing a 劝返复学 case needs. No ORM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from . import rules

# column key → the headers that name it (Chinese as the education department writes them,
# and English). Compared after stripping spaces; English case-insensitively.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "学生姓名", "name"),
    "id_number": ("身份证号", "身份证号码", "身份证件号", "id_number", "id number"),
    "birth_date": ("出生日期", "birth_date", "birth date"),
    "school": ("学校", "就读学校", "原就读学校", "school"),
    "grade": ("年级", "grade"),
    "status": ("状态", "就学状态", "学籍状态", "status"),
    "township": ("乡镇", "乡镇（街道）", "乡镇(街道)", "乡镇街道", "township"),
}
# The header each column is named by in messages (the list's own words).
SHOWN_HEADER = {key: names[0] for key, names in HEADERS.items()}

DROPPED_OUT, NOT_ENROLLED, SUSPENDED = "dropped_out", "not_enrolled", "suspended"
# What the list says of a child → the file's school status (api.md SCHOOL codes). 失学 (lost
# schooling) is a dropping out; an empty cell: the list is of children out of school.
STATUSES: dict[str, str] = {
    "辍学": DROPPED_OUT,
    "失学": DROPPED_OUT,
    "未入学": NOT_ENROLLED,
    "适龄未入学": NOT_ENROLLED,
    "休学": SUSPENDED,
    "dropped_out": DROPPED_OUT,
    "dropped out": DROPPED_OUT,
    "not_enrolled": NOT_ENROLLED,
    "not enrolled": NOT_ENROLLED,
    "suspended": SUSPENDED,
}
LISTED_STATUSES = (DROPPED_OUT, NOT_ENROLLED, SUSPENDED)
# A cell holding only one of these says "nothing": read as empty.
PLACEHOLDERS = frozenset({"-", "—", "－", "/", "无"})

ADULT_AGE = 18


def header_key(header: str) -> str | None:
    """The column a header names, or None for a column the import does not read."""
    text = "".join(header.split())
    for key, names in HEADERS.items():
        for name in names:
            if text == "".join(name.split()) or text.lower() == name.replace(" ", "").lower():
                return key
    return None


def header_positions(header: Sequence[str]) -> dict[str, int]:
    """{column key: index} of the header row; the first column naming a key counts."""
    positions: dict[str, int] = {}
    for index, text in enumerate(header):
        key = header_key(text)
        if key is not None and key not in positions:
            positions[key] = index
    return positions


def status_code(text: str) -> str | None:
    """The school status a list's status cell means (empty: dropped out); None if unknown."""
    if not text:
        return DROPPED_OUT
    return STATUSES.get(text.strip().lower())


@dataclass(frozen=True)
class FileFacts:
    """What matching needs to know of a file found for a row."""

    status: str  # "active" | "closed"
    birth_date: date


def match_result(found: Sequence[FileFacts], *, by_id_number: bool, today: date) -> str:
    """children.models.DropoutMatch of a row, from the files in the importer's area found for it
    (by ID number, at most one; else by exact name and birth date)."""
    if not found:
        return "no_file" if by_id_number else "no_name_match"
    if len(found) > 1:
        return "ambiguous"
    facts = found[0]
    if facts.status != "active":
        return "file_closed"
    if rules.age_on(facts.birth_date, today) >= ADULT_AGE:
        return "adult"
    return "matched"


def may_open_case(*, status: str, birth_date: date, today: date) -> bool:
    """A file may get a return-to-school case: it is active and the child is under 18."""
    return status == "active" and rules.age_on(birth_date, today) < ADULT_AGE


def closing_problems(
    *, outcome: str, returned_on: date | None, returned_school: str, note: str, today: date
) -> dict[str, str]:
    """What is missing or wrong to close a case with ``outcome``: {field: problem code}
    (``required``, ``future``, ``unknown``)."""
    problems: dict[str, str] = {}
    if outcome not in ("returned", "transferred_to_vocational", "exempted", "other"):
        problems["outcome"] = "unknown"
        return problems
    if outcome == "returned":
        if returned_on is None:
            problems["returned_on"] = "required"
        elif returned_on > today:
            problems["returned_on"] = "future"
        if not returned_school.strip():
            problems["returned_school"] = "required"
    if outcome == "other" and not note.strip():
        problems["note"] = "required"
    return problems
