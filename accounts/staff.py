"""Writes for staff accounts and their credentials (issue 14, H2 and M1).

Who may create or change which account is one rule (accounts.rules.may_manage_account: the three
system roles are the security officer's, everyone else the administrator's), checked here for
every way in — the admin site, the security officer's page, a user's own password — and every
change leaves an audit record with who, whom and the values before → after. ``add_staff`` and
the other management commands run on the server pass ``by=None``: whoever runs them holds the
server, and their changes are audited all the same (as made "on the server").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import permissions, rules
from .models import ApiToken, AuditAction, MfaEnrolmentCode, Role, User
from .services import audit_account

# What an account's audit records compare, before → after. Never the password (only that it
# changed).
TRACKED_FIELDS = (
    "username",
    "name",
    "phone",
    "email",
    "role",
    "area_id",
    "organisation_id",
    "is_active",
    "is_staff",
    "is_superuser",
)
SERVER = "server"  # ``via`` of a management command run on the server
ADMIN_SITE, SECURITY_PAGE, OWN_ACCOUNT = "admin_site", "security_page", "own_account"


def snapshot(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in TRACKED_FIELDS}


def _acting_role(by: User) -> str:
    return rules.effective_role(by.role, is_superuser=by.is_superuser)


def may_manage(by: User | None, role: str, *, is_superuser: bool = False) -> bool:
    """Whether ``by`` may create or change an account of ``role`` (None: the server)."""
    if by is None:
        return True
    return rules.may_manage_account(_acting_role(by), role, is_superuser=is_superuser)


def require_may_manage(by: User | None, account: User) -> None:
    """403 unless ``by`` may change ``account`` as it is stored now."""
    if account.pk is None:
        return
    stored = User.objects.filter(pk=account.pk).values("role", "is_superuser").first()
    if stored and not may_manage(by, stored["role"], is_superuser=stored["is_superuser"]):
        raise PermissionDenied


def _audit_account(*, by: User | None, account: User, action: str, request, detail: dict) -> None:
    audit_account(
        by=by,
        account=account,
        action=action,
        request=request,
        detail={**detail, "account": account.username, "by": by.username if by else SERVER},
    )


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, bool)) else str(value)


def staff_save(
    *,
    by: User | None,
    user: User,
    via: str,
    password: str | None = None,
    password_set: bool = False,
    request=None,
) -> User:
    """Save ``user`` (new, or changed in memory) after checking that ``by`` may manage the
    account as stored and as it will be, and audit the change (before → after).

    ``password``: a new password to validate and set; ``password_set``: the caller already set
    one (Django's own forms). Superuser and staff flags follow the role: only an administrator
    is either, so nobody sets them by hand."""
    before: dict[str, Any] | None = None
    if user.pk is not None:
        stored = User.objects.filter(pk=user.pk).first()
        before = snapshot(stored) if stored else None
        if stored and not may_manage(by, stored.role, is_superuser=stored.is_superuser):
            raise PermissionDenied
    user.is_staff = user.is_superuser = user.role == Role.ADMIN
    if user.role != Role.PARTNER:
        user.organisation = None  # only a partner works for an organisation
    if not may_manage(by, user.role, is_superuser=user.is_superuser):
        raise PermissionDenied
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
        password_set = True
    with transaction.atomic():
        user.full_clean(exclude=["password", "last_login"])
        user.save()
        after = snapshot(user)
        if before is None:
            action = AuditAction.STAFF_CREATED
            detail = {
                "after": {k: _jsonable(v) for k, v in after.items()},
                "password_set": password_set,
            }
        else:
            changed = [name for name in TRACKED_FIELDS if before[name] != after[name]]
            action = AuditAction.STAFF_CHANGED if changed else None
            detail = {
                "before": {k: _jsonable(before[k]) for k in changed},
                "after": {k: _jsonable(after[k]) for k in changed},
            }
        if action is not None:
            _audit_account(
                by=by, account=user, action=action, request=request, detail={"via": via, **detail}
            )
        if before is not None and password_set:
            password_changed(by=by, account=user, via=via, request=request)
    return user


def password_changed(*, by: User | None, account: User, via: str, request=None) -> None:
    """Audit a password set by ``by`` (the account itself, an administrator, the server)."""
    _audit_account(
        by=by,
        account=account,
        action=AuditAction.PASSWORD_CHANGED,
        request=request,
        detail={"via": via},
    )


# --- API tokens ---------------------------------------------------------------------------------


def api_token_create(*, user: User, days: int | None = None, by: User | None = None) -> str:
    """A bearer token for ``user`` that ends after ``days`` (settings.API_TOKEN_DAYS), returned
    once; only its hash is kept. Audited."""
    days = settings.API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= 3650:
        raise ValidationError({"days": [_("Valid for 1 to 3650 days")]})
    raw = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            key_hash=ApiToken.hash(raw),
            prefix=raw[:8],
            expires_at=timezone.now() + timedelta(days=days),
        )
        _audit_account(
            by=by,
            account=user,
            action=AuditAction.TOKEN_ISSUED,
            request=None,
            detail={"token": token.prefix, "expires_at": token.expires_at.isoformat()},
        )
    return raw


def api_token_revoke(*, by: User | None, token: ApiToken, request=None) -> ApiToken:
    if by is not None and not may_manage(by, token.user.role, is_superuser=token.user.is_superuser):
        raise PermissionDenied
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            _audit_account(
                by=by,
                account=token.user,
                action=AuditAction.TOKEN_REVOKED,
                request=request,
                detail={"token": token.prefix},
            )
    return token


def api_token_used_for_write(*, token: ApiToken, request) -> None:
    """Each change made with a token is audited (method and path; the records it touches are
    audited by the operation itself)."""
    _audit_account(
        by=token.user,
        account=token.user,
        action=AuditAction.TOKEN_USED,
        request=request,
        detail={"token": token.prefix, "method": request.method, "path": request.path[:200]},
    )


# --- One-time enrolment codes for privileged second factors --------------------------------------


def needs_enrolment_code(user: User) -> bool:
    return user.is_superuser or user.role in settings.MFA_ENROLMENT_CODE_ROLES


def _code_hash(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hmac.new(
        settings.SECRET_KEY.encode(), f"enrolment:{normalised}".encode(), hashlib.sha256
    ).hexdigest()


def enrolment_code_issue(*, by: User | None, user: User, request=None) -> str:
    """A new one-time enrolment code for ``user``, returned once (any earlier unused one ends).

    The security officer issues it for an account of their area (not their own: an officer
    whose password leaked could otherwise enrol the thief), or the server does
    (``issue_enrolment_code``) for the first officer."""
    if by is not None and (
        not permissions.can(by, permissions.Capability.SECURITY_ADMIN) or by.pk == user.pk
    ):
        raise PermissionDenied
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    now = timezone.now()
    with transaction.atomic():
        MfaEnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        record = MfaEnrolmentCode.objects.create(
            user=user,
            code_hash=_code_hash(code),
            issued_by=by,
            expires_at=now + timedelta(hours=settings.MFA_ENROLMENT_CODE_HOURS),
        )
        _audit_account(
            by=by,
            account=user,
            action=AuditAction.ENROLMENT_CODE,
            request=request,
            detail={"expires_at": record.expires_at.isoformat()},
        )
    return code


def enrolment_code_redeem(*, user: User, code: str) -> bool:
    """Use up ``user``'s unexpired code ``code``; False when it is wrong, used or expired. Call
    inside the transaction that confirms the device, so both happen or neither."""
    now = timezone.now()
    return bool(
        MfaEnrolmentCode.objects.filter(
            user=user, code_hash=_code_hash(code or ""), used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
    )


# --- The security officer's page for the three system accounts ----------------------------------


def _in_officers_area(by: User, area_code: str | None) -> bool:
    """Whether an account of ``area_code`` (None: no area) lies in the officer's subtree; area-less
    accounts (administrators) belong to a province-level officer."""
    from .selectors import area_prefix

    prefix = area_prefix(by)
    if prefix is None:
        return False
    if not area_code:
        return len(prefix) <= rules.PREFIX_LENGTH[rules.PROVINCE]
    return area_code.startswith(prefix)


def system_account_save(
    *,
    by: User,
    username: str,
    role: str,
    area_code: str,
    name: str = "",
    phone: str = "",
    email: str = "",
    password: str = "",
    is_active: bool = True,
    request=None,
) -> tuple[User, bool]:
    """The security officer creates or changes an administrator, security officer or auditor
    account of their area (by username, like add_staff). Returns (user, created).

    Raises ValidationError naming the field (Chinese messages), PermissionDenied for a caller who
    is not a security officer."""
    from .models import Area

    permissions.require(by, permissions.Capability.SECURITY_ADMIN)
    errors: dict[str, list[str]] = {}
    if role not in rules.PRIVILEGED_ROLES:
        errors.setdefault("role", []).append(
            _("Only administrator, security officer and security auditor accounts are managed here")
        )
    area = None
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is None or not _in_officers_area(by, area_code):
            errors.setdefault("area", []).append(
                _("The area code does not exist or is outside your area")
            )
    elif role != Role.ADMIN:
        errors.setdefault("area", []).append(
            _("Enter a 12-digit area code (only an administrator may have no area)")
        )
    elif not _in_officers_area(by, None):
        errors.setdefault("area", []).append(
            _(
                "An administrator account without an area is managed only by a province security "
                "officer"
            )
        )
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is not None:
        if not rules.is_privileged(user.role, is_superuser=user.is_superuser):
            errors.setdefault("username", []).append(
                _(
                    "This username belongs to a staff account managed by the administrator; "
                    "choose another username"
                )
            )
        elif not _in_officers_area(by, user.area_id):
            errors.setdefault("username", []).append(
                _("This username is taken; choose another username")
            )
        elif user.pk == by.pk:
            errors.setdefault("username", []).append(
                _("You cannot change your own account; ask another security officer")
            )
    elif not password:
        errors.setdefault("password", []).append(_("A new account needs an initial password"))
    if errors:
        raise ValidationError(errors)
    if created:
        user = User(username=username)
    user.role, user.area, user.is_active = role, area, is_active
    user.name = name or user.name
    user.phone = phone or user.phone
    user.email = email or user.email
    try:
        staff_save(by=by, user=user, via=SECURITY_PAGE, password=password or None, request=request)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise
        raise ValidationError({"password": exc.messages}) from exc
    return user, created
