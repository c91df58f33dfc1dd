"""API of 控辍保学 (children.dropouts): the education department's out-of-school lists, imported
and read with their matches, and the 劝返复学 cases with their contacts and closing. Lists are
``{"items": [...], "count": N}``; 404 outside the user's area, 403 for the role, 409 on a closed
case or a row already followed up, 422 naming each bad field (or each bad row of a list)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from accounts import selectors as scope
from accounts.permissions import Capability
from core.api import PageParams, page_of

from . import dropouts, selectors
from .models import DropoutList, DropoutRow, ReturnToSchoolCase, ReturnToSchoolContact

router = Router(tags=["out of school"])

MatchCode = Literal[
    "matched",
    "no_file",
    "no_name_match",
    "no_birth_date",
    "ambiguous",
    "file_closed",
    "adult",
]
OutcomeCode = Literal["returned", "transferred_to_vocational", "exempted", "other"]
ChannelCode = Literal["home_visit", "phone", "video", "at_school", "wechat", "other"]


class DropoutListOut(Schema):
    id: str
    area_code: str
    source: str
    file_name: str
    imported_by: str | None
    imported_at: datetime
    rows: int
    matched: int
    unmatched: int
    cases_opened: int


class DropoutRowOut(Schema):
    id: int
    line: int
    name: str
    id_number_masked: str
    id_number: str | None = Field(None, description="Full number, only for roles that may see it")
    birth_date: date | None
    school_name: str
    grade: str
    listed_status: Literal["dropped_out", "not_enrolled", "suspended"]
    area_code: str
    result: MatchCode
    child_id: str | None
    case_id: str | None
    case_opened: bool
    follow_up: Literal["", "open", "linked", "dismissed"]
    follow_up_note: str


class DropoutListDetailOut(DropoutListOut):
    items: list[DropoutRowOut]
    count: int


class DropoutListList(Schema):
    items: list[DropoutListOut]
    count: int


class ContactOut(Schema):
    id: int
    contacted_on: date
    contacted_by: str
    with_whom: str
    channel: ChannelCode
    note: str
    created_at: datetime


class CaseOut(Schema):
    id: str
    child_id: str
    child_name: str
    village_code: str
    status: Literal["open", "closed"]
    opened_on: date
    source_list_id: str | None
    source: str | None
    listed_status: str
    plan: str
    outcome: OutcomeCode | Literal[""]
    returned_on: date | None
    returned_school: str
    outcome_note: str
    closed_on: date | None
    contact_count: int
    last_contact_on: date | None


class CaseDetailOut(CaseOut):
    contacts: list[ContactOut]


class CaseList(Schema):
    items: list[CaseOut]
    count: int


class CaseListParams(PageParams):
    status: Literal["open", "closed", "all"] = "open"
    area: str | None = Field(None, max_length=12)


class RowListParams(PageParams):
    result: Literal["matched", "unmatched"] | None = None


class ContactIn(Schema):
    contacted_on: date
    with_whom: str = Field(..., max_length=100)
    channel: ChannelCode
    note: str | None = Field(None, max_length=dropouts.CONTACT_NOTE_MAX)


class PlanIn(Schema):
    plan: str = Field(..., max_length=dropouts.PLAN_MAX)


class CloseIn(Schema):
    outcome: OutcomeCode
    returned_on: date | None = None
    returned_school: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=dropouts.NOTE_MAX)


class LinkIn(Schema):
    child_id: str = Field(..., max_length=64)


class DismissIn(Schema):
    note: str = Field(..., max_length=dropouts.NOTE_MAX)


class FollowUpParams(PageParams):
    status: Literal["open", "linked", "dismissed", "all"] = "open"
    area: str | None = Field(None, max_length=12)


class FollowUpList(Schema):
    items: list[DropoutRowOut]
    count: int


def list_out(found: DropoutList) -> dict:
    return {
        "id": str(found.pk),
        "area_code": found.area_id,
        "source": found.source,
        "file_name": found.file_name,
        "imported_by": found.imported_by.username if found.imported_by else None,
        "imported_at": found.imported_at,
        "rows": found.rows_total,
        "matched": found.matched_count,
        "unmatched": found.unmatched_count,
        "cases_opened": found.cases_opened,
    }


def row_out(user, row: DropoutRow) -> dict:
    shown = dropouts.id_number_shown(user, row)
    return {
        "id": row.pk,
        "line": row.line,
        "name": row.name,
        "id_number_masked": row.id_number_masked,
        "id_number": shown if shown and shown != row.id_number_masked else None,
        "birth_date": row.birth_date,
        "school_name": row.school_name,
        "grade": row.grade,
        "listed_status": row.listed_status,
        "area_code": row.area_id,
        "result": row.result,
        "child_id": str(row.child_id) if row.child_id else None,
        "case_id": str(row.case_id) if row.case_id else None,
        "case_opened": row.case_opened,
        "follow_up": row.follow_up,
        "follow_up_note": row.follow_up_note,
    }


def contact_out(contact: ReturnToSchoolContact) -> dict:
    return {
        "id": contact.pk,
        "contacted_on": contact.contacted_on,
        "contacted_by": contact.contacted_by.username,
        "with_whom": contact.with_whom,
        "channel": contact.channel,
        "note": contact.note,
        "created_at": contact.created_at,
    }


def case_out(case: ReturnToSchoolCase, *, contacts: list | None = None) -> dict:
    """A case; its contacts too when given (a list's cases carry the annotated count and last
    date instead)."""
    body = {
        "id": str(case.pk),
        "child_id": str(case.child_id),
        "child_name": case.child.name,
        "village_code": case.child.village_id,
        "status": case.status,
        "opened_on": case.opened_on,
        "source_list_id": str(case.source_list_id) if case.source_list_id else None,
        "source": case.source_list.source if case.source_list_id else None,
        "listed_status": case.listed_status,
        "plan": case.plan,
        "outcome": case.outcome,
        "returned_on": case.returned_on,
        "returned_school": case.returned_school,
        "outcome_note": case.outcome_note,
        "closed_on": case.closed_on,
    }
    if contacts is None:
        body.update(contact_count=case.contact_count, last_contact_on=case.last_contact_on)
    else:
        body.update(
            contact_count=len(contacts),
            last_contact_on=max((c.contacted_on for c in contacts), default=None),
            contacts=[contact_out(c) for c in contacts],
        )
    return body


def _case_detail(request: HttpRequest, case: ReturnToSchoolCase) -> dict:
    contacts = list(dropouts.contacts_of(case))
    dropouts.audit_case_children(request, request.auth, [case.child], api=True)
    return case_out(case, contacts=contacts)


class ImportErrorOut(Schema):
    loc: list[str | int]
    msg: str
    type: str = "value_error"


class ImportRefusedOut(Schema):
    detail: list[ImportErrorOut]


@router.post("/dropout-lists", response={201: DropoutListOut, 422: ImportRefusedOut})
def dropout_list_import(request: HttpRequest, file: File[UploadedFile], source: Form[str] = ""):
    """Import the education department's list (multipart ``file``: .xlsx; ``source``: where it
    comes from, e.g. 县教育局 2026年秋季). All or nothing: 422 listing every bad row — ``loc``
    ``["body", "file", row, column]`` (row 0: the whole file) or ``["body", "source"]`` — and
    nothing saved."""
    report = dropouts.dropout_list_import(
        user=request.auth,
        source=file,
        source_note=source,
        file_name=file.name or "",
        request=request,
        origin="api",
    )
    if not report.ok:
        return Status(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "source"]
                        if e.column == str(dropouts.SOURCE)
                        else ["body", "file", e.row, str(e.column)],
                        "msg": e.message,
                    }
                    for e in report.shown_errors
                ]
            },
        )
    return Status(201, list_out(report.dropout_list))


@router.get("/dropout-lists", response=DropoutListList)
def dropout_lists(request: HttpRequest, params: Query[PageParams]):
    rows, count = page_of(dropouts.dropout_lists_for(user=request.auth), params)
    return {"items": [list_out(found) for found in rows], "count": count}


@router.get("/dropout-lists/{list_id}", response=DropoutListDetailOut)
def dropout_list_detail(request: HttpRequest, list_id: str, params: Query[RowListParams]):
    """A list with its rows (a page of them) and each row's match: the file and case it led to,
    or why none was found."""
    found = dropouts.dropout_list_for_user_or_404(user=request.auth, list_id=list_id)
    rows, count = page_of(dropouts.rows_of(found, result=params.result or ""), params)
    dropouts.audit_case_children(request, request.auth, [r.child for r in rows], api=True)
    return {
        **list_out(found),
        "items": [row_out(request.auth, row) for row in rows],
        "count": count,
    }


@router.get("/dropout-rows", response=FollowUpList)
def dropout_follow_up(request: HttpRequest, params: Query[FollowUpParams]):
    """Rows not matched at import, to follow up (``status=open``, the default) or done."""
    area = scope.area_for_user_or_404(user=request.auth, code=params.area) if params.area else None
    rows, count = page_of(
        dropouts.follow_up_rows_for(
            user=request.auth, area=area, status="" if params.status == "all" else params.status
        ),
        params,
    )
    dropouts.audit_case_children(request, request.auth, [r.child for r in rows], api=True)
    return {"items": [row_out(request.auth, row) for row in rows], "count": count}


@router.post("/dropout-rows/{row_id}/link", response=DropoutRowOut)
def dropout_row_link(request: HttpRequest, row_id: str, payload: LinkIn):
    """The row's child has a file in the user's area: linked, out of school, with a case."""
    row = dropouts.row_for_user_or_404(
        user=request.auth, row_id=row_id, capability=Capability.DROPOUT_FOLLOW_UP
    )
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=payload.child_id, capability=Capability.DROPOUT_FOLLOW_UP
    )
    return row_out(request.auth, dropouts.dropout_row_link(user=request.auth, row=row, child=child))


@router.post("/dropout-rows/{row_id}/dismiss", response=DropoutRowOut)
def dropout_row_dismiss(request: HttpRequest, row_id: str, payload: DismissIn):
    row = dropouts.row_for_user_or_404(
        user=request.auth, row_id=row_id, capability=Capability.DROPOUT_FOLLOW_UP
    )
    return row_out(
        request.auth, dropouts.dropout_row_dismiss(user=request.auth, row=row, note=payload.note)
    )


@router.get("/return-to-school-cases", response=CaseList)
def return_cases(request: HttpRequest, params: Query[CaseListParams]):
    """The cases of the children in the user's area (``area``: an area within it), open ones by
    default."""
    area = scope.area_for_user_or_404(user=request.auth, code=params.area) if params.area else None
    cases = dropouts.cases_for(
        user=request.auth, status="" if params.status == "all" else params.status, area=area
    )
    rows, count = page_of(cases, params)
    dropouts.audit_case_children(request, request.auth, [c.child for c in rows], api=True)
    return {"items": [case_out(case) for case in rows], "count": count}


@router.get("/return-to-school-cases/{case_id}", response=CaseDetailOut)
def return_case(request: HttpRequest, case_id: str):
    case = dropouts.case_for_user_or_404(user=request.auth, case_id=case_id)
    return _case_detail(request, case)


def _for_follow_up(request: HttpRequest, case_id: str) -> ReturnToSchoolCase:
    return dropouts.case_for_user_or_404(
        user=request.auth, case_id=case_id, capability=Capability.DROPOUT_FOLLOW_UP
    )


@router.post("/return-to-school-cases/{case_id}/contacts", response={201: ContactOut})
def return_case_contact(request: HttpRequest, case_id: str, payload: ContactIn):
    case = _for_follow_up(request, case_id)
    contact = dropouts.return_case_contact_add(
        user=request.auth,
        case=case,
        contacted_on=payload.contacted_on,
        with_whom=payload.with_whom,
        channel=payload.channel,
        note=payload.note or "",
    )
    return Status(201, contact_out(contact))


@router.post("/return-to-school-cases/{case_id}/plan", response=CaseDetailOut)
def return_case_plan(request: HttpRequest, case_id: str, payload: PlanIn):
    case = _for_follow_up(request, case_id)
    dropouts.return_case_plan_set(user=request.auth, case=case, plan=payload.plan)
    return _case_detail(request, _reloaded(request, case))


@router.post("/return-to-school-cases/{case_id}/close", response=CaseDetailOut)
def return_case_close(request: HttpRequest, case_id: str, payload: CloseIn):
    """Close with the outcome: ``returned`` (with ``returned_on`` and ``returned_school``: the
    file's school status goes back to in school), ``transferred_to_vocational``, ``exempted``, or
    ``other`` (with a ``note``). 409 when already closed."""
    case = _for_follow_up(request, case_id)
    dropouts.return_case_close(
        user=request.auth,
        case=case,
        outcome=payload.outcome,
        returned_on=payload.returned_on,
        returned_school=payload.returned_school or "",
        note=payload.note or "",
    )
    return _case_detail(request, _reloaded(request, case))


def _reloaded(request: HttpRequest, case: ReturnToSchoolCase) -> ReturnToSchoolCase:
    return dropouts.case_for_user_or_404(user=request.auth, case_id=case.pk)
