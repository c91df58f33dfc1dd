"""Pages for benefit applications: apply from the file with the eligibility check shown, the
township and county queues, and the decision form. Thin: services decide."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as scope
from accounts.models import Role

from . import selectors, services, subsidy_rules
from .forms import add_service_messages
from .models import ApplicationStatus, SubsidyApplication

REVIEW_WORKING_DAYS = 10  # *default*: township and county each decide within 10 working days


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday–Friday) after ``start``."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


@login_required
def subsidy_apply(request: HttpRequest, child_id) -> HttpResponse:
    """Every programme with the child's eligibility and the reasons when not eligible."""
    child = selectors.child_for_user_or_404(user=request.user, child_id=child_id)
    rows = [
        {
            "programme": programme,
            "reasons": services.subsidy_eligibility(child=child, programme=code),
        }
        for code, programme in subsidy_rules.PROGRAMMES.items()
    ]
    can_apply = request.user.role in services.SUBMITTER_ROLES or request.user.is_superuser
    return render(
        request,
        "children/subsidy_apply.html",
        {
            "child": child,
            "rows": rows,
            "can_apply": can_apply,
            "applications": child.subsidy_applications.all(),
            "enrolments": child.enrolments.prefetch_related("entitlements"),
        },
    )


@login_required
@require_POST
def subsidy_submit(request: HttpRequest, child_id) -> HttpResponse:
    child = selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, roles=services.SUBMITTER_ROLES
    )
    try:
        services.subsidy_apply(
            user=request.user,
            child=child,
            programme=request.POST.get("programme", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    except services.Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The application was submitted."))
    return redirect("children:subsidies", child_id=child.pk)


@login_required
def subsidy_queue(request: HttpRequest) -> HttpResponse:
    """Pending applications for this role's decision, oldest first, with their deadline."""
    scope.require_role(request.user, (Role.SUPERVISOR, Role.CIVIL_AFFAIRS))
    status = (
        ApplicationStatus.SUBMITTED
        if request.user.role == Role.SUPERVISOR
        else ApplicationStatus.TOWNSHIP_APPROVED
    )
    applications = (
        selectors.child_records_in_scope(
            SubsidyApplication.objects.select_related("child", "child__village", "submitted_by"),
            user=request.user,
        )
        .filter(status=status)
        .order_by("submitted_at")[:200]
    )
    today = services.today()
    rows = []
    for application in applications:
        since = application.township_approved_on or application.submitted_at.date()
        deadline = add_working_days(since, REVIEW_WORKING_DAYS)
        programme = subsidy_rules.PROGRAMMES[application.programme]
        rows.append(
            {
                "application": application,
                "programme": programme,
                "deadline": deadline,
                "late": deadline < today,
            }
        )
    return render(request, "children/subsidy_queue.html", {"rows": rows})


@login_required
@require_POST
def subsidy_decide(request: HttpRequest, application_id) -> HttpResponse:
    application = selectors.child_record_or_404(
        SubsidyApplication.objects.select_related("child"), user=request.user, pk=application_id
    )
    try:
        services.subsidy_decide(
            user=request.user,
            application=application,
            decision=request.POST.get("decision", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        add_service_messages(request, exc)
    except services.Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("children:subsidy_queue")
