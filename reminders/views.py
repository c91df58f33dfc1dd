"""The reminder inbox: what the sweep raised for the signed-in person — open ones by urgency, and
a "done" tab of what the work recorded has answered."""

from __future__ import annotations

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
    # Keys are bigints: anything else (a UUID of old, text, a number past 2^63) matches nothing.
    posted = request.POST.getlist("id")
    ids = [int(v) for v in posted if v.isascii() and v.isdigit() and len(v) < 19]
    services.notification_mark_read(user=request.user, notification_ids=ids if posted else None)
    return redirect("reminders:inbox")
