"""Pages: the director's worklist, the visit form, review, township overview, patrol, reminders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import extensions, permissions
from accounts import selectors as scope
from accounts.permissions import Capability
from children import schedule
from children import selectors as child_selectors
from core import capture, clock, web
from core.compiled import together
from core.errors import Conflict
from core.forms import refusals_on_form
from core.redirects import safe_next
from core.text import join_list
from core.uploads import private_file_response

from . import rules, selectors, services
from .forms import AmendmentForm, ReviewForm, VisitForm
from .models import VisitKind, VisitPhoto

# The service's names for what the visit form calls otherwise.
VISIT_FIELD_MAP = {"date": "visited_on", "photo": "photos"}


@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    """The director's first page: overdue, then due soon, then never visited."""
    permissions.require(request.user, Capability.VISIT_RECORD)
    today = clock.today()
    # Where the worklist is the person's first page (a director's: accounts.views.home), it
    # carries their other queues too: open reminders.
    panel_reads = (
        []
        if permissions.can(request.user, Capability.MENU_HOME)
        else extensions.home_panel_reads(request)
    )
    # The page's reads in one round trip.
    worklist, returned, transfers_to_answer, *panels = together(
        selectors.worklist_read(user=request.user, today=today),
        selectors.returned_visits_read(user=request.user, limit=20),
        child_selectors.transfers_to_answer_read(user=request.user),
        *panel_reads,
    )

    def sections() -> list[tuple]:
        lists = worklist.lists
        return [
            (schedule.OVERDUE, _("Overdue"), "danger", lists[schedule.OVERDUE]),
            (schedule.DUE_SOON, _("Due within 7 days"), "warning", lists[schedule.DUE_SOON]),
            (
                schedule.NEVER_VISITED,
                _("Never visited at home"),
                "secondary",
                lists[schedule.NEVER_VISITED],
            ),
        ]

    return render(
        request,
        "visits/worklist.html",
        {
            # Made only when the kept fragment is rendered again (the lists' children).
            "sections": SimpleLazyObject(sections),
            "returned": returned,
            # The returned visits and the lists: rendered again only when one of them changed.
            "sections_key": web.content_key([worklist.key, *returned]),
            "today": today,
            "transfers_to_answer": transfers_to_answer,
            "panels": extensions.arranged(panels),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request: HttpRequest, child_id) -> HttpResponse:
    """The visit form (a contact: ``?kind=phone``). Sent by the page's script as well
    (core.capture: the phone may send it offline, later, twice): then answered in JSON."""
    child = child_selectors.child_for_user_or_404(
        user=request.user, child_id=child_id, capability=Capability.VISIT_RECORD
    )
    form = VisitForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "visited_on": clock.today(),
            "kind": request.GET.get("kind", VisitKind.HOME),
            "base": child.version,
        },
    )
    context = {"form": form, "child": child, "next": safe_next(request.GET.get("next"), "")}
    sync = capture.is_sync(request)
    if request.method == "POST" and form.is_valid():
        values = {
            **form.visit_values(),
            "photos": form.cleaned_data["photos"],
            "file_version": capture.file_version(form),
        }
        client_id = form.cleaned_data["client_id"]
        try:
            with refusals_on_form(form, VISIT_FIELD_MAP, raise_conflicts=sync):
                if client_id:
                    visit, created = services.visit_record_once(
                        user=request.user, child=child, client_id=client_id, **values
                    )
                else:
                    visit = services.visit_record(user=request.user, child=child, **values)
                    created = True
                return _visit_saved(request, visit, child, created)
        except Conflict as exc:
            return _conflict_answer(exc, child)
    page = render(request, "visits/visit_form.html", context)
    if request.method == "POST" and sync:
        return capture.invalid(form, page)
    return page


