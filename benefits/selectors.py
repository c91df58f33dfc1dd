"""Reads of benefits, always through the user's scope (the child file's selectors): a child's
benefits and applications, the queues, the standard in force, and the benefits' part of the
child's page and timeline (registered in apps.py, see children/extensions.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.http import HttpRequest
from django.utils.translation import gettext

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import User
from accounts.permissions import Capability
from accounts.services import policies_for
from children.models import Child, FamilyMember
from children.selectors import (
    CHILD_RECORD_AREA_FIELD,
    TimelineEntry,
    child_record_or_404,
    child_records_in_scope,
)
from core import clock
from core.compiled import Read
from core.text import labelled

from . import rules
from .models import (
    ApplicationStatus,
    Enrolment,
    Entitlement,
    EvidenceRequirement,
    NoticeObjection,
    PublicNotice,
    SubsidyApplication,
    SubsidyDecision,
    SubsidyEvidence,
)

# Applications the child's page lists: under review, or returned for more evidence.
OPEN_OR_RETURNED = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.TOWNSHIP_APPROVED,
    ApplicationStatus.RETURNED,
)


def enrolments_for(child: Child) -> list:
    """The child's benefits, newest first, each with its ledger (two queries)."""
    return list(
        child.enrolments.select_related("application", "ended_by")
        .prefetch_related(Prefetch("entitlements", queryset=Entitlement.objects.order_by("-month")))
        .annotate(total_paid=Sum("entitlements__amount"))
        .order_by("-start_month")
    )


def applications_for(child: Child) -> list:
    return list(
        child.subsidy_applications.select_related("submitted_by")
        .annotate(evidence_count=Count("evidence"))
        .order_by("-submitted_at")
    )


def application_for_user_or_404(
    *, user: User, application_id: Any, capability: Capability = Capability.CHILD_READ
):
    """404 outside the user's area, then 403 for a role that may not read child files (a
    reporter's area covers the village, but an application is part of the child's file)."""
    application = child_record_or_404(
        SubsidyApplication.objects.select_related(
            "child", "child__village", "submitted_by", "public_notice"
        ),
        user=user,
        pk=application_id,
    )
    permissions.require(user, capability)
    return application


def objection_for_user_or_404(*, user: User, application_id: Any, objection_id: Any):
    """An objection to an application's public notice, found as the application is (404 outside
    the user's area, 403 for a role that may not read files)."""
    objection = scope.get_in_scope_or_404(
        NoticeObjection.objects.select_related("notice__application__child"),
        user=user,
        area_field="notice__application__child__village__code",
        pk=objection_id,
        notice__application_id=application_id,
    )
    permissions.require(user, Capability.CHILD_READ)
    return objection


def public_notice_of(application) -> PublicNotice | None:
    """The application's public notice (低保 and 特困 after the township's approval), or None."""
    return getattr(application, "public_notice", None)


def notice_ends_on(application) -> date | None:
    """The last day of the application's public notice, or None without one."""
    notice = public_notice_of(application)
    return notice.ends_on if notice is not None else None


def enrolment_for_user_or_404(
    *, user: User, enrolment_id: Any, capability: Capability = Capability.CHILD_READ
):
    """As application_for_user_or_404: found in area, then refused to roles without file access."""
    enrolment = child_record_or_404(
        Enrolment.objects.select_related("child", "application"), user=user, pk=enrolment_id
    )
    permissions.require(user, capability)
    return enrolment


def evidence_for_user_or_404(*, user: User, evidence_id: Any):
    return scope.get_in_scope_or_404(
        SubsidyEvidence.objects.select_related("application__child"),
        user=user,
        area_field="application__child__village__code",
        pk=evidence_id,
    )


def subsidy_queue_for(*, user: User, statuses: Iterable[str], area_code: str = "") -> QuerySet:
    """Applications in these statuses in the user's area (or the given area within it), oldest
    first, with child, village and submitter loaded (one query)."""
    queryset = child_records_in_scope(
        SubsidyApplication.objects.select_related(
            "child", "child__village", "submitted_by", "public_notice"
        ),
        user=user,
    ).filter(status__in=list(statuses))
    if area_code:
        area = scope.area_for_user_or_404(user=user, code=area_code)
        queryset = queryset.filter(scope.subtree_q(area.code, CHILD_RECORD_AREA_FIELD))
    return queryset.order_by("township_approved_on", "submitted_at")


