"""Writes for areas, staff and API tokens. Commands, views and the admin call these."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import prepared

from . import permissions, rules
from .models import Area, AuditAction, Organisation, Role, User
from .permissions import Capability


@dataclass
class AreaLoadResult:
    created: int = 0
    updated: int = 0  # in the file and the table, and changed by the file
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _decode(raw: bytes) -> str:
    # Spreadsheets saved in China are often GB18030 (GBK); accept it as well as UTF-8 with BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("文件编码无法识别，请保存为UTF-8 / cannot decode the file, save it as UTF-8")


def _parse_date(value: str) -> date:
    return date.fromisoformat(value.strip())


def areas_load_csv(*, path: Path | str | None = None, text: str | None = None) -> AreaLoadResult:
    """Upsert areas from CSV with header ``code,name`` (optional ``valid_from,valid_to``).

    All-or-nothing: every line is checked first, and any error means nothing is written. Level and
    parent are derived from the code; a parent not in the file nor the database is left empty and
    linked when it is loaded later. Set-based (issue 20): the lines are copied into a staging
    table and upserted in one statement that writes only what the file changes, so the national
    list (664,000 codes) loads in one pass and re-loads writing nothing.
    """
    result = AreaLoadResult()
    if text is None:
        try:
            text = _decode(Path(path).read_bytes())
        except OSError as exc:
            result.errors.append(f"无法读取文件 / cannot read the file: {exc}")
            return result
        except ValueError as exc:
            result.errors.append(str(exc))
            return result

    # strict: a quote never closed is an error, not a field running to the end of the file
    reader = csv.reader(_lines(text), strict=True)
    header = next(reader, None)
    if header is None:
        result.errors.append("第1行: 文件为空 / line 1: the file is empty")
        return result
    columns = [h.strip().lower() for h in header]
    if columns[:2] != ["code", "name"]:
        result.errors.append(
            f"第1行: 表头必须是 code,name,实际为 {','.join(header)} / "
            f"line 1: header must be code,name, got {','.join(header)}"
        )
        return result
    position = {name: index for index, name in enumerate(columns)}

    dated = [column for column in ("valid_from", "valid_to") if column in position]
    errors: list[tuple[int, str]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        # Every line is checked and, if good, copied into a staging table as it is read (the
        # national list is 664,000 lines: no row objects kept); repeated codes are found there.
        cursor.execute(_AREA_STAGING_SQL)
        with cursor.copy(
            "COPY area_staging (line, code, name, level, valid_from, valid_to) FROM STDIN"
        ) as copy:
            try:
                for row in reader:
                    if not any(cell.strip() for cell in row):
                        continue
                    checked = _area_line(row, position, dated)
                    if isinstance(checked, list):
                        errors += [(reader.line_num, problem) for problem in checked]
                    else:
                        copy.write_row((reader.line_num, *checked))
            except csv.Error as exc:  # a quote never closed, a field beyond csv's limit
                errors.append((reader.line_num, f"无法读取此行 / cannot read this line: {exc}"))
        cursor.execute(_AREA_REPEATS_SQL)
        for line_no, code, first in cursor.fetchall():
            errors.append(
                (line_no, f"代码 {code} 与第{first}行重复 / code {code} repeats line {first}")
            )
        cursor.execute("SELECT count(*) FROM area_staging")
        (count,) = cursor.fetchone()
        # By line; a line's problems in the order they were found (sorted() is stable).
        ordered = sorted(errors, key=lambda error: error[0])
        result.errors = [f"第{n}行 / line {n}: {problem}" for n, problem in ordered]
        if not result.errors and not count:
            result.errors.append("文件中没有区划 / the file contains no areas")
        if result.errors:
            transaction.set_rollback(True)
            return result
        cursor.execute("CREATE UNIQUE INDEX ON area_staging (code)")
        cursor.execute("ANALYZE area_staging")
        cursor.execute(_AREA_UPSERT_SQL.replace("{nearest}", _nearest_area_sql("s.code")))
        cursor.execute(
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
            " FROM area_staging"
        )
        result.created, result.updated = cursor.fetchone()
        result.unchanged = count - result.created - result.updated
        if result.created:
            cursor.execute(
                _AREA_RELINK_SQL.replace("{nearest}", _nearest_area_sql("a.code")).replace(
                    "{candidates}", _area_candidates_sql("a.code")
                )
            )
        cursor.execute("DROP TABLE area_staging")
    return result


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, with their ends (csv reads a quoted line break):
    io.StringIO would hold a second copy of the national list, four bytes a character."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _area_line(row: list[str], position: dict[str, int], dated: list[str]) -> tuple | list[str]:
    """(code, name, level, valid_from, valid_to) of a good line, or its problems."""
    code = row[0].strip() if row else ""
    name = row[1].strip() if len(row) > 1 else ""
    problems = []
    level = None
    try:
        level = rules.parse_level(code)
    except rules.AreaCodeError as exc:
        problems.append(f"代码 {code!r}: {exc}")
    if not name:
        problems.append("名称为空 / name is empty")
    elif len(name) > 100:
        problems.append("名称超过100个字 / name is longer than 100 characters")
    elif any(ord(character) < 32 for character in name):
        # NUL (which the database refuses), or a line break inside a quote never closed
        problems.append(
            "名称含有换行或不可见字符 / name holds a line break or a control character (NUL…)"
        )
    dates = {"valid_from": None, "valid_to": None}
    for column in dated:
        value = row[position[column]].strip() if len(row) > position[column] else ""
        if value:
            try:
                dates[column] = _parse_date(value)
            except ValueError:
                problems.append(
                    f"{column} 日期格式应为YYYY-MM-DD / {column} must be a YYYY-MM-DD date"
                )
    return problems or (code, name, level, dates["valid_from"], dates["valid_to"])


def _area_candidates_sql(code: str) -> str:
    """SQL array: ``code`` with its township, county, city, then all but the province part zeroed
    (rules.parent_code's rule: a town of a city without counties reaches the city)."""
    return (
        "ARRAY[" + ", ".join(f"left({code}, {n}) || '{'0' * (12 - n)}'" for n in (9, 6, 4, 2)) + "]"
    )


def _nearest_area_sql(code: str) -> str:
    """SQL: the nearest area above ``code`` in the table or the staging table, or NULL."""
    return f"""(
        SELECT u.c FROM unnest({_area_candidates_sql(code)}) WITH ORDINALITY AS u(c, i)
        WHERE u.c <> {code}
          AND (EXISTS (SELECT 1 FROM accounts_area x WHERE x.code = u.c)
               OR EXISTS (SELECT 1 FROM area_staging x WHERE x.code = u.c))
        ORDER BY u.i LIMIT 1
    )"""


_AREA_STAGING_SQL = """
    CREATE TEMPORARY TABLE area_staging (
        line integer, code varchar(12), name varchar(100), level varchar(10),
        valid_from date, valid_to date, inserted boolean
    ) ON COMMIT DROP
"""
_AREA_REPEATS_SQL = """
    SELECT line, code, first FROM (
        SELECT line, code, min(line) OVER (PARTITION BY code) AS first FROM area_staging
    ) s WHERE line > first
"""
# One set-based upsert: a row the file does not change is not written (re-loading the same list
# writes nothing). Each row written is marked in the staging table: new (xmax 0) or changed.
_AREA_UPSERT_SQL = """
    WITH written AS (
        INSERT INTO accounts_area (code, name, level, valid_from, valid_to, parent_id)
        SELECT s.code, s.name, s.level, s.valid_from, s.valid_to, {nearest}
        FROM area_staging s ORDER BY s.code
        ON CONFLICT (code) DO UPDATE SET
            name = EXCLUDED.name, level = EXCLUDED.level, valid_from = EXCLUDED.valid_from,
            valid_to = EXCLUDED.valid_to, parent_id = EXCLUDED.parent_id
        WHERE (accounts_area.name, accounts_area.level, accounts_area.valid_from,
               accounts_area.valid_to, accounts_area.parent_id)
              IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.valid_from,
                                EXCLUDED.valid_to, EXCLUDED.parent_id)
        RETURNING code, xmax = 0 AS inserted
    )
    UPDATE area_staging s SET inserted = w.inserted FROM written w WHERE s.code = w.code
"""
# Areas not in the file whose nearest area above may be one just created (or that had none):
# loaded before their parents, or hung under a farther ancestor.
_AREA_RELINK_SQL = """
    UPDATE accounts_area a SET parent_id = n.parent
    FROM (
        SELECT a.code, {nearest} AS parent FROM accounts_area a
        WHERE a.level <> 'province'
          AND NOT EXISTS (SELECT 1 FROM area_staging s WHERE s.code = a.code)
          AND (a.parent_id IS NULL OR EXISTS (
              SELECT 1 FROM area_staging s WHERE s.inserted AND s.code = ANY({candidates})
          ))
    ) n
    WHERE a.code = n.code AND a.parent_id IS DISTINCT FROM n.parent
"""


class StaffError(ValueError):
    """A bad argument to staff_add; the message is bilingual."""


def staff_add(
    *,
    username: str,
    role: str,
    area_code: str | None,
    password: str,
    name: str = "",
    phone: str = "",
    email: str = "",
    organisation: str = "",
) -> tuple[User, bool]:
    """Create or update a staff member. Returns (user, created).

    A ``partner`` works for the organisation named ``organisation`` in its area (registered
    there if new); without a name, an organisation of its own (its name, or the username)."""
    if role not in Role.values:
        raise StaffError(
            f"角色 {role!r} 无效，可选: {', '.join(Role.values)} / "
            f"unknown role {role!r}, choose one of: {', '.join(Role.values)}"
        )
    area = None
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is None:
            raise StaffError(f"区划代码 {area_code} 不存在 / unknown area code {area_code}")
    elif role != Role.ADMIN:
        raise StaffError("必须指定 --area / --area is required")
    if area is not None and not rules.role_allowed_at(role, area.level):
        allowed_zh = "、".join(rules.LEVEL_ZH[level] for level in rules.ROLE_LEVELS[role])
        allowed_en = "/".join(rules.ROLE_LEVELS[role])
        raise StaffError(
            f"角色 {rules.ROLE_ZH[role]} 只能设在{allowed_zh}级区划，"
            f"{area.name}（{area.code}）是{rules.LEVEL_ZH[area.level]}级 / "
            f"role {role} must be placed at a {allowed_en} area, {area.code} is a {area.level}"
        )
    from . import staff

    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User(username=username)
    user.role = role
    user.area = area
    user.name = name or user.name
    user.phone = phone or user.phone
    user.email = email or user.email
    user.is_active = True
    if role == Role.PARTNER:
        user.organisation, _ = Organisation.objects.get_or_create(
            area=area, name=(organisation or name or user.name or username)[:100]
        )
    else:
        user.organisation = None
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise StaffError(
            "密码不符合要求 / password rejected: " + " ".join(str(m) for m in exc.messages)
        ) from exc
    # Run on the server (add_staff, seed_demo): any role, audited as made "on the server".
    staff.staff_save(by=None, user=user, via=staff.SERVER, password=password)
    return user, created


def api_token_create(*, user: User, days: int | None = None, by: User | None = None) -> str:
    """Create a bearer token for ``user`` (ending after ``days``) and return it; only its hash
    is kept (accounts.staff.api_token_create)."""
    from . import staff

    return staff.api_token_create(user=user, days=days, by=by)


# --- Area policies (*default* numbers, per area) ---------------------------------------------

POLICY_DEFAULTS: dict[str, int] = {
    "left_behind_away_days": 90,
    "reassess_days": 180,
    "contact_days_low": 30,
    "home_days_low": 90,
    "contact_days_medium": 30,
    "home_days_medium": 30,
    "contact_days_high": 7,
    "home_days_high": 7,
    "never_visited_days": 14,
    "escalate_supervisor_days": 14,
    "escalate_county_days": 30,
    "agreement_replacement_days": 14,
    "parent_contact_days": 14,
    "report_assessment_days": 7,
    "subsidy_township_working_days": 10,
    "subsidy_county_working_days": 10,
    "subsidy_review_days": 183,  # every 6 months
}


def area_policy_update(*, user: User, area_code: str, values: dict[str, int | None]) -> None:
    """Civil affairs set their area's numbers (empty = inherit). Every file below is recomputed
    in the background after commit (through the outbox, so a broker that is down delays it only)."""
    from . import outbox
    from . import selectors as scope
    from .models import AreaPolicy

    permissions.require(user, Capability.AREA_POLICY_EDIT)
    # Settings, not case data: the administrator (no case-data scope) sets them too.
    if not scope.code_in_area(user, area_code):
        raise PermissionDenied
    errors = {
        name: [_("Must be a whole number from 1 to 3650")]
        for name, value in values.items()
        if name not in POLICY_DEFAULTS or (value is not None and not 1 <= value <= 3650)
    }
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        AreaPolicy.objects.update_or_create(area_id=area_code, defaults=values)
        outbox.enqueue("children.recompute_area", area_code)


def policies_for(area_codes: set[str]) -> dict[str, dict[str, int]]:
    """The policy in force for each area code: nearest ancestor's value, else the default.

    One query for any number of areas.
    """
    from .models import AreaPolicy

    chains = {code: [code, *rules.ancestor_codes(code)] for code in area_codes}
    wanted = {c for chain in chains.values() for c in chain}
    rows = {
        row["area_id"]: row
        for row in AreaPolicy.objects.filter(area_id__in=wanted).values("area_id", *POLICY_DEFAULTS)
    }
    result = {}
    for code, chain in chains.items():
        policy = {}
        for name, default in POLICY_DEFAULTS.items():
            policy[name] = next(
                (rows[c][name] for c in chain if c in rows and rows[c][name] is not None), default
            )
        result[code] = policy
    return result


# The same inheritance as SQL, for set-based work over many children (the reminder sweep): the
# value set nearest to the area (village → province), else the default — five LEFT JOINs on the
# codes derived from the area code, then one COALESCE per number.
def policy_joins_sql(area: str) -> str:
    """LEFT JOINs p5 (the area itself) … p1 (its province) for the area code SQL ``area``."""
    return f"""
    LEFT JOIN accounts_areapolicy p5 ON p5.area_id = {area}
    LEFT JOIN accounts_areapolicy p4 ON p4.area_id = left({area}, 9) || '000'
    LEFT JOIN accounts_areapolicy p3 ON p3.area_id = left({area}, 6) || '000000'
    LEFT JOIN accounts_areapolicy p2 ON p2.area_id = left({area}, 4) || '00000000'
    LEFT JOIN accounts_areapolicy p1 ON p1.area_id = left({area}, 2) || '0000000000'
"""


def policy_sql(name: str) -> str:
    """The number ``name`` in force, over the joins of ``policy_joins_sql``."""
    default = int(POLICY_DEFAULTS[name])
    return f"COALESCE(p5.{name}, p4.{name}, p3.{name}, p2.{name}, p1.{name}, {default})"


# --- Audit ------------------------------------------------------------------------------------


# The client's address of the request being served, for audit records written deep inside
# services and selectors that have no request (set by accounts.middleware.AuditMiddleware).
CURRENT_IP: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request) -> str | None:
    """The client's address (behind the trusted proxies), or the one of the request being served."""
    if request is None:
        return CURRENT_IP.get()
    from core.web import client_ip as forwarded_client_ip

    return forwarded_client_ip(request) or None


