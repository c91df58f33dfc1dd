"""Pages of the yearly spot check of files (抽查, domain §10): the checks of the area, a new draw,
a check with its sample, a sampled file with its findings and corrections, the summary per
township, the verification of the draw, and the corrections to make. Thin: reads and writes are
dashboards.spot_checks; every page that names children is audited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.models import AuditAction
from accounts.permissions import Capability
from accounts.services import audit_children, audit_log
from children.selectors import id_number_for
from core import clock
from core.errors import Conflict
from core.forms import add_service_errors, refusals_as_messages, refusals_on_form
from core.redirects import safe_next

from . import spot_check_rules as rules
from . import spot_checks
from .spot_check_forms import (
    CorrectionDoneForm,
    CorrectionForm,
    FindingsForm,
    SpotCheckForm,
)

PAGE_SIZE = 50


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _audit(request: HttpRequest, children, **detail) -> None:
    """A page that names these children (a view of their files' data)."""
    children = list(children)
    if children:
        audit_children(
            user=request.user,
            action=AuditAction.VIEW,
            children=children,
            request=request,
            detail={"page": "spot_check", **detail},
        )


def _year(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) == 4 else None


@login_required
@require_GET
def spot_check_list(request: HttpRequest) -> HttpResponse:
    """The checks of the user's area, newest first, with how many of their files are checked."""
    permissions.require(request.user, Capability.SPOT_CHECK_READ)
    checks = spot_checks.checks_for_user(user=request.user)
    year = _year(request.GET.get("year", ""))
    if year is not None:
        checks = checks.filter(year=year)
    page = Paginator(checks, PAGE_SIZE).get_page(request.GET.get("page"))
    return _no_store(
        render(
            request,
            "dashboards/spot_check_list.html",
            {"page": page, "year": year or "", "this_year": clock.today().year},
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def spot_check_new(request: HttpRequest) -> HttpResponse:
    """Civil affairs draw a sample: the area, the year, the size, the strata, the seed."""
    permissions.require(request.user, Capability.SPOT_CHECK_RUN)
    areas = list(spot_checks.areas_to_draw_for(request.user))
    form = SpotCheckForm(request.POST or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            spot_check = spot_checks.spot_check_draw(user=request.user, **form.service_values())
            messages.success(
                request,
                _("%(drawn)s of %(total)s open files were drawn.")
                % {"drawn": spot_check.sample_size, "total": spot_check.population_count},
            )
            return redirect("dashboard:spot_check", check_id=spot_check.pk)
    return _no_store(render(request, "dashboards/spot_check_form.html", {"form": form}))


def _filters(request: HttpRequest) -> dict[str, str]:
    township = request.GET.get("township", "")
    checked = request.GET.get("checked", "")
    failed = request.GET.get("failed", "")
    return {
        "township": township if township.isascii() and township.isdigit() else "",
        "checked": checked if checked in ("yes", "no") else "",
        "failed": failed if failed in spot_checks.FAILED_FILTERS else "",
    }


@login_required
@require_GET
def spot_check_detail(request: HttpRequest, check_id) -> HttpResponse:
    """A check: how it was drawn, and the sampled files of the user's area (filtered by
    township, checked or not, a finding that failed), each linked to its findings."""
    spot_check = spot_checks.check_for_user_or_404(user=request.user, check_id=check_id)
    filters = _filters(request)
    items = spot_checks.items_for(user=request.user, spot_check=spot_check, **filters)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    _audit(request, [item.child for item in page], check=str(spot_check.pk))
    labels = spot_checks.stratum_labels(
        [item.stratum for item in page] + ([filters["township"]] if filters["township"] else [])
    )
    for item in page:
        item.stratum_label = labels[item.stratum]
    return _no_store(
        render(
            request,
            "dashboards/spot_check_detail.html",
            {
                "check": spot_check,
                "page": page,
                "filters": filters,
                "township_name": labels.get(filters["township"], ""),
                "allocation": spot_checks.allocation_of(spot_check),
                "whole_area": spot_checks.runs_whole_check(request.user, spot_check),
                "failed_labels": _finding_labels(),
            },
        )
    )


def _finding_labels() -> dict[str, str]:
    return {
        "file_complete": _("File incomplete"),
        "visits_real": _("Visits not real"),
        "benefits_right": _("Benefits not right"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def spot_check_item(request: HttpRequest, check_id, item_id) -> HttpResponse:
    """A sampled file: its findings (civil affairs record them), its corrections (asked by
    civil affairs, marked done by the file's case workers, confirmed by civil affairs)."""
    item = spot_checks.item_for_user_or_404(user=request.user, check_id=check_id, item_id=item_id)
    findings_form = correction_form = None
    if request.method == "POST":
        permissions.require(request.user, Capability.SPOT_CHECK_RUN)
        if request.POST.get("form") == "correction":
            correction_form = CorrectionForm(request.POST)
            if correction_form.is_valid():
                with refusals_on_form(correction_form):
                    spot_checks.spot_check_correction_add(
                        user=request.user, item=item, **correction_form.cleaned_data
                    )
                    messages.success(request, _("The correction was asked."))
                    return redirect(_item_url(item))
        else:
            findings_form = FindingsForm(request.POST)
            if findings_form.is_valid():
                with refusals_on_form(findings_form):
                    spot_checks.spot_check_findings_record(
                        user=request.user, item=item, **findings_form.cleaned_data
                    )
                    messages.success(request, _("The findings were saved."))
                    return redirect(_item_url(item))
    return _item_page(request, item, findings_form=findings_form, correction_form=correction_form)


def _item_page(
    request: HttpRequest,
    item,
    *,
    findings_form: FindingsForm | None = None,
    correction_form: CorrectionForm | None = None,
    done_form: CorrectionDoneForm | None = None,
    done_for=None,
) -> HttpResponse:
    """The sampled file's page, with the forms as posted when one was refused (``done_for``:
    the correction whose "done" form was refused)."""
    findings_form = findings_form or FindingsForm(
        initial={
            "file_complete": item.file_complete,
            "visits_real": item.visits_real,
            "benefits_right": item.benefits_right,
            "note": item.note,
        }
    )
    _audit(request, [item.child], check=str(item.spot_check_id))
    corrections = spot_checks.corrections_of(item)
    for correction in corrections:
        bound = done_form if done_for is not None and correction.pk == done_for else None
        correction.done_form = bound or CorrectionDoneForm(auto_id=_done_auto_id(correction))
    return _no_store(
        render(
            request,
            "dashboards/spot_check_item.html",
            {
                "item": item,
                "check": item.spot_check,
                "child": item.child,
                "id_number": id_number_for(request.user, item.child),
                "corrections": corrections,
                "findings_form": findings_form,
                "correction_form": correction_form or CorrectionForm(),
                "today": clock.today(),
            },
        ),
    )


def _item_url(item) -> str:
    return reverse(
        "dashboard:spot_check_item",
        kwargs={"check_id": item.spot_check_id, "item_id": item.pk},
    )


@login_required
@require_GET
def spot_check_summary(request: HttpRequest, check_id) -> HttpResponse:
    """Per township: files sampled and checked, each finding's failures, corrections open,
    overdue and done — each number linked to its list. One query for the numbers."""
    spot_check = spot_checks.check_for_user_or_404(user=request.user, check_id=check_id)
    rows = spot_checks.summary_for(user=request.user, spot_check=spot_check)
    return _no_store(
        render(
            request,
            "dashboards/spot_check_summary.html",
            {"check": spot_check, "rows": rows},
        )
    )


@login_required
@require_GET
def spot_check_verify(request: HttpRequest, check_id) -> HttpResponse:
    """The draw done again from the seed and the population kept with the check, compared with
    the sample recorded."""
    spot_check = spot_checks.check_for_user_or_404(user=request.user, check_id=check_id)
    verification = spot_checks.spot_check_verify(spot_check=spot_check)
    return _no_store(
        render(
            request,
            "dashboards/spot_check_verify.html",
            {
                "check": spot_check,
                "verification": verification,
                "whole_area": spot_checks.runs_whole_check(request.user, spot_check),
            },
        )
    )


@login_required
@require_GET
def spot_check_population(request: HttpRequest, check_id) -> HttpResponse:
    """The population the check was drawn from, as its digest was taken (``<id>\\t<stratum>``
    lines): for anyone who wants to redo the draw. Civil affairs over the whole area only;
    audited as an export."""
    spot_check = spot_checks.check_for_user_or_404(
        user=request.user, check_id=check_id, capability=Capability.SPOT_CHECK_RUN
    )
    spot_checks.require_whole_check(request.user, spot_check)
    text = spot_checks.population_text(spot_check)
    audit_log(
        user=request.user,
        action=AuditAction.EXPORT,
        object_type="spotcheck",
        records=[(str(spot_check.pk), spot_check.area_id)],
        request=request,
        detail={"population": spot_check.population_count},
    )
    response = HttpResponse(text, content_type="text/tab-separated-values; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="spot-check-{spot_check.pk}-population.tsv"'
    )
    return _no_store(response)


@login_required
@require_GET
def spot_check_corrections(request: HttpRequest) -> HttpResponse:
    """The corrections of the files of the user's area (a director: their village's), soonest
    due first; filtered by check, township and status."""
    permissions.require(request.user, Capability.SPOT_CHECK_READ)
    status = request.GET.get("status", "open")
    if status not in spot_checks.CORRECTION_STATUSES:
        status = "open"
    check_id = request.GET.get("check", "")
    township = request.GET.get("township", "")
    township = township if township.isascii() and township.isdigit() else ""
    today = clock.today()
    corrections = spot_checks.corrections_for(
        user=request.user, check_id=check_id, township=township, status=status, today=today
    )
    page = Paginator(corrections, PAGE_SIZE).get_page(request.GET.get("page"))
    _audit(request, [c.item.child for c in page])
    for correction in page:
        correction.state = rules.correction_state(
            due_on=correction.due_on,
            corrected=correction.corrected_at is not None,
            confirmed=correction.confirmed_at is not None,
            today=today,
        )
    return _no_store(
        render(
            request,
            "dashboards/spot_check_corrections.html",
            {
                "page": page,
                "status": status,
                "statuses": _status_labels(),
                "check_id": check_id if spot_checks.is_uuid(check_id) else "",
                "township": township,
                "today": today,
            },
        )
    )


def _status_labels() -> list[tuple[str, str]]:
    return [
        ("open", _("Not done")),
        ("overdue", _("Overdue")),
        ("done", _("Done")),
        ("to_confirm", _("Done, to confirm")),
        ("confirmed", _("Confirmed")),
        ("all", _("All")),
    ]


def _back(request: HttpRequest, correction) -> HttpResponse:
    return redirect(safe_next(request.POST.get("next"), _item_url(correction.item)))


@login_required
@require_POST
def correction_done(request: HttpRequest, correction_id) -> HttpResponse:
    """A case worker of the file's area marks a correction done. Refused (a note with a NUL
    character, too long): the file's page again, the message next to the note."""
    correction = spot_checks.correction_for_user_or_404(
        user=request.user, correction_id=correction_id, capability=Capability.SPOT_CHECK_CORRECT
    )
    form = CorrectionDoneForm(request.POST, auto_id=_done_auto_id(correction))
    if form.is_valid():
        try:
            spot_checks.spot_check_correction_done(
                user=request.user, correction=correction, note=form.cleaned_data["note"]
            )
        except Conflict as exc:  # done already: nothing to show next to the note
            messages.error(request, exc.message)
            return _back(request, correction)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The correction was marked done."))
            return _back(request, correction)
    item = spot_checks.item_for_user_or_404(
        user=request.user, check_id=correction.item.spot_check_id, item_id=correction.item_id
    )
    return _item_page(request, item, done_form=form, done_for=correction.pk)


def _done_auto_id(correction) -> str:
    """Each correction's "done" form on one page has fields of its own ids."""
    return f"id_c{correction.pk.hex[:12]}_%s"


@login_required
@require_POST
def correction_confirm(request: HttpRequest, correction_id) -> HttpResponse:
    """Civil affairs confirm a correction marked done."""
    correction = spot_checks.correction_for_user_or_404(
        user=request.user, correction_id=correction_id, capability=Capability.SPOT_CHECK_RUN
    )
    with refusals_as_messages(request):
        spot_checks.spot_check_correction_confirm(user=request.user, correction=correction)
        messages.success(request, _("The correction was confirmed."))
    return _back(request, correction)
