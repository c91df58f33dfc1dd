"""Two-factor sign-in pages (enrolment, verification, the user's own account page) and the
security officer's page (second factors, sessions and sign-in lockouts of their area's staff)."""

from __future__ import annotations

import base64

import django_otp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import mfa, rules, selectors, services
from .forms import TotpCodeForm

ENROL_KEY = "mfa_enrol_key"  # session: the hex secret offered at enrolment, until confirmed


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url("home")


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
    from django_otp.util import random_hex

    user = request.user
    if mfa.has_confirmed_device(user):
        if mfa.is_verified(request):
            messages.info(request, _("Two-factor sign-in is already set up."))
            return redirect("account_security")
        return redirect(mfa.step_url(mfa.VERIFY, request.GET.get("next", "")))
    key = request.session.get(ENROL_KEY)
    if not key:
        key = request.session[ENROL_KEY] = random_hex(20)
    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.mfa_device_enrol(
            user=user, key=key, token=form.cleaned_data["token"], request=request
        )
        if device is not None:
            request.session.pop(ENROL_KEY, None)
            django_otp.login(request, device)
            messages.success(request, _("Two-factor sign-in is set up."))
            return redirect(_next_url(request))
        form.add_error(
            "token",
            _(
                "That code is not right. Check that the time on your phone is correct and try "
                "again."
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
            "next": request.GET.get("next", ""),
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
        {"form": form, "next": request.GET.get("next", "")},
    )


@login_required
def account_security(request: HttpRequest) -> HttpResponse:
    """The user's own sign-in security: password, and two-factor sign-in (set up or not)."""
    device = _totp_device(request.user)
    return render(
        request,
        "accounts/account_security.html",
        {"device": device, "required": mfa.mfa_required_for(request.user)},
    )


# --- The security officer ----------------------------------------------------------------------


def _require_security_officer(user) -> None:
    if not rules.may_administer_security(user.role):
        raise PermissionDenied


@login_required
def security_home(request: HttpRequest) -> HttpResponse:
    """Staff of the officer's area with their second factor, and the sign-in lockouts now."""
    _require_security_officer(request.user)
    accounts = selectors.accounts_with_mfa_status(user=request.user)
    query = request.GET.get("q", "").strip()
    accounts = selectors.staff_matching(accounts, query)
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/security.html",
        {
            "page": page,
            "q": query,
            "lockouts": selectors.lockouts_for(user=request.user),
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
