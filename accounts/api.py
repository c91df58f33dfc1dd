"""API: the current user, areas, and the roster of child directors and supervisors with their
trainings (domain §10)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from core import clock
from core.api import PageParams, attributes, page_of
from core.masking import PHONE, mask_phone

from . import roster, rules, selectors
from .models import AuditAction
from .permissions import Capability

router = Router(tags=["accounts"])


class AreaOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None


class AreaBrief(Schema):
    code: str
    name: str
    level: str


class MeOut(Schema):
    username: str
    name: str
    role: str
    area: AreaBrief | None


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict:
    user = request.auth
    area = user.area
    return {
        "username": user.username,
        "name": user.display_name,
        "role": user.role,
        "area": {"code": area.code, "name": area.name, "level": area.level} if area else None,
    }


@router.get("/areas/{code}", response=AreaOut)
def area_detail(request: HttpRequest, code: str) -> dict:
    area = selectors.area_for_user_or_404(user=request.auth, code=code)
    return {
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "parent_code": area.parent_code,
    }


# --- The roster and trainings (domain §10) -------------------------------------------------------

PostCode = Literal["village_committee", "social_worker", "other"]


class RosterPersonOut(Schema):
    username: str
    name: str
    role: str
    area_code: str
    area_name: str
    phone: str = Field(description="full or masked, as the user's role may see it")
    phone_masked: str
    appointed_on: date | None
    post: str = Field(description='"village_committee", "social_worker", "other", or "" unknown')
    post_detail: str
    qualification: str
    left_on: date | None
    in_post: bool
    last_trained_on: date | None
    training_due: date = Field(description="the last day the person counts as trained")
    trained_within_year: bool


class TrainingBrief(Schema):
    id: str
    held_on: date
    subject: str
    hours: Decimal
    organiser: str


class RosterPersonDetail(RosterPersonOut):
    trainings: list[TrainingBrief]


class RosterList(Schema):
    items: list[RosterPersonOut]
    count: int


class RosterParams(PageParams):
    area: str | None = None
    status: Literal["in_post", "left", "all"] = "in_post"
    untrained: bool = False


class RosterPatch(Schema):
    appointed_on: date | None = None
    post: PostCode | Literal[""] | None = None
    post_detail: str | None = Field(None, max_length=100)
    qualification: str | None = Field(None, max_length=200)
    left_on: date | None = None


class TrainingIn(Schema):
    held_on: date
    subject: str = Field(..., min_length=1, max_length=200)
    hours: Decimal = Field(..., gt=0, le=200, max_digits=4, decimal_places=1)
    organiser: str = Field(..., min_length=1, max_length=200)
    attendees: list[str] = Field(..., min_length=1, max_length=roster.MAX_ATTENDEES)


class TrainingOut(TrainingBrief):
    area_code: str
    recorded_by: str
    recorded_at: datetime
    has_certificate: bool
    certificate_content_type: str
    attendee_count: int = Field(description="everyone who attended, wherever they work")
    attendees: list[str] = Field(description="usernames of the attendees the user may read")


class TrainingList(Schema):
    items: list[TrainingOut]
    count: int


class TrainingParams(PageParams):
    area: str | None = None


def _person_out(user, person) -> dict:
    entry = getattr(person, "roster_entry", None)
    today = clock.today()
    return {
        "username": person.username,
        "name": person.display_name,
        "role": person.role,
        "area_code": person.area_id or "",
        "area_name": person.area.name if person.area else "",
        "phone": selectors.shown_number(
            user, PHONE, person.phone, person.area_id or "", surface="api"
        ),
        "phone_masked": mask_phone(person.phone),
        "appointed_on": entry.appointed_on if entry else None,
        "post": entry.post if entry else "",
        "post_detail": entry.post_detail if entry else "",
        "qualification": entry.qualification if entry else "",
        "left_on": entry.left_on if entry else None,
        "in_post": person.in_post,
        "last_trained_on": person.last_trained_on,
        "training_due": person.training_due,
        "trained_within_year": rules.trained_within_year(person.training_due, today),
    }


def _brief(training) -> dict:
    return attributes(training, "held_on subject hours organiser") | {"id": str(training.pk)}


def _person_detail(user, person) -> dict:
    return {
        **_person_out(user, person),
        "trainings": [_brief(t) for t in selectors.trainings_of(person)],
    }


def _audit_roster_read(request: HttpRequest, people) -> None:
    from .roster import roster_read_audit

    roster_read_audit(
        user=request.auth,
        action=AuditAction.API_READ,
        people=people,
        request=request,
        detail={"path": request.path},
    )


def _area_or_none(user, code: str | None):
    return selectors.area_for_user_or_404(user=user, code=code) if code else None


@router.get("/roster", response=RosterList)
def roster_list(request: HttpRequest, params: Query[RosterParams]) -> dict:
    """Directors and supervisors of the user's area (``area``: a code within it, else 404), in
    post by default; a director gets their own record only."""
    user = request.auth
    area = _area_or_none(user, params.area)
    people = selectors.roster_for_user(
        user=user, area=area, status=params.status, untrained=params.untrained
    )
    page, count = page_of(people, params)
    _audit_roster_read(request, page)
    return {"items": [_person_out(user, p) for p in page], "count": count}


@router.get("/roster/{username}", response=RosterPersonDetail)
def roster_detail(request: HttpRequest, username: str) -> dict:
    person = selectors.roster_person_for_user_or_404(user=request.auth, username=username)
    _audit_roster_read(request, [person])
    return _person_detail(request.auth, person)


@router.patch("/roster/{username}", response=RosterPersonDetail)
def roster_patch(request: HttpRequest, username: str, payload: RosterPatch) -> dict:
    """Civil affairs change the appointment fields given (null clears one)."""
    person = selectors.roster_person_for_user_or_404(
        user=request.auth, username=username, capability=Capability.ROSTER_EDIT
    )
    values = payload.dict(exclude_unset=True)
    roster.roster_entry_update(user=request.auth, person=person, **values)
    person = selectors.roster_person_for_user_or_404(user=request.auth, username=username)
    return _person_detail(request.auth, person)


def _trainings_out(request: HttpRequest, trainings: list) -> list[dict]:
    """The trainings with the attendees the user may read (one query for the page), audited."""
    attendances = list(
        selectors.visible_attendances(user=request.auth, training_ids=[t.pk for t in trainings])
    )
    by_training: dict = {}
    for attendance in attendances:
        by_training.setdefault(attendance.training_id, []).append(attendance.person.username)
    _audit_roster_read(request, list({a.person_id: a.person for a in attendances}.values()))
    return [
        {
            **_brief(t),
            "area_code": t.area_id,
            "recorded_by": t.recorded_by.username,
            "recorded_at": t.recorded_at,
            "has_certificate": bool(t.certificate),
            "certificate_content_type": t.certificate_content_type,
            "attendee_count": t.attendee_count,
            "attendees": by_training.get(t.pk, []),
        }
        for t in trainings
    ]


@router.get("/trainings", response=TrainingList)
def training_list(request: HttpRequest, params: Query[TrainingParams]) -> dict:
    """Trainings attended by people of the user's area (or of ``area`` within it) or recorded
    there, newest first; a director's: those they attended."""
    area = _area_or_none(request.auth, params.area)
    trainings = selectors.trainings_for_user(user=request.auth, area=area).select_related(
        "recorded_by"
    )
    page, count = page_of(trainings, params)
    return {"items": _trainings_out(request, page), "count": count}


