"""Pages: file a report, the report with its timeline and next actions, the open-report queue."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from accounts import selectors as scope
from accounts.permissions import Capability
from children import selectors as child_selectors
from children import views as child_views
from core.forms import add_service_errors, run_small_form
from core.uploads import private_file_response

from . import intake, rules, selectors, services
from .forms import (
    ACTION_LABELS,
    INTERVENTION_LABELS,
    OUTCOME_LABELS,
    PLAN_LABELS,
    AttachmentForm,
    DetentionCheckForm,
    IntakeReportForm,
    InterventionForm,
    ReportForm,
    TransitionForm,
)
from .models import Source, Stage

CODE = re.compile(r"[0-9]{12}")


@login_required
@require_http_methods(["GET", "POST"])
def report_create(request, child_id=None):
    permissions.require(request.user, Capability.REPORT_FILE)
    child = None
    if child_id is not None:
        child = scope.get_in_scope_or_404(
            child_selectors.Child.objects.select_related("village"),
            user=request.user,
            area_field=child_selectors.CHILD_AREA_FIELD,
            pk=child_id,
        )
    # A reporter may name a child of their area (as POST /api/v1/reports allows) but not read
    # the file: for them nothing of it is shown or pre-filled.
    if child is not None and not permissions.can(request.user, Capability.CHILD_READ):
        shown = None
    else:
        shown = child
    initial = {"discovered_at": timezone.localtime().replace(second=0, microsecond=0)}
    if shown is not None:
        initial["child_name"] = shown.name
        initial["situation"] = request.GET.get("situation", "")
    # The child's township or village, chosen by a reporter placed above it (typed by name or
    # code); a code outside their area is 404 (api.md), as is a child outside it.
    code = request.POST.get("area_code", "").strip() if child is None else ""
    if CODE.fullmatch(code):
        scope.area_for_user_or_404(user=request.user, code=code)
    # The 12355 line and the police: their incident number, and a township they must choose.
    if permissions.can(request.user, Capability.REPORT_INTAKE):
        areas = intake.intake_areas_for(user=request.user) if child is None else None
        form = IntakeReportForm(
            request.POST or None, initial=initial, areas=areas, user=request.user
        )
    else:
        areas = selectors.report_areas_for(user=request.user) if child is None else None
        form = ReportForm(request.POST or None, initial=initial, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        area = data.pop("area_code", None)
        try:
            report = intake.report_submit(user=request.user, child=child, area=area, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if report.parent_detained:
                followed = _(
                    "The report was filed. The child director is asked to check on the "
                    "children within 24 hours."
                )
            elif rules.routed_to_county(report.area.level):
                followed = _("The report was filed. County civil affairs will follow it up.")
            else:
                followed = _("The report was filed. The township supervisor will follow it up.")
            messages.success(request, followed)
            return redirect("reporting:detail", report_id=report.pk)
    return render(request, "reporting/report_form.html", {"form": form, "child": shown})


@login_required
def report_detail(request, report_id):
    report = selectors.report_for_user_or_404(user=request.user, report_id=report_id)
    role = request.user.role
    targets = rules.next_targets(report.stage, role)
    details = selectors.sees_case_details(request.user)
    return render(
        request,
        "reporting/report_detail.html",
        {
            "report": report,
            "transitions": report.transitions.select_related("by"),
            "targets": targets,
            "stage_labels": dict(Stage.choices),
            "form": TransitionForm(),
            "identity": selectors.can_see_reporter(request.user),
            "action_labels": ACTION_LABELS,
            "plan_labels": PLAN_LABELS,
            "intervention_labels": INTERVENTION_LABELS,
            "outcome_labels": OUTCOME_LABELS,
            "details": details,
            "child_name": selectors.child_name_for(request.user, report),
            "attachments": _attachments_for(request.user, report),
            "interventions": report.interventions.select_related("recorded_by") if details else [],
            "attachment_form": AttachmentForm(),
            "intervention_form": InterventionForm(initial={"kind": report.intervention_type}),
            "can_attach": permissions.can(request.user, Capability.REPORT_FILE),
            "can_intervene": report.stage == Stage.INTERVENTION
            and permissions.can(request.user, Capability.REPORT_INTERVENE),
            # Who changed what: the case side, not for a reporter (who sees the stages only).
            "history": selectors.report_history(report=report) if details else [],
            # Intake (reporting.intake): a detained parent's children, checked within 24 hours.
            "source_labels": dict(Source.choices),
            "detention_due": intake.detention_due(report),
            "detention_overdue": intake.detention_overdue(report),
            "detention_check": intake.detention_check_of(report) if details else None,
            "detention_outcomes": intake.DETENTION_OUTCOMES,
            "can_check_detention": intake.may_check(request.user, report),
            "detention_form": DetentionCheckForm(),
        },
    )


def _report_action(
    request, report_id, form_class, run, capability: Capability = Capability.REPORT_READ
) -> HttpResponse:
    """A small form of the report page: ``run(report, cleaned_data)`` once it checks; what the
    form or the service refuses is said as page messages (never dropped in silence), and back to
    the report."""
    report = selectors.report_for_user_or_404(
        user=request.user, report_id=report_id, capability=capability
    )
    run_small_form(request, form_class, lambda data: run(report, data))
    return redirect("reporting:detail", report_id=report.pk)


@login_required
@require_POST
def report_attach(request, report_id):
    return _report_action(
        request,
        report_id,
        AttachmentForm,
        lambda report, data: services.report_attach(
            user=request.user, report=report, upload=data["file"]
        ),
        capability=Capability.REPORT_FILE,
    )


@login_required
def report_attachment(request, report_id, attachment_id):
    from django.http import Http404

    report = selectors.report_for_user_or_404(user=request.user, report_id=report_id)
    attachment = _attachments_for(request.user, report).filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return private_file_response(attachment.file, attachment.content_type)


def _attachments_for(user, report):
    """A reporter sees their own uploads only; the staff's belong to the case's handling."""
    attachments = report.attachments.all()
    if not selectors.sees_case_details(user):
        attachments = attachments.filter(uploaded_by=user)
    return attachments


@login_required
@require_POST
def report_intervene(request, report_id):
    return _report_action(
        request,
        report_id,
        InterventionForm,
        lambda report, data: services.intervention_record(user=request.user, report=report, **data),
    )


def _transition(user, report, data: dict) -> None:
    # What the stage asks for (police receipt, plan, outcome …) only where it was filled in.
    details = {k: v for k, v in data.items() if k not in ("to", "note") and v}
    services.report_transition(
        user=user, report=report, to=data["to"], note=data["note"], **details
    )


@login_required
@require_POST
def report_move(request, report_id):
    return _report_action(
        request,
        report_id,
        TransitionForm,
        lambda report, data: _transition(request.user, report, data),
    )


@login_required
def report_queue(request):
    """Open reports, most urgent first, with how long each has been in its stage."""
    permissions.require(request.user, Capability.REPORT_READ)
    reports = selectors.reports_for(user=request.user)
    show = request.GET.get("show", "open")
    if show == "open":
        reports = reports.exclude(stage=Stage.CLOSED)
    # The dashboards' drill-down: one stage, one area within the user's.
    stage = request.GET.get("stage", "")
    if stage in Stage.values:
        reports = reports.filter(stage=stage)
    area_code = request.GET.get("area", "")
    if area_code:
        area = scope.area_for_user_or_404(user=request.user, code=area_code)
        reports = reports.filter(scope.subtree_q(area.code, "area__code"))
    # The first pages' drill-down: urgent, late, the county's (selectors.QUEUE_FILTERS).
    now = timezone.now()
    filters = [name for name in selectors.QUEUE_FILTERS if request.GET.get(name) == "1"]
    for name in filters:
        reports = reports.filter(selectors.queue_filter_q(name, now))
    total = reports.count()
    kept = {"stage": stage, "area": area_code, **dict.fromkeys(filters, "1")}
    rows = selectors.report_queue_rows(user=request.user, reports=reports)
    return render(
        request,
        "reporting/report_queue.html",
        {
            "rows": rows,
            "show": show,
            "total": total,
            "stage": stage,
            "area": area_code,
            "filters": filters,
            # The page's query without ``show`` (the open/closed switch keeps the rest).
            "kept_query": urlencode({name: value for name, value in kept.items() if value}),
            "details": selectors.sees_case_details(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_child_create(request: HttpRequest, report_id) -> HttpResponse:
    """Create the file of the child a report names; the report is linked to it."""
    report = selectors.report_for_user_or_404(user=request.user, report_id=report_id)
    permissions.require(request.user, Capability.CHILD_WRITE)
    return child_views.child_create_page(
        request,
        create=lambda **values: services.report_create_child(report=report, **values),
        initial={"name": report.child_name},
        context={"report": report},
    )


@login_required
@require_POST
def report_detention_check(request, report_id):
    """The children of a detained parent were checked on (reporting.intake)."""
    return _report_action(
        request,
        report_id,
        DetentionCheckForm,
        lambda report, data: intake.detention_check_record(
            user=request.user, report=report, **data
        ),
        capability=Capability.VISIT_RECORD,
    )