def audit_log(
    *,
    user: User | None,
    action: str,
    object_type: str,
    records: list[tuple[str, str]],
    request=None,
    detail: dict | None = None,
) -> None:
    """Write one audit record per (object_id, area_code), in a single INSERT: one statement,
    so no transaction of its own (bulk_create's BEGIN and COMMIT were two more round trips on
    every page that shows a file)."""
    if not records:
        return
    known = user if user is not None and user.is_authenticated else None
    params = [
        timezone.now(),
        known.pk if known is not None else None,
        known.username if known is not None else "",
        action,
        object_type,
        client_ip(request),
        json.dumps(detail or {}),
    ]
    if len(records) == 1:
        ((object_id, area_code),) = records
        prepared.execute(_AUDIT_INSERT_ONE, [*params, str(object_id), area_code])
        return
    prepared.execute(
        _AUDIT_INSERT,
        [
            *params,
            [str(object_id) for object_id, _ in records],
            [area_code for _, area_code in records],
        ],
    )


# Prepared statements (core.prepared.execute): written on nearly every request, parsed once per
# connection. Every value is cast, so that its types never depend on the values (None, a
# short or a long number). One record (a page, an API call) is a plain VALUES, whose generic
# plan PostgreSQL keeps; several (a list, an export) are unnested from two arrays.
_AUDIT_COLUMNS = """
    INSERT INTO "accounts_auditrecord"
        ("at", "user_id", "username", "action", "object_type", "ip", "detail", "object_id",
         "area_code")
"""
_AUDIT_VALUES = "%s::timestamptz, %s::bigint, %s::text, %s::text, %s::text, %s::inet, %s::jsonb"
_AUDIT_INSERT_ONE = f"{_AUDIT_COLUMNS} VALUES ({_AUDIT_VALUES}, %s::text, %s::text)"
_AUDIT_INSERT = f"""{_AUDIT_COLUMNS}
    SELECT {_AUDIT_VALUES}, record.object_id, record.area_code
    FROM unnest(%s::text[], %s::text[]) AS record (object_id, area_code)
"""