@router.post("/trainings", response={201: TrainingOut})
def training_create(request: HttpRequest, payload: TrainingIn):
    """Civil affairs record one training for many people (``attendees``: usernames of
    directors and supervisors in post of their area; anyone else → 422 naming ``attendees``)."""
    training = roster.training_record(user=request.auth, **payload.dict())
    return Status(201, _training_out(request, training.pk))


def _training_out(request: HttpRequest, training_id) -> dict:
    training = selectors.trainings_for_user(user=request.auth).select_related("recorded_by")
    return _trainings_out(request, [training.get(pk=training_id)])[0]


@router.get("/trainings/{training_id}", response=TrainingOut)
def training_detail(request: HttpRequest, training_id: str) -> dict:
    training = selectors.training_for_user_or_404(user=request.auth, training_id=training_id)
    return _training_out(request, training.pk)


@router.post("/trainings/{training_id}/certificate", response=TrainingOut)
def training_certificate_upload(
    request: HttpRequest, training_id: str, file: File[UploadedFile]
) -> dict:
    """The certificate or attendance sheet (multipart ``file``): JPEG, PNG or PDF by its
    bytes, at most 10 MB, else 422 naming ``certificate``."""
    training = selectors.training_for_user_or_404(user=request.auth, training_id=training_id)
    roster.training_certificate_attach(user=request.auth, training=training, upload=file)
    return _training_out(request, training.pk)
