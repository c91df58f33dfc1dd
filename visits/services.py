"""Writes for visits, reviews and photos. Views, API, tasks and commands call these."""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import pghistory
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import extensions, permissions
from accounts.models import User
from accounts.permissions import Capability
from children import schedule
from children.models import Child, ChildStatus
from children.services import (
    child_contact_recorded,
    children_recompute_derived,
    history_context,
    reject_unknown,
    require_file_version,
)
from core import capture
from core.clock import today
from core.errors import Conflict
from core.uploads import image_check

from . import rules, selectors
from .models import (
    MAX_AMENDMENT_LENGTH,
    MAX_PHOTOS,
    PersonSeen,
    ReviewStatus,
    SafetyHazard,
    Visit,
    VisitAmendment,
    VisitKind,
    VisitPhoto,
)

logger = logging.getLogger(__name__)

# What every contact records, the first screen of the phone's form (visits.forms.VisitForm).
VISIT_ESSENTIALS = (
    "visited_on",
    "kind",
    "seen",
    "guardian_present",
    "caregiver_capable",
    "in_school",
    "safety_concern",
)
VISIT_FIELDS = (
    *VISIT_ESSENTIALS,
    "safety_hazards",
    "family_situation",
    "health",
    "needs",
    "actions_taken",
    "follow_up_on",
    "follow_up_note",
    "notes",
)
# What an amendment may correct on a reviewed visit: the findings. The date and the kind move the
# child's schedule; a wrong one is put right by returning the amended visit and editing it.
AMENDABLE_FIELDS = tuple(f for f in VISIT_FIELDS if f not in ("visited_on", "kind", "notes"))
TEXT_FIELDS = frozenset(
    {"family_situation", "health", "needs", "actions_taken", "follow_up_note", "notes"}
)
REVIEWED_NOT_EDITABLE = gettext_lazy("A reviewed visit cannot be changed; add an amendment")
CLOSED_NO_VISIT = gettext_lazy("The file is closed: no visit can be recorded")
VISIT_EDITED = gettext_lazy("This visit was changed elsewhere meanwhile: compare the two versions")


def _validate(child: Child, values: dict) -> None:
    errors: dict[str, list[str]] = {}
    visited_on = values.get("visited_on")
    if not isinstance(visited_on, date):
        errors.setdefault("date", []).append(_("Enter the visit date"))
    elif visited_on > today():
        errors.setdefault("date", []).append(_("The visit date cannot be later than today"))
    elif visited_on < child.birth_date:
        errors.setdefault("date", []).append(
            _("The visit date cannot be earlier than the child's date of birth")
        )
    if values.get("kind") not in VisitKind.values:
        errors.setdefault("kind", []).append(_("Choose the kind of visit"))
    for item in values.get("seen") or []:
        if item not in PersonSeen.values:
            errors.setdefault("seen", []).append(_("Invalid choice: %(value)s") % {"value": item})
    for item in values.get("safety_hazards") or []:
        if item not in SafetyHazard.values:
            errors.setdefault("safety_hazards", []).append(
                _("Invalid choice: %(value)s") % {"value": item}
            )
    follow_up = values.get("follow_up_on")
    if follow_up is not None and isinstance(visited_on, date) and follow_up < visited_on:
        errors.setdefault("follow_up_on", []).append(
            _("The follow-up date cannot be earlier than the visit date")
        )
    if errors:
        raise ValidationError(errors)


def children_refresh_last_visits(child_ids: list[uuid.UUID]) -> None:
    """Set last contact and last home visit from the visits themselves (a back-dated visit cannot
    move them backwards) in one UPDATE, then recompute due dates with the other derived data."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE children_child c
            SET last_contact_on = v.last_contact, last_home_visit_on = v.last_home
            FROM (
                SELECT child_id, max(visited_on) AS last_contact,
                       max(visited_on) FILTER (WHERE kind = 'home') AS last_home
                FROM visits_visit WHERE child_id = ANY(%s) GROUP BY child_id
            ) v
            WHERE c.id = v.child_id
            """,
            [list(child_ids)],
        )
    for start in range(0, len(child_ids), 2000):
        children_recompute_derived(child_ids[start : start + 2000])
    # The visit answers the reminders it satisfies (and starts the next cycle) at once.
    extensions.case_changed(child_ids=child_ids)