def audit_children(
    *, user: User | None, action: str, children: Iterable, request=None, detail: dict | None = None
) -> None:
    """One audit record per child whose file is read, viewed or exported: (its id, its
    village). ``children`` are Child rows; this floor reads only their pk and village_id."""
    audit_log(
        user=user,
        action=action,
        object_type="child",
        records=[(str(child.pk), child.village_id) for child in children],
        request=request,
        detail=detail,
    )


def audit_api_read(request: HttpRequest, children: Iterable) -> None:
    """A read through the API of these children's files or of what hangs off them."""
    audit_children(
        user=request.auth,
        action=AuditAction.API_READ,
        children=children,
        request=request,
        detail={"path": request.path},
    )


AUDIT_BATCH = 2000  # records per INSERT of an export's audit: memory stays flat on a big county


class ExportAudit:
    """The audit of an export: (record id, area code) pairs collected as rows are written and
    saved in batches of ``batch``; ``flush`` saves the rest."""

    def __init__(
        self,
        *,
        user: User,
        request,
        detail: dict,
        object_type: str = "child",
        batch: int = AUDIT_BATCH,
    ) -> None:
        self.user, self.request, self.detail, self.object_type = user, request, detail, object_type
        self.batch = batch
        self.pending: list[tuple[str, str]] = []

    def add(self, object_id: Any, area_code: str) -> None:
        self.pending.append((str(object_id), area_code))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            audit_log(
                user=self.user,
                action=AuditAction.EXPORT,
                object_type=self.object_type,
                records=self.pending,
                request=self.request,
                detail=self.detail,
            )
            self.pending = []


