"""Statistics exports of an area subtree (domain §8, §9): the 台账 workbooks for a period and the
JSON Lines hand-over to a provincial system. ID and phone numbers are masked unless the role may
see them, and every exported child-related row leaves an audit record, written in batches."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Area, Role, User
from accounts.permissions import Capability
from accounts.services import ExportAudit
from benefits import rules as benefit_rules
from benefits.models import (
    ApplicationStatus,
    Enrolment,
    Entitlement,
    ExitReason,
    SubsidyApplication,
)
from children import exports as child_exports
from children import rules as child_rules
from children import selectors as child_selectors
from children.models import (
    AgreementStatus,
    CareAgreement,
    CaregiverRelation,
    Child,
    ChildStatus,
    DisabilityType,
    FamilyMember,
    MemberStatus,
    Relation,
)
from core import cells, crypto, replica
from core.api import attributes
from core.clock import today as local_today
from core.masking import PHONE, mask_phone
from reporting import forms as report_forms
from reporting import selectors as report_selectors
from reporting.models import MandatoryReport, OrgType, Situation, Stage
from visits.models import PersonSeen, ReviewStatus, SafetyHazard, Visit, VisitKind

from . import indicators, rules
from .indicator_sql import CATEGORIES, CHILD_COUNTS, RISKS

KINDS = (
    "children",
    "left_behind_register",
    "difficulty_register",
    "agreements",
    "visits",
    "reports",
    "benefits",
    "indicators",
)
PERIOD_KINDS = frozenset({"agreements", "visits", "reports", "benefits"})  # ledgers of a period
AUDIT_BATCH = 2000  # audit records per INSERT (accounts.services.ExportAudit)
CHUNK = 2000
STREAM_BUFFER = 64 * 1024  # bytes of JSON Lines per chunk handed to the server
YEARS = (2000, 2100)  # a period outside these years is a typing error, not a question


# --- Period and access ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A closed range of local (Asia/Shanghai) dates."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d}至{self.end:%Y-%m-%d}"

    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, day after end 00:00) in local time, for timestamp columns: an indexable
        range instead of a per-row conversion to a local date."""
        zone = timezone.get_default_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    def months(self) -> tuple[date, date]:
        """First days of the first and last month the period touches (ledger months)."""
        return self.start.replace(day=1), self.end.replace(day=1)


def default_period(today: date | None = None) -> Period:
    """1 January of this year to today."""
    today = today or local_today()
    return Period(date(today.year, 1, 1), today)


def parse_period(params: Mapping[str, str]) -> tuple[Period, list[str]]:
    """``from``/``to`` (YYYY-MM-DD) from a query string; a missing one takes its default. Returns
    the default period and the problems when the values are unusable."""
    default = default_period()
    errors: list[str] = []
    values = {}
    for key, fallback in (("from", default.start), ("to", default.end)):
        raw = (params.get(key) or "").strip()
        if not raw:
            values[key] = fallback
            continue
        try:
            values[key] = date.fromisoformat(raw)
        except ValueError:
            errors.append(f"{key}: {raw}")
            values[key] = fallback
    if not errors and values["from"] > values["to"]:
        errors.append("from > to")
    if not errors and not all(YEARS[0] <= values[key].year <= YEARS[1] for key in values):
        errors.append("year out of range")
    if errors:
        return default, errors
    return Period(values["from"], values["to"]), []


def area_for_export_or_404(
    *, user: User, code: str, capability: Capability = Capability.STATS_EXPORT
) -> Area:
    """404 outside the user's area, then 403 for a role that may not export."""
    area = scope.area_for_user_or_404(user=user, code=code)
    permissions.require(user, capability)
    return area


# --- Chinese labels ---------------------------------------------------------------------------


def zh_labels(choices: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Code → Chinese label, whatever the language of the screen: the ledgers are filed
    documents (as the bank list in benefits/payments.py)."""
    items = choices.items() if isinstance(choices, Mapping) else choices
    with translation.override("zh-hans"):
        return {code: str(label) for code, label in items}


def _join(codes: Iterable[str], labels: Mapping[str, str]) -> str:
    return "、".join(labels.get(code, code) for code in codes)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _township_name(village: Area) -> str:
    parent = village.parent if village.parent_id else None
    return parent.name if parent is not None else ""


# --- Workbooks --------------------------------------------------------------------------------


def _auditor(*, user: User, request, detail: dict, object_type: str = "child") -> ExportAudit:
    """The export's audit, written in batches of AUDIT_BATCH."""
    return ExportAudit(
        user=user, request=request, detail=detail, object_type=object_type, batch=AUDIT_BATCH
    )


class _Ledger:
    """A write-only workbook: one sheet of rows under bold Chinese headers, and a 说明 sheet
    saying what was exported, for whom and how numbers were masked."""

    def __init__(self, title: str, columns: list[tuple[str, int]]) -> None:
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title)
        for index, (_header, width) in enumerate(columns):
            self.sheet.column_dimensions[_letter(index)].width = width
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        self.sheet.append(
            [cells.xlsx_cell(self.sheet, header, font=bold) for header, _w in columns]
        )
        self.rows = 0

    def append(self, values: list[Any]) -> None:
        self.sheet.append(
            cells.xlsx_row(
                self.sheet,
                [
                    cells.xlsx_cell(self.sheet, value, number_format="0.00")
                    if isinstance(value, Decimal)
                    else value
                    for value in values
                ],
            )
        )
        self.rows += 1

    def finish(self, info: list[tuple[str, Any]]) -> bytes:
        about = self.workbook.create_sheet("说明")
        about.column_dimensions["A"].width = 14
        about.column_dimensions["B"].width = 60
        for label, value in [*info, ("行数", self.rows)]:
            about.append(cells.xlsx_row(about, [label, value]))
        buffer = io.BytesIO()
        self.workbook.save(buffer)
        return buffer.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def read_as_of() -> datetime:
    """The time the rows read now are true of: now on the primary; on a replica, as far as it
    had replayed when it was checked (core.replica)."""
    read = replica.current()
    return rules.data_as_of(summary_as_of=None, read_at=read.checked_at, lag=read.lag)


