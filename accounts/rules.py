"""Pure rules of the 12-digit 统计用区划代码 (area codes), of which role works at which level, and
of the roster's training year (who is in post, who is untrained)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from core.masking import ID_NUMBER, PHONE

PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = "province", "city", "county", "township", "village"
LEVELS = (PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE)
# County level and above: where reports go to civil affairs, where standards are set.
COUNTY_LEVELS = frozenset({PROVINCE, CITY, COUNTY})
# Code split 2+2+2+3+3: the number of leading digits that identify an area of each level.
PREFIX_LENGTH = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
LEVEL_ZH = {PROVINCE: "省", CITY: "市", COUNTY: "县", TOWNSHIP: "乡镇", VILLAGE: "村（社区）"}
_SEGMENTS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))
# ASCII digits, whole string: "\d" admits other scripts' digits and "$" a trailing newline.
_CODE_RE = re.compile(r"[0-9]{12}")


class AreaCodeError(ValueError):
    """A code that is not a well-formed 12-digit area code; the message is bilingual."""


def _segments(code: str) -> list[str]:
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise AreaCodeError("区划代码必须是12位数字 / area code must be 12 digits")
    return [code[a:b] for a, b in _SEGMENTS]


def _zero(segment: str) -> bool:
    return set(segment) == {"0"}


def parse_level(code: str) -> str:
    """Level of a 12-digit code: that of its last non-zero part (domain §1).

    Raises AreaCodeError for anything that is not 12 digits, or whose non-zero parts are not
    contiguous from the left — with one exception, the towns and villages of a city without
    counties (东莞 4419, 中山 4420, 嘉峪关 6202, 儋州 4604): ``PPCC00TTT000`` and
    ``PPCC00TTTVVV``, a zero county part between a city and a town.
    """
    segments = _segments(code)
    if _zero(segments[0]):
        raise AreaCodeError("省级代码不能为00 / the province part cannot be 00")
    depth = 0
    for index, segment in enumerate(segments):
        if not _zero(segment):
            city_without_counties = index == 3 and depth == 2
            if depth != index and not city_without_counties:
                raise AreaCodeError(
                    "区划代码层级不连续 / area code has a non-zero part under a zero part"
                )
            depth = index + 1
    return LEVELS[depth - 1]


def prefix(code: str, level: str) -> str:
    """The leading digits shared by every area in the subtree of ``code``."""
    return code[: PREFIX_LENGTH[level]]


def prefix_length_sql(level_column: str) -> str:
    """SQL: the prefix length of an area of the level in ``level_column`` (``prefix`` in SQL)."""
    whens = " ".join(f"WHEN '{level}' THEN {length}" for level, length in PREFIX_LENGTH.items())
    return f"(CASE {level_column} {whens} END)"


def parent_code(code: str) -> str | None:
    """The code of the area directly above, or None for a province: the code with its last
    non-zero part zeroed (a town of a city without counties hangs under the city)."""
    level = parse_level(code)
    index = LEVELS.index(level)
    if index == 0:
        return None
    start = _SEGMENTS[index][0]
    return code[:start] + "0" * (12 - start)


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
# The network's outside doors (domain §10): the 12355 line, the police (110) and the
# organisations children are referred to.
HOTLINE, POLICE, PARTNER = "hotline", "police", "partner"
ROLE_ZH = {
    DIRECTOR: "儿童主任",
    SUPERVISOR: "儿童督导员",
    CIVIL_AFFAIRS: "民政工作人员",
    VIEWER: "查看人员",
    REPORTER: "强制报告责任人",
    ADMIN: "系统管理员",
    SECURITY: "安全管理员",
    AUDITOR: "安全审计员",
    HOTLINE: "12355热线",
    POLICE: "公安民警",
    PARTNER: "转介服务机构",
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
    # 12355 answers for a county or more; a police station (派出所) covers a township, a county
    # bureau its county; a referral organisation is registered with a county (or serves a
    # township, a city, a province) and sees only the referrals sent to it, wherever it is.
    HOTLINE: (COUNTY, CITY, PROVINCE),
    POLICE: (TOWNSHIP, COUNTY),
    PARTNER: LEVELS,
}


def display_name(name: str, first_name: str, last_name: str, username: str) -> str:
    """How a person is named on pages: their name, else first and last name, else username."""
    return name or f"{first_name} {last_name}".strip() or username


def role_allowed_at(role: str, level: str) -> bool:
    return level in ROLE_LEVELS.get(role, ())


# --- 等保 三权分立: system administration, security administration and audit kept apart --------
# The system administrator (系统管理员: areas, staff, settings), the security officer (安全管理员)
# and the auditor (安全审计员) work on the system, accounts and the audit log of their area
# subtree; none of them sees a child's file or any other case record, decides on a benefit or
# reads a full ID number. A superuser counts as the system administrator (issue 14, M1).
NO_CASE_DATA_ROLES = frozenset({ADMIN, SECURITY, AUDITOR})
# Who sees which numbers in full (domain §9: masked "unless the role needs them"), and only for
# records of their own area. The director keeps the village's files, registers the children and
# phones the families; county civil affairs approve benefits (the bank's payment list carries
# the ID number) and run temporary guardianship. Everyone else — supervisor, viewer, reporter,
# administrator, security officer, auditor — sees 3418**********1234 and 138****5678. Checked
# for every role on every page, API answer, PDF and export by tests/security (issue 14, M2).
FULL_NUMBER_ROLES: dict[str, frozenset[str]] = {
    ID_NUMBER: frozenset({DIRECTOR, CIVIL_AFFAIRS}),
    PHONE: frozenset({DIRECTOR, CIVIL_AFFAIRS}),
}
# Files that leave the system for another one carry masked numbers, whoever makes them.
HANDOVER = "handover"
ALWAYS_MASKED_SURFACES = frozenset({HANDOVER})
# The three system roles (三员), whose accounts only the security officer creates and changes
# (permissions.Capability.ACCOUNT_MANAGE_PRIVILEGED, issue 14, H2). Privileged accounts (and
# civil affairs) enrol their second factor with a one-time code from the security officer
# (settings.MFA_ENROLMENT_CODE_ROLES), never on trust at first use.
PRIVILEGED_ROLES = frozenset({ADMIN, SECURITY, AUDITOR})
# Who may do what is the table of accounts.permissions; the functions below read it.

# Roles that must sign in with a TOTP code by default (settings.MFA_REQUIRED_ROLES overrides).
DEFAULT_MFA_REQUIRED_ROLES = (SUPERVISOR, CIVIL_AFFAIRS, ADMIN, SECURITY, AUDITOR)


def effective_role(role: str, *, is_superuser: bool = False) -> str:
    """The role a user acts in: a superuser is the system administrator whatever their role
    field says (createsuperuser leaves the default), never anyone with case data."""
    return ADMIN if is_superuser else role


def sees_case_data(role: str, *, is_superuser: bool = False) -> bool:
    """Whether the role may see children, visits, reports and benefits at all."""
    return role not in NO_CASE_DATA_ROLES and not is_superuser


def is_privileged(role: str, *, is_superuser: bool = False) -> bool:
    return is_superuser or role in PRIVILEGED_ROLES


def may_manage_account(manager_role: str, role: str, *, is_superuser: bool = False) -> bool:
    """Whether a user acting as ``manager_role`` may create or change an account of ``role``
    (a superuser account counts as privileged whatever its role field says)."""
    from .permissions import Capability, roles_with

    if is_privileged(role, is_superuser=is_superuser):
        return manager_role in roles_with(Capability.ACCOUNT_MANAGE_PRIVILEGED)
    return manager_role in roles_with(Capability.ACCOUNT_MANAGE_CASE)


def may_see_full_number(role: str, kind: str, *, surface: str = "page") -> bool:
    """Whether ``role`` sees ``kind`` (ID_NUMBER or PHONE) in full on ``surface`` (for a record
    of its own area; the area is checked by accounts.selectors.sees_full_number)."""
    if surface in ALWAYS_MASKED_SURFACES:
        return False
    return role in FULL_NUMBER_ROLES[kind]


def may_read_audit_log(role: str) -> bool:
    # Superuser status is deliberately not consulted: administrators never read the audit log.
    from .permissions import Capability, role_can

    return role_can(role, Capability.AUDIT_LOG_READ)


def may_end_sessions(role: str, *, is_superuser: bool = False) -> bool:
    from .permissions import Capability, role_can

    return role_can(role, Capability.SESSIONS_END, is_superuser=is_superuser)


def may_end_sessions_of(
    role: str, account_role: str, *, is_superuser: bool = False, account_is_superuser: bool = False
) -> bool:
    """Whether ``role`` may end the sessions of an account of ``account_role``: the security
    officer anyone's; the administrator only those of the accounts they manage — never the
    security officer's or the auditor's, whom they could otherwise keep signed out (found by the
    outside attack run of issue 14)."""
    from .permissions import Capability, role_can

    acting = effective_role(role, is_superuser=is_superuser)
    if not may_end_sessions(role, is_superuser=is_superuser):
        return False
    return role_can(acting, Capability.SECURITY_ADMIN) or may_manage_account(
        acting, account_role, is_superuser=account_is_superuser
    )


def may_administer_security(role: str) -> bool:
    from .permissions import Capability, role_can

    return role_can(role, Capability.SECURITY_ADMIN)


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


# --- The roster of child directors and supervisors and their training (domain §10, S2) ---------
# 每年至少组织一次……全覆盖培训: everyone on the roster is trained at least once a year. A person is
# "untrained" once more than TRAINING_INTERVAL_DAYS have passed since their last training — or,
# with none since they took the post, since their appointment (a new director has their first
# year), or, with neither known, since their account was made. Reminded
# TRAINING_REMINDER_DAYS before that (the reminder sweep).
TRAINING_INTERVAL_DAYS = 365
TRAINING_REMINDER_DAYS = 30
# A village with more left-behind children and children in difficulty than this needs another
# director (S2: 留守儿童和困境儿童总人数超过 30 人的村（社区）……增配儿童主任).
CHILDREN_PER_DIRECTOR = 30


def training_clock_start(
    *, last_trained_on: date | None, appointed_on: date | None, joined_on: date
) -> date:
    """The day a person's training year runs from: the later of their last training and their
    appointment; the day their account was made when neither is known."""
    known = [day for day in (last_trained_on, appointed_on) if day is not None]
    return max(known) if known else joined_on


def training_due(
    *, last_trained_on: date | None, appointed_on: date | None, joined_on: date
) -> date:
    """The last day a person still counts as trained (``training_due_sql`` in SQL)."""
    start = training_clock_start(
        last_trained_on=last_trained_on, appointed_on=appointed_on, joined_on=joined_on
    )
    return start + timedelta(days=TRAINING_INTERVAL_DAYS)


def trained_within_year(due: date, today: date) -> bool:
    """Trained within the last year: 365 days after the last training is the last such day
    (trained 364 or 365 days ago: yes; 366: no)."""
    return today <= due


def training_reminder_due(due: date, today: date) -> bool:
    """Whether the reminder to get trained is open: from TRAINING_REMINDER_DAYS before ``due``
    on, until a training is recorded (a missed day is caught up: ``<=``, never ``==``)."""
    return due - timedelta(days=TRAINING_REMINDER_DAYS) <= today


def in_post(
    *, is_active: bool, appointed_on: date | None, left_on: date | None, today: date
) -> bool:
    """Whether a director or supervisor holds the post today: an account in use, appointed (or
    with no date recorded) on or before today, and not left by today (the day they leave is
    their first day out of post)."""
    if not is_active:
        return False
    if appointed_on is not None and appointed_on > today:
        return False
    return left_on is None or left_on > today
