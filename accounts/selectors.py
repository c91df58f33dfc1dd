"""Access scoping — the one place that decides what a user may see.

Every queryset of children, visits, agreements, reports and subsidies passes through
``scope_queryset`` with the path to its area code. A user sees exactly their area's subtree; an
object outside it does not exist for them (404). A role that may not act on an object it can see
gets 403 from ``accounts.permissions.require``, which reads the one table of capabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    IntegerField,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.expressions import RawSQL
from django.http import Http404

from core import clock
from core.compiled import Compiled, Param

from . import permissions, rules
from .models import Area, Delivery, DeliveryPurpose, Training, TrainingAttendance, User
from .permissions import Capability

M = TypeVar("M", bound=Model)


def area_prefix(user: User) -> str | None:
    """The area-code prefix of the user's area subtree, whatever their role: ``""`` for
    everything, None for nothing. Staff, lockouts and the audit log are scoped by it."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.area_id is None:
        # Only a superuser works without an area (system administration).
        return "" if user.is_superuser else None
    # Derived from the code itself: no query for the area row.
    return rules.prefix(user.area_id, rules.parse_level(user.area_id))


def scope_prefix(user: User) -> str | None:
    """The area-code prefix of the case records (children, visits, reports, benefits) the user
    may see: ``""`` for everything, None for nothing. The system administrator (superuser or
    not), the security officer and the auditor see none (等保 三权分立), wherever they sit."""
    if not rules.sees_case_data(
        getattr(user, "role", ""), is_superuser=getattr(user, "is_superuser", False)
    ):
        return None
    return area_prefix(user)


def scope_q(user: User, area_field: str) -> Q | None:
    """A Q object restricting ``area_field`` (a path to an area code) to the user's subtree."""
    prefix = scope_prefix(user)
    if prefix is None:
        return None
    return prefix_q(prefix, area_field)


def prefix_range(prefix: str) -> tuple[str, str] | None:
    """Codes starting with ``prefix`` as (lowest, highest); None for every code (``""``).
    Codes are 12 digits, so that is a contiguous range: a plain B-tree index serves it (a LIKE
    on a cast foreign key would not)."""
    if prefix == "":
        return None
    pad = 12 - len(prefix)
    return prefix + "0" * pad, prefix + "9" * pad


def subtree_range(area_code: str) -> tuple[str, str] | None:
    """prefix_range of an area's subtree (subtree_q for SQL text)."""
    return prefix_range(rules.prefix(area_code, rules.parse_level(area_code)))


def subtree_sql(column: str, area_code: str) -> str:
    """SQL text: ``column`` (an area code) in the subtree of ``area_code``, on the code's B-tree
    index (subtree_q for written-out statements; codes are digits, safe to write in)."""
    codes = subtree_range(area_code)
    if codes is None:
        return "TRUE"
    low, high = codes
    return f"{column} BETWEEN '{low}' AND '{high}'"


def prefix_q(prefix: str, area_field: str) -> Q:
    """Codes starting with ``prefix`` (prefix_range)."""
    codes = prefix_range(prefix)
    return Q() if codes is None else Q(**{f"{area_field}__range": codes})


def subtree_q(area_code: str, area_field: str) -> Q:
    """Everything in the subtree of ``area_code``, through ``area_field``."""
    return prefix_q(rules.prefix(area_code, rules.parse_level(area_code)), area_field)


def scope_queryset(queryset: QuerySet[M], *, user: User, area_field: str) -> QuerySet[M]:
    """Restrict any queryset to the user's area subtree through ``area_field``."""
    condition = scope_q(user, area_field)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition)


def get_in_scope_or_404(queryset: QuerySet[M], *, user: User, area_field: str, **lookup) -> M:
    """One object inside the user's scope, or Http404 — whether it is missing or elsewhere."""
    visible = scope_queryset(queryset, user=user, area_field=area_field)
    return visible_or_404(visible, audit_in=queryset, user=user, area_field=area_field, **lookup)


