"""控辍保学 (domain §10): the education department's list of children out of school, imported and
matched to the files of the importer's area, and the 劝返复学 case each matched child gets until
back in school. Reads (scoped: 404 outside the area, 403 for the role) and writes; the rules are
children.dropout_rules. The sheet is read by the census importer's safe reader (imports)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Area, AuditAction, User
from accounts.permissions import Capability
from accounts.services import audit_log
from core import cells, clock, crypto
from core.errors import Conflict
from core.masking import ID_NUMBER
from core.text import join_list

from . import dropout_rules, idcard, imports, selectors, services
from .imports import FILE, HEADER_ROW, ImportReport, RowError
from .models import (
    Child,
    ChildStatus,
    DropoutFollowUp,
    DropoutList,
    DropoutMatch,
    DropoutRow,
    ReturnCaseStatus,
    ReturnContactChannel,
    ReturnOutcome,
    ReturnToSchoolCase,
    ReturnToSchoolContact,
)
from .selectors import TimelineEntry

# The pghistory marker of a file changed by an out-of-school list or its follow-up.
DROPOUT_VIA = "dropout_list"
RETURN_VIA = "return_to_school"
LIST_AREA_FIELD = "area__code"
CASE_AREA_FIELD = "child__village__code"
SOURCE_MAX = 100
NOTE_MAX = 500
PLAN_MAX = 2000
CONTACT_NOTE_MAX = 1000

NUL_MESSAGE = gettext_lazy("must not contain a NUL character")
FORMULA_MESSAGE = gettext_lazy(
    "Must not begin with =, +, - or @: a spreadsheet would run it as a formula."
)
NOT_OPEN_MESSAGE = gettext_lazy("The return-to-school case is closed")
ROW_DONE_MESSAGE = gettext_lazy("This row has been followed up already")
NAME_COLUMN_MISSING = gettext_lazy("The list has no name column (姓名)")
NO_KEY_COLUMN = gettext_lazy(
    "The list needs a column of ID numbers (身份证号) or birth dates (出生日期) to find the files"
)
EMPTY_LIST = gettext_lazy("The list has no rows")
# Where an error is when it is about the file's source, not a cell of the sheet.
SOURCE = pgettext_lazy("where an import error is", "Source")


class DropoutReport(ImportReport):
    """The outcome of importing one list: every error (nothing saved then), or the list saved."""

    dropout_list: DropoutList | None = None


# --- Reading the list ------------------------------------------------------------------------


@dataclass
class ListRow:
    """One row of the list as read and checked."""

    line: int
    name: str
    id_number: str
    birth_date: date | None
    school_name: str
    grade: str
    listed_status: str
    township: str
    area: Area | None = None
    result: str = ""
    child: Child | None = None


def _clean(text: str, *, max_length: int, column: str, row: int, report: ImportReport) -> str:
    """A cell's text as it is stored: no NUL, never a formula, within the column's length; else
    an error on the row (and "")."""
    if text in dropout_rules.PLACEHOLDERS:
        return ""
    problem = ""
    if "\x00" in text:
        problem = str(NUL_MESSAGE)
    elif cells.is_formula_like(text):
        problem = str(FORMULA_MESSAGE)
    elif len(text) > max_length:
        problem = _("At most %(n)s characters") % {"n": max_length}
    if problem:
        report.errors.append(RowError(row, column, problem))
        return ""
    return text


def _read_row(line: int, values: dict[str, Any], report: ImportReport, today: date) -> ListRow:
    header = dropout_rules.SHOWN_HEADER
    before = len(report.errors)

    def text(key: str, max_length: int) -> str:
        return _clean(
            imports._text(values.get(key)),
            max_length=max_length,
            column=header[key],
            row=line,
            report=report,
        )

    name = text("name", 50)
    if not name and len(report.errors) == before:
        report.errors.append(RowError(line, header["name"], _("The name is required")))
    number = text("id_number", 30).upper()
    birth_date = None
    raw_birth = values.get("birth_date")
    if imports._text(raw_birth) not in ("", *dropout_rules.PLACEHOLDERS):
        try:
            birth_date = imports._date(raw_birth)
        except ValueError:
            report.errors.append(
                RowError(
                    line,
                    header["birth_date"],
                    _('Dates are written YYYY-MM-DD, not "%(value)s"')
                    % {"value": imports._text(raw_birth)[:20]},
                )
            )
        if birth_date is not None and birth_date > today:
            report.errors.append(
                RowError(line, header["birth_date"], _("The birth date is in the future"))
            )
    if number:
        try:
            parsed = idcard.validate_against(number, birth_date=birth_date, gender=None)
        except idcard.IdNumberError as exc:
            report.errors.append(RowError(line, header["id_number"], str(exc)))
        else:
            number, birth_date = parsed.value, parsed.birth_date
    status_text = text("status", 20)
    status = dropout_rules.status_code(status_text)
    if status is None:
        report.errors.append(
            RowError(
                line,
                header["status"],
                _('Cannot read "%(value)s"; fill in one of: %(options)s')
                % {"value": status_text, "options": "辍学/失学/未入学/休学"},
            )
        )
    return ListRow(
        line=line,
        name=name,
        id_number=number,
        birth_date=birth_date,
        school_name=text("school", 100),
        grade=text("grade", 30),
        listed_status=status or dropout_rules.DROPPED_OUT,
        township=text("township", 50),
    )


def _read_list(
    declared: int | None, rows: Iterator[Sequence], report: ImportReport, today: date
) -> list[ListRow]:
    """Every row of the sheet read and checked (errors on the report, with their line)."""
    too_many = RowError(0, FILE, imports.TOO_MANY_ROWS_MESSAGE)
    if declared is not None and declared > imports.MAX_IMPORT_ROWS + 1:
        report.refuse("too_many_rows", too_many)
        return []
    header = [imports._text(h) for h in next(rows, None) or []]
    positions = dropout_rules.header_positions(header)
    if "name" not in positions:
        report.refuse("headers", RowError(1, HEADER_ROW, str(NAME_COLUMN_MISSING)))
        return []
    if "id_number" not in positions and "birth_date" not in positions:
        report.refuse("headers", RowError(1, HEADER_ROW, str(NO_KEY_COLUMN)))
        return []
    read: list[ListRow] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(rows, start=2):
        if line > imports.MAX_IMPORT_ROWS + 1:
            report.refuse("too_many_rows", too_many)
            return []
        if raw is None or all(imports._text(v) == "" for v in raw):
            continue
        report.rows += 1
        values = {key: raw[i] if i < len(raw) else None for key, i in positions.items()}
        row = _read_row(line, values, report, today)
        if row.id_number:
            if row.id_number in seen:
                report.errors.append(
                    RowError(
                        line,
                        dropout_rules.SHOWN_HEADER["id_number"],
                        _("Same ID number as row %(row)s") % {"row": seen[row.id_number]},
                    )
                )
            seen.setdefault(row.id_number, line)
        read.append(row)
    if not report.rows:
        report.errors.append(RowError(2, FILE, str(EMPTY_LIST)))
    return read


def _townships(user: User, rows: list[ListRow], report: ImportReport) -> None:
    """Each row's area: the township it names (by code or name, in the user's area: one query),
    else the user's own area."""
    named = {row.township for row in rows if row.township}
    found: dict[str, list[Area]] = defaultdict(list)
    if named:
        for area in scope.areas_for_user(user=user).filter(
            Q(code__in=named) | Q(name__in=named), level="township"
        ):
            found[area.code].append(area)
            if area.name != area.code:
                found[area.name].append(area)
    own = Area.objects.get(code=user.area_id)
    for row in rows:
        if not row.township:
            row.area = own
            continue
        areas = found.get(row.township, [])
        if len(areas) == 1:
            row.area = areas[0]
            continue
        report.errors.append(
            RowError(
                row.line,
                dropout_rules.SHOWN_HEADER["township"],
                _("Several townships in your area have this name: write its 12-digit code")
                if areas
                else _("No township of this name or code in your area"),
            )
        )