def visit_record(
    *,
    user: User,
    child: Child,
    photos: list | None = None,
    client_id: uuid.UUID | None = None,
    file_version: int | None = None,
    **data: Any,
) -> Visit:
    """Record a visit (and its photos, all or nothing); the child's due dates move and a new
    reminder cycle starts.

    ``client_id`` is the phone's id of the visit (``visit_record_once`` answers a repeat);
    ``file_version``, when given, is the version of the child's file the visit was typed
    against: a file changed since is a Conflict (``file_changed``) for the director to look at."""
    permissions.require(user, Capability.VISIT_RECORD)
    if child.status != ChildStatus.ACTIVE:
        raise Conflict(CLOSED_NO_VISIT, code=capture.CHILD_CLOSED)
    require_file_version(child, file_version)
    reject_unknown(data, VISIT_FIELDS)
    values = {k: v for k, v in data.items() if v is not None}
    values.setdefault("seen", [])
    values.setdefault("safety_hazards", [])
    _validate(child, values)
    prepared = [photo_prepare(upload) for upload in photos or []]
    with transaction.atomic(), history_context(user):
        visit = Visit(
            child=child, visitor=user, visitor_role=user.role, client_id=client_id, **values
        )
        # Fields only: the choices were checked above and the database holds the constraints
        # (a check of each constraint would cost a query, and uniqueness is record_once's).
        visit.full_clean(
            exclude=["child", "visitor"], validate_unique=False, validate_constraints=False
        )
        visit.save()
        if prepared:
            _save_photos(visit, prepared)
        # A new visit only moves the child's dates forward (a back-dated one moves nothing).
        if child_contact_recorded(child.pk, on=visit.visited_on, home=visit.kind == schedule.HOME):
            extensions.case_changed(child_ids=[child.pk])
        else:
            children_refresh_last_visits([child.pk])
        if visit.caregiver_capable is False:
            _caregiver_found_unable(user, child, visit)
    return visit


def visit_record_once(
    *, user: User, child: Child, client_id: uuid.UUID, **kwargs: Any
) -> tuple[Visit, bool]:
    """``visit_record`` for an upload that may come twice (a retried or doubled offline upload):
    (the visit, True) the first time; (the same visit, False) for every repeat of ``client_id``,
    creating nothing (core.capture.record_once)."""
    return capture.record_once(
        client_id=client_id,
        find=lambda key: Visit.objects.filter(client_id=key).first(),
        create=lambda: visit_record(user=user, child=child, client_id=client_id, **kwargs),
        same=lambda visit: visit.visitor_id == user.pk and visit.child_id == child.pk,
    )


def visit_version(visit: Visit) -> str:
    """The version token of a visit a correction was typed against (``visit_update``'s
    ``base``): any saved change moves it."""
    return str(visit.version)


def _caregiver_found_unable(user: User, child: Child, visit: Visit) -> None:
    """A visit found the caregiver unable or unwilling: the active agreement needs replacing."""
    from children.models import AgreementStatus, CareAgreement
    from children.services import care_agreement_caregiver_unable

    agreement = CareAgreement.objects.filter(child=child, status=AgreementStatus.ACTIVE).first()
    if agreement is not None:
        care_agreement_caregiver_unable(
            user=user,
            agreement=agreement,
            reason=_("Visit of %(date)s found the caregiver cannot or will not go on caring")
            % {"date": f"{visit.visited_on:%Y-%m-%d}"},
        )