def visible_or_404(
    visible: QuerySet[M], *, audit_in: QuerySet[M], user: User, area_field: str, **lookup
) -> M:
    """The one object of ``visible`` (already limited to what the user may see) matching
    ``lookup``, or Http404; one that exists in ``audit_in`` but not for the user is audited as a
    refused access, with its area (_audit_outside_scope)."""
    try:
        return visible.get(**lookup)
    except (visible.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        _audit_outside_scope(audit_in, user=user, area_field=area_field, lookup=lookup)
        raise Http404 from exc


def scope_param_q(area_field: str, everywhere: bool) -> Q:
    """scope_q for a kept statement (core.compiled): the ends of the user's range are Params,
    given by ``scope_values``; ``everywhere`` is its shape."""
    if everywhere:
        return Q()
    return Q(**{f"{area_field}__range": (Param("scope_from"), Param("scope_to"))})


def scope_values(user: User) -> tuple[bool, dict[str, str]] | None:
    """(everywhere, the values of scope_param_q's Params) for the user; None: nothing."""
    prefix = scope_prefix(user)
    if prefix is None:
        return None
    codes = prefix_range(prefix)
    if codes is None:
        return True, {}
    return False, {"scope_from": codes[0], "scope_to": codes[1]}


def compiled_in_scope_or_404(
    compiled: Compiled[M], *, model: type[M], user: User, area_field: str, pk: object
) -> M:
    """get_in_scope_or_404 through a kept statement: ``compiled``'s build takes ``everywhere``
    and filters by ``scope_param_q(area_field, everywhere)`` and ``pk=Param("pk")``."""
    scope = scope_values(user)
    found = None if scope is None else compiled.first(scope[0], pk=pk, **scope[1])
    if found is None:
        _audit_outside_scope(
            model._default_manager.all(), user=user, area_field=area_field, lookup={"pk": pk}
        )
        raise Http404
    return found


def _audit_outside_scope(queryset: QuerySet, *, user: User, area_field: str, lookup: dict) -> None:
    """A record that exists but lies outside the user's area is a refused access: audited, with
    the record's area so that its own civil affairs see the attempt. Missing records are not."""
    from .services import audit_refusal

    try:
        found = queryset.filter(**lookup).values_list("pk", area_field).first()
    except (ValueError, TypeError, ValidationError):
        return
    if found is not None:
        audit_refusal(
            user=user if user.is_authenticated else None,
            reason="outside_area",
            object_type=queryset.model._meta.model_name,
            object_id=str(found[0])[:64],
            area_code=found[1] or "",
        )


def code_in_scope(user: User, code: str) -> bool:
    """Whether case records of area ``code`` are the user's to see."""
    prefix = scope_prefix(user)
    return prefix is not None and code.startswith(prefix)


def sees_full_number(user: User, kind: str, area_code: str, *, surface: str = "page") -> bool:
    """THE decision, for every ID number and phone number on every surface (page, API, PDF,
    export, hand-over): full when the user's role may see ``kind`` in full (the table in
    accounts.rules.FULL_NUMBER_ROLES) and the record (of area ``area_code``) is in their scope."""
    role = rules.effective_role(user.role, is_superuser=user.is_superuser)
    return rules.may_see_full_number(role, kind, surface=surface) and code_in_scope(
        user, area_code or ""
    )


def shown_number(
    user: User, kind: str, value: str | None, area_code: str, *, surface: str = "page"
) -> str:
    """``value`` as ``user`` may see it: in full, or masked (core.masking)."""
    if not value:
        return ""
    if sees_full_number(user, kind, area_code, surface=surface):
        return value
    return shown_number_masked(kind, value)


def shown_number_masked(kind: str, value: str | None) -> str:
    from core.masking import mask

    return mask(kind, value) if value else ""


def code_in_area(user: User, code: str) -> bool:
    """Whether area ``code`` lies in the user's area subtree (areas, staff, settings: not case
    data, so the system administrator's too)."""
    prefix = area_prefix(user)
    return prefix is not None and code.startswith(prefix)


def areas_for_user(*, user: User) -> QuerySet[Area]:
    """Areas of the user's subtree. Names and codes are the published 统计用区划代码, not case
    data: the system administrator, who manages them, sees them too (the security officer and the
    auditor work on accounts and the log, and have no use for them)."""
    prefix = area_prefix(user) if permissions.can(user, Capability.AREA_READ) else None
    if prefix is None:
        return Area.objects.none()
    return Area.objects.filter(prefix_q(prefix, "code"))


def area_for_user_or_404(*, user: User, code: str) -> Area:
    return visible_or_404(
        areas_for_user(user=user),
        audit_in=Area.objects.all(),
        user=user,
        area_field="code",
        code=code,
    )


# --- Choosing an area: one level at a time, or by name (issue 20: ~664,000 codes nationally) ---

# At most this many places answer a search by name (the page's candidates, the script's list).
AREA_SEARCH_LIMIT = 20
_CODE_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
# What may stand between the parts of "township village" typed to tell two villages apart.
_PLACE_SEPARATORS = re.compile(r"[\s·•›>/|,，、]+")


@dataclass(frozen=True)
class AreaPicker:
    """An area of the user's subtree shown as a breadcrumb from the user's own area down to it
    (``path``, the current area last), with the areas one level below it (``choices``)."""

    path: list[Area]
    choices: list[Area]

    @property
    def current(self) -> Area:
        return self.path[-1]

    @property
    def at_top(self) -> bool:
        """Whether the current area is the user's own (nothing chosen yet)."""
        return len(self.path) == 1


def area_picker_for(*, user: User, code: str = "") -> AreaPicker | None:
    """The one-level area picker of a list page: ``code`` (the user's own area when empty) with
    its breadcrumb and its direct sub-areas, in one query on the primary key and the parent
    index, whatever the size of the tree. A code outside the user's subtree is 404; None for a
    user placed nowhere."""
    if user.area_id is None:
        return None
    code = code or user.area_id
    try:
        above = [*reversed(rules.ancestor_codes(code)), code]
    except rules.AreaCodeError:
        above = []  # not a code: 404 below
    rows = list(
        areas_for_user(user=user)
        .filter(Q(code__in=above) | Q(parent_id=code))
        .only("code", "name", "level", "parent_id")
        .order_by("code")
    )
    path = [area for area in rows if area.code in above]
    if not path or path[-1].code != code:
        area_for_user_or_404(user=user, code=code)
    return AreaPicker(path=path, choices=[area for area in rows if area.parent_id == code])


def areas_matching(
    areas: QuerySet[Area], text: str, *, limit: int = AREA_SEARCH_LIMIT
) -> list[Area]:
    """The areas of ``areas`` that ``text`` names, with their parent and grandparent loaded (for
    their path): the one whose 12-digit code it holds; else those whose name holds its last part
    ("查济", "桃花潭镇 查济村": the parts before it name the township or county), exact names
    first, then by code; at most ``limit``. One query; ``areas`` is already scoped."""
    areas = areas.select_related("parent__parent")
    code = _CODE_IN_TEXT.search(text)
    if code:
        return list(areas.filter(code=code.group())[:1])
    parts = _place_parts(text)
    if not parts:
        return []
    *above, name = parts
    condition = Q(name__contains=name)
    if name.isascii() and name.isdigit():  # the first digits of a code
        condition |= Q(code__startswith=name)
    for part in above:
        condition &= Q(parent__name__contains=part) | Q(parent__parent__name__contains=part)
    return list(
        areas.filter(condition)
        .annotate(inexact=Case(When(name=name, then=0), default=1, output_field=IntegerField()))
        .order_by("inexact", "code")[:limit]
    )


def _place_parts(text: str) -> list[str]:
    return [part for part in _PLACE_SEPARATORS.split(text.strip()) if part]


def area_named(areas: QuerySet[Area], text: str) -> tuple[Area | None, list[Area]]:
    """The one place of ``areas`` that ``text`` names (``areas_matching``), or None and the
    places it could be (none: not found; up to AREA_SEARCH_LIMIT + 1: which one?). A name held
    by exactly one place wins over names that only contain it."""
    found = areas_matching(areas, text, limit=AREA_SEARCH_LIMIT + 1)
    if _CODE_IN_TEXT.search(text):
        return (found[0] if found else None), []
    parts = _place_parts(text)
    name = parts[-1] if parts else ""
    pool = [area for area in found if area.name == name] or found
    if len(pool) == 1:
        return pool[0], []
    return None, pool


def area_path_label(area: Area) -> str:
    """Where an area lies, from the loaded parents: 泾县 › 桃花潭镇 for a village."""
    names = []
    area_above = area
    for _step in range(2):  # never a query: only what select_related loaded
        if not Area.parent.is_cached(area_above) or area_above.parent is None:
            break
        area_above = area_above.parent
        names.append(area_above.name)
    return " › ".join(reversed(names))


def own_area_or_404(*, user: User, capability: Capability) -> Area:
    """The user's own area, for a page that sets something of it: 403 for a role without
    ``capability``; 404 for an account placed nowhere (a superuser has nothing to set there)."""
    permissions.require(user, capability)
    if user.area is None:
        raise Http404
    return user.area


def child_areas_with_staff_counts(*, user: User, area: Area) -> QuerySet[Area]:
    """The areas one level below ``area`` (inside scope), each with its number of active staff."""
    return (
        areas_for_user(user=user)
        .filter(parent=area)
        .annotate(staff_count=Count("staff", filter=Q(staff__is_active=True)))
        .order_by("code")
    )


def staff_for_user(*, user: User) -> QuerySet[User]:
    """Staff whose area lies in the user's subtree, with their area loaded."""
    prefix = area_prefix(user)
    queryset = User.objects.filter(is_active=True).select_related("area")
    if prefix is None:
        return queryset.none()
    return queryset.filter(prefix_q(prefix, "area__code")).order_by(
        "area__code", "role", "username"
    )


def require_audit_reader(user: User) -> None:
    """403 unless the user may read the audit log (the auditor, civil affairs; never the system
    administrator, superuser or not)."""
    permissions.require(user, Capability.AUDIT_LOG_READ)


def audit_records_for(*, user: User) -> QuerySet:
    """Audit records about records in the user's area, newest first (403 for other roles).

    An auditor placed at a province (the top of a deployment) also sees the records that belong
    to no area: failed sign-ins with unknown usernames, actions on accounts without an area."""
    from .models import AuditRecord

    require_audit_reader(user)
    prefix = area_prefix(user)
    records = (
        AuditRecord.objects.select_related("user")
        .annotate(
            area_name=Subquery(Area.objects.filter(code=OuterRef("area_code")).values("name")[:1])
        )
        .order_by("-at", "-id")
    )
    if prefix is None:
        return records.none()
    condition = prefix_q(prefix, "area_code")
    if (
        permissions.can(user, Capability.AUDIT_LOG_READ_UNPLACED)
        and len(prefix) == rules.PREFIX_LENGTH[rules.PROVINCE]
    ):
        condition |= Q(area_code="")
    return records.filter(condition)


# --- Accounts: sessions, second factors and lockouts (the security officer) --------------------


def accounts_for_user(*, user: User, include_inactive: bool = False) -> QuerySet[User]:
    """Active staff of the user's area subtree, for the security officer and the administrator
    (whose own staff list is scoped the same way); area-less accounts only for the top level."""
    prefix = area_prefix(user)
    queryset = User.objects.select_related("area")
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    if prefix is None:
        return queryset.none()
    if len(prefix) == rules.PREFIX_LENGTH[rules.PROVINCE]:
        queryset = queryset.filter(prefix_q(prefix, "area__code") | Q(area__isnull=True))
    elif prefix:  # "" (a superuser without an area): everyone
        queryset = queryset.filter(prefix_q(prefix, "area__code"))
    return queryset.order_by("area__code", "role", "username")


def account_for_user_or_404(*, user: User, pk: object) -> User:
    """One account the user may act on (end sessions, reset the second factor), or 404."""
    try:
        return accounts_for_user(user=user).get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def accounts_with_mfa_status(*, user: User) -> QuerySet[User]:
    """The security officer's list: each account with whether it has a confirmed TOTP device
    and when a code was last accepted (one query, annotations)."""
    from django.db.models import Exists, Max, OuterRef
    from django_otp.plugins.otp_totp.models import TOTPDevice

    confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return accounts_for_user(user=user).annotate(
        has_totp=Exists(confirmed),
        totp_last_used=Max("totpdevice__last_used_at"),
    )


def lockouts_for(*, user: User) -> list[dict]:
    """Usernames with failed sign-ins counting toward a lockout now (django-axes), in the user's
    subtree: ``{"username", "failures", "last_attempt", "locked"}``, most failures first.

    Usernames that belong to nobody are listed only for a province-level (or area-less) officer.
    """
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.db.models import Max, Sum
    from django.utils import timezone

    prefix = area_prefix(user)
    if prefix is None:
        return []
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=since)
        .exclude(username__isnull=True)
        .values("username")
        .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
    )
    known = dict(
        User.objects.filter(username__in=[r["username"] for r in rows]).values_list(
            "username", "area_id"
        )
    )
    top = prefix == "" or len(prefix) == rules.PREFIX_LENGTH[rules.PROVINCE]
    result = []
    for row in rows:
        if row["username"] in known:
            area = known[row["username"]] or ""
            visible = area.startswith(prefix) if area else top
        else:
            visible = top
        if visible:
            row["locked"] = row["failures"] >= settings.AXES_FAILURE_LIMIT
            result.append(row)
    return sorted(result, key=lambda r: (-r["failures"], r["username"]))


