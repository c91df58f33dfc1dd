"""Benefit standards by area and the monthly payment list (发放名册) for county civil affairs:
scoped reads of the standards and the entitlement ledger, and the bank's .xlsx list."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import User
from accounts.permissions import Capability
from accounts.services import ExportAudit
from children import selectors as child_selectors
from core import cells, crypto

from . import rules, selectors
from .models import Entitlement, SubsidyStandard

PAYMENT_AREA_FIELD = "enrolment__child__village__code"
AUDIT_BATCH = 2000  # rows read and audit records written at a time: memory stays flat
XLSX_HEADERS = [
    "序号",
    "乡镇（街道）",
    "村（社区）",
    "儿童姓名",
    "身份证号",
    "补贴项目",
    "月份",
    "金额（元）",
    "收款人",
    "银行账号",
    "备注",
]
XLSX_WIDTHS = [6, 16, 16, 10, 20, 28, 9, 11, 10, 24, 8]
BACK_PAY_REMARK = "补发"  # the bank's list is in Chinese whatever the language of the screen
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

# The page must show the very standard the ledger pays, so it reuses the ledger's rule.
IN_FORCE_IDS_SQL = f"""
SELECT p.code, s.id FROM unnest(%(programmes)s::text[]) AS p(code)
LEFT JOIN LATERAL ({
    selectors.STANDARD_IN_FORCE_SQL.format(
        programme="p.code", month="%(month)s", village="%(area)s"
    )
}) s ON true
"""


def parse_month(value: str | None) -> date | None:
    """``YYYY-MM`` (what ``<input type=month>`` sends) as the first day of that month."""
    match = _MONTH_RE.match((value or "").strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return None
    return date(year, month, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


# --- Standards --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardRow:
    standard: SubsidyStandard
    inherited: bool  # set by an area above the user's (province or city)
    in_force: bool
    scheduled: bool  # takes effect after this month


@dataclass(frozen=True)
class ProgrammeStandards:
    programme: rules.Programme
    in_force: StandardRow | None
    rows: list[StandardRow]


def standards_for_user(*, user: User, month: date) -> list[ProgrammeStandards]:
    """Every programme with the standards of the user's area and of the areas above it, newest
    first, and the one in force in ``month`` for the user's area. Two queries."""
    permissions.require(user, Capability.BENEFIT_ADMINISTER)
    if user.area_id is None:
        return []
    own = user.area_id
    codes = [own, *area_rules.ancestor_codes(own)]
    month = month.replace(day=1)
    standards = list(
        SubsidyStandard.objects.filter(area_id__in=codes)
        .select_related("area", "set_by")
        .order_by("programme", "-effective_month", "-area_id")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            IN_FORCE_IDS_SQL,
            {"programmes": list(rules.PROGRAMMES), "month": month, "area": own},
        )
        in_force_ids = {standard_id for _code, standard_id in cursor.fetchall() if standard_id}
    rows_by_programme: dict[str, list[StandardRow]] = {}
    for standard in standards:
        rows_by_programme.setdefault(standard.programme, []).append(
            StandardRow(
                standard=standard,
                inherited=standard.area_id != own,
                in_force=standard.pk in in_force_ids,
                scheduled=standard.effective_month > month,
            )
        )
    result = []
    for code, programme in rules.PROGRAMMES.items():
        rows = rows_by_programme.get(code, [])
        current = next((row for row in rows if row.in_force), None)
        result.append(ProgrammeStandards(programme=programme, in_force=current, rows=rows))
    return result


# --- Monthly payment list ---------------------------------------------------------------------


def month_window(month: date) -> tuple[datetime, datetime]:
    """The instants ``month`` begins and the next one begins, in Asia/Shanghai."""
    zone = timezone.get_default_timezone()
    following = rules.next_month(month)
    return (
        datetime(month.year, month.month, 1, tzinfo=zone),
        datetime(following.year, following.month, 1, tzinfo=zone),
    )


def payment_list_q(month: date) -> Q:
    """What the payment list of ``month`` pays: the month's own entitlements, and the back pay
    written during that month (by its ledger runs) for earlier months. A month's back pay was not
    on that month's list, which was paid already: it is on the list of the month it was written
    in, so every entitlement is on exactly one list."""
    month = month.replace(day=1)
    begins, ends = month_window(month)
    return Q(month=month, back_pay=False) | Q(
        back_pay=True, created_at__gte=begins, created_at__lt=ends
    )


def payments_for_user(*, user: User, month: date) -> QuerySet[Entitlement]:
    """The payment list of ``month`` (payment_list_q) in the user's area, with child, village and
    township loaded, in township/village/child order (the order of the bank list), a child's
    back pay by month after the programme's."""
    permissions.require(user, Capability.BENEFIT_PAY)
    queryset = Entitlement.objects.filter(payment_list_q(month)).select_related(
        "enrolment", "enrolment__child", "enrolment__child__village__parent"
    )
    # A child's programmes in the order of PROGRAMMES, as in the totals.
    programme_rank = Case(
        *(
            When(enrolment__programme=code, then=Value(rank))
            for rank, code in enumerate(rules.PROGRAMMES)
        ),
        default=Value(len(rules.PROGRAMMES)),
    )
    return scope.scope_queryset(queryset, user=user, area_field=PAYMENT_AREA_FIELD).order_by(
        "enrolment__child__village_id", "enrolment__child__name", programme_rank, "month", "id"
    )


