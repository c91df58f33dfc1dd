"""Pages of the roster (domain §10): the directors and supervisors of an area, a person's
appointment and trainings, and a training recorded once for many people. Thin: scope and reads
are accounts.selectors, writes accounts.roster; every page that shows people is audited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core import clock, web
from core.forms import refusals_on_form
from core.uploads import private_file_response

from . import permissions, roster, rules, selectors
from .forms import CertificateForm, RosterEntryForm, TrainingForm
from .models import AuditAction
from .permissions import Capability
from .services import audit_log

PAGE_SIZE = 50
# The training form lists at most this many people to tick; a larger area is narrowed first.
CANDIDATE_LIMIT = 500


def _audit_people(request: HttpRequest, people) -> None:
    """A page that shows these people's roster records: audited."""
    roster.roster_read_audit(
        user=request.user, action=AuditAction.VIEW, people=people, request=request
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def roster_list(request: HttpRequest) -> HttpResponse:
    """The directors and supervisors of the user's area (or of an area chosen in it, one level at
    a time), in post by default, with their appointment and last training."""
    user = request.user
    if not permissions.can(user, Capability.ROSTER_READ) and permissions.can(
        user, Capability.ROSTER_LISTED
    ):
        return redirect("roster_person", username=user.username)
    selectors.require_roster_reader(user)
    picker = selectors.area_picker_for(user=user, code=request.GET.get("area", ""))
    status = request.GET.get("status", "in_post")
    if status not in selectors.ROSTER_STATUSES:
        status = "in_post"
    untrained = request.GET.get("untrained") == "1"
    area = None if picker is None or picker.at_top else picker.current
    people = selectors.roster_for_user(user=user, area=area, status=status, untrained=untrained)
    query = request.GET.get("q", "").strip()[:50]
    if query:
        people = selectors.staff_matching(people, query)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    _audit_people(request, page)
    return _no_store(
        render(
            request,
            "accounts/roster_list.html",
            {
                "page": page,
                "picker": picker,
                "picker_query": web.query_without(request.GET, "area", "page"),
                "status": status,
                "untrained": untrained,
                "q": query,
                "today": clock.today(),
            },
        )
    )


@login_required
def roster_person(request: HttpRequest, username: str) -> HttpResponse:
    """One director's or supervisor's appointment and the trainings they attended."""
    person = selectors.roster_person_for_user_or_404(user=request.user, username=username)
    _audit_people(request, [person])
    today = clock.today()
    return _no_store(
        render(
            request,
            "accounts/roster_person.html",
            {
                "person": person,
                "entry": getattr(person, "roster_entry", None),
                "trainings": selectors.trainings_of(person),
                "trained": rules.trained_within_year(person.training_due, today),
                "reminded": rules.training_reminder_due(person.training_due, today),
                "today": today,
            },
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def roster_edit(request: HttpRequest, username: str) -> HttpResponse:
    """Civil affairs change a person's appointment (date, post, qualification, leaving)."""
    person = selectors.roster_person_for_user_or_404(
        user=request.user, username=username, capability=Capability.ROSTER_EDIT
    )
    entry = getattr(person, "roster_entry", None)
    initial = (
        {name: getattr(entry, name) for name in roster.ROSTER_FIELDS} if entry is not None else {}
    )
    form = RosterEntryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            roster.roster_entry_update(user=request.user, person=person, **form.cleaned_data)
            messages.success(
                request, _("The roster record of %(name)s was saved.") % {"name": person}
            )
            return redirect("roster_person", username=person.username)
    return _no_store(render(request, "accounts/roster_edit.html", {"form": form, "person": person}))


@login_required
def training_list(request: HttpRequest) -> HttpResponse:
    """Trainings attended by people of the user's area (a director: their own)."""
    selectors.require_roster_reader(request.user)
    picker = selectors.area_picker_for(user=request.user, code=request.GET.get("area", ""))
    area = None if picker is None or picker.at_top else picker.current
    trainings = selectors.trainings_for_user(user=request.user, area=area)
    page = Paginator(trainings, PAGE_SIZE).get_page(request.GET.get("page"))
    return _no_store(
        render(
            request,
            "accounts/training_list.html",
            {
                "page": page,
                "picker": picker,
                "picker_query": web.query_without(request.GET, "area", "page"),
            },
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def training_create(request: HttpRequest) -> HttpResponse:
    """Record one training for many people: pick the area (one level at a time), tick who
    attended among its directors and supervisors in post (untrained first)."""
    permissions.require(request.user, Capability.TRAINING_RECORD)
    code = request.POST.get("area") or request.GET.get("area", "")
    picker = selectors.area_picker_for(user=request.user, code=code)
    area = None if picker is None or picker.at_top else picker.current
    candidates = list(
        selectors.roster_candidates_for(user=request.user, area=area)[: CANDIDATE_LIMIT + 1]
    )
    too_many = len(candidates) > CANDIDATE_LIMIT
    candidates = candidates[:CANDIDATE_LIMIT]
    form = TrainingForm(request.POST or None, request.FILES or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with refusals_on_form(form):
            training = roster.training_record(
                user=request.user,
                held_on=data["held_on"],
                subject=data["subject"],
                hours=data["hours"],
                organiser=data["organiser"],
                attendees=data["attendees"],
                certificate=data["certificate"],
            )
            messages.success(
                request,
                _("The training was recorded for %(n)s people.") % {"n": len(data["attendees"])},
            )
            return redirect("training_detail", training_id=training.pk)
    _audit_people(request, candidates)
    chosen = set(form["attendees"].value() or [])
    return _no_store(
        render(
            request,
            "accounts/training_form.html",
            {
                "form": form,
                "picker": picker,
                "picker_query": "",
                "candidates": candidates,
                "chosen": chosen,
                "too_many": too_many,
                "limit": CANDIDATE_LIMIT,
                "today": clock.today(),
            },
        )
    )


@login_required
def training_detail(request: HttpRequest, training_id) -> HttpResponse:
    """A training and those of its attendees the user may see."""
    training = selectors.training_for_user_or_404(user=request.user, training_id=training_id)
    attendees = list(selectors.training_attendees_for(user=request.user, training=training))
    _audit_people(request, attendees)
    return _no_store(
        render(
            request,
            "accounts/training_detail.html",
            {
                "training": training,
                "attendees": attendees,
                "certificate_form": CertificateForm(),
            },
        )
    )


@login_required
@require_http_methods(["GET", "POST"])
def training_certificate(request: HttpRequest, training_id) -> HttpResponse:
    """GET: the certificate or attendance sheet, to those who may read the training (audited).
    POST: attach or replace it (civil affairs)."""
    training = selectors.training_for_user_or_404(user=request.user, training_id=training_id)
    if request.method == "POST":
        permissions.require(request.user, Capability.TRAINING_RECORD)
        form = CertificateForm(request.POST, request.FILES)
        if form.is_valid():
            with refusals_on_form(form):
                roster.training_certificate_attach(
                    user=request.user, training=training, upload=form.cleaned_data["certificate"]
                )
                messages.success(request, _("The certificate was saved."))
                return redirect("training_detail", training_id=training.pk)
        attendees = list(selectors.training_attendees_for(user=request.user, training=training))
        response = render(
            request,
            "accounts/training_detail.html",
            {"training": training, "attendees": attendees, "certificate_form": form},
        )
        return _no_store(response)
    if not training.certificate:
        raise Http404
    audit_log(
        user=request.user,
        action=AuditAction.VIEW,
        object_type="training_certificate",
        records=[(str(training.pk), training.area_id)],
        request=request,
    )
    return private_file_response(training.certificate, training.certificate_content_type)