def staff_matching(staff: QuerySet, query: str) -> QuerySet:
    """Staff whose name, username or area name contains ``query`` (the staff and security pages)."""
    query = query.strip()
    if not query:
        return staff
    return staff.filter(
        Q(name__icontains=query) | Q(username__icontains=query) | Q(area__name__icontains=query)
    )


def import_locks_for(*, user: User) -> QuerySet:
    """Open import locks (issue 14, M5) of the accounts the user may act on: the security officer
    sees those of their area subtree, oldest first."""
    from .models import ImportLock

    return (
        ImportLock.objects.filter(
            lifted_at__isnull=True, user__in=accounts_for_user(user=user).values("pk")
        )
        .select_related("user__area")
        .order_by("locked_at", "pk")
    )


def import_lock_for_user_or_404(*, user: User, pk: object):
    """One open import lock of an account in the user's area, or 404."""
    try:
        return import_locks_for(user=user).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def digests_recent_for(user: User, *, limit: int = 10) -> list[Delivery]:
    """The person's own latest digests with how each went (账号设置)."""
    return list(
        Delivery.objects.filter(recipient=user, purpose=DeliveryPurpose.DIGEST).order_by(
            "-created_at"
        )[:limit]
    )


def audit_cursor(value: str) -> tuple[datetime, int] | None:
    """The audit page's position, ``<ISO time>_<id>`` of the last record shown; None for the
    first page or anything unreadable."""
    moment, _sep, pk = value.partition("_")
    try:
        at = datetime.fromisoformat(moment)
        return (at, int(pk)) if at.tzinfo is not None else None
    except ValueError:
        return None


