"""Directors' performance page (issue 8): the supervisor's table of child directors, worst
on-time rate first, with a server-drawn SVG sparkline of each director's visits per month. Read
from the replica when there is one, as the dashboard is (core.replica)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core import replica

from . import performance

SPARK_BAR = 6  # SVG units per month: a 4-unit bar and a 2-unit gap
SPARK_HEIGHT = 20
SPARK_PX = 1.6  # screen pixels per SVG unit
PERIOD_CHOICES = (3, 6, 12)


def sparkline(months: list[performance.MonthVisits], scale: int) -> dict:
    """Stacked bars (home visits at the bottom, other contacts above) on the page's common scale,
    so that directors can be compared at a glance."""
    scale = scale or 1
    bars = []
    for index, month in enumerate(months):
        home = SPARK_HEIGHT * month.home / scale
        other = SPARK_HEIGHT * month.other / scale
        bars.append(
            {
                "month": month,
                "x": index * SPARK_BAR + 1,
                "home_y": round(SPARK_HEIGHT - home, 2),
                "home_h": round(home, 2),
                "other_y": round(SPARK_HEIGHT - home - other, 2),
                "other_h": round(other, 2),
            }
        )
    width = len(months) * SPARK_BAR
    return {
        "bars": bars,
        "width": width,
        "height": SPARK_HEIGHT,
        "px_width": round(width * SPARK_PX),
        "px_height": round(SPARK_HEIGHT * SPARK_PX),
    }


@login_required
@require_GET
@replica.reads_from_replica
def directors(request: HttpRequest, code: str) -> HttpResponse:
    months = performance.parse_months(request.GET.get("months"))
    report = performance.director_performance_for(
        user=request.user, area_code=code, months=months, page_number=request.GET.get("page")
    )
    scale = report.busiest_month
    for group in report.groups:
        for row in group.rows:
            row.spark = sparkline(row.months, scale)
    response = render(
        request,
        "dashboards/directors.html",
        {
            "report": report,
            "area": report.area,
            "months": months,
            "period_choices": sorted({*PERIOD_CHOICES, months}),
            "page": report.page,
            "scale": scale,
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
