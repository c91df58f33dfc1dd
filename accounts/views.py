"""Pages: the role's home page, the area browser and the staff directory."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordChangeView
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import extensions, permissions, rules, selectors
from .forms import area_option_label, area_text
from .models import AuditAction, Role
from .permissions import Capability

# Where a role's first page is another app's page (the menu leaves "Home" out for them:
# permissions.Capability.MENU_HOME). Which page a role starts on is this view's decision.
HOME_REDIRECTS = {
    Role.DIRECTOR: "visits:worklist",
    Role.SECURITY: "security",
    Role.AUDITOR: "audit",
    # A referral organisation's staff see the referrals sent to it and nothing else.
    Role.PARTNER: "reporting:referrals",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role in HOME_REDIRECTS:
        # A director's first page is the worklist of children to visit; the security officer's
        # and the auditor's are their own.
        return redirect(HOME_REDIRECTS[user.role])
    area = user.area
    sub_areas = (
        selectors.child_areas_with_staff_counts(user=user, area=area) if area is not None else []
    )
    return render(
        request,
        "accounts/home.html",
        {
            "area": area,
            "sub_areas": sub_areas,
            # A mandatory reporter's home is their duty to report; everyone else's their areas.
            "home_kind": (
                "reporting" if permissions.can(user, Capability.REPORT_READ_OWN_ONLY) else "areas"
            ),
            "show_api_docs": user.role == Role.CIVIL_AFFAIRS or user.is_staff,
            # What the apps above put on a first page (e.g. transfers to answer).
            "notices": extensions.home_notices(request),
            # and the role's work queues (visits to review, approvals, reports …), each number
            # linked to its list.
            "panels": extensions.home_panels(request),
        },
    )


@login_required
def area_list(request: HttpRequest, code: str | None = None) -> HttpResponse:
    permissions.require(request.user, Capability.AREA_BROWSE)
    if code is None:
        code = request.user.area_id
    area = selectors.area_for_user_or_404(user=request.user, code=code or "")
    ancestors = selectors.areas_for_user(user=request.user).filter(
        code__in=rules.ancestor_codes(area.code)
    )
    return render(
        request,
        "accounts/area_list.html",
        {
            "area": area,
            "ancestors": ancestors,
            "sub_areas": selectors.child_areas_with_staff_counts(user=request.user, area=area),
            "staff": selectors.staff_for_user(user=request.user).filter(area=area),
        },
    )


@login_required
def area_search(request: HttpRequest) -> JsonResponse:
    """Suggestions for a place field (accounts.forms.AreaField) as one types, for the script:
    at most AREA_SEARCH_LIMIT places of the user's area of the ``levels`` asked, by name or code
    (``q``). Without the script the form's submit does the same search."""
    levels = [level for level in request.GET.get("levels", "").split(",") if level in rules.LEVELS]
    text = request.GET.get("q", "")
    found = []
    if levels and 0 < len(text) <= 100 and "\x00" not in text:
        areas = selectors.areas_for_user(user=request.user).filter(level__in=levels)
        found = selectors.areas_matching(areas, text)
    response = JsonResponse(
        {
            "results": [
                {"code": a.code, "value": area_text(a), "label": area_option_label(a)}
                for a in found
            ]
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response


def staff_search(request: HttpRequest, staff: QuerySet) -> dict:
    """The search of the staff and security pages: the page of ``staff`` matching ``?q=``, and
    which of them are system accounts (三员: the security officer's to change, to give enrolment
    codes and to end the sessions of, on /security/)."""
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.staff_matching(staff, query), 50).get_page(request.GET.get("page"))
    return {
        "page": page,
        "q": query,
        "privileged_ids": {p.pk for p in page if p.role in rules.PRIVILEGED_ROLES},
    }


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, Capability.STAFF_DIRECTORY)
    staff = selectors.staff_for_user(user=request.user)
    role = request.GET.get("role", "")
    if role in Role.values:
        staff = staff.filter(role=role)
    return render(
        request,
        "accounts/staff_list.html",
        {
            **staff_search(request, staff),
            "roles": Role.choices,
            "selected_role": role,
            "can_end_sessions": permissions.can(request.user, Capability.SESSIONS_END),
        },
    )


