"""The area settings page: civil affairs set the visit cadence, escalation and deadlines of
their area; areas below inherit what they leave empty (``services.policies_for``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.forms import add_service_errors

from . import rules, selectors, services
from .forms import AreaPolicyForm
from .models import AreaPolicy
from .permissions import Capability
from .services import POLICY_DEFAULTS, policies_for


@login_required
@require_http_methods(["GET", "POST"])
def area_policy(request: HttpRequest) -> HttpResponse:
    """Civil affairs: the visit cadence, escalation and left-behind numbers of their area."""
    area = selectors.own_area_or_404(user=request.user, capability=Capability.AREA_POLICY_EDIT)
    parent = rules.parent_code(area.code)
    inherited = policies_for({parent})[parent] if parent else dict(POLICY_DEFAULTS)
    own = AreaPolicy.objects.filter(area=area).values(*POLICY_DEFAULTS).first() or {}
    form = AreaPolicyForm(request.POST or None, initial=own, inherited=inherited)
    if request.method == "POST" and form.is_valid():
        try:
            services.area_policy_update(
                user=request.user, area_code=area.code, values=form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Saved. Due dates in %(area)s are being recalculated.") % {"area": area.name},
            )
            return redirect("area_policy")
    return render(request, "accounts/area_policy.html", {"form": form, "area": area})