def audit_refusal(
    *,
    user: User | None,
    request=None,
    reason: str,
    object_type: str,
    object_id: str = "",
    area_code: str = "",
    detail: dict | None = None,
) -> None:
    """An authorization refusal or authentication failure, in the audit log (等保 三级)."""
    audit_log(
        user=user,
        action=AuditAction.DENIED,
        object_type=object_type,
        records=[(object_id, area_code)],
        request=request,
        detail={"reason": reason, **(detail or {})},
    )


def audit_account(
    *, by: User | None, account: User, action: str, request=None, detail: dict | None = None
) -> None:
    """An audit record about a staff account (sessions, second factor, the account itself, its
    tokens); ``by`` None is the server (a management command)."""
    audit_log(
        user=by,
        action=action,
        object_type="user",
        records=[(account.username[:64], account.area_id or "")],
        request=request,
        detail=detail,
    )


def _mfa_failed(user: User, request, **detail) -> None:
    """A wrong code of ``user``'s second factor (or enrolment code), audited on their account."""
    audit_account(
        by=user, account=user, action=AuditAction.MFA_FAILED, request=request, detail=detail
    )


def _audit_username(
    *, by: User | None, username: str, action: str, request=None, detail: dict | None = None
) -> None:
    """An audit record about the account ``username``, which may not exist: in the account's area
    when it does ("" when not), so the area's civil affairs see what concerns their staff."""
    area_code = (
        User.objects.filter(username=username).values_list("area_id", flat=True).first() or ""
    )
    audit_log(
        user=by,
        action=action,
        object_type="user",
        records=[(username[:64], area_code)],
        request=request,
        detail=detail,
    )


