"""Pages of the quarterly verification (季度核查, domain §10): the township's (or county's)
overview of a quarter, a village's checklist, one child's confirmation, submitting and
re-opening, and the quarterly report to print and sign (HTML and PDF). Thin: scope and reads are
visits.verification_selectors, writes visits.verification_services; every page that shows
children is audited (printing as an export)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import AuditAction
from accounts.permissions import Capability
from accounts.services import audit_children
from children import rules as child_rules
from children import selectors as child_selectors
from children.models import Category
from core import clock, web
from core.forms import refusals_as_messages, refusals_on_form

from . import verification_rules as rules
from . import verification_selectors as selectors
from . import verification_services as services
from .verification_forms import ReopenForm, VerificationItemForm


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _quarter_or_404(year: int, quarter: int, today) -> None:
    if not rules.valid_quarter(year, quarter, today):
        raise Http404


def _village_url(code: str, year: int, quarter: int) -> str:
    return reverse(
        "visits:verification_village", kwargs={"code": code, "year": year, "quarter": quarter}
    )


def _neighbours(year: int, quarter: int, today) -> dict:
    """The quarters either side, the following one only when it has begun."""
    following = rules.next_quarter(year, quarter)
    return {
        "previous": rules.previous_quarter(year, quarter),
        "following": following if rules.valid_quarter(*following, today) else None,
    }


@login_required
@require_GET
def verification_index(request: HttpRequest) -> HttpResponse:
    """A village's director: their village's checklist of the quarter under way. Above a village:
    the villages (or townships …) of the area chosen one level at a time, and where each stands
    in the quarter (``?year=&quarter=``; ``?area=`` within the user's area, else 404)."""
    user = request.user
    permissions.require(user, Capability.VERIFICATION_READ)
    today = clock.today()
    year, quarter = rules.quarter_of(today)
    try:
        year = int(request.GET.get("year", year))
        quarter = int(request.GET.get("quarter", quarter))
    except ValueError:
        raise Http404 from None
    _quarter_or_404(year, quarter, today)
    picker = scope.area_picker_for(user=user, code=request.GET.get("area", ""))
    if picker is None:
        raise Http404
    if picker.current.level == area_rules.VILLAGE:
        return redirect(_village_url(picker.current.code, year, quarter))
    overview = selectors.overview_for(
        user=user,
        area=picker.current,
        rows=picker.choices,
        year=year,
        quarter=quarter,
        today=today,
    )
    return _no_store(
        render(
            request,
            "visits/verification_overview.html",
            {
                "picker": picker,
                "picker_query": web.query_without(request.GET, "area", "page"),
                "area_query": web.query_without(request.GET, "year", "quarter", "page"),
                "overview": overview,
                "year": year,
                "quarter": quarter,
                **_neighbours(year, quarter, today),
            },
        )
    )


def _previous_pending(village_code: str, year: int, quarter: int, today) -> tuple | None:
    """On the page of the quarter under way: the quarter before, when its verification is still
    to be submitted (due DUE_DAYS_AFTER_QUARTER days after it ended) and it has children."""
    if (year, quarter) != rules.quarter_of(today):
        return None
    before = rules.previous_quarter(year, quarter)
    found = selectors.verification_of(village_code=village_code, year=before[0], quarter=before[1])
    if found is not None:
        return None if found.submitted else before
    as_of = rules.as_of(*before, today)
    listed = selectors.checklist_children(village_code=village_code, as_of=as_of).exists()
    return before if listed else None


@login_required
@require_GET
def verification_village(request: HttpRequest, code: str, year: int, quarter: int) -> HttpResponse:
    """A village's checklist of the quarter: each child in difficulty, confirmed or not; submit
    once all are; the township re-opens a submitted one."""
    today = clock.today()
    _quarter_or_404(year, quarter, today)
    village = selectors.village_for_user_or_404(user=request.user, code=code)
    verification = selectors.verification_of(village_code=code, year=year, quarter=quarter)
    rows = selectors.checklist_for(
        village_code=code, year=year, quarter=quarter, verification=verification, today=today
    )
    if rows:
        audit_children(
            user=request.user,
            action=AuditAction.VIEW,
            children=[row.child for row in rows],
            request=request,
            detail={"page": "verification"},
        )
    records = permissions.can(request.user, Capability.VERIFICATION_RECORD)
    startable = verification is not None or rules.may_open(year, quarter, today)
    draft = verification is None or not verification.submitted
    confirmed = sum(1 for row in rows if row.confirmed)
    return _no_store(
        render(
            request,
            "visits/verification_village.html",
            {
                "village": village,
                "verification": verification,
                "rows": rows,
                "year": year,
                "quarter": quarter,
                "start": rules.quarter_bounds(year, quarter)[0],
                "end": rules.quarter_bounds(year, quarter)[1],
                "due": selectors.due_of(verification, year, quarter),
                "today": today,
                "state": rules.village_state(
                    verification.status if verification else None, len(rows)
                ),
                "confirmed": confirmed,
                "can_confirm": records and draft and startable,
                "can_submit": records and draft and startable and confirmed == len(rows),
                "can_reopen": records
                and verification is not None
                and verification.submitted
                and rules.may_reopen(user_area_code=request.user.area_id, village_code=code),
                "startable": startable,
                "previous_pending": _previous_pending(code, year, quarter, today),
                "reopen_form": ReopenForm(),
                **_neighbours(year, quarter, today),
            },
        )
    )


def _item_initial(child, item) -> dict:
    initial = {"school_status": child.school_status, "version": child.version}
    if item is not None:
        initial.update(
            family_ok="true" if item.family_ok else "false",
            guardianship_ok="true" if item.guardianship_ok else "false",
            schooling_ok="true" if item.schooling_ok else "false",
            benefits_received=item.benefits_received,
            changes_found=item.changes_found,
        )
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def verification_item(
    request: HttpRequest, code: str, year: int, quarter: int, child_id
) -> HttpResponse:
    """One child of the checklist: the file's facts to check against, links to correct the file
    through its own pages, and the confirmation (the school status is corrected here, through
    the file's service)."""
    user = request.user
    today = clock.today()
    _quarter_or_404(year, quarter, today)
    village = selectors.village_for_user_or_404(user=user, code=code)
    verification = selectors.verification_of(village_code=code, year=year, quarter=quarter)
    child, item = selectors.checklist_child_or_404(
        user=user,
        village_code=code,
        year=year,
        quarter=quarter,
        verification=verification,
        child_id=child_id,
        today=today,
    )
    editable = permissions.can(user, Capability.VERIFICATION_RECORD) and (
        verification is None or not verification.submitted
    )
    back = _village_url(code, year, quarter)
    if request.method == "POST":
        permissions.require(user, Capability.VERIFICATION_RECORD)
        if not editable:
            messages.error(request, services.SUBMITTED_READ_ONLY)
            return redirect(back)
    form = VerificationItemForm(request.POST or None, initial=_item_initial(child, item))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with refusals_on_form(form):
            with transaction.atomic():
                opened, _created = services.verification_open(
                    user=user, village=village, year=year, quarter=quarter
                )
                services.verification_item_confirm(
                    user=user,
                    verification=opened,
                    child=child,
                    family_ok=data["family_ok"],
                    guardianship_ok=data["guardianship_ok"],
                    schooling_ok=data["schooling_ok"],
                    benefits_received=data["benefits_received"],
                    changes_found=data["changes_found"],
                    school_status=data["school_status"],
                    file_version=data["version"],
                )
            messages.success(request, _("%(name)s confirmed.") % {"name": child.name})
            return redirect(f"{back}#child-{child.pk}")
    audit_children(
        user=user,
        action=AuditAction.VIEW,
        children=[child],
        request=request,
        detail={"page": "verification_item"},
    )
    return _no_store(
        render(
            request,
            "visits/verification_item.html",
            {
                "village": village,
                "verification": verification,
                "child": child,
                "item": item,
                "form": form,
                "editable": editable,
                "year": year,
                "quarter": quarter,
                "back": back,
                "age": child_rules.age_on(child.birth_date, today),
                "family": child_selectors.family_for(child),
                "can_write_file": permissions.can(user, Capability.CHILD_WRITE),
            },
        )
    )


@login_required
@require_POST
def verification_submit(request: HttpRequest, code: str, year: int, quarter: int) -> HttpResponse:
    """Submit the village's checklist to the township (all confirmed), starting it if need be
    (a village with no child to verify submits an empty report)."""
    today = clock.today()
    _quarter_or_404(year, quarter, today)
    village = selectors.village_for_user_or_404(
        user=request.user, code=code, capability=Capability.VERIFICATION_RECORD
    )
    with refusals_as_messages(request):
        with transaction.atomic():
            opened, _created = services.verification_open(
                user=request.user, village=village, year=year, quarter=quarter
            )
            services.verification_submit(user=request.user, verification=opened)
        messages.success(request, _("The verification was submitted to the township."))
    return redirect(_village_url(code, year, quarter))


@login_required
@require_POST
def verification_reopen(request: HttpRequest, code: str, year: int, quarter: int) -> HttpResponse:
    """The township re-opens a submitted verification, with the reason."""
    today = clock.today()
    _quarter_or_404(year, quarter, today)
    selectors.village_for_user_or_404(
        user=request.user, code=code, capability=Capability.VERIFICATION_RECORD
    )
    verification = selectors.verification_of(village_code=code, year=year, quarter=quarter)
    if verification is None:
        raise Http404
    if not rules.may_reopen(user_area_code=request.user.area_id, village_code=code):
        raise PermissionDenied
    form = ReopenForm(request.POST)
    if form.is_valid():
        with refusals_as_messages(request):
            services.verification_reopen(
                user=request.user, verification=verification, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("The verification was re-opened for correction."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(_village_url(code, year, quarter))


def _report(request: HttpRequest, code: str, year: int, quarter: int, *, surface: str) -> dict:
    """What the quarterly report prints: the checklist (blank where not yet confirmed), the ID
    numbers as the reader may see them, the signature lines. Audited as an export of each child
    printed."""
    today = clock.today()
    _quarter_or_404(year, quarter, today)
    village = selectors.village_for_user_or_404(user=request.user, code=code)
    verification = selectors.verification_of(village_code=code, year=year, quarter=quarter)
    if verification is None and not rules.may_open(year, quarter, today):
        raise Http404
    rows = selectors.checklist_for(
        village_code=code, year=year, quarter=quarter, verification=verification, today=today
    )
    for row in rows:
        row.id_number = child_selectors.id_number_for(request.user, row.child)
        row.difficulty = [
            c
            for c in [*row.child.categories, *row.child.categories_pending]
            if c in rules.IN_DIFFICULTY
        ]
    audit_children(
        user=request.user,
        action=AuditAction.EXPORT,
        children=[row.child for row in rows],
        request=request,
        detail={"page": surface, "quarter": f"{year}Q{quarter}"},
    )
    start, end = rules.quarter_bounds(year, quarter)
    return {
        "village": village,
        "verification": verification,
        "rows": rows,
        "year": year,
        "quarter": quarter,
        "start": start,
        "end": end,
        "due": selectors.due_of(verification, year, quarter),
        "printed_on": today,
        "printed_by": request.user,
        "categories": dict(Category.choices),
    }


@login_required
@require_GET
def verification_print(request: HttpRequest, code: str, year: int, quarter: int) -> HttpResponse:
    """The quarterly report as a page to print and sign."""
    context = _report(request, code, year, quarter, surface="verification_print")
    return _no_store(render(request, "visits/verification_print.html", context))


@login_required
@require_GET
def verification_pdf(request: HttpRequest, code: str, year: int, quarter: int) -> HttpResponse:
    """The quarterly report as a PDF (WeasyPrint, Noto CJK fonts): a Chinese paper form, as the
    one-child file is, whatever the page's language."""
    from weasyprint import HTML

    context = _report(request, code, year, quarter, surface="verification_pdf")
    with translation.override("zh-hans"):
        html = render_to_string("visits/verification_report_pdf.html", context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="verification-{code}-{year}Q{quarter}.pdf"'
    return _no_store(response)
