"""Pages of the child file. Thin: forms check shapes, services and selectors do the work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts import permissions
from accounts import selectors as scope
from accounts.models import Area, AuditAction
from accounts.permissions import Capability
from accounts.services import ImportLocked, audit_children, audit_log
from core import clock, web
from core.compiled import together
from core.errors import Conflict
from core.forms import form_page_view, refusals_on_form, run_small_form
from core.masking import PHONE
from core.uploads import private_file_response

from . import exports, extensions, imports, rules, schedule, selectors, services
from .forms import (
    SECTIONS,
    AssessmentForm,
    ChildForm,
    CloseForm,
    FamilyMemberForm,
    ImportForm,
    MemberEvidenceForm,
)
from .models import (
    Category,
    Child,
    ChildStatus,
    FamilyMember,
    FocusFlag,
    RiskLevel,
    SchoolStatus,
)

PAGE_SIZE = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The census template lists the villages' codes on a sheet of their own up to this many (a
# county's few hundred); a city's or a province's would be tens of thousands of rows: the
# village column takes the code, which the registration form's village search shows.
TEMPLATE_VILLAGES = 500


def _villages_for(user) -> QuerySet[Area]:
    """The villages a user may register a child in (scoped; never listed whole on a page)."""
    return scope.areas_for_user(user=user).filter(level="village")


@login_required
def child_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.ChildFilters.from_params(request.GET)
    # Where the list is: the user's area, or the area (or village) chosen within it — one level
    # at a time (issue 20: never a drop-down of every village); 404 outside the user's area.
    picker = scope.area_picker_for(user=request.user, code=filters.village or filters.area)
    queryset = selectors.child_list_for_user(user=request.user, filters=filters)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    today = clock.today()
    for child in page:
        child.age = rules.age_on(child.birth_date, today)
        child.parent_contact_overdue = selectors.parent_contact_overdue(child, today)
    return render(
        request,
        "children/child_list.html",
        {
            "page": page,
            "filters": filters,
            "picker": picker,
            "picker_query": web.query_without(request.GET, "area", "village", "page"),
            "categories": Category.choices,
            "risks": RiskLevel.choices,
            "flags": [
                *FocusFlag.choices,
                (selectors.PARENT_CONTACT_OVERDUE, _("No parent contact for 14 days")),
            ],
            "school_statuses": SchoolStatus.choices,
            "statuses": ChildStatus.choices,
            "can_write": permissions.can(request.user, Capability.CHILD_WRITE),
            "query_string": request.GET.urlencode(),
            "drill": _drill_down(filters),
        },
    )


def _drill_down(filters: selectors.ChildFilters) -> list[tuple[str, str, str]]:
    """The dashboard's filters that the form has no field for: kept as hidden inputs, shown.
    (The area is the picker's: shown as its breadcrumb.)"""
    visit_labels = {
        "overdue": _("Home visit overdue"),
        "due_soon": _("Home visit due soon"),
        "never_visited": _("Never visited"),
        "ok": _("Visits on schedule"),
    }
    drill = []
    if filters.visit_status in visit_labels:
        drill.append(("visit_status", filters.visit_status, visit_labels[filters.visit_status]))
    if filters.contact == "overdue":
        drill.append(("contact", "overdue", _("Contact overdue")))
    if filters.home_visit == "never":
        drill.append(("home_visit", "never", _("Never visited at home")))
    if filters.agreement == "none":
        drill.append(("agreement", "none", _("No active care agreement")))
    if filters.under_18:
        drill.append(("under_18", "1", _("Under 18")))
    escalation_labels = {
        "township": _("Escalated to the township supervisor"),
        "county": _("Escalated to county civil affairs"),
    }
    if filters.escalated in escalation_labels:
        drill.append(("escalated", filters.escalated, escalation_labels[filters.escalated]))
    return drill


@login_required
def child_export(request: HttpRequest) -> HttpResponse:
    filters = selectors.ChildFilters.from_params(request.GET)
    queryset = selectors.child_list_for_user(user=request.user, filters=filters)
    content, _count = exports.children_xlsx(user=request.user, queryset=queryset, request=request)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename()}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def child_create(request: HttpRequest) -> HttpResponse:
    report_id = request.GET.get("report") or request.POST.get("report")
    if report_id:
        # A file created from a mandatory report is the report's page (reporting files the
        # child and links the report in one transaction); 307 keeps a posted form as it is.
        try:
            target = reverse("reporting:create_child", kwargs={"report_id": report_id})
        except NoReverseMatch:
            raise Http404 from None
        return HttpResponseRedirect(target, status=307)
    permissions.require(request.user, Capability.CHILD_WRITE)
    return child_create_page(request, create=services.child_create)


