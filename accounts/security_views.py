"""Two-factor sign-in pages (enrolment, verification, the user's own account page) and the
security officer's page (second factors, sessions and sign-in lockouts of their area's staff)."""

from __future__ import annotations

import base64

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import add_service_errors, refusals_on_form
from core.redirects import safe_next

from . import mfa, notify, permissions, rules, selectors, services, session_limits, staff
from .forms import EnrolmentForm, NotifySettingsForm, TotpCodeForm
from .permissions import Capability
from .views import staff_search


def _next_url(request: HttpRequest) -> str:
    return safe_next(request.POST.get("next") or request.GET.get("next"), "home")


def _totp_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def _qr_svg(config_url: str, title: str) -> str:
    import segno

    # Drawn on the server as inline SVG (no script, no style attribute, no external request).
    return segno.make(config_url, error="m").svg_inline(
        scale=5, border=2, title=title, svgclass="sw-qr", lineclass=None, omitsize=True
    )


@login_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: a QR code and the secret in groups, confirmed by a code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = request.user
    if mfa.has_confirmed_device(user):
        if mfa.is_verified(request):
            messages.info(request, _("Two-factor sign-in is already set up."))
            return redirect("account_security")
        return redirect(mfa.step_url(mfa.VERIFY, request.GET.get("next", "")))
    key = services.mfa_pending_key(user=user)
    needs_code = staff.needs_enrolment_code(user)
    form = (EnrolmentForm if needs_code else TotpCodeForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.mfa_device_enrol(
                user=user,
                key=key,
                token=form.cleaned_data["token"],
                request=request,
                enrolment_code=form.cleaned_data.get("enrolment_code"),
            )
        except services.EnrolmentCodeRefused:
            device = False
            form.add_error(
                "enrolment_code",
                _(
                    "This enrolment code is not valid: it is wrong, used or older than 72 hours. "
                    "Ask the security officer for a new one."
                ),
            )
        if device:
            django_otp.login(request, device)
            session_limits.session_renew(request)
            messages.success(request, _("Two-factor sign-in is set up."))
            return redirect(_next_url(request))
        elif device is None:
            form.add_error(
                "token",
                _(
                    "That code is not right. Check that the time on your phone is correct and "
                    "try again."
                ),
            )
    config_url = TOTPDevice(user=user, key=key).config_url
    secret = base64.b32encode(bytes.fromhex(key)).decode()
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "form": form,
            "qr": _qr_svg(config_url, _("QR code for your authenticator app")),
            "secret_groups": rules.group_secret(secret),
            "required": mfa.mfa_required_for(user),
            "needs_code": needs_code,
            "next": safe_next(request.GET.get("next"), ""),
        },
    )


