"""The registry of organisations children are referred to (domain §10, S0 #12): protection
agencies, social-work organisations, hospitals, with their services and contacts. Kept by civil
affairs (county or above) for their area; read by the case workers who refer.

Reads: an organisation is seen by those it serves (registered at their area or above: a city's
organisation serves its counties) and by those above it (a city's civil affairs see what their
counties registered). Writes: civil affairs of the area it is registered in, or above it.

The contacts (the organisation's phone, its contact person) are an agency's public service
numbers, not the personal data of a child or a family (domain §9): shown in full to everyone who
may read the registry — case workers must be able to call them.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from core.errors import Conflict

from . import permissions, rules
from . import selectors as scope
from .models import Area, AuditAction, Organisation, OrganisationKind, User
from .permissions import Capability
from .services import audit_log
from .validators import validate_plain_text

# What the registry's form and the API may change (``active``: deactivated, or active again).
FIELDS = ("name", "kind", "services", "contact_name", "phone", "address", "active")
_TEXT_LIMITS = {"name": 100, "contact_name": 50, "phone": 20, "address": 200, "services": 2000}
_PHONE = re.compile(r"[0-9+\-() ]{3,20}")


# --- Reads ------------------------------------------------------------------------------------


def _around_q(area_code: str) -> Q:
    """Organisations registered at ``area_code``, above it (they serve it) or below it."""
    above = [area_code, *rules.ancestor_codes(area_code)]
    return Q(area_id__in=above) | scope.subtree_q(area_code, "area__code")


def organisations_for(*, user: User) -> QuerySet[Organisation]:
    """The registry as ``user`` may read it: those serving the user's area (registered there or
    above it) and those registered below it. None without ORGANISATION_READ."""
    if not permissions.can(user, Capability.ORGANISATION_READ) or user.area_id is None:
        return Organisation.objects.none()
    if scope.scope_prefix(user) is None:
        return Organisation.objects.none()
    return (
        Organisation.objects.filter(_around_q(user.area_id))
        .select_related("area")
        .order_by("-active", "area_id", "name")
    )


def organisation_for_user_or_404(
    *, user: User, organisation_id: Any, capability: Capability = Capability.ORGANISATION_READ
) -> Organisation:
    """One organisation of the user's registry (404 otherwise, as for anything outside the
    area); 403 if the role may not do this with it — editing one registered above the user's
    area (a county's civil affairs and the city's organisation) included."""
    try:
        pk = int(str(organisation_id))
    except (TypeError, ValueError):
        raise Http404 from None
    # Partners, reporters, the system roles: the registry is not theirs, whatever the id (the
    # same answer for every id reveals nothing).
    permissions.require(user, Capability.ORGANISATION_READ)
    organisation = organisations_for(user=user).filter(pk=pk).first()
    if organisation is None:
        scope._audit_outside_scope(
            Organisation.objects.all(), user=user, area_field="area_id", lookup={"pk": pk}
        )
        raise Http404
    permissions.require(user, capability)
    if capability == Capability.ORGANISATION_EDIT:
        _require_editable(user, organisation.area_id)
    return organisation


def serving_q(village_code: str, field: str = "area_id") -> Q:
    """Organisations that serve a child of ``village_code``: registered at the child's village,
    township, county, city or province (an organisation serves its area's subtree)."""
    return Q(**{f"{field}__in": [village_code, *rules.ancestor_codes(village_code)]})


def organisations_serving(village_code: str) -> QuerySet[Organisation]:
    """The active organisations a child of ``village_code`` may be referred to, nearest first
    (the county's before the city's), by name."""
    return (
        Organisation.objects.filter(serving_q(village_code), active=True)
        .select_related("area")
        .order_by("-area_id", "name")
    )


def organisation_areas_for(*, user: User) -> QuerySet[Area]:
    """The areas civil affairs may register an organisation at: their own, and the counties
    and cities below it (an organisation serves the subtree of its area)."""
    if user.area_id is None:
        return Area.objects.none()
    return scope.areas_for_user(user=user).filter(level__in=rules.COUNTY_LEVELS).order_by("code")


# --- Writes -----------------------------------------------------------------------------------


def _require_editable(user: User, area_code: str) -> None:
    """Civil affairs keep the organisations of their own area's subtree, not those above it."""
    if not scope.code_in_scope(user, area_code):
        raise PermissionDenied(_("This organisation is kept by the civil affairs above you."))


def _clean(values: dict[str, Any], errors: dict[str, list]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name not in FIELDS:
            errors.setdefault(name, []).append(_("Unknown field."))
            continue
        if name == "active":
            cleaned[name] = bool(value)
            continue
        if name == "kind":
            if value not in OrganisationKind.values:
                errors.setdefault(name, []).append(_("Choose the kind of organisation."))
            cleaned[name] = value
            continue
        text = (value or "").strip() if isinstance(value, str) or value is None else value
        if not isinstance(text, str):
            errors.setdefault(name, []).append(_("Enter text."))
            continue
        if "\x00" in text:
            errors.setdefault(name, []).append(_("must not contain a NUL character"))
            continue
        if len(text) > _TEXT_LIMITS[name]:
            errors.setdefault(name, []).append(
                _("At most %(n)s characters.") % {"n": _TEXT_LIMITS[name]}
            )
            continue
        if name != "services":
            try:
                validate_plain_text(text)
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
                continue
        if name == "phone" and text and not _PHONE.fullmatch(text):
            errors.setdefault(name, []).append(
                _("Enter a phone number: digits, with - or + if needed.")
            )
            continue
        cleaned[name] = text
    if "name" in values and not cleaned.get("name") and "name" not in errors:
        errors.setdefault("name", []).append(_("Enter the organisation's name."))
    return cleaned


def _save(user: User, organisation: Organisation, before: dict[str, Any]) -> Organisation:
    """Saved and audited with the values before and after (``before`` empty: registered)."""
    after = {name: getattr(organisation, name) for name in FIELDS}
    changed = [name for name in FIELDS if before.get(name) != after[name]]
    if before and not changed:
        return organisation
    try:
        with transaction.atomic():
            organisation.full_clean(exclude=["area"], validate_unique=False)
            organisation.save()
            audit_log(
                user=user,
                action=AuditAction.ORGANISATION_CHANGED,
                object_type="organisation",
                records=[(str(organisation.pk), organisation.area_id)],
                detail={
                    "before": {k: before[k] for k in changed if k in before},
                    "after": {k: after[k] for k in changed},
                },
            )
    except IntegrityError as exc:
        raise Conflict(
            _("An organisation of this name is already registered in this area."), field="name"
        ) from exc
    return organisation


def organisation_create(*, user: User, area: Area | None = None, **values: Any) -> Organisation:
    """Civil affairs register an organisation at their own area (or at a county or city below
    it: ``area``, found by the caller within the user's area). 422 naming each bad field, 409
    when the name is taken in that area."""
    permissions.require(user, Capability.ORGANISATION_EDIT)
    area = area or user.area
    if area is None:
        raise PermissionDenied
    _require_editable(user, area.code)
    errors: dict[str, list] = {}
    values.setdefault("name", "")
    cleaned = _clean(values, errors)
    if area.level not in rules.COUNTY_LEVELS:
        errors.setdefault("area_code", []).append(
            _("Register an organisation at a county, a city or a province.")
        )
    if errors:
        raise ValidationError(errors)
    return _save(user, Organisation(area=area, **cleaned), {})


def organisation_update(*, user: User, organisation: Organisation, **values: Any) -> Organisation:
    """Civil affairs change an organisation of their area (the fields given; ``active=False``
    deactivates it: no new referrals, those sent stay with it)."""
    permissions.require(user, Capability.ORGANISATION_EDIT)
    _require_editable(user, organisation.area_id)
    errors: dict[str, list] = {}
    cleaned = _clean(values, errors)
    if errors:
        raise ValidationError(errors)
    before = {name: getattr(organisation, name) for name in FIELDS}
    for name, value in cleaned.items():
        setattr(organisation, name, value)
    return _save(user, organisation, before)