def _info(
    *,
    user: User,
    area: Area,
    period: Period | None,
    masked: str,
    as_of: tuple[str, datetime | None] = ("数据截至", None),
) -> list[tuple[str, Any]]:
    """The 说明 sheet; ``as_of``: the label and time the data is true of (default: the read's)."""
    rows: list[tuple[str, Any]] = [("区划", area.name), ("区划代码", area.code)]
    if period is not None:
        rows.append(("统计期间", period.label))
    label, moment = as_of
    rows += [
        ("导出时间", _local(timezone.now())),
        (label, _local(moment or read_as_of())),
        ("导出人", f"{user.display_name}（{user.username}）"),
        ("脱敏说明", masked),
    ]
    return rows


MASK_NOTE = "身份证号、电话号码按账号权限显示，无权查看者脱敏显示；每条导出记录均已写入审计日志。"


def _child_id_number(child: Child, full: bool) -> str:
    return crypto.decrypt(child.id_number_encrypted) if full else child.id_number_masked


# The child's columns of the agreement, visit and benefit ledgers, filled by _child_cells.
CHILD_COLUMNS = [
    ("儿童姓名", 10),
    ("身份证号", 20),
    ("乡镇（街道）", 14),
    ("村（社区）", 14),
    ("村（社区）代码", 14),
]


def _child_cells(child: Child, full: bool) -> list[Any]:
    """The child's name, ID number (in full with ``full``), township, village and village code."""
    return [
        child.name,
        _child_id_number(child, full),
        _township_name(child.village),
        child.village.name,
        child.village_id,
    ]


def _phone(user: User, value: str, child: Child) -> str:
    return scope.shown_number(user, PHONE, value, child.village_id)


def _audit_detail(kind: str, area: Area, period: Period | None) -> dict:
    detail = {"export": f"statistics_{kind}_xlsx", "area_code": area.code}
    if period is not None:
        detail.update({"from": period.start.isoformat(), "to": period.end.isoformat()})
    return detail


# Children ------------------------------------------------------------------------------------


def active_children(*, user: User, area: Area) -> QuerySet[Child]:
    """Active files of the area subtree, in the order of the child list."""
    return (
        child_selectors.children_in_scope(user=user)
        .filter(scope.subtree_q(area.code, "village__code"), status=ChildStatus.ACTIVE)
        .order_by("village_id", "name", "id")
    )


def children_xlsx(*, user: User, area: Area, request=None) -> tuple[bytes, int]:
    """The child 台账 of children/exports.py (same columns, masking and audit) for the area."""
    return child_exports.children_xlsx(
        user=user, queryset=active_children(user=user, area=area), request=request
    )


# Care agreements -----------------------------------------------------------------------------

AGREEMENT_COLUMNS = [
    *CHILD_COLUMNS,
    ("照护人", 10),
    ("与儿童关系", 12),
    ("照护人身份证号", 20),
    ("照护人出生日期", 12),
    ("照护人联系电话", 14),
    ("照护人住址", 24),
    ("父母务工地", 16),
    ("父母工作单位", 16),
    ("父母联系电话", 14),
    ("开始日期", 12),
    ("结束日期", 12),
    ("签订日期", 12),
    ("村委会备案日期", 14),
    ("每周联系承诺", 8),
    ("协议状态", 12),
    ("状态说明", 24),
    ("状态变更日期", 12),
    ("重新签订期限", 12),
]


def agreements_in_force(*, user: User, area: Area, period: Period) -> QuerySet[CareAgreement]:
    """Agreements of the subtree in force on at least one day of the period: started by its end,
    not ended before its start, and not terminated before its start."""
    terminated_before = Q(status=AgreementStatus.TERMINATED, status_changed_on__lt=period.start)
    return (
        child_selectors.child_records_in_scope(CareAgreement.objects.all(), user=user)
        .filter(
            scope.subtree_q(area.code, "child__village__code"),
            start_date__lte=period.end,
            end_date__gte=period.start,
        )
        .exclude(terminated_before)
        .select_related("child__village__parent")
        .order_by("child__village_id", "child__name", "child_id", "start_date", "id")
    )


def agreements_xlsx(*, user: User, area: Area, period: Period, request=None) -> tuple[bytes, int]:
    ledger = _Ledger("委托照护协议台账", AGREEMENT_COLUMNS)
    auditor = _auditor(user=user, request=request, detail=_audit_detail("agreements", area, period))
    relations = zh_labels(CaregiverRelation.choices)
    statuses = zh_labels(AgreementStatus.choices)
    queryset = agreements_in_force(user=user, area=area, period=period)
    for agreement in queryset.iterator(chunk_size=CHUNK):
        child = agreement.child
        full = child_selectors.can_see_full_id(user, child)
        caregiver_id = (
            crypto.decrypt(agreement.caregiver_id_number_encrypted)
            if full
            else agreement.caregiver_id_number_masked
        )
        ledger.append(
            [
                *_child_cells(child, full),
                agreement.caregiver_name,
                relations.get(agreement.caregiver_relation, agreement.caregiver_relation),
                caregiver_id,
                agreement.caregiver_birth_date,
                _phone(user, agreement.caregiver_phone, child),
                agreement.caregiver_address,
                agreement.parent_work_place,
                agreement.parent_employer,
                _phone(user, agreement.parent_phone, child),
                agreement.start_date,
                agreement.end_date,
                agreement.signed_on,
                agreement.filed_on,
                _yes_no(agreement.weekly_contact),
                statuses.get(agreement.status, agreement.status),
                agreement.status_reason,
                agreement.status_changed_on,
                agreement.replacement_due,
            ]
        )
        auditor.add(child.pk, child.village_id)
    auditor.flush()
    info = _info(user=user, area=area, period=period, masked=MASK_NOTE)
    info.append(("范围", "统计期间内至少一天有效的委托照护协议"))
    return ledger.finish(info), ledger.rows


