"""The reminder inbox: what the sweep raised for the signed-in person — open ones by urgency, and
a "done" tab of what the work recorded has answered."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.clock import today

from . import selectors, services


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    status = selectors.RESOLVED if request.GET.get("status") == selectors.RESOLVED else "open"
    page = Paginator(selectors.reminders_for(user=request.user, status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "reminders/inbox.html",
        {
            "page": page,
            "status": status,
            "today": today(),
            "open_total": selectors.open_count(request.user),
        },
    )


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    ids = []
    for value in request.POST.getlist("id"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    services.notification_mark_read(
        user=request.user, notification_ids=ids if request.POST.getlist("id") else None
    )
    return redirect("reminders:inbox")