@dataclass(frozen=True)
class ProgrammeTotal:
    code: str
    name: str
    rows: int
    children: int
    total: Decimal


@dataclass(frozen=True)
class PaymentTotals:
    programmes: list[ProgrammeTotal]
    rows: int
    children: int  # distinct: a child in two programmes counts once
    total: Decimal
    without_account: int  # rows the bank cannot pay until a payee account is recorded
    back_pay_rows: int  # of ``rows``: months missed earlier, paid on this list (补发)
    back_pay_total: Decimal  # of ``total``


def payment_totals(queryset: QuerySet[Entitlement]) -> PaymentTotals:
    """Totals per programme and overall, in SQL (two queries whatever the number of rows)."""
    plain = queryset.order_by().select_related(None)
    children = Count("enrolment__child_id", distinct=True)
    per_programme = {
        row["enrolment__programme"]: row
        for row in plain.values("enrolment__programme").annotate(
            rows=Count("id"), children=children, total=Sum("amount")
        )
    }
    overall = plain.aggregate(
        rows=Count("id"),
        children=children,
        total=Sum("amount"),
        without_account=Count("id", filter=Q(enrolment__payee_account_encrypted="")),
        back_pay_rows=Count("id", filter=Q(back_pay=True)),
        back_pay_total=Sum("amount", filter=Q(back_pay=True)),
    )
    # Programme order as in PROGRAMMES, then any code no longer listed there.
    order = [code for code in rules.PROGRAMMES if code in per_programme]
    order += sorted(set(per_programme) - set(order))
    return PaymentTotals(
        programmes=[
            ProgrammeTotal(
                code=code,
                name=rules.programme_name(code),
                rows=per_programme[code]["rows"],
                children=per_programme[code]["children"],
                total=per_programme[code]["total"],
            )
            for code in order
        ],
        rows=overall["rows"],
        children=overall["children"],
        total=overall["total"] or Decimal("0"),
        without_account=overall["without_account"],
        back_pay_rows=overall["back_pay_rows"],
        back_pay_total=overall["back_pay_total"] or Decimal("0"),
    )


def payments_filename(month: date) -> str:
    return f"subsidy-payments-{month:%Y%m}.xlsx"


def payments_xlsx(*, user: User, month: date, request=None) -> tuple[bytes, int]:
    """The bank's payment list for ``month`` as .xlsx bytes, and the number of rows. ID numbers
    in full only where the user may see them; bank accounts in full only for civil affairs. Each
    row gives the month it pays; back pay for an earlier month says 补发 in the last column.
    One audit record per row exported."""
    queryset = payments_for_user(user=user, month=month)
    full_account = permissions.can(user, Capability.BENEFIT_PAY)
    month_label = f"{month:%Y-%m}"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(f"{month:%Y年%m月}补贴发放名册")
    for column, width in enumerate(XLSX_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([cells.xlsx_cell(sheet, h, font=bold) for h in XLSX_HEADERS])
    count = 0
    audit = ExportAudit(
        user=user,
        request=request,
        detail={"export": "subsidy_payments_xlsx", "month": month_label},
        batch=AUDIT_BATCH,
    )
    # The bank's list is in Chinese whatever the language of the screen.
    names = {code: _chinese(p.name) for code, p in rules.PROGRAMMES.items()}
    for entitlement in queryset.iterator(chunk_size=AUDIT_BATCH):
        enrolment = entitlement.enrolment
        child = enrolment.child
        village = child.village
        if child_selectors.can_see_full_id(user, child):
            id_number = crypto.decrypt(child.id_number_encrypted)
        else:
            id_number = child.id_number_masked
        if full_account and enrolment.payee_account_encrypted:
            account = crypto.decrypt(enrolment.payee_account_encrypted)
        else:
            account = enrolment.payee_account_masked
        count += 1
        sheet.append(
            cells.xlsx_row(
                sheet,
                [
                    count,
                    village.parent.name if village.parent_id else "",
                    village.name,
                    child.name,
                    id_number,
                    names.get(enrolment.programme, enrolment.programme),
                    f"{entitlement.month:%Y-%m}",
                    cells.xlsx_cell(sheet, entitlement.amount, number_format="0.00"),
                    enrolment.payee_name,
                    account,
                    BACK_PAY_REMARK if entitlement.back_pay else "",
                ],
            )
        )
        audit.add(child.pk, child.village_id)
    audit.flush()
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


def _chinese(text) -> str:
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(text)