@login_required
@require_POST
def staff_sessions_end(request: HttpRequest) -> HttpResponse:
    """An administrator or the security officer ends every session of one member of staff (the
    button of the staff list and of the security page).

    The user's id travels in the POST body: routes take no sequential ids (access matrix)."""
    from .services import user_sessions_end

    permissions.require(request.user, Capability.SESSIONS_END)
    person = selectors.account_for_user_or_404(user=request.user, pk=request.POST.get("user"))
    user_sessions_end(by=request.user, user=person)
    if person.pk == request.user.pk:
        # Our own session row is gone: sign out now rather than fail when the request ends.
        logout(request)
        return redirect("login")
    messages.success(
        request, _("All sessions of %(name)s were ended.") % {"name": person.display_name}
    )
    back = "security" if permissions.can(request.user, Capability.SECURITY_ADMIN) else "staff"
    return redirect(back)


def _audit_filtered(request: HttpRequest):
    """The audit records of the user's area, filtered as the page's form asks (403 unless the
    user may read the audit log: Capability.AUDIT_LOG_READ)."""
    records = selectors.audit_records_for(user=request.user)
    action = request.GET.get("action", "")
    if action in AuditAction.values:
        records = records.filter(action=action)
    username = request.GET.get("user", "").strip()
    if username:
        records = records.filter(username=username)
    object_id = request.GET.get("object", "").strip()
    if object_id:
        records = records.filter(object_id=object_id)
    return records, action, username, object_id


AUDIT_PAGE_SIZE = 50


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Audit records of the user's area (the auditor's subtree; civil affairs: their county)."""
    records, action, username, object_id = _audit_filtered(request)
    # Newest first, a page after another by the last one's (time, id): no count and no offset,
    # so a page costs the same over fifty million records as over fifty (issue 20, point 7).
    before = selectors.audit_cursor(request.GET.get("before", ""))
    page, older = selectors.audit_page(records, before=before, size=AUDIT_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "accounts/audit_list.html",
        {
            "page": page,
            "older": older,
            "is_first_page": before is None,
            "filters": query.urlencode(),
            "actions": AuditAction.choices,
            "action": action,
            "username": username,
            "object_id": object_id,
            "query_string": request.GET.urlencode(),
            "links_to_files": rules.sees_case_data(request.user.role),
        },
    )


@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered audit log as CSV (UTF-8 with BOM, so Excel opens the Chinese), streamed."""
    import csv

    from django.http import StreamingHttpResponse

    from core import cells

    records, *_ = _audit_filtered(request)

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    header = ["时间", "用户", "操作", "记录类型", "记录", "区划代码", "IP", "详情"]

    def rows():
        yield "\ufeff" + writer.writerow(cells.csv_row(header))
        for r in records.iterator(chunk_size=2000):
            # A failed sign-in's username is whatever an anonymous visitor typed: never a formula.
            yield writer.writerow(
                cells.csv_row(
                    [
                        timezone.localtime(r.at).isoformat(timespec="seconds"),
                        r.username,
                        r.get_action_display(),
                        r.object_type,
                        r.object_id,
                        r.area_code,
                        r.ip or "",
                        json.dumps(r.detail, ensure_ascii=False),
                    ]
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


class OwnPasswordChangeView(PasswordChangeView):
    """The user's own password change, audited like every other password change (issue 14, H2)."""

    def form_valid(self, form):
        from . import staff

        response = super().form_valid(form)
        staff.password_changed(
            by=self.request.user,
            account=self.request.user,
            via=staff.OWN_ACCOUNT,
            request=self.request,
        )
        return response
