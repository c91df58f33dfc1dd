"""Pure rules of the 12-digit 统计用区划代码 (area codes) and of which role works at which level."""

from __future__ import annotations

import re

PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = "province", "city", "county", "township", "village"
LEVELS = (PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE)
# Code split 2+2+2+3+3: the number of leading digits that identify an area of each level.
PREFIX_LENGTH = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
LEVEL_ZH = {PROVINCE: "省", CITY: "市", COUNTY: "县", TOWNSHIP: "乡镇", VILLAGE: "村（社区）"}
_SEGMENTS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))
# ASCII digits, whole string: "\d" admits other scripts' digits and "$" a trailing newline.
_CODE_RE = re.compile(r"[0-9]{12}")


class AreaCodeError(ValueError):
    """A code that is not a well-formed 12-digit area code; the message is bilingual."""


def parse_level(code: str) -> str:
    """Level of a 12-digit code, derived from which segments are non-zero.

    Raises AreaCodeError for anything that is not 12 digits, or whose non-zero segments are not
    contiguous from the left (e.g. a village number under an all-zero township).
    """
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise AreaCodeError("区划代码必须是12位数字 / area code must be 12 digits")
    segments = [code[a:b] for a, b in _SEGMENTS]
    if set(segments[0]) == {"0"}:
        raise AreaCodeError("省级代码不能为00 / the province part cannot be 00")
    depth = 0
    for index, segment in enumerate(segments):
        if set(segment) != {"0"}:
            if depth != index:
                raise AreaCodeError(
                    "区划代码层级不连续 / area code has a non-zero part under a zero part"
                )
            depth = index + 1
    return LEVELS[depth - 1]


def prefix(code: str, level: str) -> str:
    """The leading digits shared by every area in the subtree of ``code``."""
    return code[: PREFIX_LENGTH[level]]


def parent_code(code: str) -> str | None:
    """The code of the level directly above, or None for a province."""
    level = parse_level(code)
    index = LEVELS.index(level)
    if index == 0:
        return None
    keep = PREFIX_LENGTH[LEVELS[index - 1]]
    return code[:keep] + "0" * (12 - keep)


def ancestor_codes(code: str) -> list[str]:
    """Codes of every level above ``code``, nearest first."""
    result = []
    current = parent_code(code)
    while current:
        result.append(current)
        current = parent_code(current)
    return result


# Roles and the levels at which each may be placed (domain.md §1, api.md add_staff).
DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER, REPORTER, ADMIN = (
    "director",
    "supervisor",
    "civil_affairs",
    "viewer",
    "reporter",
    "admin",
)
ROLE_ZH = {
    DIRECTOR: "儿童主任",
    SUPERVISOR: "儿童督导员",
    CIVIL_AFFAIRS: "民政工作人员",
    VIEWER: "查看人员",
    REPORTER: "强制报告责任人",
    ADMIN: "系统管理员",
}
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    DIRECTOR: (VILLAGE,),
    SUPERVISOR: (TOWNSHIP,),
    CIVIL_AFFAIRS: (COUNTY, CITY, PROVINCE),
    VIEWER: LEVELS,
    REPORTER: LEVELS,
    ADMIN: LEVELS,
}


def role_allowed_at(role: str, level: str) -> bool:
    return level in ROLE_LEVELS.get(role, ())