def audit_page(records: QuerySet, *, before: tuple[datetime, int] | None, size: int) -> tuple:
    """``size`` records after ``before`` (newest first), and the cursor of the next page or None."""
    if before is not None:
        at, pk = before
        records = records.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(records[: size + 1])
    page = rows[:size]
    older = f"{page[-1].at.isoformat()}_{page[-1].pk}" if len(rows) > size else None
    return page, older


# --- The roster of child directors and supervisors, and their trainings (domain §10) ----------
#
# Who may read what: with Capability.ROSTER_READ, every director and supervisor of the user's
# area subtree; a person on the roster (Capability.ROSTER_LISTED) without it — a director — only
# their own record and the trainings they attended. Outside the area: 404; in it, someone else's
# record for a director, or any record for another role: 403.
#
# The training year and "in post" are one definition each, in SQL (below) for every set-based
# reader — the roster list, the dashboards (dashboards.network) and the reminder sweep — and in
# Python in accounts.rules (tested to agree). ``{person}`` is an alias of accounts_user.


def last_trained_sql(person: str = "u") -> str:
    """SQL: the date of the person's last training, NULL if none."""
    return (
        "(SELECT max(t.held_on) FROM accounts_trainingattendance ta"
        " JOIN accounts_training t ON t.id = ta.training_id"
        f" WHERE ta.person_id = {person}.id)"
    )


