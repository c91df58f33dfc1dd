"""Pages for care agreements (委托照护) and the parent contact log. Thin: services do the work."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts import permissions
from accounts import selectors as scope
from accounts.models import AuditAction
from accounts.permissions import Capability
from accounts.services import audit_log
from core import capture, clock
from core.errors import Conflict
from core.forms import refusals_on_form, small_form_view
from core.masking import PHONE

from . import parent_notices, rules, selectors, services
from .forms import (
    CareAgreementForm,
    ParentContactForm,
    ParentNoticeCalledForm,
    ParentNoticeForm,
    ReasonForm,
    ScanForm,
)
from .models import CareAgreement, MemberStatus, ParentNotice, Relation
from .views import document_response, writable_child

DEFAULT_DUTIES = gettext_lazy(
    "Look after the child's daily life, safety and schoolwork; take the child to a doctor or call "
    "the police at once when ill, hurt or in danger, and tell the entrusting parents and the "
    "village child director; never let the child live alone without a guardian."
)


def _agreement_or_404(
    request: HttpRequest, agreement_id, capability: Capability = Capability.CHILD_READ
):
    agreement = selectors.child_record_or_404(
        CareAgreement.objects.select_related("child", "child__village", "created_by"),
        user=request.user,
        pk=agreement_id,
    )
    permissions.require(request.user, capability)
    return agreement


def _notice_or_404(request: HttpRequest, notice_id) -> ParentNotice:
    """A parent notice of an agreement of a child in the user's area (404 outside), for a
    writer (403 otherwise)."""
    notice = scope.get_in_scope_or_404(
        ParentNotice.objects.all(),
        user=request.user,
        area_field=f"agreement__{selectors.CHILD_RECORD_AREA_FIELD}",
        pk=notice_id,
    )
    permissions.require(request.user, Capability.CHILD_WRITE)
    return notice


def _initial(child, user) -> dict:
    """Pre-fill from the family: a grandparent as caregiver, the parent working away (their
    phones only for a user who may see them in full: a masked number is no number to save)."""

    def phone(value: str) -> str:
        return value if scope.sees_full_number(user, PHONE, child.village_id) else ""

    today = clock.today()
    initial = {
        "start_date": today,
        "end_date": rules.agreement_default_end(today),
        "duties": DEFAULT_DUTIES,
    }
    members = list(child.family_members.all())
    grandparent = next((m for m in members if m.relation == Relation.GRANDPARENT), None)
    if grandparent is not None:
        initial.update(
            caregiver_name=grandparent.name,
            caregiver_relation="grandparent",
            caregiver_phone=phone(grandparent.phone),
        )
    away = next(
        (
            m
            for m in members
            if m.relation in (Relation.FATHER, Relation.MOTHER)
            and m.status == MemberStatus.WORKING_AWAY
        ),
        None,
    )
    if away is not None:
        initial.update(
            parent_work_place=away.work_place,
            parent_phone=phone(away.phone),
            parent_employer=away.employer,
            parent_departure_date=away.away_since,
        )
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def agreement_create(request: HttpRequest, child_id) -> HttpResponse:
    child = writable_child(request, child_id)
    form = CareAgreementForm(request.POST or None, initial=_initial(child, request.user))
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            agreement = services.care_agreement_create(
                user=request.user, child=child, **form.cleaned_data
            )
            messages.success(request, _("The care agreement was recorded."))
            return redirect("children:agreement", agreement_id=agreement.pk)
    return render(request, "children/agreement_form.html", {"form": form, "child": child})


@login_required
def agreement_detail(request: HttpRequest, agreement_id) -> HttpResponse:
    agreement = _agreement_or_404(request, agreement_id)
    can_write = permissions.can(request.user, Capability.CHILD_WRITE)
    open_statuses = ("active", "needs_replacement")
    return render(
        request,
        "children/agreement_detail.html",
        {
            "agreement": agreement,
            "child": agreement.child,
            "parents": agreement.parents.all(),
            "notices": agreement.parent_notices.select_related("notified_by", "delivery"),
            "can_write": can_write,
            "is_open": agreement.status in open_statuses,
            # Two reason forms on one page: distinct ids for their labels.
            "unable_form": ReasonForm(auto_id="unable_%s"),
            "end_form": ReasonForm(auto_id="end_%s"),
            "notice_form": ParentNoticeForm(),
            "scan_form": ScanForm(),
        },
    )


# A POST action of the agreement page: ``service(user=…, agreement=…, **cleaned_data)``.
_agreement_action = partial(
    small_form_view,
    fetch=lambda request, agreement_id: _agreement_or_404(
        request, agreement_id, capability=Capability.CHILD_WRITE
    ),
    record="agreement",
    back=lambda agreement: redirect("children:agreement", agreement_id=agreement.pk),
)


agreement_terminate = _agreement_action(ReasonForm, services.care_agreement_terminate)
agreement_caregiver_unable = _agreement_action(ReasonForm, services.care_agreement_caregiver_unable)
agreement_notice = _agreement_action(ParentNoticeForm, services.parent_notice_record)
agreement_notice_called = small_form_view(
    ParentNoticeCalledForm,
    parent_notices.parent_notice_mark_called,
    fetch=lambda request, notice_id: _notice_or_404(request, notice_id),
    record="notice",
    back=lambda notice: redirect("children:agreement", agreement_id=notice.agreement_id),
    done=lambda notice: _("Marked as phoned."),
)
agreement_scan_upload = _agreement_action(
    ScanForm, lambda *, scan, **values: services.care_agreement_attach_scan(upload=scan, **values)
)


@login_required
def agreement_scan(request: HttpRequest, agreement_id) -> HttpResponse:
    """The signed copy, only to users whose area covers the child; audited."""
    agreement = _agreement_or_404(request, agreement_id)
    return document_response(
        request,
        agreement.scan,
        agreement.scan_content_type,
        object_type="care_agreement_scan",
        record=(str(agreement.pk), agreement.child.village_id),
    )


@login_required
def agreement_pdf(request: HttpRequest, agreement_id) -> HttpResponse:
    """The printable 委托照护协议书, ready for signatures (WeasyPrint, Noto CJK fonts)."""
    from weasyprint import HTML

    agreement = _agreement_or_404(request, agreement_id)
    # The signed 协议书 is a Chinese document whatever language the page is read in.
    with translation.override("zh-hans"):
        html = render_to_string(
            "children/agreement_pdf.html",
            {"agreement": agreement, "child": agreement.child, "parents": agreement.parents.all()},
            request=request,
        )
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    audit_log(
        user=request.user,
        action=AuditAction.EXPORT,
        object_type="care_agreement_pdf",
        records=[(str(agreement.pk), agreement.child.village_id)],
        request=request,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="agreement-{agreement.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def parent_contact_create(request: HttpRequest, child_id) -> HttpResponse:
    child = writable_child(request, child_id)
    form = ParentContactForm(
        request.POST or None,
        initial={"contacted_on": clock.today(), "channel": "phone", "base": child.version},
    )
    sync = capture.is_sync(request)
    if request.method == "POST" and form.is_valid():
        values = {**form.contact_values(), "file_version": capture.file_version(form)}
        client_id = form.cleaned_data["client_id"]
        try:
            with refusals_on_form(form, raise_conflicts=sync):
                if client_id:
                    contact, created = services.parent_contact_record_once(
                        user=request.user, child=child, client_id=client_id, **values
                    )
                else:
                    contact = services.parent_contact_record(
                        user=request.user, child=child, **values
                    )
                    created = True
                text = _("Saved.") if created else _("This contact was already saved.")
                if not sync or capture.is_interactive(request):
                    messages.success(request, text)
                target = reverse("children:detail", kwargs={"child_id": child.pk})
                if sync:
                    return capture.saved(
                        created=created, record_id=contact.pk, redirect_to=target, message=text
                    )
                return redirect(target)
        except Conflict as exc:
            return capture.conflict(exc, title=child.name, rows=selectors.short_file(child))
    page = render(request, "children/parent_contact_form.html", {"form": form, "child": child})
    if request.method == "POST" and sync:
        return capture.invalid(form, page)
    return page
