"""Dashboards (domain §8): indicator cards, a breakdown by child area with 赋色 risk counts, and
server-drawn SVG charts, for a township, a county or above. Every number links to its list."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import rules as area_rules
from accounts.models import Area, Role, User
from children.models import Category
from core import replica
from reporting.models import Stage

from . import indicators, network
from .indicator_sql import CATEGORIES

BAR_WIDTH = 100  # SVG viewBox units for the longest bar


def _children_url(area_code: str, **filters: str) -> str:
    # The numbers count children under 18 (indicator_sql): so do the lists behind them.
    query = urlencode({"area": area_code, **filters, "under_18": "1"})
    return f"{reverse('children:list')}?{query}"


def drill_links(area_code: str) -> dict[str, str]:
    """The list behind every number of an area: the same conditions as indicator_sql."""
    links = {
        "children_total": _children_url(area_code),
        "key_children": _children_url(area_code, key="1"),
        "home_visits_overdue": _children_url(area_code, visit_status="overdue"),
        "contacts_overdue": _children_url(area_code, contact="overdue"),
        "never_visited": _children_url(area_code, home_visit="never"),
        "left_behind_without_agreement": _children_url(
            area_code, category="left_behind", agreement="none"
        ),
        "out_of_school": _children_url(area_code, flag="out_of_school"),
        "no_hukou": _children_url(area_code, flag="no_hukou"),
        "unsupervised": _children_url(area_code, flag="unsupervised"),
        "parent_contact_overdue": _children_url(area_code, flag="parent_contact_overdue"),
        "reports_open": f"{reverse('reporting:queue')}?{urlencode({'area': area_code})}",
        "subsidy_applications_pending": (
            f"{reverse('benefits:subsidy_queue')}?"
            f"{urlencode({'status': 'pending', 'area': area_code})}"
        ),
        "return_to_school_open": (
            f"{reverse('children:return_cases')}?{urlencode({'status': 'open', 'area': area_code})}"
        ),
    }
    for code in CATEGORIES:
        links[f"category_{code}"] = _children_url(area_code, category=code)
    for code in ("low", "medium", "high"):
        links[f"risk_{code}"] = _children_url(area_code, risk=code)
    for stage in indicators.OPEN_STAGES:
        links[f"stage_{stage}"] = (
            f"{reverse('reporting:queue')}?{urlencode({'area': area_code, 'stage': stage})}"
        )
    return links


def _risk_bars(rows: list[indicators.Indicators]) -> list[dict]:
    """Stacked bars (high, medium, low) scaled to the largest area."""
    largest = max((row.children_total for row in rows), default=0) or 1
    bars = []
    for row in rows:
        x = 0.0
        segments = []
        for risk in ("high", "medium", "low"):
            width = BAR_WIDTH * row.counts[f"risk_{risk}"] / largest
            segments.append({"risk": risk, "x": round(x, 2), "width": round(width, 2)})
            x += width
        bars.append({"row": row, "segments": segments})
    return bars


def _category_bars(total: indicators.Indicators, links: dict[str, str]) -> list[dict]:
    labels = dict(Category.choices)
    largest = max(total.by_category.values(), default=0) or 1
    return [
        {
            "label": labels[code],
            "href": links[f"category_{code}"],
            "count": count,
            "width": round(BAR_WIDTH * count / largest, 2),
        }
        for code, count in total.by_category.items()
    ]


def _directors_by_village(rows: list[indicators.Indicators]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for director in User.objects.filter(
        role=Role.DIRECTOR, is_active=True, area_id__in=[row.code for row in rows]
    ).order_by("username"):
        names.setdefault(director.area_id, []).append(director.display_name)
    return names


@login_required
@require_GET
@replica.reads_from_replica
def dashboard(request: HttpRequest, code: str | None = None) -> HttpResponse:
    board = indicators.dashboard_for(user=request.user, area_code=code)
    area = board.area
    own = request.user.area_id
    # The way back up, as far as the user's own area.
    chain = [*reversed(area_rules.ancestor_codes(area.code)), area.code]
    start = chain.index(own) if own in chain else 0
    breadcrumbs = {a.code: a for a in Area.objects.filter(code__in=chain[start:-1])}
    directors = _directors_by_village(board.rows) if area.level == "township" else {}
    for row in board.rows:
        row.links = drill_links(row.code)
        row.directors = directors.get(row.code, [])
    links = drill_links(area.code)
    total = board.total
    stage_labels = dict(Stage.choices)
    on_time = total.on_time_pct
    response = render(
        request,
        "dashboards/dashboard.html",
        {
            "board": board,
            "area": area,
            "total": total,
            "links": links,
            "on_time_note": _("%(pct)s%% on time") % {"pct": on_time}
            if on_time is not None
            else "",
            "stages": [
                (stage_labels[stage], count, links[f"stage_{stage}"])
                for stage, count in total.reports_open_by_stage.items()
            ],
            "breadcrumbs": [breadcrumbs[c] for c in chain[start:-1] if c in breadcrumbs],
            "risk_bars": _risk_bars(board.rows),
            "category_bars": _category_bars(total, links),
            "is_township": area.level == "township",
            "child_level": indicators.CHILD_LEVEL.get(area.level),
            # The roster's gaps (domain §10), for those who supervise directors.
            "network": network.counts_for(user=request.user, area=area),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