def audit_login_failed(*, username: str, request=None) -> None:
    """A failed sign-in, with the username tried (never the password) and the account's area
    when it exists, so the area's civil affairs see attacks on their staff."""
    _audit_username(
        by=None,
        username=username,
        action=AuditAction.LOGIN_FAILED,
        request=request,
        detail={"username": username[:150]},
    )


# --- Sessions ---------------------------------------------------------------------------------


def user_sessions_end(*, by: User, user: User) -> int:
    """End every session of ``user`` (administrators only); returns how many were deleted.

    The sessions remembered at sign-in are deleted outright; the user's session epoch, set to now,
    ends any other one at its next request (accounts.session_limits). API tokens, the password
    and the account itself are left as they are.
    """
    from importlib import import_module

    from django.conf import settings

    from . import session_limits

    own = by.pk == user.pk and permissions.can(by, Capability.SESSIONS_END)
    if not own and not rules.may_end_sessions_of(
        by.role, user.role, is_superuser=by.is_superuser, account_is_superuser=user.is_superuser
    ):
        raise PermissionDenied
    session_limits.set_session_epoch(user.pk)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    ended = 0
    for key in session_limits.pop_session_keys(user.pk):
        if store.exists(key):
            store.delete(key)
            ended += 1
    audit_account(
        by=by,
        account=user,
        action=AuditAction.SESSIONS_ENDED,
        detail={"sessions_deleted": ended},
    )
    return ended