def subsidy_timeline_entries(*, child: Child) -> list[TimelineEntry]:
    """Benefit applications, decisions, reviews and exits as entries of the file's timeline."""
    verbs = {
        "submit": gettext("Benefit application submitted"),
        "resubmit": gettext("Benefit application resubmitted"),
        "return": gettext("Benefit application returned"),
        "reject": gettext("Benefit application refused"),
        "review": gettext("Benefit reviewed: continues"),
        "exit": gettext("Benefit ended"),
    }
    entries = []
    decisions = (
        SubsidyDecision.objects.filter(application__child=child)
        .select_related("by", "application")
        .order_by("-at")[:200]
    )
    for decision in decisions:
        programme = rules.PROGRAMMES[decision.application.programme].name
        if decision.decision == "approve":
            verb = (
                gettext("Township review passed")
                if decision.to_status == ApplicationStatus.TOWNSHIP_APPROVED
                else gettext("County approved: benefit granted")
            )
        else:
            verb = verbs.get(decision.decision, decision.decision)
        changes = [(gettext("Reason"), "", decision.note)] if decision.note else []
        entries.append(
            TimelineEntry(
                decision.at, decision.by.display_name, labelled(verb, programme), changes, "benefit"
            )
        )
    return entries


# The standard in force for a child's village and a month: county over city over province, then
# the latest month. Used by the ledger and the standards page alike.
STANDARD_IN_FORCE_SQL = """
    SELECT st.id, st.amount FROM children_subsidystandard st
    WHERE st.programme = {programme} AND st.effective_month <= {month}
      AND st.area_id IN (left({village}, 6) || '000000', left({village}, 4) || '00000000',
                         left({village}, 2) || '0000000000')
    ORDER BY length(rtrim(st.area_id, '0')) DESC, st.effective_month DESC
    LIMIT 1
"""