def _match(user: User, rows: list[ListRow], today: date) -> None:
    """Each row's file in the user's area: by the keyed hash of its ID number (one query for
    every number), else by exact name and birth date, only when exactly one file has them (one
    query for every pair). A file outside the area is neither matched nor named."""
    in_scope = selectors.children_in_scope(user=user).only(
        "pk", "name", "birth_date", "status", "village_id", "id_number_hash", "school_status"
    )
    hashes = {crypto.lookup_hash(row.id_number): row for row in rows if row.id_number}
    by_hash = {child.id_number_hash: child for child in in_scope.filter(id_number_hash__in=hashes)}
    pairs = {(row.name, row.birth_date) for row in rows if not row.id_number and row.birth_date}
    by_pair: dict[tuple[str, date], list[Child]] = defaultdict(list)
    if pairs:
        for child in in_scope.filter(
            name__in={name for name, _born in pairs}, birth_date__in={born for _n, born in pairs}
        ):
            if (child.name, child.birth_date) in pairs:
                by_pair[(child.name, child.birth_date)].append(child)
    for row in rows:
        if row.id_number:
            child = by_hash.get(crypto.lookup_hash(row.id_number))
            found = [child] if child is not None else []
        elif row.birth_date is None:
            row.result = DropoutMatch.NO_BIRTH_DATE
            continue
        else:
            found = by_pair.get((row.name, row.birth_date), [])
        row.result = dropout_rules.match_result(
            [dropout_rules.FileFacts(c.status, c.birth_date) for c in found],
            by_id_number=bool(row.id_number),
            today=today,
        )
        if len(found) == 1:
            row.child = found[0]