# --- Two-factor sign-in (TOTP, django-otp) ------------------------------------------------------


class EnrolmentCodeRefused(ValueError):
    """A privileged account's enrolment without a valid one-time code from the security officer."""


def mfa_pending_key(*, user: User) -> str:
    """The secret offered to ``user`` at enrolment, the same on every load of the page until a
    code confirms it. Kept in an unconfirmed device row, not in the session: a request the phone
    makes meanwhile with the same session (the service worker installing, another tab) saves its
    own copy of the session and would drop a key kept there, so that the code typed from the QR
    code just scanned is refused and the page offers another (issue 20 CI: the set-up page)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from django_otp.util import random_hex

    with transaction.atomic():
        # Two first loads at once draw one key: the second waits for the first's row.
        User.objects.select_for_update().filter(pk=user.pk).exists()
        pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
        if pending is None:
            pending = TOTPDevice.objects.create(
                user=user, name="pending", key=random_hex(20), confirmed=False
            )
    return pending.key


def mfa_device_enrol(
    *, user: User, key: str, token: str, request=None, enrolment_code: str | None = None
):
    """Confirm a new TOTP device for ``user`` from the hex ``key`` shown at enrolment and the
    first code the app produced. Returns the device, or None when the code is wrong.

    Any earlier device goes: a user has one authenticator at a time. A wrong code is audited like
    a wrong verification code. A privileged account (accounts.staff.needs_enrolment_code) also
    gives the one-time code the security officer issued; without a valid one it raises
    EnrolmentCodeRefused and nothing is saved (issue 14, H2: no trust on first use).
    """
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from . import staff

    totp = TOTP(bytes.fromhex(key))
    matched = token.isdigit() and totp.verify(int(token), tolerance=1)
    if not matched:
        _mfa_failed(user, request, step="enrol")
        return None
    device = None
    with transaction.atomic():
        code_ok = not staff.needs_enrolment_code(user) or staff.enrolment_code_redeem(
            user=user, code=enrolment_code or ""
        )
        if code_ok:
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice(user=user, name="default", key=key, confirmed=True)
            # The code just used may not be used again (django-otp keeps the last time step).
            device.last_t = totp.t()
            device.drift = totp.drift
            device.full_clean()
            device.save()
            audit_account(
                by=user,
                account=user,
                action=AuditAction.MFA_ENROLLED,
                request=request,
            )
    if not code_ok:
        _mfa_failed(user, request, step="enrolment_code")
        raise EnrolmentCodeRefused
    return device


def mfa_verify(*, user: User, token: str, request=None):
    """Check a 6-digit code against the user's confirmed TOTP device under django-otp's throttle.

    Returns ``(device, None)`` on success, else ``(None, seconds_to_wait_or_None)``; every
    failure, throttled or not, is audited.
    """
    from django.utils import timezone
    from django_otp.models import VerifyNotAllowed
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            return None, None
        allowed, why = device.verify_is_allowed()
        wait = None
        if allowed and device.verify_token(token.strip()):
            return device, None
        if not allowed and why and why.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
            locked_until = why.get("locked_until")
            wait = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
    _mfa_failed(
        user,
        request,
        step="verify",
        throttled=wait is not None,
        failures=device.throttling_failure_count,
    )
    return None, wait


def mfa_device_reset(*, by: User, user: User) -> int:
    """The security officer removes ``user``'s second factor (a lost or replaced phone).

    The user's sessions end too, so whoever holds the old device or a session verified by it is
    out; at the next sign-in the user enrols a new device (or, for an optional role, goes on with
    the password alone). Returns the number of devices removed.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from . import session_limits

    permissions.require(by, Capability.SECURITY_ADMIN)
    with transaction.atomic():
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        audit_account(
            by=by,
            account=user,
            action=AuditAction.MFA_RESET,
            detail={"devices_removed": removed},
        )
    session_limits.set_session_epoch(user.pk)
    return removed


