"""County civil affairs' benefit pages: the standards of their area and the monthly payment list
with its .xlsx for the bank. Thin: payments.py reads, services.subsidy_standard_set writes."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts import selectors as scope
from accounts.permissions import Capability
from children.models import EvidenceKind
from core import clock
from core.forms import add_service_errors, run_small_form

from . import payments, rules, selectors, services
from .models import EvidenceRequirement

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StandardForm(forms.Form):
    """Shapes only: the service checks the amount's range and the area (its messages are the
    Chinese ones shown next to the fields)."""

    programme = forms.ChoiceField(
        label=gettext_lazy("Programme"),
        choices=[(code, p.name) for code, p in rules.PROGRAMMES.items()],
    )
    month = forms.CharField(
        label=gettext_lazy("From month"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"}),
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (yuan)"),
        decimal_places=2,
        help_text=gettext_lazy("Per month; for temporary assistance, the one-off sum."),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )

    def clean_month(self):
        month = payments.parse_month(self.cleaned_data["month"])
        if month is None:
            # Django's own message, already translated into Chinese.
            raise ValidationError(forms.DateField.default_error_messages["invalid"])
        return month


@login_required
@require_http_methods(["GET", "POST"])
def subsidy_standards(request: HttpRequest) -> HttpResponse:
    """The standards of the user's area and of the areas above it; civil affairs set their own."""
    # A standard belongs to an area: a superuser without one has nothing to set here.
    area = scope.own_area_or_404(user=request.user, capability=Capability.BENEFIT_ADMINISTER)
    this_month = clock.today().replace(day=1)
    if request.method == "POST":
        form = StandardForm(request.POST)
        if form.is_valid():
            try:
                standard = services.subsidy_standard_set(
                    user=request.user,
                    area_code=area.code,
                    programme=form.cleaned_data["programme"],
                    month=form.cleaned_data["month"],
                    amount=form.cleaned_data["amount"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Saved: %(programme)s, %(amount)s yuan from %(month)s.")
                    % {
                        "programme": rules.programme_name(standard.programme),
                        "amount": f"{standard.amount:.2f}",
                        "month": f"{standard.effective_month:%Y-%m}",
                    },
                )
                return redirect("benefits:subsidy_standards")
    else:
        # "Change" links on the page prefill the form from the query string.
        initial = {"month": f"{this_month:%Y-%m}"}
        initial.update({k: v for k, v in request.GET.items() if k in StandardForm.base_fields})
        form = StandardForm(initial=initial)
    return render(
        request,
        "benefits/subsidy_standards.html",
        {
            "area": area,
            "form": form,
            "this_month": this_month,
            "programmes": payments.standards_for_user(user=request.user, month=this_month),
        },
    )


def _chosen_month(request: HttpRequest):
    return payments.parse_month(request.GET.get("month")) or clock.today().replace(day=1)


@login_required
@require_GET
def subsidy_payments(request: HttpRequest) -> HttpResponse:
    """One month's entitlements in the user's area: totals and the rows, a page at a time."""
    month = _chosen_month(request)
    queryset = payments.payments_for_user(user=request.user, month=month)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "benefits/subsidy_payments.html",
        {
            "month": month,
            "previous_month": payments.previous_month(month),
            "next_month": rules.next_month(month),
            "totals": payments.payment_totals(queryset),
            "page": page,
            "rows": [
                {"entitlement": e, "programme": rules.programme_name(e.enrolment.programme)}
                for e in page
            ],
        },
    )


@login_required
@require_GET
def subsidy_payments_export(request: HttpRequest) -> HttpResponse:
    month = _chosen_month(request)
    content, _count = payments.payments_xlsx(user=request.user, month=month, request=request)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{payments.payments_filename(month)}"'
    response["Cache-Control"] = "no-store"
    return response


# --- The documents each programme requires (api.md EVIDENCE KIND) ------------------------------


class RequirementForm(forms.Form):
    programme = forms.ChoiceField(choices=[(code, p.name) for code, p in rules.PROGRAMMES.items()])
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Any one of these documents"),
        choices=EvidenceKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    restore = forms.BooleanField(required=False)


@login_required
@require_http_methods(["GET", "POST"])
def evidence_requirements(request: HttpRequest) -> HttpResponse:
    """The documents each programme requires before county approval in the user's area (the
    defaults of api.md unless this area or one above chose others); civil affairs change their
    own area's."""
    area = scope.own_area_or_404(user=request.user, capability=Capability.BENEFIT_ADMINISTER)
    if request.method == "POST":
        run_small_form(
            request,
            RequirementForm,
            lambda data: services.evidence_requirement_set(
                user=request.user,
                area_code=area.code,
                programme=data["programme"],
                kinds=None if data["restore"] else data["kinds"],
            ),
            done=lambda _requirement: (
                _("Saved: the documents %(programme)s requires.")
                % {"programme": rules.programme_name(request.POST.get("programme", ""))}
            ),
        )
        return redirect("benefits:evidence_requirements")
    in_force = selectors.evidence_requirements(area.code)
    own = set(EvidenceRequirement.objects.filter(area=area).values_list("programme", flat=True))
    rows = [
        {
            "code": code,
            "programme": programme,
            "requirement": in_force[code],
            "text": rules.kinds_text(in_force[code].kinds),
            "own": code in own,
            "default": in_force[code] == rules.requirement_for(code),
        }
        for code, programme in rules.PROGRAMMES.items()
    ]
    return render(
        request,
        "benefits/evidence_requirements.html",
        {"area": area, "rows": rows, "kinds": EvidenceKind.choices},
    )
