"""Statistics exports of an area (issue 8): the downloads page, the 台账 workbooks, the printable
yearly progress report and the JSON Lines hand-over. Thin: access, parameters, response."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.permissions import Capability

from . import exports
from . import progress_report as progress

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
            "ledgers": LEDGERS,
            "years": progress.year_choices(),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
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
    content, _rows = exports.ledger_xlsx(
        kind=kind, user=request.user, area=area, period=period, request=request
    )
    return _attachment(
        HttpResponse(content, content_type=XLSX),
        exports.ledger_filename(kind=kind, area=area, period=period),
    )


@login_required
@require_GET
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
def handover(request: HttpRequest, code: str) -> StreamingHttpResponse:
    # Access is checked before the first byte: a streamed body cannot turn into a 403 later.
    area = exports.area_for_export_or_404(
        user=request.user, code=code, capability=Capability.HANDOVER_EXPORT
    )
    response = StreamingHttpResponse(
        exports.handover_lines(user=request.user, area=area, request=request),
        content_type="application/x-ndjson; charset=utf-8",
    )
    return _attachment(response, exports.handover_filename(area))