def visit_update(
    *,
    user: User,
    visit: Visit,
    changes: dict[str, Any],
    photos: list | None = None,
    base: str | None = None,
) -> Visit:
    """The visitor corrects their own visit (e.g. after it was returned); back to review. A
    reviewed visit is not rewritten (409): an amendment is added instead (``visit_amend``).
    ``base`` (when given) is the ``visit_version`` the correction was typed against: a visit
    changed since (on another device) is a Conflict (``visit_edited``), never overwritten."""
    if visit.visitor_id != user.pk:
        raise PermissionDenied(_("You can change only visits you recorded"))
    if not rules.editable(visit.review_status):
        raise Conflict(REVIEWED_NOT_EDITABLE, code=capture.VISIT_REVIEWED)
    reject_unknown(changes, VISIT_FIELDS)
    errors: dict[str, list[str]] = {}
    _check_text(changes, errors)
    if errors:
        raise ValidationError(errors)
    prepared = [photo_prepare(upload) for upload in photos or []]
    with transaction.atomic(), history_context(user):
        # Locked and read again: a review that landed since the page was opened wins.
        locked = Visit.objects.select_for_update().select_related("child").get(pk=visit.pk)
        if not rules.editable(locked.review_status):
            raise Conflict(REVIEWED_NOT_EDITABLE, code=capture.VISIT_REVIEWED)
        if base is not None and base != visit_version(locked):
            raise Conflict(
                VISIT_EDITED, code=capture.VISIT_EDITED, data={"version": visit_version(locked)}
            )
        values = {field: getattr(locked, field) for field in VISIT_FIELDS}
        values.update(changes)
        _validate(locked.child, values)
        _save_photos(locked, prepared)
        for field, value in values.items():
            setattr(locked, field, value)
        if locked.review_status == ReviewStatus.RETURNED:
            locked.review_status = ReviewStatus.PENDING
        locked.version += 1
        locked.full_clean(exclude=["child", "visitor"])
        locked.save()
        children_refresh_last_visits([locked.child_id])
    return locked


def _check_text(values: dict, errors: dict) -> None:
    """PostgreSQL text cannot hold a NUL character, and a case note encrypted would hide one."""
    for field in TEXT_FIELDS.intersection(values):
        if "\x00" in (values[field] or ""):
            errors.setdefault(field, []).append(_("Contains invalid characters"))


def visit_amend(
    *, user: User, visit: Visit, text: str, corrections: dict[str, Any] | None = None
) -> VisitAmendment:
    """Add an amendment (补充说明) to a visit — the one way to change a reviewed visit: the text,
    and optionally corrected findings, which are set on the visit (its history keeps what they
    were). The visit goes back to the review queue; its history keeps the earlier review.

    Whoever may record visits where the child lives may add one (the caller has checked the
    scope: 404 outside it)."""
    permissions.require(user, Capability.VISIT_RECORD)
    corrections = dict(corrections or {})
    reject_unknown(corrections, AMENDABLE_FIELDS)
    for field in ("seen", "safety_hazards"):
        if field in corrections and corrections[field] is None:
            corrections[field] = []
    for field in TEXT_FIELDS.intersection(corrections):
        corrections[field] = (corrections[field] or "").strip()
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if "\x00" in text:
        errors.setdefault("text", []).append(_("Contains invalid characters"))
    elif not text:
        errors.setdefault("text", []).append(_("Enter the amendment"))
    elif len(text) > MAX_AMENDMENT_LENGTH:
        errors.setdefault("text", []).append(
            _("An amendment cannot be longer than %(limit)s characters")
            % {"limit": MAX_AMENDMENT_LENGTH}
        )
    _check_text(corrections, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), history_context(user):
        locked = Visit.objects.select_for_update().select_related("child").get(pk=visit.pk)
        values = {field: getattr(locked, field) for field in VISIT_FIELDS}
        values.update(corrections)
        _validate(locked.child, values)
        corrected = sorted(f for f, v in corrections.items() if getattr(locked, f) != v)
        amendment = VisitAmendment(visit=locked, text=text, corrected_fields=corrected, by=user)
        amendment.full_clean(exclude=["visit", "by"])
        # The visit's change below is written in the same history context, which names the
        # amendment: the visit's history shows the two as one entry.
        pghistory.context(amendment=str(amendment.pk))
        amendment.save()
        for field in corrected:
            setattr(locked, field, corrections[field])
        locked.review_status = ReviewStatus.PENDING
        locked.reviewed_by = None
        locked.reviewed_at = None
        locked.review_comment = ""
        locked.version += 1
        locked.full_clean(exclude=["child", "visitor"])
        locked.save()
    return amendment