def lockout_clear(*, by: User, username: str) -> int:
    """The security officer lifts the sign-in lockout of ``username`` (django-axes): its failed
    attempts are forgotten. Returns how many attempt rows were removed."""
    from axes.utils import reset

    permissions.require(by, Capability.SECURITY_ADMIN)
    removed = reset(username=username)
    _audit_username(
        by=by,
        username=username,
        action=AuditAction.LOCKOUT_CLEARED,
        detail={"attempts_removed": removed},
    )
    return removed


# --- ID numbers found outside the user's area, and the import lock (issue 14, M5) --------------
#
# "This ID number is already on file" answers a question about a child the user may not see. The
# answer stays (a duplicate must not be filed twice) but says nothing of where, and each such
# number found is a probe: an audit record (action ``id_probe``, on the file found, in its area),
# counted with one query on a partial index. The audit log is the count's only store: what is
# counted is exactly what the auditors read, and nothing else has to be kept in step with it.
# More than ID_PROBE_LIMIT in ID_PROBE_WINDOW lock the user's census imports and ID-number changes
# until the security officer lifts the lock: it does not expire, since someone sweeping the
# register for numbers should be looked at by a person before going on.

ID_PROBE_LIMIT = 20
ID_PROBE_WINDOW = timedelta(hours=1)
IMPORT_LOCKED_MESSAGE = gettext_lazy(
    "Your account looked up ID numbers already registered outside your area many times within an "
    "hour, so census imports and ID number changes are paused. Ask the security officer to check "
    "and lift the pause."
)


class ImportLocked(PermissionDenied):
    """The user's imports and ID-number changes are locked (API: 403 with this message)."""

    def __init__(self) -> None:
        super().__init__(IMPORT_LOCKED_MESSAGE)


def import_lock_open(user: User):
    """The user's lock in force, or None."""
    from .models import ImportLock

    return ImportLock.objects.filter(user=user, lifted_at__isnull=True).first()


def require_imports_allowed(user: User) -> None:
    """Raise ImportLocked while the user's imports and ID-number changes are locked."""
    if import_lock_open(user) is not None:
        raise ImportLocked


def id_probes_in_window(user: User) -> int:
    """The user's probes of the last ID_PROBE_WINDOW, not counting any before a lock was lifted
    (the officer who lifted it has looked: the user starts again from nothing)."""
    from django.db.models import DateTimeField, Subquery, Value
    from django.db.models.functions import Greatest
    from django.utils import timezone

    from .models import AuditRecord, ImportLock

    hour_ago = Value(timezone.now() - ID_PROBE_WINDOW, output_field=DateTimeField())
    last_lifted = (
        ImportLock.objects.filter(user=user, lifted_at__isnull=False)
        .order_by("-lifted_at")
        .values("lifted_at")[:1]
    )
    # One query on the partial index audit_id_probe_by_user (PostgreSQL's GREATEST skips NULL).
    return AuditRecord.objects.filter(
        user=user,
        action=AuditAction.ID_PROBE,
        at__gte=Greatest(hour_ago, Subquery(last_lifted)),
    ).count()


