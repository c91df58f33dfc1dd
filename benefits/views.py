"""Pages for benefits (补贴纳入): the child's benefits with the apply form and its live eligibility
check, the application page with evidence and the decision form, the township and county queues,
and the actions on an enrolment (review, exit, payee). Thin: services decide."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.models import AuditAction, Role
from accounts.permissions import Capability
from accounts.services import audit_children, audit_log
from children import rules as child_rules
from children import selectors as child_selectors
from children.models import ChildStatus
from core import clock
from core.forms import refusals_on_form, run_small_form, small_form_view
from core.text import labelled
from core.uploads import private_file_response

from . import rules, selectors, services
from .forms import (
    EducationRecordForm,
    EnrolmentExitForm,
    EnrolmentReviewForm,
    EvidenceForm,
    NoticeObjectionForm,
    ObjectionHandlingForm,
    PayeeForm,
    PublicNoticeForm,
    ResubmitForm,
    SubsidyApplyForm,
    SubsidyDecisionForm,
)
from .models import ApplicationStatus, Enrolment

DECIDER_STATUS = {
    Role.SUPERVISOR: ApplicationStatus.SUBMITTED,
    Role.CIVIL_AFFAIRS: ApplicationStatus.TOWNSHIP_APPROVED,
}


def _role(user) -> str:
    return user.role


def _audit_view(request: HttpRequest, child) -> None:
    audit_children(user=request.user, action=AuditAction.VIEW, children=[child], request=request)


def _default_note(child, family) -> str:
    """The application's note, pre-filled from the file: the parents' situation."""
    parts = [
        labelled(f"{m.get_relation_display()} {m.name}", m.get_status_display())
        + ("" if m.has_guardian_capacity else _(", no guardianship capacity"))
        for m in family
        if m.relation in ("father", "mother")
    ]
    return pgettext("clause separator", "; ").join(parts)


def _check_context(child, programme_code: str) -> dict:
    programme = rules.PROGRAMMES.get(programme_code)
    if programme is None:
        return {"programme": None}
    today = clock.today()
    return {
        "programme": programme,
        "refusals": services.subsidy_refusals(child=child, programme=programme_code),
        "standard": selectors.standard_in_force(
            village_code=child.village_id, programme=programme_code, month=today
        ),
        "income_documents": rules.INCOME_CHECK_DOCUMENTS,
    }


def _benefits_page(request: HttpRequest, child, apply_form=None, status: int = 200):
    user = request.user
    family = child_selectors.family_for(child)
    active = child.status == ChildStatus.ACTIVE
    refusals = services.subsidy_refusals_by_programme(child=child)
    applications = selectors.applications_for(child)
    enrolments = selectors.enrolments_for(child)
    # A programme already paid, or applied for and under review, is not offered again.
    taken = {e.programme: _("Enrolled") for e in enrolments if e.end_month is None}
    for application in applications:
        if application.status in services.OPEN_APPLICATION:
            taken.setdefault(application.programme, _("Under review"))
        elif application.status == ApplicationStatus.RETURNED:
            # Resubmitted from the application page, with what was asked for.
            taken.setdefault(application.programme, _("Returned for more evidence"))
    rows = [
        {"programme": programme, "refusals": refusals[code], "taken": taken.get(code)}
        for code, programme in rules.PROGRAMMES.items()
    ]
    can_apply = active and permissions.can(user, Capability.BENEFIT_SUBMIT)
    if apply_form is None:
        wanted = request.GET.get("programme")
        # Pre-selected: a programme the file meets, never one only an income check decides.
        first_eligible = next(
            (
                r["programme"].code
                for r in rows
                if not r["refusals"] and not r["taken"] and not r["programme"].income_checked
            ),
            None,
        )
        apply_form = SubsidyApplyForm(
            initial={
                "programme": wanted if wanted in rules.PROGRAMMES else first_eligible,
                "note": _default_note(child, family),
            }
        )
    selected = apply_form["programme"].value() or ""
    today = clock.today()
    age = child_rules.age_on(child.birth_date, today)
    _audit_view(request, child)
    response = render(
        request,
        "benefits/subsidy_apply.html",
        {
            "child": child,
            "age": age,
            "family": family,
            "rows": rows,
            "can_apply": can_apply,
            "form": apply_form,
            "check": _check_context(child, selected),
            "applications": applications,
            "enrolments": enrolments,
            "education_records": list(child.education_records.all()),
            "show_education": age >= 16 or child.education_records.exists(),
            "can_write": active and permissions.can(user, Capability.CHILD_WRITE),
            "exit_form": EnrolmentExitForm(initial={"on": today}),
            "education_form": EducationRecordForm(initial={"year": today.year}),
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def subsidy_apply(request: HttpRequest, child_id) -> HttpResponse:
    """The child's benefits: enrolments and ledger, applications, every programme's eligibility
    with the reasons and the evidence that would change them, and the apply form."""
    child = child_selectors.child_for_user_or_404(user=request.user, child_id=child_id)
    return _benefits_page(request, child)


@login_required
@require_GET
def subsidy_check(request: HttpRequest, child_id) -> HttpResponse:
    """The eligibility of one programme, for the apply form's live check (htmx)."""
    child = child_selectors.child_for_user_or_404(user=request.user, child_id=child_id)
    return render(
        request,
        "benefits/_subsidy_check.html",
        _check_context(child, request.GET.get("programme", "")),
    )