def standard_in_force(*, village_code: str, programme: str, month: date):
    """The amount (yuan) a child of this village gets for ``month``, or None if none is set."""
    sql = STANDARD_IN_FORCE_SQL.format(programme="%s", month="%s", village="%s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [programme, month.replace(day=1), *[village_code] * 3])
        row = cursor.fetchone()
    return row[1] if row else None


# --- The child's page (children/extensions.py) ------------------------------------------------


@dataclass(frozen=True)
class PanelRow:
    """A line of the benefits' part of the child's page: a benefit in force (with its latest
    month's entitlement) or an application under review or returned."""

    pk: Any
    programme: str
    start_month: date | None = None
    last_month: date | None = None
    last_amount: Any = None
    status: str = ""

    @property
    def programme_name(self) -> str:
        return rules.programme_name(self.programme)

    def get_status_display(self) -> str:
        return str(ApplicationStatus(self.status).label) if self.status else ""


def child_page_context(request: HttpRequest, child: Child, today: date) -> Read[dict]:
    """The benefits' part of the child's page (templates/benefits/_child_benefits.html): the
    benefits in force, newest first, and the applications under review or returned, newest
    first — one statement for both, sent with the page's others (children.extensions)."""

    def parts(rows: list[tuple], _columns: Any) -> dict:
        found: tuple[list[PanelRow], list[PanelRow]] = ([], [])
        for part, _newest, pk, *values in rows:
            found[part].append(PanelRow(pk, *values))
        return {"enrolments": found[0], "open_applications": found[1]}

    return Read(
        _CHILD_PANEL_SQL,
        {"child": child.pk, "open": [str(status) for status in OPEN_OR_RETURNED]},
        DEFAULT_DB_ALIAS,
        parts,
        prepared=True,  # one child's rows: a plan that does not depend on which child
    )


_CHILD_PANEL_SQL = f"""
    SELECT 0 AS part, e.start_month::timestamptz AS newest, e.id::text, e.programme,
           e.start_month, last.month, last.amount, ''
    FROM {Enrolment._meta.db_table} e
    LEFT JOIN LATERAL (
        SELECT month, amount FROM {Entitlement._meta.db_table}
        WHERE enrolment_id = e.id ORDER BY month DESC LIMIT 1
    ) last ON true
    WHERE e.child_id = %(child)s AND e.end_month IS NULL
    UNION ALL
    SELECT 1, a.submitted_at, a.id::text, a.programme, NULL, NULL, NULL, a.status
    FROM {SubsidyApplication._meta.db_table} a
    WHERE a.child_id = %(child)s AND a.status = ANY(%(open)s)
    ORDER BY part, newest DESC
"""


def child_timeline_entries(child: Child) -> list[TimelineEntry]:
    return subsidy_timeline_entries(child=child)


# --- Review queue: deadlines and lateness (benefits.rules) -------------------------------------


def _policy_of(applications: list) -> dict[str, dict[str, int]]:
    return policies_for({a.child.village_id for a in applications})


def _deadline(application, policy: dict[str, int]) -> date:
    return rules.review_deadline(
        status=application.status,
        submitted_on=application.submitted_at.date(),
        township_approved_on=application.township_approved_on,
        notice_ends_on=notice_ends_on(application),
        policy=policy,
    )


def review_deadline_of(application) -> date:
    """The date the level now deciding ``application`` must decide by."""
    return _deadline(application, _policy_of([application])[application.child.village_id])


def subsidy_queue_rows(*, user: User, applications: Iterable) -> list[dict[str, Any]]:
    """Queue rows: each application with its programme, days waiting at this level, deadline,
    lateness and a public notice still running; ``own`` marks the user's own submissions."""
    applications = list(applications)
    policies = _policy_of(applications)
    today = clock.today()
    rows = []
    for application in applications:
        deadline = _deadline(application, policies[application.child.village_id])
        since = rules.waiting_since(
            status=application.status,
            submitted_on=application.submitted_at.date(),
            township_approved_on=application.township_approved_on,
        )
        rows.append(
            {
                "application": application,
                "programme": rules.PROGRAMMES[application.programme],
                "waiting_days": (today - since).days,
                "deadline": deadline,
                "late": deadline < today,
                "notice_ends": rules.notice_still_running(
                    status=application.status,
                    notice_ends_on=notice_ends_on(application),
                    today=today,
                ),
                "own": application.submitted_by_id == user.pk,
            }
        )
    return rows


def decision_message(application: SubsidyApplication) -> str:
    """What a decision did, for whom (issue 17): 「已审批：王晨曦 教育资助，2027-01起发放」."""
    values = {
        "name": application.child.name,
        "programme": rules.PROGRAMMES[application.programme].name,
    }
    status = application.status
    if status == ApplicationStatus.APPROVED:
        enrolment = Enrolment.objects.filter(application=application).first()
        if enrolment is not None:
            return gettext("Approved: %(name)s, %(programme)s, paid from %(month)s") % {
                **values,
                "month": enrolment.start_month.strftime("%Y-%m"),
            }
        return gettext("Approved: %(name)s, %(programme)s") % values
    text = {
        ApplicationStatus.TOWNSHIP_APPROVED: gettext(
            "Approved by the township: %(name)s, %(programme)s; the county decides next"
        ),
        ApplicationStatus.RETURNED: gettext("Returned for more evidence: %(name)s, %(programme)s"),
        ApplicationStatus.REJECTED: gettext("Rejected: %(name)s, %(programme)s"),
    }.get(status, gettext("Saved: %(name)s, %(programme)s"))
    return text % values


# --- Documents each programme needs (api.md EVIDENCE KIND) --------------------------------------


def evidence_requirements(area_code: str) -> dict[str, rules.Requirement]:
    """Every programme's required documents in an area (a village's children): those set by the
    nearest of the area and the province, city or county above it (EvidenceRequirement), else
    the defaults. One query."""
    ancestors = [area_code, *area_rules.ancestor_codes(area_code)]
    nearest: dict[str, list[str]] = {}
    rows = EvidenceRequirement.objects.filter(area_id__in=ancestors).values_list(
        "area_id", "programme", "kinds"
    )
    # Farthest first, so that a nearer area's choice overwrites it.
    for _area, programme, kinds in sorted(rows, key=lambda row: -ancestors.index(row[0])):
        nearest[programme] = kinds
    return {code: rules.requirement_for(code, nearest.get(code)) for code in rules.PROGRAMMES}


@dataclass(frozen=True)
class DocumentCheck:
    """What an application needs, has and lacks, for its review page, the API and the gate."""

    required: str  # e.g. "父亲、母亲各一份：死亡证明或人民法院宣告失踪判决书"; "" when none
    missing: list[str]
    parents: list[Any]  # the father's and mother's records with a document on their status
    suggested_kind: str  # the kind the upload form offers first


def document_check(application: SubsidyApplication) -> DocumentCheck:
    """The application's documents against its programme's requirement: those uploaded to it,
    and the proof on each parent's status (children.FamilyMember evidence)."""
    requirement = evidence_requirements(application.child.village_id)[application.programme]
    parents = list(
        FamilyMember.objects.filter(
            household_id=application.child.household_id,
            relation__in=("father", "mother"),
        ).exclude(evidence="")
    )
    missing = rules.missing_documents(
        requirement,
        application_kinds=application.evidence.values_list("kind", flat=True),
        parent_kinds={p.relation: p.evidence_kind for p in parents},
    )
    required = ""
    if requirement.kinds:
        required = rules.kinds_text(requirement.kinds)
        if requirement.per_parent:
            required = labelled(gettext("One for each parent"), required)
    return DocumentCheck(
        required=required,
        missing=missing,
        parents=parents,
        suggested_kind=requirement.kinds[0] if requirement.kinds else "other",
    )
