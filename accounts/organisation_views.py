"""Pages of the registry of organisations children are referred to (domain §10): the list, read by
the case workers who refer, and civil affairs' forms to register, change and deactivate one.
Thin: reads and writes are accounts.organisations."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.forms import refusals_on_form

from . import organisations, permissions, rules
from . import selectors as scope
from .forms import AreaField
from .models import OrganisationKind
from .permissions import Capability

PAGE_SIZE = 50


def _no_validators(field: forms.CharField) -> forms.CharField:
    """The service checks NUL characters and formula text with the registry's own messages."""
    field.validators = []
    return field


class OrganisationForm(forms.Form):
    name = _no_validators(forms.CharField(label=gettext_lazy("Name"), max_length=100))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=OrganisationKind.choices)
    services = _no_validators(
        forms.CharField(
            label=gettext_lazy("Services"),
            max_length=2000,
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=gettext_lazy("What the organisation offers children and families."),
        )
    )
    contact_name = _no_validators(
        forms.CharField(label=gettext_lazy("Contact person"), max_length=50, required=False)
    )
    phone = _no_validators(
        forms.CharField(label=gettext_lazy("Phone"), max_length=20, required=False)
    )
    address = _no_validators(
        forms.CharField(label=gettext_lazy("Address"), max_length=200, required=False)
    )


class OrganisationCreateForm(OrganisationForm):
    area_code = AreaField(
        label=gettext_lazy("Registered at"),
        required=False,
        levels=tuple(sorted(rules.COUNTY_LEVELS)),
        help_text=gettext_lazy(
            "It serves the children of this area. Leave empty for your own area."
        ),
    )


class OrganisationEditForm(OrganisationForm):
    active = forms.BooleanField(
        label=gettext_lazy("Active: children may be referred to it"), required=False
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    """The organisations serving the user's area (registered there or above it) and those
    registered below it, active first; inactive ones on request."""
    user = request.user
    permissions.require(user, Capability.ORGANISATION_READ)
    found = organisations.organisations_for(user=user)
    show_inactive = request.GET.get("inactive") == "1"
    if not show_inactive:
        found = found.filter(active=True)
    query = request.GET.get("q", "").strip()[:50]
    if query:
        found = found.filter(name__icontains=query)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    may_edit = permissions.can(user, Capability.ORGANISATION_EDIT)
    for organisation in page:
        # Civil affairs keep those of their own area's subtree, not those above it.
        organisation.editable = may_edit and scope.code_in_scope(user, organisation.area_id)
    return _no_store(
        render(
            request,
            "accounts/organisation_list.html",
            {"page": page, "q": query, "show_inactive": show_inactive},
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, Capability.ORGANISATION_EDIT)
    form = OrganisationCreateForm(request.POST or None)
    form.fields["area_code"].set_areas(organisations.organisation_areas_for(user=request.user))
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        area = values.pop("area_code", None) or None
        with refusals_on_form(form, conflict_on_field=True):
            organisation = organisations.organisation_create(user=request.user, area=area, **values)
            messages.success(
                request, _("%(name)s was added to the registry.") % {"name": organisation.name}
            )
            return redirect("organisations")
    return _no_store(
        render(request, "accounts/organisation_form.html", {"form": form, "organisation": None})
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_edit(request: HttpRequest, organisation: int) -> HttpResponse:
    """Change an organisation, or deactivate it (untick "active"): no new referrals go to it,
    those sent stay with it."""
    found = organisations.organisation_for_user_or_404(
        user=request.user, organisation_id=organisation, capability=Capability.ORGANISATION_EDIT
    )
    initial = {name: getattr(found, name) for name in organisations.FIELDS}
    form = OrganisationEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form, conflict_on_field=True):
            organisations.organisation_update(
                user=request.user, organisation=found, **form.cleaned_data
            )
            messages.success(request, _("%(name)s was saved.") % {"name": found.name})
            return redirect("organisations")
    return _no_store(
        render(request, "accounts/organisation_form.html", {"form": form, "organisation": found})
    )
