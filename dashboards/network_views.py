"""Pages behind the network's counts on the dashboard (dashboards.network): who is untrained,
which villages need another director, which have none in post. Read from the replica when
there is one, as the dashboard is (core.replica)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import AuditAction, Role
from accounts.services import audit_log
from core import clock, replica

from . import network


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    response = render(request, template, context)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@replica.reads_from_replica
def untrained(request: HttpRequest, code: str) -> HttpResponse:
    role = request.GET.get("role", Role.DIRECTOR)
    area, role, page = network.untrained_for(
        user=request.user, area_code=code, role=role, page_number=request.GET.get("page")
    )
    people = list(page)
    audit_log(
        user=request.user,
        action=AuditAction.VIEW,
        object_type="roster",
        records=[(p.username[:64], p.area_id or "") for p in people],
        request=request,
    )
    return _page(
        request,
        "dashboards/network_untrained.html",
        {
            "area": area,
            "page": page,
            "people": people,
            "of_supervisors": role == Role.SUPERVISOR,
            "today": clock.today(),
        },
    )


@login_required
@require_GET
@replica.reads_from_replica
def one_director(request: HttpRequest, code: str) -> HttpResponse:
    area, page = network.villages_one_director_for(
        user=request.user, area_code=code, page_number=request.GET.get("page")
    )
    return _page(
        request,
        "dashboards/network_villages.html",
        {"area": area, "page": page, "one_director": True},
    )


@login_required
@require_GET
@replica.reads_from_replica
def no_director(request: HttpRequest, code: str) -> HttpResponse:
    area, page = network.villages_no_director_for(
        user=request.user, area_code=code, page_number=request.GET.get("page")
    )
    return _page(
        request,
        "dashboards/network_villages.html",
        {"area": area, "page": page, "one_director": False},
    )
