"""The second sign-in step (TOTP, django-otp): who must give a code, and what a session that has
not yet given one may reach.

A session is *verified* once ``django_otp.login`` has stored the device that accepted a code
(``otp_device_id`` in the server-side session). Whether the user needs a code at all is worked
out on the first request after the password and kept in the session, so later requests cost no
query: a user of a role in ``MFA_REQUIRED_ROLES``, or anyone with a confirmed device, must verify.

Until then, pages redirect to enrolment (no device yet) or verification; htmx and JSON requests
get 401 with the address to go to (htmx follows its ``HX-Redirect``). The API is left to its own
authentication: session authentication refuses an unverified session (401), while Bearer tokens
(machine credentials an administrator creates) are not affected.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from . import rules

# Session key: False once the first request found that this sign-in needs no second factor.
MFA_NEEDED = "mfa_needed"
ENROL, VERIFY = "enrol", "verify"
# Reachable before the second step (besides the two steps themselves).
_OPEN_URL_NAMES = ("logout", "set_language", "healthz")
API_PREFIX = "/api/"


def mfa_required_for(user) -> bool:
    """Whether the user's role obliges them to a second factor (settings.MFA_REQUIRED_ROLES)."""
    return rules.mfa_required(
        user.role, is_superuser=user.is_superuser, required_roles=settings.MFA_REQUIRED_ROLES
    )


def has_confirmed_device(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_verified(request: HttpRequest) -> bool:
    return bool(request.session.get(DEVICE_ID_SESSION_KEY))


def pending_step(request: HttpRequest) -> str | None:
    """``"enrol"`` or ``"verify"`` while the signed-in user still owes a code, else None."""
    user = request.user
    if not user.is_authenticated or is_verified(request):
        return None
    if request.session.get(MFA_NEEDED) is False:
        return None
    has_device = has_confirmed_device(user)
    if not has_device and not mfa_required_for(user):
        request.session[MFA_NEEDED] = False
        return None
    return VERIFY if has_device else ENROL


def session_pending(request: HttpRequest) -> bool:
    """For the API's session authentication: is this session still short of its second step?"""
    return hasattr(request, "session") and pending_step(request) is not None


def step_url(step: str, next_url: str = "") -> str:
    url = reverse("mfa_enrol" if step == ENROL else "mfa_verify")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class SecondFactorMiddleware:
    """Holds a signed-in but unverified session at the enrolment or verification page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_paths: set[str] | None = None

    def _is_open(self, path: str) -> bool:
        if self._open_paths is None:
            self._open_paths = {
                reverse(name) for name in (*_OPEN_URL_NAMES, "mfa_enrol", "mfa_verify")
            }
        return (
            path in self._open_paths
            or path.startswith(API_PREFIX)
            or path.startswith(settings.STATIC_URL)
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or not hasattr(request, "session")
            or self._is_open(request.path)
        ):
            return self.get_response(request)
        step = pending_step(request)
        if step is None:
            return self.get_response(request)
        target = step_url(step, request.get_full_path() if request.method == "GET" else "")
        if request.headers.get("HX-Request") or _wants_json(request):
            response = JsonResponse(
                {"detail": "two-factor verification required", "step": step, "url": target},
                status=401,
            )
            response["HX-Redirect"] = target
            return response
        return redirect(target)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept
