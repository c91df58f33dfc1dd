"""Reads of mandatory reports. A reporter sees only the reports they filed; everyone else their
area's reports; reporters' identity only for supervisors and civil affairs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from children.selectors import TimelineEntry, history_authors, record_history
from core.text import labelled

from . import deadlines
from .forms import ACTION_LABELS, INTERVENTION_LABELS, OUTCOME_LABELS, PLAN_LABELS
from .models import Intervention, InterventionEvent, MandatoryReport, MandatoryReportEvent, Stage


def reports_for(*, user: User) -> QuerySet[MandatoryReport]:
    queryset = MandatoryReport.objects.select_related("reporter", "area", "child")
    # A reporter's scope is the reports they filed, wherever the child lives (not their area).
    if permissions.can(user, Capability.REPORT_READ_OWN_ONLY):
        return queryset.filter(reporter=user)
    return scope.scope_queryset(queryset, user=user, area_field="area__code")


def report_areas_for(*, user: User) -> QuerySet[Area]:
    """The areas below the user's own that a report may be filed under (the child's county,
    township or village), current ones only; none for a user placed at a village."""
    if user.area_id is None:
        return Area.objects.none()
    today = timezone.localdate()
    return (
        scope.areas_for_user(user=user)
        .filter(level__in=("county", "township", "village"))
        .exclude(code=user.area_id)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("parent")
        .order_by("code")
    )


def report_for_user_or_404(
    *, user: User, report_id, capability: Capability = Capability.REPORT_READ
) -> MandatoryReport:
    """404 unless the report is the user's to see; then 403 if the role may not do this."""
    try:
        report = reports_for(user=user).get(pk=report_id)
    except (MandatoryReport.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc
    permissions.require(user, capability)
    return report


def sees_case_details(user: User) -> bool:
    """Everyone but a reporter. A reporter (a teacher, a doctor) sees of their own reports only
    what they typed and the progress (stages and when): not the child's file (its name, village
    or id), nor the staff's notes, actions, interventions or attachments."""
    return permissions.can(user, Capability.REPORT_READ_DETAILS)


def child_name_for(user: User, report: MandatoryReport) -> str:
    """The child's name as ``user`` may see it. Linking a file stores the file's name, so for a
    reporter the stored name is what they typed only while no file is linked."""
    if sees_case_details(user) or report.child_id is None:
        return report.child_name
    return ""


def can_see_reporter(user: User) -> bool:
    return permissions.can(user, Capability.REPORT_READ_IDENTITY)


QUEUE_LIMIT = 200


def report_queue_rows(
    *, user: User, reports: QuerySet[MandatoryReport], limit: int = QUEUE_LIMIT
) -> list[dict]:
    """The first rows of a report queue, most urgent first (dangers to life and body, then the
    longest in their stage), each with its days in the stage and whether it is late."""
    now = timezone.now()
    ordered = reports.annotate(
        urgent=Case(
            When(situation__in=deadlines.URGENT_SITUATIONS, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        # The dashboards' "longest in its stage" is the maximum of this same SQL.
        days_in_stage=RawSQL(
            deadlines.days_in_stage_sql(f"{MandatoryReport._meta.db_table}.", "%s"),
            [now],
            output_field=IntegerField(),
        ),
    ).order_by("urgent", "stage_changed_at")[:limit]
    return [
        {
            "report": report,
            "child_name": child_name_for(user, report),
            "days_in_stage": report.days_in_stage,
            "late": deadlines.is_late(report.stage, report.stage_changed_at, now),
        }
        for report in ordered
    ]


# The queue's filters, which the first pages' numbers link to (``?urgent=1``, ``?late=1``,
# ``?county=1``): dangers to life and body; past the current stage's time limit; the county's —
# filed at county level (rules.routed_to_county) or still open past the county's deadline.
QUEUE_FILTERS = ("urgent", "late", "county")


def queue_filter_q(name: str, now) -> Q:
    """The condition of one of QUEUE_FILTERS on a queryset of reports, at ``now``."""
    r = f"{MandatoryReport._meta.db_table}."
    if name == "urgent":
        return Q(situation__in=deadlines.URGENT_SITUATIONS)
    if name == "late":
        sql, params = deadlines.late_sql(r, "%s"), [now]
    elif name == "county":
        sql = f"({deadlines.routed_to_county_sql(r)} OR {deadlines.county_due_sql(r)} < %s)"
        params = [now]
    else:
        raise ValueError(name)
    return Q(RawSQL(sql, params, output_field=BooleanField()))


def open_reports_for(*, user: User, filters: tuple[str, ...] = ()) -> QuerySet[MandatoryReport]:
    """The user's open reports passing every one of ``filters`` (the queue's filters)."""
    now = timezone.now()
    reports = reports_for(user=user).exclude(stage=Stage.CLOSED)
    for name in filters:
        reports = reports.filter(queue_filter_q(name, now))
    return reports


def open_report_counts(
    *, user: User, filters: tuple[str, ...] = (), names: tuple[str, ...] = ()
) -> dict[str, int]:
    """How many of the user's open reports pass ``filters`` (``total``), and how many of those
    pass each of ``names`` besides, in one query."""
    now = timezone.now()
    return open_reports_for(user=user, filters=filters).aggregate(
        total=Count("id"),
        **{name: Count("id", filter=queue_filter_q(name, now)) for name in names},
    )


# --- History ---------------------------------------------------------------------------------

# Left out of a report's history: bookkeeping, what the entry's own who and when say, and the
# reporter (whose identity the page shows only to those who may see it).
REPORT_HIDDEN = {"id", "reporter", "filed_at", "police_received_at"}
INTERVENTION_HIDDEN = {"id", "report", "recorded_by", "created_at"}
# Codes kept without choices on the model, shown with the report page's labels.
HISTORY_LABELS = {
    "emergency_actions": ACTION_LABELS,
    "service_plan": PLAN_LABELS,
    "intervention_type": INTERVENTION_LABELS,
    "outcome": OUTCOME_LABELS,
    "kind": INTERVENTION_LABELS,
}


def _describe_report(event: dict, previous: dict | None, changes: list) -> tuple[str, str]:
    if previous is None:
        return _("Report filed"), "report"
    if event["stage"] != previous["stage"]:
        return _("Stage changed"), "report-stage"
    return _("Report changed"), "report"


def _describe_intervention(event: dict, previous: dict | None, changes: list) -> tuple[str, str]:
    kind = str(INTERVENTION_LABELS.get(event["kind"], event["kind"]))
    title = _("Intervention recorded") if previous is None else _("Intervention changed")
    return labelled(title, kind), "intervention"


def report_history(*, report: MandatoryReport) -> list[TimelineEntry]:
    """Who changed what of the report and its interventions and when, before → after, newest
    first. For the report page's case side (selectors.sees_case_details): a reporter sees the
    stages only."""
    report_events = list(
        MandatoryReportEvent.objects.filter(pgh_obj_id=report.pk).order_by("pgh_id").values()
    )
    intervention_events = list(
        InterventionEvent.objects.filter(report_id=report.pk).order_by("pgh_id").values()
    )
    authors = history_authors(e["pgh_context_id"] for e in report_events + intervention_events)
    entries = record_history(
        MandatoryReport,
        MandatoryReportEvent,
        report_events,
        describe=_describe_report,
        hidden=REPORT_HIDDEN,
        choices=HISTORY_LABELS,
        creation_changes=False,
        authors=authors,
    )
    entries += record_history(
        Intervention,
        InterventionEvent,
        intervention_events,
        describe=_describe_intervention,
        hidden=INTERVENTION_HIDDEN,
        choices=HISTORY_LABELS,
        authors=authors,
    )
    # Oldest first, then turned: changes made at one time (one transaction) keep their order.
    entries.sort(key=lambda entry: entry.at)
    return entries[::-1]