# Visits --------------------------------------------------------------------------------------

VISIT_COLUMNS = [
    ("走访日期", 12),
    ("走访方式", 10),
    *CHILD_COLUMNS,
    ("走访人", 10),
    ("走访人身份", 10),
    ("见到的人", 16),
    ("监护人在场", 8),
    ("照护人能尽责", 8),
    ("在校就读", 8),
    ("存在安全隐患", 8),
    ("隐患类型", 16),
    ("需求", 24),
    ("采取的措施", 24),
    ("跟进日期", 12),
    ("跟进事项", 20),
    ("审核状态", 10),
]


def visits_in_period(*, user: User, area: Area, period: Period) -> QuerySet[Visit]:
    return (
        child_selectors.child_records_in_scope(Visit.objects.all(), user=user)
        .filter(
            scope.subtree_q(area.code, "child__village__code"),
            visited_on__range=(period.start, period.end),
        )
        .select_related("child__village__parent", "visitor")
        .order_by("visited_on", "child__village_id", "child__name", "id")
    )


def visits_xlsx(*, user: User, area: Area, period: Period, request=None) -> tuple[bytes, int]:
    """Visits dated in the period. The free-text case notes stay out (PIPL: what the work needs);
    the structured findings, needs and actions are in."""
    ledger = _Ledger("走访台账", VISIT_COLUMNS)
    auditor = _auditor(user=user, request=request, detail=_audit_detail("visits", area, period))
    kinds = zh_labels(VisitKind.choices)
    seen = zh_labels(PersonSeen.choices)
    hazards = zh_labels(SafetyHazard.choices)
    reviews = zh_labels(ReviewStatus.choices)
    roles = zh_labels(Role.choices)
    queryset = visits_in_period(user=user, area=area, period=period)
    for visit in queryset.iterator(chunk_size=CHUNK):
        child = visit.child
        full = child_selectors.can_see_full_id(user, child)
        ledger.append(
            [
                visit.visited_on,
                kinds.get(visit.kind, visit.kind),
                *_child_cells(child, full),
                visit.visitor.display_name,
                roles.get(visit.visitor_role, visit.visitor_role),
                _join(visit.seen, seen),
                _yes_no(visit.guardian_present),
                _yes_no(visit.caregiver_capable),
                _yes_no(visit.in_school),
                _yes_no(visit.safety_concern),
                _join(visit.safety_hazards, hazards),
                visit.needs,
                visit.actions_taken,
                visit.follow_up_on,
                visit.follow_up_note,
                reviews.get(visit.review_status, visit.review_status),
            ]
        )
        auditor.add(child.pk, child.village_id)
    auditor.flush()
    return ledger.finish(_info(user=user, area=area, period=period, masked=MASK_NOTE)), ledger.rows


# Mandatory reports ---------------------------------------------------------------------------


def reports_filed_in(*, user: User, area: Area, period: Period) -> QuerySet[MandatoryReport]:
    start, end = period.bounds()
    return (
        scope.scope_queryset(MandatoryReport.objects.all(), user=user, area_field="area__code")
        .filter(scope.subtree_q(area.code, "area__code"), filed_at__gte=start, filed_at__lt=end)
        .select_related("area__parent", "child", "reporter")
        .order_by("filed_at", "id")
    )