def _visit_saved(request: HttpRequest, visit, child, created: bool) -> HttpResponse:
    """After a visit is recorded (or found again for a repeated upload): the report prompt when
    it found danger, else the next page; JSON for the page's script."""
    if not created:
        text = _("This visit was already saved.")
        target = reverse("visits:detail", kwargs={"visit_id": visit.pk})
    else:
        text = _("Visit recorded. Next home visit due %(due)s.") % {"due": _next_due(child)}
        target = safe_next(request.POST.get("next"), reverse("visits:worklist"))
    prompt = _report_prompt(request, visit, child, show=False) if created else None
    if prompt is not None:
        text, target = prompt
    if not capture.is_sync(request) or capture.is_interactive(request):
        (messages.success if prompt is None else messages.warning)(request, text)
    if capture.is_sync(request):
        return capture.saved(created=created, record_id=visit.pk, redirect_to=target, message=text)
    return redirect(target)


def _conflict_answer(exc: Conflict, child, visit=None) -> HttpResponse:
    """409 for the phone: the visit as saved now (a correction), else the child's short file."""
    if visit is not None:
        visit.refresh_from_db()
        return capture.conflict(exc, title=_("This visit as saved now"), rows=_visit_fields(visit))
    return capture.conflict(exc, title=child.name, rows=child_selectors.short_file(child))


def _visit_fields(visit) -> list[tuple[str, str, object, str]]:
    """A visit's fields as its form shows them: (name, label, value the form takes, shown)."""
    form = VisitForm(initial={field: getattr(visit, field) for field in services.VISIT_FIELDS})
    rows = []
    for name in services.VISIT_FIELDS:
        field = form[name]
        value = field.value()
        if isinstance(value, bool) or value is None:
            value = {True: "true", False: "false", None: ""}[value]
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        choices = dict(getattr(field.field, "choices", []) or [])
        if isinstance(value, list):
            shown = join_list(choices.get(v, v) for v in value)
        else:
            shown = str(choices.get(value, value))
        rows.append((name, field.label, value, shown or "—"))
    return rows


def _report_prompt(request: HttpRequest, visit, child, *, show: bool = True):
    """A visit that found the child alone (脱离监护单独居住生活, the first situation of the
    mandatory report, whether or not "safety concern" was ticked) or a safety concern opens the
    report form with the child filled in (the director may go back): the redirect (with the
    warning shown), or with ``show=False`` (warning, address); None when neither."""
    report_form = reverse("reporting:create_for_child", kwargs={"child_id": child.pk})
    if selectors.found_alone(visit, child):
        text = _(
            "The child was found at home with no guardian or caregiver. A child "
            "under 16 living alone must be reported: call the police (110) if the "
            "child is in danger, and file a mandatory report now."
        )
        target = report_form + "?situation=living_alone"
    elif visit.safety_concern:
        text = _(
            "You noted a safety concern. If the child lives alone or is in danger, "
            "call the police (110) and file a mandatory report now."
        )
        target = report_form
    else:
        return None
    if not show:
        return text, target
    messages.warning(request, text)
    return redirect(target)


def _prompts(visit, child) -> bool:
    return selectors.found_alone(visit, child) or bool(visit.safety_concern)


def _next_due(child) -> str:
    child.refresh_from_db(fields=["next_home_visit_due"])
    return f"{child.next_home_visit_due:%Y-%m-%d}" if child.next_home_visit_due else "—"


@login_required
@require_http_methods(["GET", "POST"])
def visit_detail(request: HttpRequest, visit_id) -> HttpResponse:
    visit = selectors.visit_for_user_or_404(user=request.user, visit_id=visit_id)
    can_review = permissions.can(request.user, Capability.VISIT_REVIEW) and selectors.may_review(
        user=request.user, visit=visit
    )
    form = ReviewForm(request.POST or None)
    if request.method == "POST":
        if not can_review:
            raise PermissionDenied
        if form.is_valid():
            with refusals_on_form(form):
                services.visit_review(user=request.user, visit=visit, **form.cleaned_data)
                # Straight on to the next visit of the queue (safety concerns first).
                following = selectors.next_to_review(user=request.user, after=visit)
                if following is None:
                    messages.success(request, _("Review saved."))
                    return redirect("visits:review")
                messages.success(request, _("Review saved. Here is the next visit to review."))
                return redirect("visits:detail", visit_id=following.pk)
    return _detail_page(request, visit, form=form, can_review=can_review)


