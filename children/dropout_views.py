"""Pages of 控辍保学 (children.dropouts): the education department's lists and their import, one
list's matches, the rows left to follow up, and the 劝返复学 cases with their contacts, plan and
outcome. Thin: scope, reads and writes are children.dropouts; every page naming children is
audited as a view of their files."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from accounts import selectors as scope
from accounts.permissions import Capability
from core import clock, crypto, web
from core.forms import refusals_on_form, run_small_form

from . import dropouts, idcard, selectors
from .dropout_forms import (
    DropoutImportForm,
    ReturnCloseForm,
    ReturnContactForm,
    ReturnPlanForm,
    RowDismissForm,
    RowLinkForm,
)
from .models import DropoutFollowUp, ReturnCaseStatus, ReturnToSchoolCase

PAGE_SIZE = 50
ROWS_PAGE_SIZE = 100


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """The page, kept out of shared caches (children's names and ID numbers)."""
    response = render(request, template, context)
    response["Cache-Control"] = "private, no-store"
    return response


def _area_or_none(request: HttpRequest):
    """The area chosen in the user's (``?area=CODE``, as the dashboard drills down): 404
    outside it; None for the user's whole area."""
    code = request.GET.get("area", "").strip()[:12]
    return scope.area_for_user_or_404(user=request.user, code=code) if code else None


@login_required
@require_http_methods(["GET", "POST"])
def dropout_lists(request: HttpRequest) -> HttpResponse:
    """The out-of-school lists imported in the user's area, and (civil affairs, the township)
    the form to import one: all or nothing, every bad row listed with its line."""
    user = request.user
    lists = dropouts.dropout_lists_for(user=user)
    can_import = permissions.can(user, Capability.DROPOUT_IMPORT)
    if request.method == "POST":
        permissions.require(user, Capability.DROPOUT_IMPORT)
    form = DropoutImportForm(request.POST or None, request.FILES or None) if can_import else None
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        report = dropouts.dropout_list_import(
            user=user,
            source=upload,
            source_note=form.cleaned_data["source"],
            file_name=upload.name,
            request=request,
        )
        if report.ok:
            saved = report.dropout_list
            messages.success(
                request,
                _(
                    "The list was imported: %(matched)s matched to files, %(unmatched)s to "
                    "follow up, %(opened)s return-to-school cases opened."
                )
                % {
                    "matched": saved.matched_count,
                    "unmatched": saved.unmatched_count,
                    "opened": saved.cases_opened,
                },
            )
            return redirect("children:dropout_list", list_id=saved.pk)
    page = Paginator(lists, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(
        request, "children/dropout_lists.html", {"page": page, "form": form, "report": report}
    )


@login_required
def dropout_list(request: HttpRequest, list_id) -> HttpResponse:
    """One imported list: its counts and its rows with their match (ID numbers as the role may
    see them), all or the matched or the unmatched ones."""
    user = request.user
    found = dropouts.dropout_list_for_user_or_404(user=user, list_id=list_id)
    result = request.GET.get("result", "")
    if result not in ("matched", "unmatched"):
        result = ""
    page = Paginator(dropouts.rows_of(found, result=result), ROWS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for row in page:
        row.id_number_shown = dropouts.id_number_shown(user, row)
    dropouts.audit_case_children(request, user, [row.child for row in page])
    return _page(
        request,
        "children/dropout_list.html",
        {"dropout_list": found, "page": page, "result": result},
    )


@login_required
def dropout_follow_up(request: HttpRequest) -> HttpResponse:
    """The rows no file was found for (or not one), in the user's area: to find the child's file
    and link it, to register the child, or to dismiss the row with a note."""
    user = request.user
    status = request.GET.get("status", DropoutFollowUp.OPEN)
    if status not in (*DropoutFollowUp.values, "all") or status == "":
        status = DropoutFollowUp.OPEN
    area = _area_or_none(request)
    rows = dropouts.follow_up_rows_for(
        user=user, area=area, status="" if status == "all" else status
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.id_number_shown = dropouts.id_number_shown(user, row)
    dropouts.audit_case_children(request, user, [row.child for row in page])
    return _page(
        request,
        "children/dropout_follow_up.html",
        {
            "page": page,
            "status": status,
            "area": area,
            "statuses": [(v, label) for v, label in DropoutFollowUp.choices if v],
            "dismiss_form": RowDismissForm(),
            "query": web.query_without(request.GET, "page"),
        },
    )


def _child_by_id_number(user, text: str):
    """The file in the user's area with this ID number, or None (a file elsewhere is not found:
    nothing is revealed)."""
    try:
        number = idcard.parse(text).value
    except idcard.IdNumberError:
        return None
    return (
        selectors.children_in_scope(user=user)
        .filter(id_number_hash=crypto.lookup_hash(number))
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def dropout_row_link(request: HttpRequest, row: int) -> HttpResponse:
    """Link a row to the child's file: one of the files of the area with the row's name or birth
    date, or the file with the ID number typed."""
    user = request.user
    found = dropouts.row_for_user_or_404(
        user=user, row_id=row, capability=Capability.DROPOUT_FOLLOW_UP
    )
    form = RowLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        child = None
        if form.cleaned_data["child_id"]:
            child = selectors.child_for_user_or_404(
                user=user,
                child_id=form.cleaned_data["child_id"],
                capability=Capability.DROPOUT_FOLLOW_UP,
            )
        else:
            child = _child_by_id_number(user, form.cleaned_data["id_number"])
            if child is None:
                form.add_error("id_number", _("No file with this ID number in your area."))
        if child is not None:
            with refusals_on_form(form, {"child_id": "id_number"}):
                linked = dropouts.dropout_row_link(user=user, row=found, child=child)
                messages.success(
                    request,
                    _("The row was linked to the file of %(name)s.") % {"name": child.name},
                )
                return redirect("children:return_case", case_id=linked.case_id)
    candidates = dropouts.link_candidates(user=user, row=found)
    dropouts.audit_case_children(request, user, candidates)
    return _page(
        request,
        "children/dropout_row_link.html",
        {
            "row": found,
            "id_number_shown": dropouts.id_number_shown(user, found),
            "candidates": candidates,
            "form": form,
            "can_register": permissions.can(user, Capability.CHILD_WRITE),
        },
    )


@login_required
@require_POST
def dropout_row_dismiss(request: HttpRequest, row: int) -> HttpResponse:
    found = dropouts.row_for_user_or_404(
        user=request.user, row_id=row, capability=Capability.DROPOUT_FOLLOW_UP
    )
    run_small_form(
        request,
        RowDismissForm,
        lambda data: dropouts.dropout_row_dismiss(user=request.user, row=found, note=data["note"]),
        lambda _row: _("The row was dismissed."),
    )
    return redirect("children:dropout_follow_up")


@login_required
def return_cases(request: HttpRequest) -> HttpResponse:
    """The 劝返复学 cases of the user's area (or an area within it): open ones by default, with
    the number of contacts and the last one's date."""
    user = request.user
    status = request.GET.get("status", ReturnCaseStatus.OPEN)
    if status not in (*ReturnCaseStatus.values, "all"):
        status = ReturnCaseStatus.OPEN
    area = _area_or_none(request)
    cases = dropouts.cases_for(user=user, status="" if status == "all" else status, area=area)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    dropouts.audit_case_children(request, user, [case.child for case in page])
    return _page(
        request,
        "children/dropout_cases.html",
        {
            "page": page,
            "status": status,
            "area": area,
            "statuses": ReturnCaseStatus.choices,
            "query": web.query_without(request.GET, "page"),
        },
    )


def _case_page(request: HttpRequest, case: ReturnToSchoolCase, **forms) -> HttpResponse:
    user = request.user
    dropouts.audit_case_children(request, user, [case.child])
    may_follow_up = case.status == ReturnCaseStatus.OPEN and permissions.can(
        user, Capability.DROPOUT_FOLLOW_UP
    )
    context = {
        "case": case,
        "contacts": list(dropouts.contacts_of(case)),
        "rows": list(case.rows.select_related("dropout_list").order_by("-pk")[:10]),
        "may_follow_up": may_follow_up,
        "today": clock.today(),
    }
    if may_follow_up:
        context.update(
            contact_form=forms.get("contact_form")
            or ReturnContactForm(initial={"contacted_on": clock.today()}),
            plan_form=forms.get("plan_form") or ReturnPlanForm(initial={"plan": case.plan}),
            close_form=forms.get("close_form") or ReturnCloseForm(),
        )
    return _page(request, "children/dropout_case.html", context)


@login_required
def return_case(request: HttpRequest, case_id) -> HttpResponse:
    case = dropouts.case_for_user_or_404(user=request.user, case_id=case_id)
    return _case_page(request, case)


def _follow_up(request: HttpRequest, case_id) -> ReturnToSchoolCase:
    return dropouts.case_for_user_or_404(
        user=request.user, case_id=case_id, capability=Capability.DROPOUT_FOLLOW_UP
    )


def _case_action(request, case_id, form_class, service, done: str, form_key: str) -> HttpResponse:
    """A follow-up form of the case page posted: the service run, or the page again with the
    form's errors next to their fields."""
    case = _follow_up(request, case_id)
    form = form_class(request.POST)
    if form.is_valid():
        with refusals_on_form(form):
            service(user=request.user, case=case, **form.cleaned_data)
            messages.success(request, done)
            return redirect("children:return_case", case_id=case.pk)
    return _case_page(request, case, **{form_key: form})


def _case_action_view(form_class, service, done, form_key: str):
    """A view of one follow-up form of the case page (_case_action)."""

    @login_required
    @require_POST
    def view(request: HttpRequest, case_id) -> HttpResponse:
        return _case_action(request, case_id, form_class, service, str(done), form_key)

    return view


return_case_contact = _case_action_view(
    ReturnContactForm,
    dropouts.return_case_contact_add,
    gettext_lazy("The contact was logged."),
    "contact_form",
)
return_case_plan = _case_action_view(
    ReturnPlanForm, dropouts.return_case_plan_set, gettext_lazy("The plan was saved."), "plan_form"
)
return_case_close = _case_action_view(
    ReturnCloseForm,
    dropouts.return_case_close,
    gettext_lazy("The return-to-school case was closed."),
    "close_form",
)
