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
DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER, REPORTER, ADMIN, SECURITY, AUDITOR = (
    "director",
    "supervisor",
    "civil_affairs",
    "viewer",
    "reporter",
    "admin",
    "security",
    "auditor",
)
ROLE_ZH = {
    DIRECTOR: "儿童主任",
    SUPERVISOR: "儿童督导员",
    CIVIL_AFFAIRS: "民政工作人员",
    VIEWER: "查看人员",
    REPORTER: "强制报告责任人",
    ADMIN: "系统管理员",
    SECURITY: "安全管理员",
    AUDITOR: "安全审计员",
}
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    DIRECTOR: (VILLAGE,),
    SUPERVISOR: (TOWNSHIP,),
    CIVIL_AFFAIRS: (COUNTY, CITY, PROVINCE),
    VIEWER: LEVELS,
    REPORTER: LEVELS,
    ADMIN: LEVELS,
    SECURITY: LEVELS,
    AUDITOR: LEVELS,
}


def role_allowed_at(role: str, level: str) -> bool:
    return level in ROLE_LEVELS.get(role, ())


# --- 等保 三权分立: system administration, security administration and audit kept apart --------
# The security officer (安全管理员) and the auditor (安全审计员) work on accounts and the audit
# log of their area subtree; neither sees a child's file or any other case record.
NO_CASE_DATA_ROLES = frozenset({SECURITY, AUDITOR})
# Who reads and exports the audit log of their subtree. Never the system administrator: the one
# who runs the system must not also be the one who reviews what was done with it. Civil affairs
# keep their county's log, which is also how they see who opened the files of their children.
AUDIT_LOG_ROLES = frozenset({AUDITOR, CIVIL_AFFAIRS})
# Who ends other people's sessions.
END_SESSIONS_ROLES = frozenset({ADMIN, SECURITY})
# Who resets a lost second factor and lifts sign-in lockouts.
SECURITY_ADMIN_ROLES = frozenset({SECURITY})
# Roles that must sign in with a TOTP code by default (settings.MFA_REQUIRED_ROLES overrides).
DEFAULT_MFA_REQUIRED_ROLES = (SUPERVISOR, CIVIL_AFFAIRS, ADMIN, SECURITY, AUDITOR)


def sees_case_data(role: str) -> bool:
    """Whether the role may see children, visits, reports and benefits at all."""
    return role not in NO_CASE_DATA_ROLES


def may_read_audit_log(role: str) -> bool:
    # Superuser status is deliberately not consulted: administrators never read the audit log.
    return role in AUDIT_LOG_ROLES


def may_end_sessions(role: str, *, is_superuser: bool = False) -> bool:
    return role in END_SESSIONS_ROLES or (is_superuser and role not in NO_CASE_DATA_ROLES)


def may_administer_security(role: str) -> bool:
    return role in SECURITY_ADMIN_ROLES


def mfa_required(
    role: str, *, is_superuser: bool, required_roles: tuple[str, ...] | list[str]
) -> bool:
    """Whether a user of ``role`` must present a TOTP code at every sign-in.

    A superuser counts as an administrator whatever role field they carry (createsuperuser
    leaves the default role), so they cannot slip past the second factor.
    """
    return role in required_roles or (is_superuser and ADMIN in required_roles)


def group_secret(secret: str, size: int = 4) -> str:
    """A base32 secret in groups of four characters, for typing into an authenticator app."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))