@login_required
@require_POST
def subsidy_submit(request: HttpRequest, child_id) -> HttpResponse:
    child = child_selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.BENEFIT_SUBMIT
    )
    form = SubsidyApplyForm(request.POST)
    if form.is_valid():
        with refusals_on_form(form):
            application = services.subsidy_apply(
                user=request.user,
                child=child,
                programme=form.cleaned_data["programme"],
                note=form.cleaned_data["note"],
            )
            messages.success(
                request, _("The application was submitted. Add the supporting documents here.")
            )
            return redirect("benefits:subsidy_application", application_id=application.pk)
    return _benefits_page(request, child, apply_form=form, status=422)


@login_required
@require_GET
def application_detail(request: HttpRequest, application_id) -> HttpResponse:
    """One application: the child, the eligibility now, evidence, every decision, and the form
    for whoever decides next."""
    user = request.user
    application = selectors.application_for_user_or_404(user=user, application_id=application_id)
    child = application.child
    role = _role(user)
    programme = rules.PROGRAMMES[application.programme]
    is_open = application.status in services.OPEN_APPLICATION
    own = services.subsidy_submitted_by(application, user)
    can_decide = DECIDER_STATUS.get(role) == application.status and not own
    notice = selectors.public_notice_of(application)
    notice_ends = rules.county_may_approve_from(notice.ends_on) if notice else None
    decision_form = SubsidyDecisionForm(initial={"notice_starts_on": clock.today()})
    if not (programme.public_notice and application.status == ApplicationStatus.SUBMITTED):
        # Only the township's approval of 低保 or 特困 posts a public notice.
        del decision_form.fields["notice_place"], decision_form.fields["notice_starts_on"]
    enrolment = Enrolment.objects.filter(application=application).first()
    _audit_view(request, child)
    response = render(
        request,
        "benefits/subsidy_application.html",
        {
            "application": application,
            "enrolment": enrolment,
            "child": child,
            "programme": programme,
            # The eligibility result as the apply page words it, and the documents against
            # what the programme requires (issue 17, point 4).
            **_check_context(child, application.programme),
            "documents": selectors.document_check(application),
            "decisions": list(application.decisions.select_related("by")),
            "evidence": list(application.evidence.select_related("uploaded_by")),
            "deadline": selectors.review_deadline_of(application) if is_open else None,
            "today": clock.today(),
            "notice_ends": notice_ends,
            "can_decide": can_decide,
            "own_application": own,
            "decision_form": decision_form,
            **_notice_context(user, application, notice),
            "can_add_evidence": application.status
            not in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)
            and permissions.can(user, Capability.BENEFIT_EVIDENCE),
            "evidence_form": EvidenceForm(),
            "can_resubmit": application.status == ApplicationStatus.RETURNED
            and permissions.can(user, Capability.BENEFIT_SUBMIT)
            and child.status == ChildStatus.ACTIVE,
            "resubmit_form": ResubmitForm(),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _notice_context(user, application, notice) -> dict:
    """The public notice block of the application page (benefits/_public_notice.html): the
    notice, its objections (their text only to the case workers: objections name people) and
    the forms of whoever may correct it, record an objection or handle one."""
    if notice is None:
        return {"notice": None}
    running = application.status == ApplicationStatus.TOWNSHIP_APPROVED
    can_record = running and permissions.can(user, Capability.BENEFIT_OBJECTION_RECORD)
    can_handle = running and permissions.can(user, Capability.BENEFIT_OBJECTION_HANDLE)
    return {
        "notice": notice,
        "objections": list(notice.objections.select_related("recorded_by", "handled_by")),
        "notice_text_visible": permissions.can(user, Capability.BENEFIT_OBJECTION_RECORD)
        or permissions.can(user, Capability.BENEFIT_OBJECTION_HANDLE),
        "can_correct_notice": running and permissions.can(user, Capability.BENEFIT_NOTICE),
        "notice_form": PublicNoticeForm(
            initial={
                "starts_on": notice.starts_on,
                "ends_on": notice.ends_on,
                "place": notice.place,
            }
        ),
        "can_record_objection": can_record,
        "objection_form": NoticeObjectionForm(initial={"received_on": clock.today()}),
        "can_handle_objection": can_handle,
        "handling_form": ObjectionHandlingForm(),
    }


# A small POST form of the application page, ``service(user=…, application=…,
# **cleaned_data)``; problems come back as messages.
_application_action = partial(
    small_form_view,
    fetch=lambda request, application_id: selectors.application_for_user_or_404(
        user=request.user, application_id=application_id
    ),
    record="application",
    back=lambda application: redirect(
        "benefits:subsidy_application", application_id=application.pk
    ),
)


subsidy_decide = _application_action(
    SubsidyDecisionForm, services.subsidy_decide, done=selectors.decision_message
)
subsidy_resubmit = _application_action(ResubmitForm, services.subsidy_resubmit)
evidence_upload = _application_action(
    EvidenceForm, lambda *, file, **values: services.subsidy_evidence_attach(upload=file, **values)
)
public_notice_update = _application_action(PublicNoticeForm, services.public_notice_update)
notice_objection_add = _application_action(
    NoticeObjectionForm,
    services.notice_objection_add,
    done=lambda objection: _("The objection was recorded. The county approves once it is handled."),
)
notice_objection_handle = small_form_view(
    ObjectionHandlingForm,
    services.notice_objection_handle,
    fetch=lambda request, application_id, objection_id: selectors.objection_for_user_or_404(
        user=request.user, application_id=application_id, objection_id=objection_id
    ),
    record="objection",
    back=lambda objection: redirect(
        "benefits:subsidy_application", application_id=objection.notice.application_id
    ),
    done=lambda objection: _("The objection was handled."),
)


@login_required
@require_GET
def evidence_file(request: HttpRequest, evidence_id) -> HttpResponse:
    """A supporting document, only to users whose area covers the child; audited."""
    evidence = selectors.evidence_for_user_or_404(user=request.user, evidence_id=evidence_id)
    permissions.require(request.user, Capability.CHILD_READ)
    audit_log(
        user=request.user,
        action=AuditAction.VIEW,
        object_type="subsidy_evidence",
        records=[(str(evidence.pk), evidence.application.child.village_id)],
        request=request,
    )
    return private_file_response(evidence.file, evidence.content_type)


ENROLMENT_ACTIONS = {
    "exit": (
        EnrolmentExitForm,
        lambda user, e, data: services.enrolment_end(user=user, enrolment=e, **data),
    ),
    "review": (
        EnrolmentReviewForm,
        lambda user, e, data: services.enrolment_review(user=user, enrolment=e, **data),
    ),
    "payee": (
        PayeeForm,
        lambda user, e, data: services.enrolment_set_payee(user=user, enrolment=e, **data),
    ),
}


@login_required
@require_POST
def enrolment_action(request: HttpRequest, enrolment_id, action: str) -> HttpResponse:
    """Review (still eligible), exit (with its reason) or payee of a benefit in force."""
    if action not in ENROLMENT_ACTIONS:
        raise Http404
    enrolment = selectors.enrolment_for_user_or_404(user=request.user, enrolment_id=enrolment_id)
    form_class, run = ENROLMENT_ACTIONS[action]
    run_small_form(request, form_class, lambda data: run(request.user, enrolment, data))
    return redirect("benefits:subsidies", child_id=enrolment.child_id)


@login_required
@require_POST
def education_record_add(request: HttpRequest, child_id) -> HttpResponse:
    child = child_selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    run_small_form(
        request,
        EducationRecordForm,
        lambda data: services.education_record_add(user=request.user, child=child, **data),
    )
    return redirect("benefits:subsidies", child_id=child.pk)


QUEUE_LIMIT = 200


@login_required
@require_GET
def subsidy_queue(request: HttpRequest) -> HttpResponse:
    """Pending applications for this role's decision, oldest first, with their deadline. With
    ``?status=pending`` (or a status) and ``?area=``: the dashboards' drill-down, for reading."""
    browse = request.GET.get("status", "")
    if browse:
        permissions.require(request.user, Capability.BENEFIT_BROWSE)
        statuses = services.OPEN_APPLICATION if browse == "pending" else (browse,)
    else:
        permissions.require(request.user, Capability.BENEFIT_DECIDE)
        # Whose turn it is (benefits.rules.DECIDER): the township's first, then the county's.
        statuses = (DECIDER_STATUS[_role(request.user)],)
    queryset = selectors.subsidy_queue_for(
        user=request.user, statuses=statuses, area_code=request.GET.get("area", "")
    )
    total = queryset.count()
    rows = selectors.subsidy_queue_rows(user=request.user, applications=queryset[:QUEUE_LIMIT])
    return render(
        request,
        "benefits/subsidy_queue.html",
        {
            "rows": rows,
            "total": total,
            "browse": bool(browse),
            "status": statuses[0] if len(statuses) == 1 else "",
        },
    )