def training_due_sql(person: str = "u") -> str:
    """SQL: the last day the person counts as trained (rules.training_due): a year after the
    later of their last training and their appointment, else after their account was made."""
    appointed = f"(SELECT r.appointed_on FROM accounts_rosterentry r WHERE r.user_id = {person}.id)"
    joined = f"({person}.date_joined AT TIME ZONE '{settings.TIME_ZONE}')::date"
    return (
        f"(COALESCE(GREATEST({last_trained_sql(person)}, {appointed}), {joined})"
        f" + {int(rules.TRAINING_INTERVAL_DAYS)})"
    )


def roster_listed_sql(person: str = "u") -> str:
    """SQL: the person is kept on the roster (Capability.ROSTER_LISTED's roles)."""
    roles = ", ".join(
        f"'{role}'" for role in sorted(permissions.roles_with(Capability.ROSTER_LISTED))
    )
    return f"{person}.role IN ({roles})"


def in_post_sql(person: str = "u", today: str = "%(today)s") -> str:
    """SQL: the person holds the post on ``today`` (rules.in_post): an account in use, and no
    roster record saying they were appointed later or had left by then."""
    return (
        f"({person}.is_active AND NOT EXISTS (SELECT 1 FROM accounts_rosterentry r"
        f" WHERE r.user_id = {person}.id"
        f" AND (r.appointed_on > {today}::date OR r.left_on <= {today}::date)))"
    )