def reports_xlsx(*, user: User, area: Area, period: Period, request=None) -> tuple[bytes, int]:
    """Reports filed in the period with their stage today. The reporter's name only for roles
    that may know it (domain §6); the description stays out of a ledger."""
    identity = report_selectors.can_see_reporter(user)
    columns = [
        ("报告时间", 16),
        ("发现时间", 16),
        ("情形", 28),
        ("儿童姓名", 10),
        ("身份证号", 20),
        ("乡镇（街道）", 14),
        ("村（社区）/区划", 14),
        ("区划代码", 14),
        ("报告单位类型", 14),
        *([("报告人", 10)] if identity else []),
        ("报警时间", 16),
        ("接警回执", 14),
        ("当前阶段", 12),
        ("进入当前阶段时间", 16),
        ("应急处置", 24),
        ("服务计划", 24),
        ("干预措施", 16),
        ("办理结果", 12),
    ]
    ledger = _Ledger("强制报告台账", columns)
    detail = _audit_detail("reports", area, period)
    children = _auditor(user=user, request=request, detail=detail)
    # A report about a child with no file yet is still a record about a child: audited as such.
    unlinked = _auditor(user=user, request=request, detail=detail, object_type="mandatory_report")
    situations = zh_labels(Situation.choices)
    stages = zh_labels(Stage.choices)
    orgs = zh_labels(OrgType.choices)
    actions = zh_labels(report_forms.ACTION_LABELS)
    plans = zh_labels(report_forms.PLAN_LABELS)
    interventions = zh_labels(report_forms.INTERVENTION_LABELS)
    outcomes = zh_labels(report_forms.OUTCOME_LABELS)
    queryset = reports_filed_in(user=user, area=area, period=period)
    for report in queryset.iterator(chunk_size=CHUNK):
        child = report.child
        report_area = report.area
        township = _township_name(report_area) if report_area.level == "village" else ""
        if child is not None:
            id_number = _child_id_number(child, child_selectors.can_see_full_id(user, child))
        else:
            id_number = ""
        ledger.append(
            [
                _local(report.filed_at),
                _local(report.discovered_at),
                situations.get(report.situation, report.situation),
                report.child_name or (child.name if child else ""),
                id_number,
                township,
                report_area.name,
                report.area_id,
                orgs.get(report.reporter_org_type, report.reporter_org_type),
                *([report.reporter.display_name] if identity else []),
                _local(report.police_notified_at),
                report.police_receipt,
                stages.get(report.stage, report.stage),
                _local(report.stage_changed_at),
                _join(report.emergency_actions, actions),
                _join(report.service_plan, plans),
                interventions.get(report.intervention_type, report.intervention_type),
                outcomes.get(report.outcome, report.outcome),
            ]
        )
        if child is not None:
            children.add(child.pk, child.village_id)
        else:
            unlinked.add(report.pk, report.area_id)
    children.flush()
    unlinked.flush()
    return ledger.finish(_info(user=user, area=area, period=period, masked=MASK_NOTE)), ledger.rows


# Benefits ------------------------------------------------------------------------------------

BENEFIT_COLUMNS = [
    *CHILD_COLUMNS,
    ("补贴项目", 28),
    ("申请状态", 14),
    ("提交时间", 16),
    ("提交人", 10),
    ("乡镇初审日期", 12),
    ("县级办结日期", 12),
    ("起始发放月份", 10),
    ("最后发放月份", 10),
    ("停发原因", 14),
    ("期内发放月数", 8),
    ("期内发放金额（元）", 12),
    ("累计发放月数", 8),
    ("累计发放金额（元）", 12),
]


