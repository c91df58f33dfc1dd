"""API of the yearly spot check of files (抽查, domain §10): the checks, a new draw, a check with
its sample, the findings of a sampled file, its corrections, the summary per township and the
verification of the draw. Scope and writes are dashboards.spot_checks; every answer naming
children is audited as a read through the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts import permissions
from accounts import selectors as scope
from accounts.permissions import Capability
from accounts.services import audit_api_read
from core import clock
from core.api import PageParams, page_of

from . import spot_check_rules as rules
from . import spot_checks
from .models import SpotCheck, SpotCheckCorrection, SpotCheckItem

router = Router(tags=["spot checks"])

Strata = Literal["none", "township", "category", "township_category"]
Answer = Literal["yes", "no", "na"]


class SpotCheckIn(Schema):
    area_code: str | None = Field(
        None, max_length=12, description="county, city or province; default: the user's own area"
    )
    year: int | None = Field(None, ge=spot_checks.FIRST_YEAR, le=9999, description="default: now")
    strata: Strata = "none"
    size: int = Field(..., ge=1, le=1_000_000, description="files, or per cent (size_unit)")
    size_unit: Literal["children", "percent"] = "children"
    seed: str | None = Field(
        None,
        pattern=r"^[0-9]{1,19}$",
        description="a whole number 0 … 2^63 − 1 as text; default: random (secrets)",
    )


class StratumOut(Schema):
    stratum: str = Field(description='"" (no strata), a township code, a group, or "code/group"')
    files: int
    drawn: int


class SpotCheckOut(Schema):
    id: str
    area_code: str
    area_name: str
    year: int
    strata: str
    size: int
    size_unit: str
    sample_size: int
    population: str = Field(description="what the population is")
    population_count: int
    population_digest: str = Field(description="SHA-256 of the lines <id> TAB <stratum>, by id")
    strata_allocation: list[StratumOut]
    seed: str = Field(description="as text: exact in any language")
    seed_typed: bool
    drawn_at: datetime
    drawn_by: str
    sampled_in_your_area: int
    checked_in_your_area: int


class CorrectionOut(Schema):
    id: str
    item_id: str
    check_id: str
    child_id: str
    child_name: str
    village_code: str
    description: str
    due_on: date
    status: Literal["open", "overdue", "done", "confirmed"]
    created_at: datetime
    corrected_at: datetime | None
    corrected_by: str | None
    correction_note: str
    confirmed_at: datetime | None
    confirmed_by: str | None


class ItemOut(Schema):
    id: str
    child_id: str
    child_name: str
    id_number_masked: str
    village_code: str
    township_code: str
    stratum: str
    position: int = Field(description="the order drawn, from 1")
    file_complete: Answer | Literal[""] = Field(description='"" until checked')
    visits_real: Answer | Literal[""]
    benefits_right: Answer | Literal[""]
    note: str
    checked_at: datetime | None
    checked_by: str | None
    corrections: list[CorrectionOut]


class SpotCheckDetail(SpotCheckOut):
    items: list[ItemOut] = Field(description="the sampled files of the user's area, a page of them")
    count: int = Field(description="how many sampled files of the user's area in all")


class SpotCheckList(Schema):
    items: list[SpotCheckOut]
    count: int


class SpotCheckParams(PageParams):
    year: int | None = Field(None, ge=spot_checks.FIRST_YEAR, le=9999)


class ItemParams(PageParams):
    township: str | None = Field(None, max_length=12)
    checked: Literal["yes", "no"] | None = None
    failed: Literal["file_complete", "visits_real", "benefits_right"] | None = None


class FindingsIn(Schema):
    file_complete: Answer
    visits_real: Answer
    benefits_right: Answer
    note: str = Field("", max_length=spot_checks.NOTE_MAX)


class CorrectionIn(Schema):
    description: str = Field(..., max_length=spot_checks.DESCRIPTION_MAX)
    due_on: date


class CorrectionDoneIn(Schema):
    note: str = Field("", max_length=spot_checks.CORRECTION_NOTE_MAX)


class CorrectionList(Schema):
    items: list[CorrectionOut]
    count: int


class CorrectionParams(PageParams):
    status: Literal["open", "overdue", "done", "to_confirm", "confirmed", "all"] = "open"
    check: str | None = Field(None, max_length=36)
    township: str | None = Field(None, max_length=12)


class SummaryRowOut(Schema):
    township_code: str = Field(description='"" for the total')
    township_name: str
    sampled: int
    checked: int
    file_incomplete: int
    visits_not_real: int
    benefits_wrong: int
    corrections_open: int = Field(description="not done, overdue included")
    corrections_overdue: int
    corrections_done: int


class SummaryOut(Schema):
    check_id: str
    rows: list[SummaryRowOut]
    total: SummaryRowOut | None


class VerificationOut(Schema):
    check_id: str
    verified: bool
    population_count: int
    population_digest_matches: bool
    size_matches: bool
    sample_matches: bool
    seed: str


POPULATION = "open files (status active) of the area at the moment of the draw"


def _check_out(spot_check: SpotCheck) -> dict:
    sizes = {name: int(n) for name, n in (spot_check.strata_sizes or {}).items()}
    shares = rules.allocate(sizes, spot_check.sample_size)
    return {
        "id": str(spot_check.pk),
        "area_code": spot_check.area_id,
        "area_name": spot_check.area.name,
        "year": spot_check.year,
        "strata": spot_check.strata,
        "size": spot_check.size_value,
        "size_unit": spot_check.size_unit,
        "sample_size": spot_check.sample_size,
        "population": POPULATION,
        "population_count": spot_check.population_count,
        "population_digest": spot_check.population_digest,
        "strata_allocation": [
            {"stratum": name, "files": sizes[name], "drawn": shares[name]} for name in sorted(sizes)
        ],
        "seed": str(spot_check.seed),
        "seed_typed": spot_check.seed_typed,
        "drawn_at": spot_check.drawn_at,
        "drawn_by": spot_check.drawn_by.username,
        "sampled_in_your_area": getattr(spot_check, "sampled", 0),
        "checked_in_your_area": getattr(spot_check, "checked", 0),
    }


def _correction_out(correction: SpotCheckCorrection, item: SpotCheckItem, today: date) -> dict:
    return {
        "id": str(correction.pk),
        "item_id": str(item.pk),
        "check_id": str(item.spot_check_id),
        "child_id": str(item.child_id),
        "child_name": item.child.name,
        "village_code": item.village_id,
        "description": correction.description,
        "due_on": correction.due_on,
        "status": rules.correction_state(
            due_on=correction.due_on,
            corrected=correction.corrected_at is not None,
            confirmed=correction.confirmed_at is not None,
            today=today,
        ),
        "created_at": correction.created_at,
        "corrected_at": correction.corrected_at,
        "corrected_by": correction.corrected_by.username if correction.corrected_by else None,
        "correction_note": correction.correction_note,
        "confirmed_at": correction.confirmed_at,
        "confirmed_by": correction.confirmed_by.username if correction.confirmed_by else None,
    }


def _item_out(item: SpotCheckItem, corrections: list[SpotCheckCorrection], today: date) -> dict:
    return {
        "id": str(item.pk),
        "child_id": str(item.child_id),
        "child_name": item.child.name,
        "id_number_masked": item.child.id_number_masked,
        "village_code": item.village_id,
        "township_code": rules.township_of(item.village_id),
        "stratum": item.stratum,
        "position": item.position,
        "file_complete": item.file_complete,
        "visits_real": item.visits_real,
        "benefits_right": item.benefits_right,
        "note": item.note,
        "checked_at": item.checked_at,
        "checked_by": item.checked_by.username if item.checked_by else None,
        "corrections": [_correction_out(c, item, today) for c in corrections],
    }


def _items_out(items: list[SpotCheckItem]) -> list[dict]:
    """The items with their corrections (one query for the page's corrections)."""
    today = clock.today()
    by_item: dict = {}
    for correction in (
        SpotCheckCorrection.objects.filter(item_id__in=[item.pk for item in items])
        .select_related("corrected_by", "confirmed_by")
        .order_by("due_on", "created_at")
    ):
        by_item.setdefault(correction.item_id, []).append(correction)
    return [_item_out(item, by_item.get(item.pk, []), today) for item in items]


def _check_of(request: HttpRequest, check_id: str) -> SpotCheck:
    return spot_checks.check_for_user_or_404(user=request.auth, check_id=check_id)


@router.get("/spot-checks", response=SpotCheckList)
def spot_check_list(request: HttpRequest, params: Query[SpotCheckParams]) -> dict:
    """The checks the user may open, newest first (``year`` narrows them)."""
    permissions.require(request.auth, Capability.SPOT_CHECK_READ)
    checks = spot_checks.checks_for_user(user=request.auth)
    if params.year is not None:
        checks = checks.filter(year=params.year)
    page, count = page_of(checks, params)
    return {"items": [_check_out(c) for c in page], "count": count}


@router.post("/spot-checks", response={201: SpotCheckDetail})
def spot_check_create(request: HttpRequest, payload: SpotCheckIn):
    """Civil affairs draw a sample of an area's open files (403 for other roles; an area
    outside theirs 404; below county level 422). The answer is the check with its first page
    of sampled files."""
    user = request.auth
    permissions.require(user, Capability.SPOT_CHECK_RUN)
    code = payload.area_code or user.area_id or ""
    area = scope.area_for_user_or_404(user=user, code=code)
    try:
        spot_check = spot_checks.spot_check_draw(
            user=user,
            area=area,
            year=payload.year or clock.today().year,
            strata=payload.strata,
            size_value=payload.size,
            size_unit=payload.size_unit,
            seed=payload.seed,
        )
    except ValidationError as exc:  # named as the body names them
        raise ValidationError(
            {_BODY_NAMES.get(name, name): problems for name, problems in exc.message_dict.items()}
        ) from exc
    return Status(201, _detail(request, str(spot_check.pk), ItemParams()))


# The service's names of the draw's fields → the body's.
_BODY_NAMES = {"area": "area_code", "size_value": "size"}


def _detail(request: HttpRequest, check_id: str, params: ItemParams) -> dict:
    spot_check = _check_of(request, check_id)
    items = spot_checks.items_for(
        user=request.auth,
        spot_check=spot_check,
        township=params.township or "",
        checked=params.checked or "",
        failed=params.failed or "",
    )
    page, count = page_of(items, params)
    audit_api_read(request, [item.child for item in page])
    return {**_check_out(spot_check), "items": _items_out(page), "count": count}


@router.get("/spot-checks/{check_id}", response=SpotCheckDetail)
def spot_check_detail(request: HttpRequest, check_id: str, params: Query[ItemParams]) -> dict:
    """A check with the sampled files of the user's area, a page at a time (``page``,
    ``page_size``; ``township``, ``checked``, ``failed`` narrow them)."""
    return _detail(request, check_id, params)


@router.get("/spot-checks/{check_id}/summary", response=SummaryOut)
def spot_check_summary(request: HttpRequest, check_id: str) -> dict:
    """Per township of the user's part of the check, and the total."""
    spot_check = _check_of(request, check_id)
    rows = [
        {
            "township_code": row.township,
            "township_name": row.name,
            "sampled": row.sampled,
            "checked": row.checked,
            "file_incomplete": row.file_incomplete,
            "visits_not_real": row.visits_not_real,
            "benefits_wrong": row.benefits_wrong,
            "corrections_open": row.corrections_open,
            "corrections_overdue": row.corrections_overdue,
            "corrections_done": row.corrections_done,
        }
        for row in spot_checks.summary_for(user=request.auth, spot_check=spot_check)
    ]
    total = rows.pop() if rows and rows[-1]["township_code"] == "" else None
    return {"check_id": str(spot_check.pk), "rows": rows, "total": total}


@router.get("/spot-checks/{check_id}/verification", response=VerificationOut)
def spot_check_verification(request: HttpRequest, check_id: str) -> dict:
    """The draw done again from the seed and the population kept with the check."""
    spot_check = _check_of(request, check_id)
    verification = spot_checks.spot_check_verify(spot_check=spot_check)
    return {
        "check_id": str(spot_check.pk),
        "verified": verification.verified,
        "population_count": verification.population_count,
        "population_digest_matches": verification.digest_matches,
        "size_matches": verification.size_matches,
        "sample_matches": verification.sample_matches,
        "seed": str(spot_check.seed),
    }


def _item_of(request: HttpRequest, check_id: str, item_id: str, capability) -> SpotCheckItem:
    return spot_checks.item_for_user_or_404(
        user=request.auth, check_id=check_id, item_id=item_id, capability=capability
    )


def _item_answer(request: HttpRequest, check_id: str, item_id: str) -> dict:
    item = _item_of(request, check_id, item_id, Capability.SPOT_CHECK_READ)
    audit_api_read(request, [item.child])
    return _items_out([item])[0]


@router.get("/spot-checks/{check_id}/items/{item_id}", response=ItemOut)
def spot_check_item(request: HttpRequest, check_id: str, item_id: str) -> dict:
    return _item_answer(request, check_id, item_id)


@router.post("/spot-checks/{check_id}/items/{item_id}/findings", response=ItemOut)
def spot_check_findings(
    request: HttpRequest, check_id: str, item_id: str, payload: FindingsIn
) -> dict:
    """Civil affairs record what the file shows (each ``yes``, ``no`` or ``na``) and a note;
    recorded again, the new findings replace the old."""
    item = _item_of(request, check_id, item_id, Capability.SPOT_CHECK_RUN)
    spot_checks.spot_check_findings_record(user=request.auth, item=item, **payload.dict())
    return _item_answer(request, check_id, item_id)


@router.post("/spot-checks/{check_id}/items/{item_id}/corrections", response={201: CorrectionOut})
def spot_check_correction_create(
    request: HttpRequest, check_id: str, item_id: str, payload: CorrectionIn
):
    """Civil affairs ask a correction of the file, due on ``due_on`` (today to a year ahead)."""
    item = _item_of(request, check_id, item_id, Capability.SPOT_CHECK_RUN)
    correction = spot_checks.spot_check_correction_add(
        user=request.auth, item=item, **payload.dict()
    )
    return Status(201, _correction_answer(request, correction.pk))


def _correction_answer(request: HttpRequest, correction_id) -> dict:
    correction = spot_checks.correction_for_user_or_404(
        user=request.auth, correction_id=correction_id
    )
    correction = SpotCheckCorrection.objects.select_related(
        "item__child", "corrected_by", "confirmed_by"
    ).get(pk=correction.pk)
    audit_api_read(request, [correction.item.child])
    return _correction_out(correction, correction.item, clock.today())


@router.get("/spot-check-corrections", response=CorrectionList)
def spot_check_correction_list(request: HttpRequest, params: Query[CorrectionParams]) -> dict:
    """Corrections of the files of the user's area (a director: their village's), the soonest
    due first; ``status`` (default ``open``: not done), ``check``, ``township`` narrow them."""
    permissions.require(request.auth, Capability.SPOT_CHECK_READ)
    today = clock.today()
    corrections = spot_checks.corrections_for(
        user=request.auth,
        check_id=params.check,
        township=params.township or "",
        status=params.status,
        today=today,
    )
    page, count = page_of(corrections, params)
    audit_api_read(request, [c.item.child for c in page])
    return {"items": [_correction_out(c, c.item, today) for c in page], "count": count}


@router.post("/spot-check-corrections/{correction_id}/done", response=CorrectionOut)
def spot_check_correction_done(
    request: HttpRequest, correction_id: str, payload: CorrectionDoneIn
) -> dict:
    """A case worker of the file's area marks the correction done (409 if it is already)."""
    correction = spot_checks.correction_for_user_or_404(
        user=request.auth,
        correction_id=correction_id,
        capability=Capability.SPOT_CHECK_CORRECT,
    )
    spot_checks.spot_check_correction_done(
        user=request.auth, correction=correction, note=payload.note
    )
    return _correction_answer(request, correction.pk)


@router.post("/spot-check-corrections/{correction_id}/confirm", response=CorrectionOut)
def spot_check_correction_confirm(request: HttpRequest, correction_id: str) -> dict:
    """Civil affairs confirm a correction marked done (409 if not done, or confirmed already)."""
    correction = spot_checks.correction_for_user_or_404(
        user=request.auth,
        correction_id=correction_id,
        capability=Capability.SPOT_CHECK_RUN,
    )
    spot_checks.spot_check_correction_confirm(user=request.auth, correction=correction)
    return _correction_answer(request, correction.pk)