def training_due_select_sql() -> str:
    """The people to remind of their yearly training (rules.training_reminder_due) as of
    ``%(today)s``: ``(user_id, area_id, role, due_date)`` of every director and supervisor in
    post whose training year ends within TRAINING_REMINDER_DAYS, or has ended. Recording a
    training moves ``due_date`` a year on, so the rule no longer selects them (the reminder is
    resolved) and the next cycle is a new due date. The reminder sweep's rule reads this."""
    due = training_due_sql("u")
    return f"""
        SELECT u.id AS user_id, u.area_id, u.role, {due} AS due_date
        FROM accounts_user u
        WHERE {roster_listed_sql("u")} AND {in_post_sql("u")}
          AND {due} - {int(rules.TRAINING_REMINDER_DAYS)} <= %(today)s::date
    """


def training_reminder_select_sql(role: str, detail_sql: str = "''") -> str:
    """``training_due_select_sql`` for recipients of ``role``, in the columns of a reminder
    sweep rule's SELECT: (recipient, child, report, due date, detail). The person is their own
    recipient; no child, no report (reminders.services.SweepRule)."""
    if role not in permissions.roles_with(Capability.ROSTER_LISTED):
        raise ValueError(f"{role!r} is not kept on the roster")
    return f"""
        SELECT t.user_id, NULL::uuid, NULL::uuid, t.due_date, {detail_sql}
        FROM ({training_due_select_sql()}) t
        WHERE t.role = '{role}'
    """


def _roster_people() -> QuerySet[User]:
    """Everyone kept on the roster, with their area, appointment, last training, training due
    date and whether they are in post today (``in_post``): one query, whatever the page."""
    today = clock.today()
    return (
        User.objects.filter(role__in=permissions.roles_with(Capability.ROSTER_LISTED))
        .select_related("area", "roster_entry")
        .annotate(
            last_trained_on=RawSQL(last_trained_sql("accounts_user"), [], output_field=DateField()),
            training_due=RawSQL(training_due_sql("accounts_user"), [], output_field=DateField()),
            in_post=RawSQL(
                in_post_sql("accounts_user", "%s"), [today, today], output_field=BooleanField()
            ),
        )
    )


def _reads_whole_roster(user: User) -> bool:
    return permissions.can(user, Capability.ROSTER_READ)


def require_roster_reader(user: User) -> None:
    """403 unless the user reads the roster of their area or is on it themselves."""
    if not (_reads_whole_roster(user) or permissions.can(user, Capability.ROSTER_LISTED)):
        raise PermissionDenied


# Filters of the roster list (page and API): in post (the default), left, everyone; untrained.
ROSTER_STATUSES = ("in_post", "left", "all")


def roster_for_user(
    *, user: User, area: Area | None = None, status: str = "in_post", untrained: bool = False
) -> QuerySet[User]:
    """The directors and supervisors the user may read (403 for a role that may read none), in
    ``area`` (already checked to be the user's: area_picker_for, area_for_user_or_404) or the
    user's whole area; ``status`` one of ROSTER_STATUSES; ``untrained``: in post and past their
    training year. Ordered by area, role, name."""
    require_roster_reader(user)
    prefix = area_prefix(user)
    people = _roster_people()
    if prefix is None:
        return people.none()
    people = people.filter(prefix_q(prefix, "area__code"))
    if not _reads_whole_roster(user):
        people = people.filter(pk=user.pk)
    if area is not None:
        people = people.filter(subtree_q(area.code, "area__code"))
    if status == "in_post" or untrained:
        people = people.filter(in_post=True)
    elif status == "left":
        people = people.filter(in_post=False)
    if untrained:
        people = people.filter(training_due__lt=clock.today())
    return people.order_by("area__code", "-role", "name", "username")