@contextmanager
def _refusals_on_child_form(form: ChildForm) -> Iterator[None]:
    """The file form's refusals: the village named as the form names it, a duplicate ID number
    or a stale version next to its field, a locked ID number change next to the number."""
    with refusals_on_form(form, {"village_code": "village"}, conflict_on_field=True):
        try:
            yield
        except ImportLocked as exc:
            form.add_error("id_number", str(exc))


def child_create_page(
    request: HttpRequest,
    *,
    create: Callable[..., Any],
    initial: dict | None = None,
    context: dict | None = None,
) -> HttpResponse:
    """The new-file form: ``create(user=…, **values)`` makes the file (and whatever goes with
    it, e.g. linking the report it came from); its refusals are shown next to the fields."""
    form = ChildForm(request.POST or None, villages=_villages_for(request.user), initial=initial)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        with _refusals_on_child_form(form):
            try:
                child = create(user=request.user, **form.service_values())
            except Conflict as exc:
                # One file for life: the page offers the way on (open, re-open, ask, confirm).
                if exc.code:
                    duplicate = exc
                raise
            messages.success(request, _("The file of %(name)s was created.") % {"name": child.name})
            return to_file(child)
    return render(
        request,
        "children/child_form.html",
        {
            "form": form,
            "sections": SECTIONS,
            "creating": True,
            "duplicate": duplicate,
            **(context or {}),
        },
    )