@login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second sign-in step: the current code of the user's authenticator app."""
    user = request.user
    if mfa.is_verified(request):
        return redirect(_next_url(request))
    if not mfa.has_confirmed_device(user):
        if mfa.mfa_required_for(user):
            return redirect(mfa.step_url(mfa.ENROL, request.GET.get("next", "")))
        return redirect(_next_url(request))
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, wait = services.mfa_verify(
            user=user, token=form.cleaned_data["token"], request=request
        )
        if device is not None:
            django_otp.login(request, device)
            session_limits.session_renew(request)
            return redirect(_next_url(request))
        if wait is not None:
            form.add_error(
                "token",
                _("Too many wrong codes. Wait %(seconds)s seconds, then try again.")
                % {"seconds": wait},
            )
        else:
            form.add_error("token", _("Wrong code. Enter the code your app shows now."))
    return render(
        request,
        "accounts/mfa_verify.html",
        {"form": form, "next": safe_next(request.GET.get("next"), "")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_security(request: HttpRequest) -> HttpResponse:
    """The user's own account settings (账号设置): two-factor sign-in (set up or not), password,
    and how their daily digest reaches them, with how their recent digests went."""
    user = request.user
    form = NotifySettingsForm(
        request.POST or None,
        initial={
            "digest_channel": user.digest_channel,
            "email": user.email,
            "phone": user.phone,
            "wecom_userid": user.wecom_userid,
        },
    )
    if request.method == "POST" and form.is_valid():
        with refusals_on_form(form):
            notify.user_notify_settings_update(user=user, **form.cleaned_data)
            messages.success(request, _("Saved."))
            return redirect("account_security")
    return render(
        request,
        "accounts/account_security.html",
        {
            "device": _totp_device(user),
            "required": mfa.mfa_required_for(user),
            "notify_form": form,
            "digest_route": notify.digest_address(user),
            "digests": selectors.digests_recent_for(user),
        },
        status=400 if form.errors else 200,
    )


# --- The security officer ----------------------------------------------------------------------


def _require_security_officer(user) -> None:
    permissions.require(user, Capability.SECURITY_ADMIN)


@login_required
def security_home(request: HttpRequest) -> HttpResponse:
    """Staff of the officer's area with their second factor, and the sign-in lockouts now."""
    _require_security_officer(request.user)
    accounts = selectors.accounts_with_mfa_status(user=request.user)
    return render(
        request,
        "accounts/security.html",
        {
            **staff_search(request, accounts),
            "lockouts": selectors.lockouts_for(user=request.user),
            "import_locks": selectors.import_locks_for(user=request.user),
        },
    )


@login_required
@require_POST
def security_mfa_reset(request: HttpRequest) -> HttpResponse:
    """Remove one person's second factor (their sessions end; they enrol again at sign-in)."""
    _require_security_officer(request.user)
    person = selectors.account_for_user_or_404(user=request.user, pk=request.POST.get("user"))
    services.mfa_device_reset(by=request.user, user=person)
    messages.success(
        request,
        _("Two-factor sign-in of %(name)s was reset; they set it up again at their next sign-in.")
        % {"name": person.display_name},
    )
    return redirect("security")


@login_required
@require_POST
def security_lockout_clear(request: HttpRequest) -> HttpResponse:
    """Lift a sign-in lockout (failed passwords) of a username listed on the security page."""
    _require_security_officer(request.user)
    username = request.POST.get("username", "")
    listed = {row["username"] for row in selectors.lockouts_for(user=request.user)}
    if username not in listed:
        raise Http404  # not locked, or not the officer's to see
    services.lockout_clear(by=request.user, username=username)
    messages.success(request, _("The lockout of %(username)s was lifted.") % {"username": username})
    return redirect("security")


@login_required
@require_POST
def security_import_lock_lift(request: HttpRequest) -> HttpResponse:
    """Lift the import lock of an account of the officer's area (issue 14, M5); the lock's id
    travels in the POST body."""
    _require_security_officer(request.user)
    lock = selectors.import_lock_for_user_or_404(user=request.user, pk=request.POST.get("lock"))
    services.import_lock_lift(by=request.user, lock=lock, request=request)
    messages.success(
        request,
        _("The import lock of %(name)s was lifted.") % {"name": lock.user.display_name},
    )
    return redirect("security")


# --- The three system accounts and their enrolment codes (issue 14, H2) --------------------------


@login_required
def security_account(request: HttpRequest) -> HttpResponse:
    """Create or change an administrator, security officer or auditor account of the officer's
    area (only the security officer does: 等保 三权分立). ``?username=`` pre-fills an account."""
    from .forms import SystemAccountForm

    _require_security_officer(request.user)
    initial = {"is_active": True}
    wanted = request.GET.get("username", "").strip()
    if wanted and request.method == "GET":
        found = (
            selectors.accounts_for_user(user=request.user, include_inactive=True)
            .filter(username=wanted, role__in=rules.PRIVILEGED_ROLES)
            .first()
        )
        if found is not None:
            initial = {
                "username": found.username,
                "role": found.role,
                "area": found.area_id or "",
                "name": found.name,
                "phone": found.phone,
                "email": found.email,
                "is_active": found.is_active,
            }
    form = SystemAccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person, created = staff.system_account_save(
                by=request.user,
                username=data["username"],
                role=data["role"],
                area_code=data["area"],
                name=data["name"],
                phone=data["phone"],
                email=data["email"],
                password=data["password"],
                is_active=data["is_active"],
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                (_("Account %(name)s created.") if created else _("Account %(name)s changed."))
                % {"name": person.display_name},
            )
            return redirect("security")
    return render(request, "accounts/security_account.html", {"form": form})


@login_required
@require_POST
def security_enrolment_code(request: HttpRequest) -> HttpResponse:
    """Issue a one-time enrolment code for a privileged account of the officer's area and show it
    once (it is not kept: only its hash)."""
    _require_security_officer(request.user)
    person = selectors.account_for_user_or_404(user=request.user, pk=request.POST.get("user"))
    if person.pk == request.user.pk or not staff.needs_enrolment_code(person):
        raise PermissionDenied
    code = staff.enrolment_code_issue(by=request.user, user=person, request=request)
    return render(
        request,
        "accounts/enrolment_code.html",
        {"person": person, "code": code, "hours": settings.MFA_ENROLMENT_CODE_HOURS},
    )
