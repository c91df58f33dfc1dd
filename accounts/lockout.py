"""Sign-in lockouts (django-axes): one account locked after its own failures, one address after
many failures of any accounts, and a successful sign-in that forgives only its own account.

django-axes with ``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]`` and reset-on-success
deletes every attempt matching the username OR the address: a colleague signing in from the same
township office (or an attacker with one valid account) wiped the failures of every other account
tried from there, so guessing went on without end (issue 14, H1). Here axes counts and resets by
username alone, and this handler adds the address limit itself, counted from the same attempt rows
and never reset by anybody's success.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone


def address_failures(ip_address: str | None, *, now=None) -> int:
    """Failed sign-ins from ``ip_address`` within the cool-off window, whatever the username."""
    if not ip_address:
        return 0
    since = (now or timezone.now()) - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return total or 0


def address_locked(ip_address: str | None) -> bool:
    limit = settings.LOGIN_IP_FAILURE_LIMIT
    return limit > 0 and address_failures(ip_address) >= limit


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler, plus the address limit (``LOGIN_IP_FAILURE_LIMIT``).

    The username lock (``AXES_FAILURE_LIMIT`` failures of one account, from any address) and its
    reset on success are axes' own, keyed by the username only (``AXES_LOCKOUT_PARAMETERS``)."""

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        return address_locked(getattr(request, "axes_ip_address", None))

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        # The failure that reaches the address limit answers with the lock page already, as the
        # failure that reaches an account's limit does.
        if (
            request is not None
            and not getattr(request, "axes_locked_out", False)
            and address_locked(getattr(request, "axes_ip_address", None))
        ):
            request.axes_locked_out = True
            request.axes_credentials = credentials