@login_required
def child_detail(request: HttpRequest, child_id) -> HttpResponse:
    child = selectors.child_for_user_or_404(user=request.user, child_id=child_id)
    audit_children(user=request.user, action=AuditAction.VIEW, children=[child], request=request)
    today = clock.today()
    child.parent_contact_overdue = selectors.parent_contact_overdue(child, today)
    can_write = (
        permissions.can(request.user, Capability.CHILD_WRITE) and child.status == ChildStatus.ACTIVE
    )
    # The file's lists and what the apps above add (visits, benefits) in one round trip.
    (
        family,
        assessments,
        agreements,
        parent_contacts,
        siblings,
        *parts,
    ) = together(
        selectors.family_read(child),
        selectors.assessments_read(child),
        selectors.agreements_read(child, limit=10),
        selectors.parent_contacts_read(child, limit=5),
        selectors.siblings_read(child),
        *extensions.page_context_reads(request, child, today),
    )
    response = render(
        request,
        "children/child_detail.html",
        {
            "child": child,
            "age": rules.age_on(child.birth_date, today),
            "id_number": selectors.id_number_for(request.user, child),
            "full_id": selectors.can_see_full_id(request.user, child),
            "family": family,
            "siblings": siblings,
            "assessments": assessments,
            "can_write": can_write,
            "can_assess": can_write and permissions.can(request.user, Capability.CHILD_ASSESS),
            "assessment_due": schedule.is_due(child.next_assessment_due, today),
            "agreements": agreements,
            "parent_contacts": parent_contacts,
            # What the apps above the file add: visits, benefits (children.extensions).
            **extensions.merged(parts),
            "sections": SECTIONS,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def child_file_pdf(request: HttpRequest, child_id) -> HttpResponse:
    """The one-child file (一人一档) on paper: the child, photo, family, categories, agreements,
    assessments, the last visits and the benefits, numbers masked as on the user's page, ready
    to file and sign (WeasyPrint, Noto CJK fonts). A Chinese document, like the agreement."""
    from weasyprint import HTML

    child = selectors.child_for_user_or_404(user=request.user, child_id=child_id)
    today = clock.today()
    with translation.override("zh-hans"):
        html = render_to_string(
            "children/child_file_pdf.html",
            {
                "child": child,
                "age": rules.age_on(child.birth_date, today),
                "id_number": selectors.id_number_for(request.user, child),
                "photo": selectors.photo_data_uri(child),
                "family": selectors.family_for(child),
                "assessments": selectors.assessments_for(child)[:PRINTED_ROWS],
                "agreements": list(child.care_agreements.all()[:PRINTED_ROWS]),
                "parent_contacts": list(child.parent_contacts.all()[:PRINTED_ROWS]),
                **extensions.page_context(request, child, today),
                "printed_rows": PRINTED_ROWS,
                "printed_on": today,
                "printed_by": request.user,
            },
            request=request,
        )
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    audit_children(
        user=request.user,
        action=AuditAction.EXPORT,
        children=[child],
        request=request,
        detail={"page": "pdf"},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="child-{child.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# The last this many of each list (visits, agreements, assessments, parent contacts) are printed.
PRINTED_ROWS = 5


@login_required
def child_history(request: HttpRequest, child_id) -> HttpResponse:
    """Every change to the file, its family, visits and benefits, newest first: a page of its
    own, so that the file opens with a fixed handful of queries however long its history."""
    child = selectors.child_for_user_or_404(user=request.user, child_id=child_id)
    audit_children(
        user=request.user,
        action=AuditAction.VIEW,
        children=[child],
        request=request,
        detail={"page": "history"},
    )
    response = render(
        request,
        "children/child_history.html",
        {
            "child": child,
            "timeline": selectors.timeline_for(
                child, extra=extensions.timeline_entries(child), user=request.user
            ),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def child_edit(request: HttpRequest, child_id, section: str) -> HttpResponse:
    if section not in SECTIONS:
        raise Http404
    child = writable_child(request, child_id)
    initial = {
        field: getattr(child, field)
        for field in SECTIONS[section][1]
        if field not in ("id_number", "village") and hasattr(child, field)
    }
    initial["village"] = child.village
    initial["id_number"] = selectors.id_number_for(request.user, child)
    # Those waiting for county civil affairs stay ticked (待民政确认) until they decide.
    initial["categories"] = [
        c for c in [*child.categories, *child.categories_pending] if c != Category.LEFT_BEHIND
    ]
    form = ChildForm(
        request.POST or None, villages=_villages_for(request.user), section=section, initial=initial
    )
    if section == "basic" and not selectors.can_see_full_id(request.user, child):
        # Someone who sees only the masked number keeps it unless they type a new one.
        form.fields["id_number"].help_text = _("Leave as it is to keep the recorded number.")
    if request.method == "POST" and form.is_valid():
        changes = form.service_values()
        if changes.get("id_number") == child.id_number_masked:
            changes.pop("id_number")
        try:
            # The version the page was opened at: without it the stale check could not be made.
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = -1  # never a real version: answered as stale, nothing saved
        with _refusals_on_child_form(form):
            services.child_update(user=request.user, child=child, changes=changes, version=version)
            messages.success(request, _("Saved."))
            return to_file(child)
    return render(
        request,
        "children/child_form.html",
        {"form": form, "child": child, "section": section, "section_title": SECTIONS[section][0]},
    )


def writable_child(request: HttpRequest, child_id) -> Child:
    """The file this person may change (404 outside the area, 403 for a role that may not)."""
    return selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.CHILD_WRITE
    )


def to_file(child: Child) -> HttpResponse:
    return redirect("children:detail", child_id=child.pk)


# A page with one form about the file, back to the file when done (close, re-open).
file_form_page = partial(form_page_view, fetch=writable_child, record="child", back=to_file)
child_close = file_form_page(
    CloseForm,
    services.child_close,
    template="children/child_close.html",
    done=gettext_lazy("The file was closed."),
)


@login_required
@require_http_methods(["GET", "POST"])
def family_member_edit(request: HttpRequest, child_id, member_id=None) -> HttpResponse:
    child = writable_child(request, child_id)
    member = (
        get_object_or_404(FamilyMember, pk=member_id, household_id=child.household_id)
        if member_id
        else None
    )
    initial = {}
    if member is not None:
        initial = {f: getattr(member, f) for f in services.MEMBER_FIELDS if f != "id_number"}
        initial["id_number"] = member.id_number_masked
        # Shown as the user may see it; sent back unchanged, it keeps the recorded number.
        initial["phone"] = scope.shown_number(request.user, PHONE, member.phone, child.village_id)
    form = FamilyMemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and "delete" in request.POST and member is not None:
        try:
            services.family_member_delete(user=request.user, member=member)
        except Conflict as exc:
            messages.error(request, exc.message)
        return to_file(child)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        if member is not None and values.get("id_number") == member.id_number_masked:
            values.pop("id_number")
        if member is not None and values.get("phone") == initial["phone"] != member.phone:
            values.pop("phone")
        with refusals_on_form(form):
            if member is None:
                services.family_member_add(user=request.user, child=child, **values)
            else:
                services.family_member_update(user=request.user, member=member, changes=values)
            messages.success(request, _("Saved."))
            return to_file(child)
    return render(
        request,
        "children/family_form.html",
        {
            "form": form,
            "child": child,
            "member": member,
            "evidence_form": MemberEvidenceForm(),
        },
    )


def document_response(
    request: HttpRequest, file, content_type: str, *, object_type: str, record: tuple[str, str]
) -> HttpResponse:
    """A stored document of a file (a signed agreement, a proof of a parent's status) to a user
    already checked for scope: 404 when none is stored, every view audited."""
    if not file:
        raise Http404
    audit_log(
        user=request.user,
        action=AuditAction.VIEW,
        object_type=object_type,
        records=[record],
        request=request,
    )
    return private_file_response(file, content_type)


@login_required
@require_http_methods(["GET", "POST"])
def family_member_evidence(request: HttpRequest, child_id, member_id) -> HttpResponse:
    """GET: the document proving the member's status, to users whose area covers the child
    (audited). POST: attach one (the child's case workers)."""
    capability = Capability.CHILD_WRITE if request.method == "POST" else Capability.CHILD_READ
    child = selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=capability
    )
    member = get_object_or_404(FamilyMember, pk=member_id, household_id=child.household_id)
    if request.method == "GET":
        return document_response(
            request,
            member.evidence,
            member.evidence_content_type,
            object_type="family_member_evidence",
            record=(str(member.pk), child.village_id),
        )
    run_small_form(
        request,
        MemberEvidenceForm,
        lambda data: services.family_member_attach_evidence(
            user=request.user,
            member=member,
            upload=data["evidence"],
            kind=data["kind"],
            evidence_date=data["evidence_date"],
        ),
    )
    return redirect("children:family_edit", child_id=child.pk, member_id=member.pk)


@login_required
@require_http_methods(["GET", "POST"])
def assessment_create(request: HttpRequest, child_id) -> HttpResponse:
    child = selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.CHILD_ASSESS
    )
    form = AssessmentForm(request.POST or None, initial={"assessed_on": clock.today()})
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            assessment = services.assessment_record(
                user=request.user, child=child, **form.cleaned_data
            )
            if assessment.result == RiskLevel.HIGH:
                messages.warning(
                    request,
                    _(
                        "The result is red (high risk). If the child is in danger, call the "
                        "police (110) and file a mandatory report now."
                    ),
                )
                # Ask the question at once: the report form, with the child filled in.
                return redirect("reporting:create_for_child", child_id=child.pk)
            else:
                messages.success(
                    request,
                    _("Assessment saved: %(colour)s.")
                    % {"colour": assessment.get_result_display()},
                )
            return to_file(child)
    return render(request, "children/assessment_form.html", {"form": form, "child": child})


@login_required
@require_http_methods(["GET", "POST"])
def child_import(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, Capability.CHILD_WRITE)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = imports.import_children(
            source=form.cleaned_data["file"],
            user=request.user,
            request=request,
            update=form.cleaned_data["update"],
        )
        if report.ok and not report.update:
            messages.success(request, _("%(n)s children were imported.") % {"n": report.created})
            return redirect("children:list")
    return render(request, "children/import.html", {"form": form, "report": report})


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, Capability.CHILD_WRITE)
    villages = list(_villages_for(request.user).order_by("code")[: TEMPLATE_VILLAGES + 1])
    if len(villages) > TEMPLATE_VILLAGES:
        content = imports.template_bytes(villages=None, villages_listed=False)
    else:
        content = imports.template_bytes(villages=villages)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="census-template.xlsx"'
    return response