class _Refused(Exception):
    """A file the list would change was refused by the service: nothing of the list is kept."""


def _out_of_school(
    *,
    user: User,
    child: Child,
    listed_status: str,
    source_list: DropoutList | None,
    today: date,
) -> tuple[ReturnToSchoolCase, bool]:
    """The file says the child is out of school (the list's status, through the one service that
    changes a file: its history shows it), and the child has an open 劝返复学 case: the one
    already open, else a new one. Returns (the case, whether it was opened now)."""
    if child.school_status != listed_status:
        services.child_update(user=user, child=child, changes={"school_status": listed_status})
    case = ReturnToSchoolCase.objects.filter(child=child, status=ReturnCaseStatus.OPEN).first()
    if case is not None:
        return case, False
    case = ReturnToSchoolCase(
        child=child,
        opened_on=today,
        opened_by=user,
        source_list=source_list,
        listed_status=listed_status,
    )
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:  # opened meanwhile by someone else: theirs is the case
        return ReturnToSchoolCase.objects.get(child=child, status=ReturnCaseStatus.OPEN), False
    return case, True


def _row_record(dropout_list: DropoutList, row: ListRow) -> DropoutRow:
    record = DropoutRow(
        dropout_list=dropout_list,
        line=row.line,
        name=row.name,
        birth_date=row.birth_date,
        school_name=row.school_name,
        grade=row.grade,
        listed_status=row.listed_status,
        area=row.area,
        result=row.result,
        child=row.child,
        follow_up="" if row.result == DropoutMatch.MATCHED else DropoutFollowUp.OPEN,
    )
    if row.id_number:
        record.id_number_encrypted = crypto.encrypt(row.id_number)
        record.id_number_masked = idcard.mask(row.id_number)
        record.id_number_hash = crypto.lookup_hash(row.id_number)
    return record


def _save(
    *, user: User, rows: list[ListRow], source: str, file_name: str, today: date
) -> DropoutList:
    """The list, its rows, each matched child's status and case: all or nothing."""
    with transaction.atomic(), services.history_context(user, via=DROPOUT_VIA):
        dropout_list = DropoutList.objects.create(
            area_id=user.area_id,
            source=source,
            file_name=file_name,
            imported_by=user,
            rows_total=len(rows),
        )
        services.history_context(user, dropout_list=str(dropout_list.pk))
        records = [_row_record(dropout_list, row) for row in rows]
        cases: dict[uuid.UUID, tuple[ReturnToSchoolCase, bool]] = {}
        for record in records:
            if record.result != DropoutMatch.MATCHED:
                continue
            if record.child_id not in cases:
                try:
                    cases[record.child_id] = _out_of_school(
                        user=user,
                        child=record.child,
                        listed_status=record.listed_status,
                        source_list=dropout_list,
                        today=today,
                    )
                except (ValidationError, Conflict) as exc:
                    raise _Refused(record.line, record.child.name, exc) from exc
                record.case, record.case_opened = cases[record.child_id]
            else:
                record.case = cases[record.child_id][0]
        DropoutRow.objects.bulk_create(records)
        dropout_list.matched_count = sum(1 for r in records if r.result == DropoutMatch.MATCHED)
        dropout_list.unmatched_count = len(records) - dropout_list.matched_count
        dropout_list.cases_opened = sum(1 for r in records if r.case_opened)
        dropout_list.save(update_fields=["matched_count", "unmatched_count", "cases_opened"])
    return dropout_list


def _source_problem(source: str) -> str:
    if not source:
        return _("Say where the list comes from, e.g. county education bureau, autumn 2026")
    if "\x00" in source:
        return str(NUL_MESSAGE)
    if cells.is_formula_like(source):
        return str(FORMULA_MESSAGE)
    if len(source) > SOURCE_MAX:
        return _("At most %(n)s characters") % {"n": SOURCE_MAX}
    return ""


def dropout_list_import(
    *,
    user: User,
    source: str | IO[bytes],
    source_note: str,
    file_name: str = "",
    request=None,
    origin: str = "page",
) -> DropoutReport:
    """Import the education department's out-of-school list (.xlsx: 姓名, 身份证号, 出生日期,
    学校, 年级, 状态, optionally 乡镇; or English headers) into the user's area, all or nothing:
    any bad row and nothing is saved, every error listed with its line. Otherwise the list and
    every row are kept with their match; each matched child's school status becomes the list's
    (dropped out unless it says 未入学 or 休学) and a 劝返复学 case is opened unless one is open.
    Civil affairs or the township (403 for others); audited either way."""
    permissions.require(user, Capability.DROPOUT_IMPORT)
    services.require_writer(user)
    report = DropoutReport()
    today = clock.today()
    source_note = (source_note or "").strip()
    file_name = (file_name or "").replace("\x00", "")[:200]
    problem = _source_problem(source_note)
    rows: list[ListRow] = []
    if problem:
        report.refuse("source", RowError(0, SOURCE, problem))
    elif user.area_id is None:
        raise PermissionDenied
    else:
        try:
            with imports.first_sheet_rows(source) as (declared, sheet):
                rows = _read_list(declared, sheet, report, today)
        except imports.SheetRefused as refused:
            report.refuse(refused.reason, refused.error)
    if not report.reason and not report.errors:
        _townships(user, rows, report)
    if report.ok:
        _match(user, rows, today)
        try:
            report.dropout_list = _save(
                user=user, rows=rows, source=source_note, file_name=file_name, today=today
            )
        except _Refused as refused:
            line, name, exc = refused.args
            messages = exc.messages if isinstance(exc, ValidationError) else [exc.message]
            report.errors.append(
                RowError(
                    line,
                    dropout_rules.SHOWN_HEADER["name"],
                    _("The file of %(name)s cannot be changed: %(problem)s")
                    % {"name": name, "problem": join_list(messages)},
                )
            )
    report.errors.sort(key=lambda e: e.row)
    saved = report.dropout_list
    audit_log(
        user=user,
        action=AuditAction.IMPORT,
        object_type="dropoutlist",
        records=[(str(saved.pk) if saved else "", user.area_id or "")],
        request=request,
        detail={
            "outcome": "imported" if saved else "refused",
            "origin": origin,
            "rows": report.rows,
            **(
                {"matched": saved.matched_count, "unmatched": saved.unmatched_count}
                if saved
                else {"reason": report.reason or "rows", "errors": len(report.errors)}
            ),
        },
    )
    return report