def id_probes_record(
    *, user: User, records: list[tuple[str, str]], channel: str, request=None
) -> object | None:
    """Audit each ID number found on file outside the user's area ((child id, its area code)),
    then lock the user once the hour holds more than ID_PROBE_LIMIT. Returns the lock the user is
    under now, or None. Call it outside any transaction that is about to roll back."""
    if not records:
        return import_lock_open(user)
    audit_log(
        user=user,
        action=AuditAction.ID_PROBE,
        object_type="child",
        records=records,
        request=request,
        detail={"channel": channel},
    )
    probes = id_probes_in_window(user)
    if probes <= ID_PROBE_LIMIT:
        return import_lock_open(user)
    return import_lock_create(user=user, probes=probes, request=request)


def import_lock_create(*, user: User, probes: int, request=None):
    """Lock ``user`` (once: an open lock is returned as it is), audit it and queue the e-mail to
    the security officers whose area covers the user."""
    from django.db import IntegrityError

    from . import outbox
    from .models import ImportLock

    existing = import_lock_open(user)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            lock = ImportLock.objects.create(user=user, probes=probes)
            audit_account(
                by=user,
                account=user,
                action=AuditAction.IMPORT_LOCKED,
                request=request,
                detail={"probes": probes, "limit": ID_PROBE_LIMIT},
            )
            outbox.enqueue("accounts.import_lock_notify", lock.pk)
    except IntegrityError:  # a concurrent request locked the user first
        return import_lock_open(user)
    return lock


def security_officers_over(user: User) -> list[User]:
    """Active security officers whose area is the user's or one above it."""
    if not user.area_id:
        return []
    codes = [user.area_id, *rules.ancestor_codes(user.area_id)]
    return list(
        User.objects.filter(
            role__in=permissions.roles_with(Capability.SECURITY_ADMIN),
            is_active=True,
            area_id__in=codes,
        ).order_by("-area_id", "username")
    )


def import_lock_notify(lock_id: int) -> int:
    """E-mail the security officers over the locked user (the outbox task; idempotent: a lock is
    announced once). Returns the number of addresses written to."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import timezone

    from .models import ImportLock

    with transaction.atomic():
        lock = (
            ImportLock.objects.select_for_update(of=("self",))
            .select_related("user__area")
            .filter(pk=lock_id, notified_at__isnull=True)
            .first()
        )
        if lock is None:
            return 0
        person = lock.user
        addresses = [o.email for o in security_officers_over(person) if o.email]
        if addresses:
            area = person.area.name if person.area_id else "—"
            local = timezone.localtime(lock.locked_at)
            send_mail(
                f"守望安全提醒：{person.display_name} 的导入功能已锁定",
                (
                    "安全管理员您好：\n\n"
                    f"{person.display_name}（账号 {person.username}，{area}）在一小时内"
                    f"{lock.probes}次查询到辖区外已建档的身份证号，超过{ID_PROBE_LIMIT}次的上限。"
                    f"系统已于 {local:%Y-%m-%d %H:%M} 暂停该账号的摸底排查导入和身份证号修改。\n\n"
                    "请登录守望“安全管理”页面，向本人核实情况；确认无误后可在该页面解除锁定。"
                ),
                settings.DEFAULT_FROM_EMAIL,
                addresses,
            )
        lock.notified_at = timezone.now()
        lock.save(update_fields=["notified_at"])
    return len(addresses)


def import_lock_lift(*, by: User, lock, request=None) -> bool:
    """The security officer lifts an import lock (the caller has checked that the locked user is
    in the officer's area). Returns False when it was already lifted."""
    from django.utils import timezone

    from .models import ImportLock

    permissions.require(by, Capability.SECURITY_ADMIN)
    lifted = ImportLock.objects.filter(pk=lock.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=by
    )
    if lifted:
        audit_account(
            by=by,
            account=lock.user,
            action=AuditAction.IMPORT_LOCK_LIFTED,
            request=request,
            detail={"locked_at": lock.locked_at.isoformat(), "probes": lock.probes},
        )
    return bool(lifted)