def _detail_page(
    request: HttpRequest,
    visit,
    *,
    form: ReviewForm | None = None,
    can_review: bool = False,
    amendment_form: AmendmentForm | None = None,
) -> HttpResponse:
    """The visit with its amendments and history. A reviewed visit is not edited: whoever may
    record visits here adds an amendment instead."""
    reviewed = not rules.editable(visit.review_status)
    return render(
        request,
        "visits/visit_detail.html",
        {
            "visit": visit,
            "form": form or ReviewForm(),
            "can_review": can_review and visit.review_status == "pending",
            "can_edit": visit.visitor_id == request.user.pk and not reviewed,
            "can_amend": (reviewed or amendment_form is not None)
            and permissions.can(request.user, Capability.VISIT_RECORD),
            "amendment_form": amendment_form or AmendmentForm(),
            "amendments": selectors.amendments_for(visit),
            "history": selectors.visit_history(visit=visit),
        },
    )


@login_required
@require_POST
def visit_amend(request: HttpRequest, visit_id) -> HttpResponse:
    """添加补充说明: the one change a reviewed visit takes; it goes back to the review queue."""
    visit = selectors.visit_for_user_or_404(
        user=request.user, visit_id=visit_id, capability=Capability.VISIT_RECORD
    )
    form = AmendmentForm(request.POST)
    if form.is_valid():
        with refusals_on_form(form):
            services.visit_amend(
                user=request.user,
                visit=visit,
                text=form.cleaned_data["text"],
                corrections=form.corrections(),
            )
            messages.success(request, _("Amendment added. The visit is back in the review queue."))
            return redirect("visits:detail", visit_id=visit.pk)
    return _detail_page(request, visit, amendment_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def visit_edit(request: HttpRequest, visit_id) -> HttpResponse:
    """The visitor corrects their visit; from the page's script too (core.capture), where a
    visit changed on another device meanwhile is a conflict to resolve, never overwritten."""
    visit = selectors.visit_for_user_or_404(
        user=request.user, visit_id=visit_id, capability=Capability.VISIT_RECORD
    )
    sync = capture.is_sync(request)
    if visit.visitor_id != request.user.pk:
        raise PermissionDenied
    if not rules.editable(visit.review_status):
        if sync and request.method == "POST":
            refused = Conflict(services.REVIEWED_NOT_EDITABLE, code=capture.VISIT_REVIEWED)
            return _conflict_answer(refused, visit.child, visit)
        messages.error(request, services.REVIEWED_NOT_EDITABLE)
        return redirect("visits:detail", visit_id=visit.pk)
    initial = {field: getattr(visit, field) for field in services.VISIT_FIELDS}
    initial["base"] = services.visit_version(visit)
    form = VisitForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        prompted_before = _prompts(visit, visit.child)
        force = form.cleaned_data["force"]
        try:
            with refusals_on_form(form, VISIT_FIELD_MAP, raise_conflicts=sync):
                updated = services.visit_update(
                    user=request.user,
                    visit=visit,
                    changes=form.visit_values(),
                    photos=form.cleaned_data["photos"],
                    base=None if force else (form.cleaned_data["base"] or None),
                )
                return _visit_corrected(request, visit, updated, prompted_before)
        except Conflict as exc:
            return _conflict_answer(exc, visit.child, visit)
    page = render(
        request, "visits/visit_form.html", {"form": form, "child": visit.child, "visit": visit}
    )
    if request.method == "POST" and sync:
        return capture.invalid(form, page)
    return page


def _visit_corrected(request: HttpRequest, visit, updated, prompted_before: bool) -> HttpResponse:
    text = _("Saved.")
    target = reverse("visits:detail", kwargs={"visit_id": visit.pk})
    # Corrected to a child found alone or a safety concern: prompted as when recorded.
    prompt = None if prompted_before else _report_prompt(request, updated, visit.child, show=False)
    if prompt is not None:
        text, target = prompt
    if not capture.is_sync(request) or capture.is_interactive(request):
        (messages.success if prompt is None else messages.warning)(request, text)
    if capture.is_sync(request):
        return capture.saved_edit(record_id=visit.pk, redirect_to=target, message=text)
    return redirect(target)


@login_required
def photo(request: HttpRequest, photo_id) -> HttpResponse:
    """Photos are served only to users whose area covers the child."""
    item = scope.get_in_scope_or_404(
        VisitPhoto.objects.select_related("visit"),
        user=request.user,
        area_field="visit__child__village__code",
        pk=photo_id,
    )
    permissions.require(request.user, Capability.VISIT_READ)
    return private_file_response(item.image, "image/jpeg")


@login_required
def township(request: HttpRequest) -> HttpResponse:
    """Supervisor: overdue and due-soon children grouped by village, with their directors.
    Above a township (civil affairs), the areas one level below, chosen one level at a time
    (``?area=``, 404 outside the user's area; issue 20: never every village of a province)."""
    permissions.require(request.user, Capability.VISIT_REVIEW)
    today = clock.today()
    picker = scope.area_picker_for(user=request.user, code=request.GET.get("area", ""))
    if picker is None:
        raise Http404
    area = None if picker.at_top else picker.current.code
    village = request.GET.get("village") or None
    grouped: dict[str, list] = {}
    attention = []
    if picker.current.level in selectors.LISTED_LEVELS:
        lists = selectors.worklist_for(user=request.user, today=today, village=village, area=area)
        attention = lists[schedule.OVERDUE] + lists[schedule.DUE_SOON]
    for child in sorted(attention, key=lambda c: (c.village_id, c.next_home_visit_due)):
        grouped.setdefault(child.village.name, []).append(child)
    return render(
        request,
        "visits/township.html",
        {
            "picker": picker,
            "overview": selectors.township_overview(
                user=request.user, today=today, area=picker.current, rows=picker.choices
            ),
            "grouped": grouped,
            "listed": picker.current.level in selectors.LISTED_LEVELS,
            "village": village,
        },
    )


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    """Visits to review: those that prompt a report (a safety concern, a child found alone)
    first, then the oldest; ``?safety=1`` those only."""
    permissions.require(request.user, Capability.VISIT_REVIEW)
    concerns_only = request.GET.get("safety") == "1"
    queue = selectors.visits_to_review(user=request.user, concerns_only=concerns_only)
    page = Paginator(queue, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "visits/review_queue.html",
        {
            "page": page,
            "counts": selectors.review_counts(user=request.user),
            "concerns_only": concerns_only,
            "concern": selectors.CONCERN,
        },
    )


@login_required
def patrol(request: HttpRequest) -> HttpResponse:
    """督导巡查: key children visited by a supervisor this quarter."""
    permissions.require(request.user, Capability.PATROL)
    today = clock.today()
    year, quarter = rules.quarter_of(today)
    try:
        year = int(request.GET.get("year", year))
        quarter = int(request.GET.get("quarter", quarter))
        if quarter not in (1, 2, 3, 4) or not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        raise Http404 from None
    data = selectors.patrol_for_quarter(user=request.user, year=year, quarter=quarter)
    previous = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    following = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    return render(
        request,
        "visits/patrol.html",
        {
            "data": data,
            "year": year,
            "quarter": quarter,
            "previous": previous,
            "following": following,
        },
    )
