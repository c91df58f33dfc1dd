"""Statistics exports of an area (issue 8): the downloads page, the 台账 workbooks, the printable
yearly progress report and the JSON Lines hand-over. Thin: access, parameters, response."""

from __future__ import annotations

import base64
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.permissions import Capability
from core import replica

from . import exports, jobs
from . import progress_report as progress
from .models import ExportStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The downloads page, in the order shown: (kind, title, what it holds, whether the period applies).
LEDGERS = (
    (
        "children",
        gettext_lazy("Children"),
        gettext_lazy("Every active file today, as the child list's export."),
        False,
    ),
    (
        "left_behind_register",
        gettext_lazy("Left-behind children register"),
        gettext_lazy(
            "The left-behind children's register form: every left-behind child with parents, "
            "carer and director, in the form's column order."
        ),
        False,
    ),
    (
        "difficulty_register",
        gettext_lazy("Children in difficulty register"),
        gettext_lazy(
            "The children in difficulty register form: every child in difficulty with guardian, "
            "benefits and director, in the form's column order."
        ),
        False,
    ),
    (
        "agreements",
        gettext_lazy("Care agreements"),
        gettext_lazy("Agreements in force on at least one day of the period."),
        True,
    ),
    (
        "visits",
        gettext_lazy("Visits"),
        gettext_lazy("Home visits and other contacts dated in the period, with their findings."),
        True,
    ),
    (
        "reports",
        gettext_lazy("Mandatory reports"),
        gettext_lazy("Reports filed in the period and the stage each has reached."),
        True,
    ),
    (
        "benefits",
        gettext_lazy("Benefits"),
        gettext_lazy("Applications submitted in the period: status, enrolment and amounts paid."),
        True,
    ),
    (
        "indicators",
        gettext_lazy("Indicators"),
        gettext_lazy("Every dashboard number, one row per area below and a total row."),
        False,
    ),
)
assert tuple(kind for kind, *_rest in LEDGERS) == exports.KINDS
assert {kind for kind, _title, _help, uses_period in LEDGERS if uses_period} == exports.PERIOD_KINDS


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def exports_page(request: HttpRequest, code: str) -> HttpResponse:
    area = exports.area_for_export_or_404(user=request.user, code=code)
    period, errors = exports.parse_period(request.GET)
    response = render(
        request,
        "dashboards/exports.html",
        {
            "area": area,
            "period": period,
            "period_errors": errors,
            "period_query": f"from={period.start:%Y-%m-%d}&to={period.end:%Y-%m-%d}",
            "ledgers": [
                (kind, title, help, uses_period, jobs.runs_in_background(kind=kind, area=area))
                for kind, title, help, uses_period in LEDGERS
            ],
            "years": progress.year_choices(),
            "jobs": jobs.export_jobs_for(user=request.user, area=area),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@replica.reads_from_replica
def export_xlsx(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    if kind not in exports.KINDS:
        raise Http404
    area = exports.area_for_export_or_404(user=request.user, code=code)
    period, errors = exports.parse_period(request.GET)
    if errors:
        return HttpResponse(
            _(
                "Give the period as from=YYYY-MM-DD&to=YYYY-MM-DD, from not after to, "
                "in the years 2000 to 2100."
            ),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if jobs.runs_in_background(kind=kind, area=area):
        messages.info(
            request,
            _("The ledgers of a city or a province are prepared in the background: use Prepare."),
        )
        return redirect("dashboard:exports", code=area.code)
    content, _rows = exports.ledger_xlsx(
        kind=kind, user=request.user, area=area, period=period, request=request
    )
    return _attachment(
        HttpResponse(content, content_type=XLSX),
        exports.ledger_filename(kind=kind, area=area, period=period),
    )


@login_required
@require_GET
@replica.reads_from_replica
def progress_report(request: HttpRequest, code: str) -> HttpResponse:
    area = exports.area_for_export_or_404(user=request.user, code=code)
    year = progress.parse_year(request.GET.get("year"))
    report = progress.progress_report_for(user=request.user, area=area, year=year)
    response = render(
        request,
        "dashboards/progress_report.html",
        {
            "area": area,
            "report": report,
            "total": report.total,
            "board_as_of": report.board.as_of,
            "years": progress.year_choices(report.today),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def handover(request: HttpRequest, code: str) -> HttpResponse:
    """The hand-over's old address: it is prepared in the background now (dashboards.jobs), so
    no server timeout can cut it. Access is checked as for preparing it."""
    area = exports.area_for_export_or_404(
        user=request.user, code=code, capability=Capability.HANDOVER_EXPORT
    )
    return redirect(reverse("dashboard:exports", args=[area.code]) + "#handover-heading")


@login_required
@require_POST
def export_job_start(request: HttpRequest, code: str) -> HttpResponse:
    kind = request.POST.get("kind", "")
    if kind not in jobs.JOB_KINDS:
        raise Http404
    area = exports.area_for_export_or_404(
        user=request.user, code=code, capability=jobs.capability_for(kind)
    )
    period, errors = exports.parse_period(
        {"from": request.POST.get("from", ""), "to": request.POST.get("to", "")}
    )
    if errors and kind in exports.PERIOD_KINDS:
        messages.error(request, _("The dates could not be used: choose the period again."))
        return redirect("dashboard:exports", code=area.code)
    job = jobs.export_job_start(user=request.user, area=area, kind=kind, period=period)
    return redirect("dashboard:export_job", code=area.code, job_id=job.pk)


def _job(request: HttpRequest, code: str, job_id) -> tuple:
    area = exports.area_for_export_or_404(user=request.user, code=code)
    job = jobs.export_job_for_user_or_404(user=request.user, area=area, job_id=job_id)
    permissions.require(request.user, jobs.capability_for(job.kind))
    return area, job


@login_required
@require_GET
def export_job(request: HttpRequest, code: str, job_id) -> HttpResponse:
    area, job = _job(request, code, job_id)
    titles = {kind: title for kind, title, *_rest in LEDGERS}
    response = render(
        request,
        "dashboards/export_job.html",
        {
            "area": area,
            "job": job,
            "title": titles.get(job.kind, _("Hand-over file")),
            "working": job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING),
            "kept_until": job.finished_at + timedelta(days=jobs.KEEP_DAYS)
            if job.finished_at
            else None,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def export_job_file(request: HttpRequest, code: str, job_id) -> HttpResponse:
    """The ready file with its length, row count and checksum (RFC 9530 Repr-Digest), so that a
    download cut short is an error the client sees."""
    _area, job = _job(request, code, job_id)
    content = jobs.export_job_download(user=request.user, job=job, request=request)
    if content is None:
        raise Http404
    response = FileResponse(content, content_type=jobs.content_type(job))
    response["Content-Length"] = str(job.size)
    response["X-Row-Count"] = str(job.row_count)
    response["X-Checksum-SHA256"] = job.checksum
    digest = base64.b64encode(bytes.fromhex(job.checksum)).decode()
    response["Repr-Digest"] = f"sha-256=:{digest}:"
    return _attachment(response, job.filename)