# --- Reads -----------------------------------------------------------------------------------


def dropout_lists_for(*, user: User) -> QuerySet[DropoutList]:
    """The lists imported in the user's area (403 for a role that may not read them)."""
    permissions.require(user, Capability.DROPOUT_READ)
    return scope.scope_queryset(
        DropoutList.objects.select_related("area", "imported_by"),
        user=user,
        area_field=LIST_AREA_FIELD,
    ).order_by("-imported_at")


def dropout_list_for_user_or_404(*, user: User, list_id: Any) -> DropoutList:
    dropout_list = scope.get_in_scope_or_404(
        DropoutList.objects.select_related("area", "imported_by"),
        user=user,
        area_field=LIST_AREA_FIELD,
        pk=_uuid_or_404(list_id),
    )
    permissions.require(user, Capability.DROPOUT_READ)
    return dropout_list


def rows_of(dropout_list: DropoutList, *, result: str = "") -> QuerySet[DropoutRow]:
    """A list's rows in sheet order, with their file, area and case (a constant number of
    queries however many)."""
    rows = dropout_list.rows.select_related("child", "child__village", "area", "case")
    if result == "matched":
        rows = rows.filter(result=DropoutMatch.MATCHED)
    elif result == "unmatched":
        rows = rows.exclude(result=DropoutMatch.MATCHED)
    return rows.order_by("line")


def follow_up_rows_for(
    *, user: User, area: Area | None = None, status: str = DropoutFollowUp.OPEN
) -> QuerySet[DropoutRow]:
    """Rows not matched at import, in the user's area (or ``area`` within it), to find or
    register the child: open ones by default (``status`` "" for every one)."""
    permissions.require(user, Capability.DROPOUT_READ)
    rows = scope.scope_queryset(
        DropoutRow.objects.select_related("area", "dropout_list", "child", "followed_up_by"),
        user=user,
        area_field="area__code",
    ).exclude(follow_up="")
    if status:
        rows = rows.filter(follow_up=status)
    if area is not None:
        rows = rows.filter(scope.subtree_q(area.code, "area__code"))
    return rows.order_by("-dropout_list__imported_at", "line")


def row_for_user_or_404(
    *, user: User, row_id: Any, capability: Capability = Capability.DROPOUT_READ
) -> DropoutRow:
    try:
        pk = int(str(row_id))
    except ValueError:
        raise Http404 from None
    if not 0 < pk < 2**63:  # beyond the column's range: no such row
        raise Http404
    row = scope.get_in_scope_or_404(
        DropoutRow.objects.select_related("area", "dropout_list", "child"),
        user=user,
        area_field="area__code",
        pk=pk,
    )
    permissions.require(user, capability)
    return row


def id_number_shown(user: User, row: DropoutRow) -> str:
    """The row's ID number as the user may see it (accounts.selectors.sees_full_number)."""
    if row.id_number_encrypted and scope.sees_full_number(user, ID_NUMBER, row.area_id):
        return crypto.decrypt(row.id_number_encrypted)
    return row.id_number_masked


def link_candidates(*, user: User, row: DropoutRow, limit: int = 20) -> list[Child]:
    """Active files in the user's area that may be the row's child: the same name, or the same
    birth date (the list may misspell either), the exact pair first."""
    condition = Q(name=row.name)
    if row.birth_date is not None:
        condition |= Q(birth_date=row.birth_date)
    found = (
        selectors.children_in_scope(user=user)
        .filter(condition, status=ChildStatus.ACTIVE)
        .select_related("village")
        .order_by("name", "birth_date")[: limit * 2]
    )
    exact = [c for c in found if c.name == row.name and c.birth_date == row.birth_date]
    return (exact + [c for c in found if c not in exact])[:limit]


