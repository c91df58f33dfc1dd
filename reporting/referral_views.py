"""Pages of referrals (domain §10): the list (a case worker's area, or an organisation's own),
one referral with the organisation's answer form or the referring side's withdrawal, and the
"refer" form from a child's file or from a mandatory report. Thin: reads and writes are
reporting.referrals; every view of a referral (a child's data) is audited."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import organisations as registry
from accounts import permissions
from accounts.models import AuditAction
from accounts.permissions import Capability
from accounts.services import audit_children
from children import selectors as child_selectors
from core import clock
from core.forms import refusals_on_form, run_small_form

from . import referral_rules, referrals, selectors
from .models import ReferralStatus

PAGE_SIZE = 50


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _text_field(label, **kwargs) -> forms.CharField:
    # Django's own NUL check says something else in Chinese: the service's message is shown.
    field = forms.CharField(
        label=label,
        max_length=referral_rules.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        **kwargs,
    )
    field.validators = [
        v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
    ]
    return field


class ReferralForm(forms.Form):
    organisation_id = forms.TypedChoiceField(label=gettext_lazy("Organisation"), coerce=int)
    reason = _text_field(
        gettext_lazy("Reason"),
        help_text=gettext_lazy(
            "What the child needs from the organisation. The organisation reads this."
        ),
    )

    def __init__(self, *args, organisations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation_id"].choices = [
            ("", "—"),
            *((o.pk, f"{o.name} · {o.get_kind_display()} · {o.area.name}") for o in organisations),
        ]


class AnswerForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Your answer"),
        choices=[(s, label) for s, label in ReferralStatus.choices if s in referral_rules.ANSWERS],
    )
    note = _text_field(gettext_lazy("Note"), required=False)


class WithdrawForm(forms.Form):
    note = _text_field(gettext_lazy("Why it is withdrawn"), required=False)


@login_required
def referral_list(request: HttpRequest) -> HttpResponse:
    """A case worker's: the referrals of the children of their area; an organisation's staff:
    those sent to it. Filters: status (open by default), overdue, one child."""
    user = request.user
    permissions.require(user, Capability.REFERRAL_READ)
    status = request.GET.get("status", "open")
    if status not in (*referral_rules.STATUSES, "open", "all"):
        status = "open"
    filters = referrals.ReferralFilters(
        status="" if status == "all" else status,
        overdue=request.GET.get("overdue") == "1",
        child_id=request.GET.get("child") or None,
    )
    queryset = referrals.filtered(referrals.referrals_for(user=user), filters)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return _no_store(
        render(
            request,
            "reporting/referral_list.html",
            {
                "page": page,
                "status": status,
                "overdue": filters.overdue,
                "child": request.GET.get("child", "")[:36],
                "statuses": ReferralStatus.choices,
                "by_organisation": referrals.sees_by_organisation(user),
                "organisation": user.organisation if referrals.sees_by_organisation(user) else None,
            },
        )
    )


@login_required
def referral_detail(request: HttpRequest, referral_id) -> HttpResponse:
    user = request.user
    referral = referrals.referral_for_user_or_404(user=user, referral_id=referral_id)
    audit_children(
        user=user,
        action=AuditAction.VIEW,
        children=[referral.child],
        request=request,
        detail={"referral": str(referral.pk)},
    )
    answers = referral_rules.answers_from(referral.status)
    may_answer = bool(answers) and permissions.can(user, Capability.REFERRAL_ANSWER)
    answer_form = None
    if may_answer:
        answer_form = AnswerForm()
        answer_form.fields["status"].choices = [
            (s, label) for s, label in ReferralStatus.choices if s in answers
        ]
    return _no_store(
        render(
            request,
            "reporting/referral_detail.html",
            {
                "referral": referral,
                "child": referrals.child_summary(referral),
                "by_organisation": referrals.sees_by_organisation(user),
                "referrer_phone": referrals.referrer_phone_for(user, referral),
                "report_visible": referrals.report_visible(user, referral),
                "events": referrals.events_of(referral),
                "overdue": referral_rules.is_overdue(
                    referral.status, referral.answer_due, clock.today()
                ),
                "answer_form": answer_form,
                "withdraw_form": WithdrawForm() if referrals.may_withdraw(user, referral) else None,
            },
        )
    )


@login_required
@require_POST
def referral_answer(request: HttpRequest, referral_id) -> HttpResponse:
    referral = referrals.referral_for_user_or_404(
        user=request.user, referral_id=referral_id, capability=Capability.REFERRAL_ANSWER
    )
    run_small_form(
        request,
        AnswerForm,
        lambda data: referrals.referral_answer(user=request.user, referral=referral, **data),
        lambda result: _("Answer recorded: %(status)s.") % {"status": result.get_status_display()},
    )
    return redirect("reporting:referral", referral_id=referral.pk)


@login_required
@require_POST
def referral_withdraw(request: HttpRequest, referral_id) -> HttpResponse:
    referral = referrals.referral_for_user_or_404(
        user=request.user, referral_id=referral_id, capability=Capability.REFERRAL_MAKE
    )
    run_small_form(
        request,
        WithdrawForm,
        lambda data: referrals.referral_withdraw(user=request.user, referral=referral, **data),
        lambda result: _("The referral was withdrawn."),
    )
    return redirect("reporting:referral", referral_id=referral.pk)


def _refer_page(request: HttpRequest, *, child, report=None) -> HttpResponse:
    organisations = list(registry.organisations_serving(child.village_id))
    form = ReferralForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form, conflict_on_field=True):
            referral = referrals.referral_create(
                user=request.user,
                child=child,
                report=report,
                organisation=form.cleaned_data["organisation_id"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request,
                _("%(name)s was referred to %(organisation)s.")
                % {"name": child.name, "organisation": referral.organisation.name},
            )
            return redirect("reporting:referral", referral_id=referral.pk)
    return _no_store(
        render(
            request,
            "reporting/referral_form.html",
            {
                "form": form,
                "child": child,
                "report": report,
                "organisations": organisations,
                "answer_days": referral_rules.ANSWER_DAYS,
            },
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_create_for_child(request: HttpRequest, child_id) -> HttpResponse:
    """Refer a child from the file."""
    child = child_selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.REFERRAL_MAKE
    )
    return _refer_page(request, child=child)


@login_required
@require_http_methods(["GET", "POST"])
def referral_create_for_report(request: HttpRequest, report_id) -> HttpResponse:
    """Refer the child of a mandatory report; a report with no file yet: create the file
    first."""
    report = selectors.report_for_user_or_404(
        user=request.user, report_id=report_id, capability=Capability.REFERRAL_MAKE
    )
    if report.child_id is None:
        messages.error(request, _("Create the child's file first: a referral is about a file."))
        return redirect("reporting:detail", report_id=report.pk)
    child = child_selectors.child_for_user_or_404(
        user=request.user, child_id=report.child_id, capability=Capability.REFERRAL_MAKE
    )
    return _refer_page(request, child=child, report=report)