def visit_review(*, user: User, visit: Visit, decision: str, comment: str = "") -> Visit:
    """A supervisor marks a visit reviewed, or returns it to the director with a comment."""
    permissions.require(user, Capability.VISIT_REVIEW)
    if visit.visitor_id == user.pk:
        raise PermissionDenied(_("You cannot review a visit you recorded"))
    if not selectors.may_review(user=user, visit=visit):
        raise PermissionDenied(_("You cannot review a visit you amended"))
    if decision not in ("reviewed", "returned"):
        raise ValidationError({"decision": [_("Invalid review decision")]})
    if decision == "returned" and not comment.strip():
        raise ValidationError({"comment": [_("Give the reason for returning it")]})
    with history_context(user):
        updated = Visit.objects.filter(pk=visit.pk, review_status=ReviewStatus.PENDING).update(
            review_status=decision,
            reviewed_by=user,
            reviewed_at=timezone.now(),
            review_comment=comment.strip(),
        )
    if not updated:
        raise Conflict(_("This visit has already been reviewed"))
    visit.refresh_from_db()
    return visit


# --- Photos -----------------------------------------------------------------------------------

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_EDGE = 1600
NOT_AN_IMAGE = gettext_lazy("Only image files (JPG, PNG) can be uploaded")


@dataclass
class PreparedPhoto:
    content: bytes
    width: int
    height: int


def photo_prepare(upload) -> PreparedPhoto:
    """Accept an image only (checked by decoding it, whatever its name or declared type),
    re-encoded as JPEG of at most 1600 px with no EXIF (no location leaks).

    The pixel count is checked from the header first (core.uploads: no image bombs), and the
    decoded image is never copied at full size: a 40-megapixel photo stays under 200 MB."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationError({"photo": [_("A photo cannot be larger than 15 MB")]})
    image_check(upload, field="photo", not_an_image=NOT_AN_IMAGE)
    try:
        image = Image.open(upload)
        image.verify()
        upload.seek(0)
        image = Image.open(upload)
        if image.format not in ("JPEG", "PNG", "WEBP", "GIF", "BMP"):
            raise UnidentifiedImageError(image.format)
        turn = _upright_turn(image)
        image = _small_rgb(image, MAX_EDGE)
        if turn is not None:
            image = image.transpose(turn)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise ValidationError({"photo": [NOT_AN_IMAGE]}) from exc
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82, optimize=True)
    return PreparedPhoto(buffer.getvalue(), image.width, image.height)


def _upright_turn(image):
    """The turn that puts the picture upright by its EXIF orientation (as
    PIL.ImageOps.exif_transpose, which would copy the image at full size), or None."""
    from PIL import ExifTags
    from PIL.Image import Transpose

    return {
        2: Transpose.FLIP_LEFT_RIGHT,
        3: Transpose.ROTATE_180,
        4: Transpose.FLIP_TOP_BOTTOM,
        5: Transpose.TRANSPOSE,
        6: Transpose.ROTATE_270,
        7: Transpose.TRANSVERSE,
        8: Transpose.ROTATE_90,
    }.get(image.getexif().get(ExifTags.Base.Orientation))


def _small_rgb(image, max_edge: int):
    """The image in RGB within max_edge × max_edge, holding one full-size copy at most (the
    decoded image): a JPEG decodes at 1/2–1/8 of its size (draft); anything else is averaged
    down strip by strip (Pillow's own resize would copy it whole, twice for transparency)."""
    from PIL import Image

    factor = max(image.size) // max_edge
    if image.format == "JPEG" or factor < 2:
        image.thumbnail((max_edge, max_edge), reducing_gap=1.0)
        return image.convert("RGB")
    image.load()
    width, height = image.size
    small = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, 1_000_000 // (width * factor))  # about a megapixel a strip
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(top + rows, height))).convert("RGB")
        small.paste(strip.reduce(factor), (0, top // factor))
    image.close()
    small.thumbnail((max_edge, max_edge))
    return small


def _save_photos(visit: Visit, photos: list[PreparedPhoto]) -> None:
    if visit.photos.count() + len(photos) > MAX_PHOTOS:
        raise ValidationError(
            {"photo": [_("At most %(limit)s photos per visit") % {"limit": MAX_PHOTOS}]}
        )
    for prepared in photos:
        photo = VisitPhoto(visit=visit, width=prepared.width, height=prepared.height)
        photo.image.save("photo.jpg", ContentFile(prepared.content), save=False)
        photo.save()
