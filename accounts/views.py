"""Pages: the role's home page, the area browser and the staff directory."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordChangeView
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import rules, selectors
from .models import AuditAction, Role

STAFF_DIRECTORY_ROLES = (Role.SUPERVISOR, Role.CIVIL_AFFAIRS, Role.VIEWER, Role.ADMIN)
AREA_BROWSER_ROLES = (Role.DIRECTOR, *STAFF_DIRECTORY_ROLES)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.role == Role.DIRECTOR:
        # A director's first page is the worklist of children to visit.
        return redirect("visits:worklist")
    if user.role == Role.SECURITY:
        return redirect("security")
    if user.role == Role.AUDITOR:
        return redirect("audit")
    area = user.area
    sub_areas = (
        selectors.child_areas_with_staff_counts(user=user, area=area) if area is not None else []
    )
    return render(
        request,
        "accounts/home.html",
        {"area": area, "sub_areas": sub_areas, "role": user.role, "Role": Role},
    )


@login_required
def area_list(request: HttpRequest, code: str | None = None) -> HttpResponse:
    selectors.require_role(request.user, AREA_BROWSER_ROLES)
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
def staff_list(request: HttpRequest) -> HttpResponse:
    selectors.require_role(request.user, STAFF_DIRECTORY_ROLES)
    staff = selectors.staff_for_user(user=request.user)
    role = request.GET.get("role", "")
    if role in Role.values:
        staff = staff.filter(role=role)
    query = request.GET.get("q", "").strip()
    staff = selectors.staff_matching(staff, query)
    page = Paginator(staff, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/staff_list.html",
        {
            "page": page,
            "roles": Role.choices,
            "role": role,
            "q": query,
            "can_end_sessions": rules.may_end_sessions(
                request.user.role, is_superuser=request.user.is_superuser
            ),
            # The system accounts' sessions are the security officer's to end (/security/).
            "privileged_roles": sorted(rules.PRIVILEGED_ROLES),
        },
    )


@login_required
@require_POST
def staff_sessions_end(request: HttpRequest) -> HttpResponse:
    """An administrator or the security officer ends every session of one member of staff (the
    button of the staff list and of the security page).

    The user's id travels in the POST body: routes take no sequential ids (access matrix)."""
    from django.core.exceptions import PermissionDenied

    from .services import user_sessions_end

    if not rules.may_end_sessions(request.user.role, is_superuser=request.user.is_superuser):
        raise PermissionDenied
    person = selectors.account_for_user_or_404(user=request.user, pk=request.POST.get("user"))
    user_sessions_end(by=request.user, user=person)
    if person.pk == request.user.pk:
        # Our own session row is gone: sign out now rather than fail when the request ends.
        logout(request)
        return redirect("login")
    messages.success(
        request, _("All sessions of %(name)s were ended.") % {"name": person.display_name}
    )
    return redirect("security" if rules.may_administer_security(request.user.role) else "staff")


def _audit_filtered(request: HttpRequest):
    """The audit records of the user's area, filtered as the page's form asks (403 unless the
    user may read the audit log: accounts.rules.AUDIT_LOG_ROLES)."""
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


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Audit records of the user's area (the auditor's subtree; civil affairs: their county)."""
    records, action, username, object_id = _audit_filtered(request)
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_list.html",
        {
            "page": page,
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