def _uuid_or_404(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def cases_for(*, user: User, status: str = "open", area: Area | None = None) -> QuerySet:
    """The return-to-school cases of the children in the user's area (or ``area`` within it):
    open ones by default (``status`` "closed", or "" for all), with the child, the list, the
    number of contacts and the last one's date (a constant number of queries)."""
    permissions.require(user, Capability.DROPOUT_READ)
    cases = scope.scope_queryset(
        ReturnToSchoolCase.objects.select_related("child", "child__village", "source_list"),
        user=user,
        area_field=CASE_AREA_FIELD,
    ).annotate(contact_count=Count("contacts"), last_contact_on=Max("contacts__contacted_on"))
    if status in ReturnCaseStatus.values:
        cases = cases.filter(status=status)
    if area is not None:
        cases = cases.filter(scope.subtree_q(area.code, CASE_AREA_FIELD))
    return cases.order_by("-opened_on", "child__name", "pk")


def case_for_user_or_404(
    *, user: User, case_id: Any, capability: Capability = Capability.DROPOUT_READ
) -> ReturnToSchoolCase:
    case = scope.get_in_scope_or_404(
        ReturnToSchoolCase.objects.select_related(
            "child", "child__village", "source_list", "opened_by", "closed_by"
        ),
        user=user,
        area_field=CASE_AREA_FIELD,
        pk=_uuid_or_404(case_id),
    )
    permissions.require(user, capability)
    return case


def contacts_of(case: ReturnToSchoolCase) -> QuerySet[ReturnToSchoolContact]:
    return case.contacts.select_related("contacted_by")


def open_case_of(child: Child) -> ReturnToSchoolCase | None:
    return child.return_to_school_cases.filter(status=ReturnCaseStatus.OPEN).first()


def child_page_context(request, child: Child, today: date) -> dict:
    """The file page's return-to-school panel (children.extensions): the child's open case, or
    the latest closed one. Asked only of a file whose school status says out of school (a case
    closed as back in school made it "in school"), so any other file opens with no query more;
    and only for those who may read cases."""
    if child.school_status not in dropout_rules.LISTED_STATUSES or not permissions.can(
        request.user, Capability.DROPOUT_READ
    ):
        return {}
    latest = child.return_to_school_cases.order_by("-status", "-opened_on", "-created_at").first()
    return {"return_to_school_case": latest}


def timeline_entries(child: Child) -> list[TimelineEntry]:
    """The file's timeline (children.extensions): each case opened (and from which list), each
    contact, each closing with its outcome. Two queries."""
    entries: list[TimelineEntry] = []
    cases = list(
        child.return_to_school_cases.select_related("source_list", "opened_by", "closed_by")
    )
    for case in cases:
        opened = (
            _("Out of school (list: %(source)s): return-to-school case opened")
            % {"source": case.source_list.source}
            if case.source_list is not None
            else _("Out of school: return-to-school case opened")
        )
        entries.append(
            TimelineEntry(case.created_at, _who(case.opened_by), opened, [], "return_to_school")
        )
        if case.status == ReturnCaseStatus.CLOSED and case.closed_at is not None:
            entries.append(
                TimelineEntry(
                    case.closed_at,
                    _who(case.closed_by),
                    _("Return-to-school case closed: %(outcome)s")
                    % {"outcome": case.get_outcome_display()},
                    [],
                    "return_to_school",
                )
            )
    contacts = ReturnToSchoolContact.objects.filter(case__in=cases).select_related("contacted_by")
    for contact in contacts:
        entries.append(
            TimelineEntry(
                contact.created_at,
                _who(contact.contacted_by),
                _("Return-to-school contact on %(date)s: %(how)s")
                % {
                    "date": f"{contact.contacted_on:%Y-%m-%d}",
                    "how": contact.get_channel_display(),
                },
                [],
                "return_to_school",
            )
        )
    return entries


def _who(user: User | None) -> str:
    return user.display_name if user is not None else str(selectors.SYSTEM_AUTHOR)


# --- Writes of the follow-up -----------------------------------------------------------------


def _plain(value: str, field: str, max_length: int, errors: dict, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[field] = [_("This field is required.")]
    elif "\x00" in value:
        errors[field] = [str(NUL_MESSAGE)]
    elif len(value) > max_length:
        errors[field] = [_("At most %(n)s characters") % {"n": max_length}]
    return value


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _require_open(case: ReturnToSchoolCase) -> ReturnToSchoolCase:
    locked = ReturnToSchoolCase.objects.select_for_update().get(pk=case.pk)
    if locked.status != ReturnCaseStatus.OPEN:
        raise Conflict(str(NOT_OPEN_MESSAGE))
    return locked


def return_case_contact_add(
    *,
    user: User,
    case: ReturnToSchoolCase,
    contacted_on: date,
    with_whom: str,
    channel: str,
    note: str = "",
) -> ReturnToSchoolContact:
    """Log a contact of an open case (劝返: the family, the child, the school): when, with whom,
    how and what was said. 409 on a closed case; 422 for a date in the future."""
    permissions.require(user, Capability.DROPOUT_FOLLOW_UP)
    errors: dict[str, list[str]] = {}
    with_whom = _plain(with_whom, "with_whom", 100, errors, required=True)
    note = _plain(note, "note", CONTACT_NOTE_MAX, errors, required=False)
    if channel not in ReturnContactChannel.values:
        errors["channel"] = [_("Choose how the contact was made")]
    if not isinstance(contacted_on, date):
        errors["contacted_on"] = [_("Enter a valid date.")]
    elif contacted_on > clock.today():
        errors["contacted_on"] = [_("A contact cannot be logged before it happens")]
    elif contacted_on < case.child.birth_date:
        errors["contacted_on"] = [_("The date is before the child's birth")]
    _raise(errors)
    with transaction.atomic():
        locked = _require_open(case)
        contact = ReturnToSchoolContact.objects.create(
            case=locked,
            contacted_on=contacted_on,
            contacted_by=user,
            with_whom=with_whom,
            channel=channel,
            note=note,
        )
    return contact


def return_case_plan_set(*, user: User, case: ReturnToSchoolCase, plan: str) -> ReturnToSchoolCase:
    """Write (or rewrite) the plan of an open case: who does what to bring the child back."""
    permissions.require(user, Capability.DROPOUT_FOLLOW_UP)
    errors: dict[str, list[str]] = {}
    plan = _plain(plan, "plan", PLAN_MAX, errors, required=False)
    _raise(errors)
    with transaction.atomic():
        locked = _require_open(case)
        locked.plan = plan
        locked.save(update_fields=["plan", "updated_at"])
    return locked


def return_case_close(
    *,
    user: User,
    case: ReturnToSchoolCase,
    outcome: str,
    returned_on: date | None = None,
    returned_school: str = "",
    note: str = "",
) -> ReturnToSchoolCase:
    """Close an open case with its outcome. ``returned`` (back in school, with the date and the
    school) sets the file's school status back to in school and its school, through the service
    that changes a file; the other outcomes leave the file as it is. 409 on a closed case."""
    permissions.require(user, Capability.DROPOUT_FOLLOW_UP)
    today = clock.today()
    errors: dict[str, list[str]] = {}
    returned_school = _plain(returned_school, "returned_school", 100, errors, required=False)
    note = _plain(note, "note", NOTE_MAX, errors, required=False)
    messages = {
        ("outcome", "unknown"): _("Choose the outcome"),
        ("returned_on", "required"): _("Give the date the child went back to school"),
        ("returned_on", "future"): _("The date cannot be in the future"),
        ("returned_school", "required"): _("Give the school the child went back to"),
        ("note", "required"): _("Explain when the outcome is “Other”"),
    }
    for field, problem in dropout_rules.closing_problems(
        outcome=outcome,
        returned_on=returned_on,
        returned_school=returned_school,
        note=note,
        today=today,
    ).items():
        errors.setdefault(field, []).append(messages[(field, problem)])
    _raise(errors)
    returned = outcome == ReturnOutcome.RETURNED
    with transaction.atomic(), services.history_context(user, via=RETURN_VIA):
        locked = _require_open(case)
        child = Child.objects.get(pk=locked.child_id)
        if returned and child.status == ChildStatus.ACTIVE:
            changes = {"school_status": "in_school", "school_name": returned_school}
            changes = {k: v for k, v in changes.items() if getattr(child, k) != v}
            if changes:
                services.child_update(user=user, child=child, changes=changes)
        locked.status = ReturnCaseStatus.CLOSED
        locked.outcome = outcome
        locked.returned_on = returned_on if returned else None
        locked.returned_school = returned_school if returned else ""
        locked.outcome_note = note
        locked.closed_on = today
        locked.closed_at = timezone.now()
        locked.closed_by = user
        locked.save()
    return locked


def dropout_row_link(*, user: User, row: DropoutRow, child: Child) -> DropoutRow:
    """A case worker found the file of a row not matched at import (``child``: a file in their
    area, found by the caller): the row is linked to it, and the child is out of school with an
    open case as if matched. 409 when the row is done, the file closed or the child 18."""
    permissions.require(user, Capability.DROPOUT_FOLLOW_UP)
    today = clock.today()
    with (
        transaction.atomic(),
        services.history_context(user, via=DROPOUT_VIA, dropout_list=str(row.dropout_list_id)),
    ):
        locked = DropoutRow.objects.select_for_update().get(pk=row.pk)
        if locked.follow_up != DropoutFollowUp.OPEN:
            raise Conflict(str(ROW_DONE_MESSAGE))
        child = Child.objects.select_for_update().get(pk=child.pk)
        if not dropout_rules.may_open_case(
            status=child.status, birth_date=child.birth_date, today=today
        ):
            raise Conflict(
                _("The file is closed: re-open it first")
                if child.status != ChildStatus.ACTIVE
                else _("The child is 18 or older"),
                field="child_id",
            )
        case, opened = _out_of_school(
            user=user,
            child=child,
            listed_status=locked.listed_status,
            source_list=locked.dropout_list,
            today=today,
        )
        locked.child, locked.case, locked.case_opened = child, case, opened
        locked.follow_up = DropoutFollowUp.LINKED
        locked.followed_up_by, locked.followed_up_at = user, timezone.now()
        locked.save()
    return locked


def dropout_row_dismiss(*, user: User, row: DropoutRow, note: str) -> DropoutRow:
    """A row not matched needs nothing more (not a child of the area, moved away, listed by
    mistake): dismissed with a note saying why."""
    permissions.require(user, Capability.DROPOUT_FOLLOW_UP)
    errors: dict[str, list[str]] = {}
    note = _plain(note, "note", NOTE_MAX, errors, required=True)
    _raise(errors)
    with transaction.atomic():
        locked = DropoutRow.objects.select_for_update().get(pk=row.pk)
        if locked.follow_up != DropoutFollowUp.OPEN:
            raise Conflict(str(ROW_DONE_MESSAGE))
        locked.follow_up = DropoutFollowUp.DISMISSED
        locked.follow_up_note = note
        locked.followed_up_by, locked.followed_up_at = user, timezone.now()
        locked.save()
    return locked


def audit_case_children(request, user: User, children, *, api: bool = False) -> None:
    """Cases and list rows name children: each shown is audited as a view of the file."""
    from accounts.services import audit_children

    shown = [child for child in children if child is not None]
    if shown:
        audit_children(
            user=user,
            action=AuditAction.API_READ if api else AuditAction.VIEW,
            children=shown,
            request=request,
            detail={"path": request.path} if request is not None else None,
        )