def applications_submitted_in(
    *, user: User, area: Area, period: Period
) -> QuerySet[SubsidyApplication]:
    """Applications submitted in the period, each with its enrolment and the ledger's months and
    sums, in the period and in all, aggregated in the same query."""
    start, end = period.bounds()
    first_month, last_month = period.months()
    in_period = Q(enrolment__entitlements__month__range=(first_month, last_month))
    return (
        child_selectors.child_records_in_scope(SubsidyApplication.objects.all(), user=user)
        .filter(
            scope.subtree_q(area.code, "child__village__code"),
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .select_related("child__village__parent", "submitted_by", "enrolment")
        .annotate(
            months_paid=Count("enrolment__entitlements"),
            amount_paid=Sum("enrolment__entitlements__amount"),
            months_in_period=Count("enrolment__entitlements", filter=in_period),
            amount_in_period=Sum("enrolment__entitlements__amount", filter=in_period),
        )
        .order_by("submitted_at", "id")
    )


def _enrolment_of(application: SubsidyApplication) -> Enrolment | None:
    try:
        return application.enrolment  # loaded by select_related: None is cached too
    except ObjectDoesNotExist:
        return None


def programme_names() -> dict[str, str]:
    return zh_labels((code, programme.name) for code, programme in benefit_rules.PROGRAMMES.items())


def benefits_xlsx(*, user: User, area: Area, period: Period, request=None) -> tuple[bytes, int]:
    ledger = _Ledger("补贴申请台账", BENEFIT_COLUMNS)
    auditor = _auditor(user=user, request=request, detail=_audit_detail("benefits", area, period))
    programmes = programme_names()
    statuses = zh_labels(ApplicationStatus.choices)
    exits = zh_labels(ExitReason.choices)
    zero = Decimal("0.00")
    queryset = applications_submitted_in(user=user, area=area, period=period)
    for application in queryset.iterator(chunk_size=CHUNK):
        child = application.child
        full = child_selectors.can_see_full_id(user, child)
        enrolment = _enrolment_of(application)
        ledger.append(
            [
                *_child_cells(child, full),
                programmes.get(application.programme, application.programme),
                statuses.get(application.status, application.status),
                _local(application.submitted_at),
                application.submitted_by.display_name,
                application.township_approved_on,
                application.decided_on,
                f"{enrolment.start_month:%Y-%m}" if enrolment else "",
                f"{enrolment.end_month:%Y-%m}" if enrolment and enrolment.end_month else "",
                exits.get(enrolment.exit_reason, enrolment.exit_reason) if enrolment else "",
                application.months_in_period,
                application.amount_in_period or zero,
                application.months_paid,
                application.amount_paid or zero,
            ]
        )
        auditor.add(child.pk, child.village_id)
    auditor.flush()
    info = _info(user=user, area=area, period=period, masked=MASK_NOTE)
    info.append(("范围", "统计期间内提交的补贴申请；发放金额取自按月生成的发放台账"))
    return ledger.finish(info), ledger.rows


# Indicators ----------------------------------------------------------------------------------

COUNT_HEADERS: dict[str, str] = {
    "children_total": "儿童总数",
    **{f"category_{code}": child_exports.CATEGORY_ZH[code] for code in CATEGORIES},
    "risk_low": "绿色（低风险）",
    "risk_medium": "黄色（中风险）",
    "risk_high": "红色（高风险）",
    "key_children": "重点对象",
    "home_visits_overdue": "入户走访逾期",
    "contacts_overdue": "联系逾期",
    "never_visited": "从未入户走访",
    "left_behind_with_agreement": "留守儿童已签委托照护协议",
    "left_behind_without_agreement": "留守儿童未签委托照护协议",
    "out_of_school": "失学辍学",
    "no_hukou": "无户籍",
    "unsupervised": "无人监护",
    "parent_contact_overdue": "父母联系逾期",
}
# Fail loudly if indicator_sql gains a count without a Chinese header here.
assert set(COUNT_HEADERS) == set(CHILD_COUNTS), set(CHILD_COUNTS) ^ set(COUNT_HEADERS)
assert set(RISKS) == {"low", "medium", "high"}
STAGE_HEADERS = {
    "reported": "报告·已报告",
    "police_received": "报告·公安已受理",
    "emergency_handled": "报告·已应急处置",
    "assessed": "报告·已评估",
    "intervention": "报告·干预中",
}
assert set(STAGE_HEADERS) == set(indicators.OPEN_STAGES)


def _indicator_columns() -> list[tuple[str, Callable[[indicators.Indicators], Any]]]:
    def count(name: str) -> Callable[[indicators.Indicators], Any]:
        return lambda row: row.counts[name]

    def stage(name: str) -> Callable[[indicators.Indicators], Any]:
        return lambda row: row.reports_open_by_stage[name]

    columns: list[tuple[str, Callable[[indicators.Indicators], Any]]] = [
        (header, count(name)) for name, header in COUNT_HEADERS.items()
    ]
    columns += [
        ("按时走访率（%）", lambda row: row.on_time_pct),
        ("委托照护覆盖率（%）", lambda row: row.agreement_coverage_pct),
        ("未结强制报告", lambda row: row.reports_open),
        *[(header, stage(name)) for name, header in STAGE_HEADERS.items()],
        ("超过时限的报告", lambda row: row.reports_late),
        ("未结报告在本阶段最长天数", lambda row: row.reports_longest_in_stage_days),
        ("补贴申请待乡镇初审", lambda row: row.subsidy_pending_by_status["submitted"]),
        ("补贴申请待县级审批", lambda row: row.subsidy_pending_by_status["township_approved"]),
        ("补贴申请待审合计", lambda row: row.subsidy_applications_pending),
    ]
    return columns


def indicators_xlsx(*, user: User, area: Area) -> tuple[bytes, int]:
    """One row per child area and a total row, every indicator of the dashboard (as of its last
    count): counts, not records about a child, so nothing to audit."""
    content, rows, _as_of = indicators_workbook(user=user, area=area)
    return content, rows


def indicators_workbook(*, user: User, area: Area) -> tuple[bytes, int, datetime | None]:
    """``indicators_xlsx`` and the time its numbers are true of (the dashboard's)."""
    board = indicators.dashboard_for(user=user, area_code=area.code)
    columns = _indicator_columns()
    ledger = _Ledger(
        "统计指标", [("区划", 16), ("区划代码", 14)] + [(h, 10) for h, _get in columns]
    )
    for row in [*board.rows, board.total]:
        name = row.area.name if row.area is not None else row.code
        label = f"{name}（合计）" if row is board.total else name
        ledger.append([label, row.code, *[get(row) for _h, get in columns]])
    info = _info(
        user=user,
        area=area,
        period=None,
        masked="统计数字，不含个人信息。百分比无分母时为空。",
        as_of=("统计时点", board.as_of),
    )
    return ledger.finish(info), ledger.rows, board.as_of


# Township registers (登记表) -----------------------------------------------------------------
# The two registers a township files, in the column order of the usual 农村留守儿童信息登记表 and
# 困境儿童信息登记表 (README, "Township registers"): one row per active file of the area, with its
# parents or guardian, carer and benefits. Read a chunk of children at a time, with one query each
# for their families, agreements in force, benefits and directors.

_REGISTER_HEAD = [
    ("序号", 6),
    ("乡镇（街道）", 14),
    ("村（社区）", 14),
    ("姓名", 10),
    ("性别", 6),
    ("出生日期", 12),
    ("身份证号", 20),
    ("民族", 8),
    ("户籍", 16),
    ("家庭住址", 24),
]
LEFT_BEHIND_COLUMNS = [
    *_REGISTER_HEAD,
    ("就学情况", 22),
    ("健康状况", 16),
    ("留守原因", 24),
    ("父亲姓名", 10),
    ("父亲状况", 10),
    ("父亲外出务工地", 18),
    ("父亲联系电话", 14),
    ("母亲姓名", 10),
    ("母亲状况", 10),
    ("母亲外出务工地", 18),
    ("母亲联系电话", 14),
    ("委托照护人", 10),
    ("与儿童关系", 10),
    ("照护人联系电话", 14),
    ("重点关注", 18),
    ("风险等级", 10),
    ("最近入户走访", 12),
    ("儿童主任", 10),
    ("备注", 16),
]
DIFFICULTY_COLUMNS = [
    *_REGISTER_HEAD,
    ("困境类型", 24),
    ("享受保障", 24),
    ("监护人（照护人）", 12),
    ("与儿童关系", 10),
    ("联系电话", 14),
    ("就学情况", 22),
    ("健康状况", 16),
    ("残疾类别及等级", 14),
    ("风险等级", 10),
    ("最近入户走访", 12),
    ("儿童主任", 10),
    ("备注", 16),
]
LEFT_BEHIND = "left_behind"
DIFFICULTY_CATEGORIES = list(child_rules.DIFFICULTY_CATEGORIES)  # single-parent is not one
_GUARDIAN_ORDER = {"father": 0, "mother": 1, "grandparent": 2, "other": 3}


def register_children(*, user: User, area: Area, left_behind: bool) -> QuerySet[Child]:
    """The active files of the area on a register: left-behind children, or children in
    difficulty (any other category), by township, village and name."""
    children = active_children(user=user, area=area).select_related("village__parent")
    if left_behind:
        return children.filter(categories__contains=[LEFT_BEHIND])
    return children.filter(categories__overlap=DIFFICULTY_CATEGORIES)


@dataclass
class _Around:
    """What a chunk of children's rows need besides the child: by child or household id."""

    family: dict[uuid.UUID, list[FamilyMember]]
    agreements: dict[uuid.UUID, CareAgreement]
    benefits: dict[uuid.UUID, list[str]]
    directors: dict[str, str]


def _around(children: list[Child], *, benefits: bool) -> _Around:
    ids = [child.pk for child in children]
    family: dict[uuid.UUID, list[FamilyMember]] = {}
    members = FamilyMember.objects.filter(household_id__in={c.household_id for c in children})
    for member in members.order_by("created_at", "id"):
        family.setdefault(member.household_id, []).append(member)
    agreements = {
        agreement.child_id: agreement
        for agreement in CareAgreement.objects.filter(
            child_id__in=ids, status=AgreementStatus.ACTIVE
        ).order_by("start_date", "id")
    }
    paid: dict[uuid.UUID, list[str]] = {}
    if benefits:
        names = programme_names()
        in_force = Enrolment.objects.filter(child_id__in=ids, end_month__isnull=True)
        for child_id, programme in in_force.order_by("start_month").values_list(
            "child_id", "programme"
        ):
            paid.setdefault(child_id, []).append(names.get(programme, programme))
    directors: dict[str, list[str]] = {}
    for village_id, name, first, last, username in (
        User.objects.filter(
            role=Role.DIRECTOR, is_active=True, area_id__in={c.village_id for c in children}
        )
        .order_by("date_joined", "id")
        .values_list("area_id", "name", "first_name", "last_name", "username")
    ):
        directors.setdefault(village_id, []).append(name or f"{last}{first}" or username)
    return _Around(family, agreements, paid, {k: "、".join(v) for k, v in directors.items()})


def _chunks(children: QuerySet[Child]) -> Iterator[list[Child]]:
    chunk: list[Child] = []
    for child in children.iterator(chunk_size=CHUNK):
        chunk.append(child)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _schooling(child: Child) -> str:
    school = " ".join(part for part in (child.school_name, child.grade) if part)
    status = child_exports.SCHOOL_ZH[child.school_status]
    return f"{status}（{school}）" if school else status


def _hukou(child: Child) -> str:
    if not child.hukou_registered:
        return "未登记"
    return child.hukou_place or "已登记"


def _register_head(number: int, child: Child, full: bool) -> list[Any]:
    return [
        number,
        _township_name(child.village),
        child.village.name,
        child.name,
        child_exports.GENDER_ZH[child.gender],
        child.birth_date,
        _child_id_number(child, full),
        child.ethnicity,
        _hukou(child),
        child.address,
    ]


def _register_xlsx(*, user: User, area: Area, request, left_behind: bool) -> tuple[bytes, int]:
    kind = "left_behind_register" if left_behind else "difficulty_register"
    title = "农村留守儿童信息登记表" if left_behind else "困境儿童信息登记表"
    ledger = _Ledger(title, LEFT_BEHIND_COLUMNS if left_behind else DIFFICULTY_COLUMNS)
    auditor = _auditor(user=user, request=request, detail=_audit_detail(kind, area, None))
    relations = zh_labels(Relation.choices)
    carers = zh_labels(CaregiverRelation.choices)
    statuses = zh_labels(MemberStatus.choices)
    disabilities = zh_labels(DisabilityType.choices)
    children = register_children(user=user, area=area, left_behind=left_behind)
    for chunk in _chunks(children):
        around = _around(chunk, benefits=not left_behind)
        for child in chunk:
            full = child_selectors.can_see_full_id(user, child)
            family = around.family.get(child.household_id, [])
            agreement = around.agreements.get(child.pk)
            health = child.illness or ("残疾" if child.disability_type else "健康")
            row = _register_head(ledger.rows + 1, child, full)
            if left_behind:
                parents = {m.relation: m for m in family if m.relation in ("father", "mother")}
                row += [_schooling(child), health, "；".join(child.left_behind_reasons)]
                for member in (parents.get("father"), parents.get("mother")):
                    row += (
                        [
                            member.name,
                            statuses.get(member.status, member.status),
                            member.work_place,
                            _phone(user, member.phone, child),
                        ]
                        if member
                        else ["", "", "", ""]
                    )
                row += [
                    agreement.caregiver_name if agreement else "",
                    carers.get(agreement.caregiver_relation, "") if agreement else "",
                    _phone(user, agreement.caregiver_phone, child) if agreement else "",
                    "、".join(child_exports.FLAG_ZH[f] for f in child.focus_flags),
                ]
            else:
                if agreement:
                    guardian = (
                        agreement.caregiver_name,
                        carers.get(agreement.caregiver_relation, ""),
                        agreement.caregiver_phone,
                    )
                else:
                    able = sorted(
                        (m for m in family if m.has_guardian_capacity and m.status == "at_home"),
                        key=lambda m: _GUARDIAN_ORDER.get(m.relation, 9),
                    )
                    first = able[0] if able else None
                    guardian = (
                        (first.name, relations.get(first.relation, ""), first.phone)
                        if first
                        else ("", "", "")
                    )
                row += [
                    "、".join(
                        child_exports.CATEGORY_ZH[c] for c in child.categories if c != LEFT_BEHIND
                    ),
                    "、".join(around.benefits.get(child.pk, [])),
                    guardian[0],
                    guardian[1],
                    _phone(user, guardian[2], child),
                    _schooling(child),
                    health,
                    (
                        f"{disabilities.get(child.disability_type, '')}"
                        f"{f'{child.disability_grade}级' if child.disability_grade else ''}"
                    ),
                ]
            row += [
                child_exports.RISK_ZH[child.risk_level],
                child.last_home_visit_on,
                around.directors.get(child.village_id, ""),
                "",
            ]
            ledger.append(row)
            auditor.add(child.pk, child.village_id)
    auditor.flush()
    info = _info(user=user, area=area, period=None, masked=MASK_NOTE)
    scope_note = "类别含留守儿童的在档儿童" if left_behind else "类别含任一困境儿童类别的在档儿童"
    info.append(("范围", scope_note))
    return ledger.finish(info), ledger.rows


def left_behind_register_xlsx(*, user: User, area: Area, request=None) -> tuple[bytes, int]:
    return _register_xlsx(user=user, area=area, request=request, left_behind=True)


def difficulty_register_xlsx(*, user: User, area: Area, request=None) -> tuple[bytes, int]:
    return _register_xlsx(user=user, area=area, request=request, left_behind=False)


def ledger_xlsx(
    *, kind: str, user: User, area: Area, period: Period, request=None
) -> tuple[bytes, int]:
    """The workbook of one kind (KINDS) and its number of rows."""
    if kind == "children":
        return children_xlsx(user=user, area=area, request=request)
    if kind == "indicators":
        return indicators_xlsx(user=user, area=area)
    if kind == "left_behind_register":
        return left_behind_register_xlsx(user=user, area=area, request=request)
    if kind == "difficulty_register":
        return difficulty_register_xlsx(user=user, area=area, request=request)
    builders = {
        "agreements": agreements_xlsx,
        "visits": visits_xlsx,
        "reports": reports_xlsx,
        "benefits": benefits_xlsx,
    }
    return builders[kind](user=user, area=area, period=period, request=request)


def ledger_filename(*, kind: str, area: Area, period: Period) -> str:
    if kind not in PERIOD_KINDS:
        return f"{kind}-{area.code}-{local_today():%Y%m%d}.xlsx"
    return f"{kind}-{area.code}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"


# --- Hand-over (JSON Lines) -------------------------------------------------------------------

HANDOVER_TYPES = (
    "child",
    "family_member",
    "care_agreement",
    "visit",
    "report",
    "subsidy_application",
    "enrolment",
    "entitlement",
)
HANDOVER_FORMAT = "shouwang-handover"
HANDOVER_VERSION = 1


def _json_default(value: Any) -> Any:
    # Datetimes in local time with their offset, dates ISO, ids as strings, money exact.
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _jsonl(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


def _child_record(child: Child, today: date) -> dict:
    """The API's file (children.api.child_facts) and what a receiving system needs besides."""
    from children.api import child_facts

    return {
        **child_facts(child, today),
        **attributes(
            child,
            "ethnicity hukou_place address school_name grade disability_grade psych_concern"
            " next_assessment_due last_contact_on last_home_visit_on next_contact_due"
            " next_home_visit_due last_parent_contact_on closed_on",
        ),
    }


def _member_record(member: FamilyMember) -> dict:
    from children.api import member_fields

    return {
        **member_fields(member, member.shown_child_id),
        "has_serious_disability": member.has_serious_disability,
        "work_place": member.work_place,
        "employer": member.employer,
        "away_since": member.away_since,
        "evidence_date": member.evidence_date,
        "created_at": member.created_at,
        "updated_at": member.updated_at,
    }


def _agreement_record(agreement: CareAgreement) -> dict:
    """The API's agreement (children.api.agreement_facts), phone numbers masked, and the rest of
    the signed text."""
    from children.api import agreement_facts

    return {
        **agreement_facts(agreement),
        "caregiver_phone_masked": mask_phone(agreement.caregiver_phone),
        "parent_phone_masked": mask_phone(agreement.parent_phone),
        "parent_ids": [str(pk) for pk in agreement.parent_ids],
        **attributes(
            agreement,
            "caregiver_health caregiver_address parent_employer parent_departure_date duties"
            " weekly_contact signed_on filed_on status_changed_on",
        ),
    }


def _visit_record(visit: Visit) -> dict:
    """The API's visit, plus the fields a receiving system needs that the API leaves out."""
    from visits.api import visit_out

    return {
        **visit_out(visit),
        "family_situation": visit.family_situation,
        "health": visit.health,
        "follow_up_note": visit.follow_up_note,
        "visitor_role": visit.visitor_role,
    }


def _report_record(report: MandatoryReport, identity: bool) -> dict:
    from reporting.api import report_handling

    return {
        **report_handling(report, identity=identity, details=True),
        "child_id": _str_or_none(report.child_id),
        "child_name": report.child_name,
        "police_received_at": report.police_received_at,
    }


def _application_record(application: SubsidyApplication) -> dict:
    """The API's application, and who submitted it."""
    from benefits.api import application_out

    return {**application_out(application), "submitted_by": application.submitted_by.username}


def _enrolment_record(enrolment: Enrolment) -> dict:
    """The API's enrolment without its ledger: entitlements are lines of their own."""
    from benefits.api import enrolment_out

    record = enrolment_out(enrolment, [])
    del record["entitlements"]
    return record


def _entitlement_record(row: dict) -> dict:
    return {
        "id": str(row["id"]),
        "enrolment_id": str(row["enrolment_id"]),
        "child_id": str(row["child_id"]),
        "programme": row["programme"],
        "month": row["month"],
        "amount": row["amount"],
        "created_at": row["created_at"],
    }


def _handover_sources(
    *, user: User, area: Area, today: date
) -> list[tuple[str, QuerySet, Callable[[Any], dict]]]:
    """(type, queryset, serialiser) for every record type: one query each, streamed."""
    child_field = "child__village__code"

    def of_children(queryset: QuerySet) -> QuerySet:
        return child_selectors.child_records_in_scope(queryset, user=user).filter(
            scope.subtree_q(area.code, child_field)
        )

    identity = report_selectors.can_see_reporter(user)
    # A household's members once per child of it in the area (siblings share them): one join,
    # filtered and read in the same filter() so the child shown is the child in scope.
    in_area = scope.scope_q(user, "household__children__village__code")
    members = (
        FamilyMember.objects.filter(
            in_area & scope.subtree_q(area.code, "household__children__village__code")
        ).annotate(shown_child_id=F("household__children__id"))
        if in_area is not None
        else FamilyMember.objects.none()
    )
    children = child_selectors.children_in_scope(user=user).filter(
        scope.subtree_q(area.code, "village__code")
    )
    agreements = of_children(CareAgreement.objects.all()).annotate(
        parent_ids=ArrayAgg(
            "parents__id", filter=Q(parents__isnull=False), distinct=True, default=Value([])
        )
    )
    reports = scope.scope_queryset(
        MandatoryReport.objects.select_related("reporter"), user=user, area_field="area__code"
    ).filter(scope.subtree_q(area.code, "area__code"))
    entitlements = (
        scope.scope_queryset(
            Entitlement.objects.all(), user=user, area_field="enrolment__child__village__code"
        )
        .filter(scope.subtree_q(area.code, "enrolment__child__village__code"))
        .values("id", "enrolment_id", "month", "amount", "created_at")
        .annotate(child_id=F("enrolment__child_id"), programme=F("enrolment__programme"))
    )
    return [
        ("child", children.order_by("village_id", "id"), lambda c: _child_record(c, today)),
        ("family_member", members.order_by("id", "shown_child_id"), _member_record),
        ("care_agreement", agreements.order_by("id"), _agreement_record),
        (
            "visit",
            of_children(Visit.objects.select_related("visitor")).order_by("id"),
            _visit_record,
        ),
        ("report", reports.order_by("id"), lambda r: _report_record(r, identity)),
        (
            "subsidy_application",
            of_children(SubsidyApplication.objects.select_related("submitted_by")).order_by("id"),
            _application_record,
        ),
        (
            "enrolment",
            of_children(Enrolment.objects.select_related("ended_by")).order_by("id"),
            _enrolment_record,
        ),
        ("entitlement", entitlements.order_by("id"), _entitlement_record),
    ]


def handover_lines(
    *,
    user: User,
    area: Area,
    request=None,
    counts: dict[str, int] | None = None,
    on_progress: Callable[[int], None] | None = None,
    every: int = 10_000,
) -> Iterator[bytes]:
    """Every record of the area subtree as JSON Lines: a header, one object per record (children
    first, so a reader meets a child before its records), and a footer with the counts, which a
    reader can check to know the file is complete. ID numbers and phones are masked, never
    decrypted. One audit record per child, written in batches as the children stream out.
    The caller checks access first (area_for_export_or_404 with Capability.HANDOVER_EXPORT).
    ``counts`` (a dict) is filled with the records written of each type; ``on_progress(rows)``
    is called every ``every`` records (dashboards.jobs shows it)."""
    today = local_today()
    header = {
        "type": "header",
        "format": HANDOVER_FORMAT,
        "version": HANDOVER_VERSION,
        "area_code": area.code,
        "area_name": area.name,
        "area_level": area.level,
        "generated_at": timezone.now(),
        # What the records are true of: generated_at, or earlier when read from a replica behind.
        "as_of": read_as_of(),
        "generated_by": user.username,
        "id_numbers": "masked",
        "phone_numbers": "masked",
        "types": list(HANDOVER_TYPES),
        "counts": None,  # in the footer: counted as the records stream, so exact
    }
    yield (_jsonl(header) + "\n").encode()
    counts = counts if counts is not None else {}
    counts.update(dict.fromkeys(HANDOVER_TYPES, 0))
    written = 0
    auditor = _auditor(user=user, request=request, detail={"export": "handover"})
    buffer: list[str] = []
    size = 0
    try:
        for kind, queryset, serialise in _handover_sources(user=user, area=area, today=today):
            for obj in queryset.iterator(chunk_size=CHUNK):
                line = _jsonl({"type": kind, **serialise(obj)})
                buffer.append(line)
                size += len(line) + 1
                counts[kind] += 1
                written += 1
                if on_progress is not None and written % every == 0:
                    on_progress(written)
                if kind == "child":
                    auditor.add(obj.pk, obj.village_id)
                if size >= STREAM_BUFFER:
                    yield ("\n".join(buffer) + "\n").encode()
                    buffer, size = [], 0
        footer = {"type": "footer", "counts": counts, "total": sum(counts.values())}
        buffer.append(_jsonl(footer))
        yield ("\n".join(buffer) + "\n").encode()
    finally:
        # Also when the client goes away mid-stream: what was sent is on record.
        auditor.flush()


def handover_filename(area: Area) -> str:
    return f"handover-{area.code}-{local_today():%Y%m%d}.jsonl"
