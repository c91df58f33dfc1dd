"""Pages of the file's life: re-open a closed file, move a file to another village (transfer out),
ask for the file of a child who arrived (transfer in), and the transfers waiting for an answer."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from accounts.permissions import Capability
from core.forms import refusals_as_messages, refusals_on_form, small_form_view

from . import households, lifecycle, selectors, services
from .forms import (
    CategoryDecisionForm,
    EmptyForm,
    MergeForm,
    ReasonForm,
    ReopenForm,
    SiblingForm,
    TransferInForm,
    TransferOutForm,
)
from .models import TransferStatus
from .views import _villages_for, file_form_page, to_file, writable_child

child_reopen = file_form_page(
    ReopenForm,
    lifecycle.child_reopen,
    template="children/reopen.html",
    done=gettext_lazy("The file was re-opened."),
)


@login_required
@require_http_methods(["GET", "POST"])
def transfer_out(request: HttpRequest, child_id) -> HttpResponse:
    """The child moved away: ask the new village to take the file (at once within one's area)."""
    child = writable_child(request, child_id)
    form = TransferOutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form, conflict_on_field=True):
            transfer = lifecycle.transfer_request_from_sender(
                user=request.user, child=child, **form.cleaned_data
            )
            if transfer.status == TransferStatus.ACCEPTED:
                messages.success(request, _("The file was moved to the new village."))
                return to_file(child)
            messages.success(request, _("The transfer was asked; the new village will answer."))
            return redirect("children:transfers")
    return render(request, "children/transfer_out.html", {"form": form, "child": child})


@login_required
@require_http_methods(["GET", "POST"])
def transfer_in(request: HttpRequest) -> HttpResponse:
    """The child arrived: ask for the file by the child's ID number (nothing of it is shown)."""
    permissions.require(request.user, Capability.CHILD_WRITE)
    form = TransferInForm(request.POST or None, villages=_villages_for(request.user))
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form, {"to_village_code": "village"}, conflict_on_field=True):
            transfer = lifecycle.transfer_request_from_receiver(
                user=request.user, **form.service_values()
            )
            if transfer.status == TransferStatus.ACCEPTED:
                messages.success(request, _("The file was moved to the new village."))
                return redirect("children:detail", child_id=transfer.child_id)
            messages.success(request, _("The transfer was asked; the file's village will answer."))
            return redirect("children:transfers")
    return render(request, "children/transfer_in.html", {"form": form})


@login_required
def transfer_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, Capability.CHILD_READ)
    pending = list(selectors.transfers_for(user=request.user, status=TransferStatus.PENDING)[:100])
    recent = list(
        selectors.transfers_for(user=request.user).exclude(status=TransferStatus.PENDING)[:30]
    )
    rows = [
        {
            "transfer": t,
            "sees_file": selectors.sees_transferred_file(request.user, t),
            "may_answer": t.status == TransferStatus.PENDING
            and lifecycle.may_answer(request.user, t),
        }
        for t in pending + recent
    ]
    return render(
        request,
        "children/transfers.html",
        {
            "pending": [r for r in rows if r["transfer"].status == TransferStatus.PENDING],
            "recent": [r for r in rows if r["transfer"].status != TransferStatus.PENDING],
            "reject_form": ReasonForm(),
            "can_ask": permissions.can(request.user, Capability.CHILD_WRITE),
        },
    )


@login_required
@require_POST
def transfer_accept(request: HttpRequest, transfer_id) -> HttpResponse:
    transfer = selectors.transfer_for_user_or_404(
        user=request.user, transfer_id=transfer_id, capability=Capability.CHILD_WRITE
    )
    with refusals_as_messages(request):
        lifecycle.transfer_accept(user=request.user, transfer=transfer)
        messages.success(request, _("The file was moved to the new village."))
    return redirect("children:transfers")


@login_required
@require_POST
def transfer_reject(request: HttpRequest, transfer_id) -> HttpResponse:
    transfer = selectors.transfer_for_user_or_404(
        user=request.user, transfer_id=transfer_id, capability=Capability.CHILD_WRITE
    )
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give the reason."))
        return redirect("children:transfers")
    with refusals_as_messages(request):
        lifecycle.transfer_reject(
            user=request.user, transfer=transfer, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("The transfer was rejected."))
    return redirect("children:transfers")


# --- Households: siblings share their family members -------------------------------------------

_child_action = partial(small_form_view, fetch=writable_child, record="child", back=to_file)


# A name is a few characters; what is typed past this is not searched.
NAME_SEARCHED = 30


@login_required
@require_http_methods(["GET", "POST"])
def sibling_link(request: HttpRequest, child_id) -> HttpResponse:
    """Link a brother or sister on file in the child's village: the village's open files found
    by name (a village of hundreds is never one list on the file's page), the one picked
    found in the user's area like any file (404 outside)."""
    child = writable_child(request, child_id)
    form = SiblingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            other = selectors.child_for_user_or_404(
                user=request.user,
                child_id=form.cleaned_data["child_id"],
                capability=Capability.CHILD_WRITE,
            )
            households.siblings_link(user=request.user, child=child, other=other)
            messages.success(request, _("Saved."))
            return to_file(child)
    name = request.GET.get("name", "").strip()[:NAME_SEARCHED]
    candidates, more = selectors.sibling_candidates(child, name=name)
    return render(
        request,
        "children/sibling_link.html",
        {"form": form, "child": child, "name": name, "candidates": candidates, "more": more},
    )


category_decide = small_form_view(
    CategoryDecisionForm,
    services.category_decide,
    fetch=lambda request, child_id: selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.CHILD_CONFIRM_CATEGORY
    ),
    record="child",
    back=to_file,
)
household_leave = _child_action(EmptyForm, households.household_leave)


@login_required
@require_http_methods(["GET", "POST"])
def child_merge(request: HttpRequest, child_id) -> HttpResponse:
    """Two files of one child: the supervisor keeps this one and merges the other into it."""
    child = selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.CHILD_MERGE
    )
    form = MergeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            duplicate = selectors.child_for_user_or_404(
                user=request.user,
                child_id=form.cleaned_data["duplicate_id"],
                capability=Capability.CHILD_MERGE,
            )
            lifecycle.child_merge(
                user=request.user,
                child=child,
                duplicate=duplicate,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("The two files were merged into this one."))
            return to_file(child)
    return render(
        request,
        "children/merge.html",
        {
            "form": form,
            "child": child,
            "candidates": selectors.merge_candidates(user=request.user, child=child),
        },
    )