def roster_person_for_user_or_404(
    *, user: User, username: str, capability: Capability | None = None
) -> User:
    """One director or supervisor of the user's area (404 elsewhere, or not on the roster),
    annotated like ``roster_for_user``. Then 403: for ``capability`` (ROSTER_EDIT) unless the
    user holds it; for reading, unless the user reads the area's roster or it is their own."""
    prefix = area_prefix(user)
    people = _roster_people()
    try:
        if prefix is None:
            raise User.DoesNotExist
        person = people.filter(prefix_q(prefix, "area__code")).get(username=username)
    except (User.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        _audit_outside_scope(
            User.objects.filter(role__in=permissions.roles_with(Capability.ROSTER_LISTED)),
            user=user,
            area_field="area_id",
            lookup={"username": username},
        )
        raise Http404 from exc
    if capability is not None:
        permissions.require(user, capability)
    elif not (
        _reads_whole_roster(user)
        or (person.pk == user.pk and permissions.can(user, Capability.ROSTER_LISTED))
    ):
        raise PermissionDenied
    return person


def roster_candidates_for(*, user: User, area: Area | None = None) -> QuerySet[User]:
    """Who a training may be recorded for: the directors and supervisors in post of the user's
    area (or of ``area`` within it), untrained first."""
    permissions.require(user, Capability.TRAINING_RECORD)
    return roster_for_user(user=user, area=area).order_by(
        "training_due", "area__code", "-role", "name", "username"
    )


def _attended_in(prefix: str) -> Exists:
    return Exists(
        TrainingAttendance.objects.filter(training=OuterRef("pk")).filter(
            prefix_q(prefix, "person__area__code")
        )
    )


def trainings_for_user(*, user: User, area: Area | None = None) -> QuerySet[Training]:
    """Trainings the user may read, newest first, with their number of attendees: with
    ROSTER_READ, those attended by someone of their area (or of ``area`` within it) or recorded
    there; for a director, those they attended. 403 for other roles."""
    require_roster_reader(user)
    prefix = area_prefix(user)
    trainings = Training.objects.select_related("area").annotate(
        attendee_count=Count("attendances", distinct=True)
    )
    if prefix is None:
        return trainings.none()
    if not _reads_whole_roster(user):
        attended = TrainingAttendance.objects.filter(training=OuterRef("pk"), person=user)
        trainings = trainings.filter(Exists(attended))
    else:
        within = subtree_prefix(area.code) if area is not None else prefix
        trainings = trainings.filter(_attended_in(within) | prefix_q(within, "area__code"))
    return trainings.order_by("-held_on", "-recorded_at")


def subtree_prefix(area_code: str) -> str:
    return rules.prefix(area_code, rules.parse_level(area_code))


def training_for_user_or_404(*, user: User, training_id: object) -> Training:
    """One training the user may read (trainings_for_user), else 404."""
    return visible_or_404(
        trainings_for_user(user=user),
        audit_in=Training.objects.all(),
        user=user,
        area_field="area_id",
        pk=training_id,
    )


def visible_attendances(*, user: User, training_ids: list) -> QuerySet[TrainingAttendance]:
    """(training, person) of the given trainings whose person the user may read, one query:
    a county's officer sees their county's attendees of a province's training."""
    require_roster_reader(user)
    prefix = area_prefix(user)
    if prefix is None:
        return TrainingAttendance.objects.none()
    found = TrainingAttendance.objects.filter(
        prefix_q(prefix, "person__area__code"),
        training_id__in=training_ids,
        person__role__in=permissions.roles_with(Capability.ROSTER_LISTED),
    )
    if not _reads_whole_roster(user):
        found = found.filter(person=user)
    return found.select_related("person").order_by("person__area_id", "person__username")


def training_attendees_for(*, user: User, training: Training) -> QuerySet[User]:
    """The attendees of ``training`` the user may read (the roster's rule: a county's officer
    sees their county's attendees of a province's training, a director only themselves)."""
    attended = TrainingAttendance.objects.filter(person=OuterRef("pk"), training=training)
    return roster_for_user(user=user, status="all").filter(Exists(attended))


def trainings_of(person: User) -> QuerySet[Training]:
    """The trainings a person attended, newest first (their roster page)."""
    return Training.objects.filter(
        Exists(TrainingAttendance.objects.filter(training=OuterRef("pk"), person=person))
    ).order_by("-held_on", "-recorded_at")
