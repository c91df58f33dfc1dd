"""API of the file's life (api.md, "Case lifecycle"): re-open, siblings, and transfers between
villages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from accounts.permissions import Capability
from accounts.services import audit_api_read
from core.api import PageParams, page_of

from . import households, lifecycle, selectors
from .api import ChildOut, child_out
from .models import Transfer

router = Router(tags=["case lifecycle"])


class ReopenIn(Schema):
    reason: str = Field(..., max_length=200)
    note: str | None = Field(None, max_length=500)


class TransferFromSenderIn(Schema):
    to_village_code: str = Field(..., max_length=12)
    reason: str = Field(..., max_length=200)
    note: str | None = Field(None, max_length=500)


class TransferFromReceiverIn(TransferFromSenderIn):
    id_number: str = Field(..., max_length=18)


class SiblingIn(Schema):
    child_id: str = Field(..., max_length=64)


class MergeIn(Schema):
    duplicate_id: str = Field(..., max_length=64)
    reason: str = Field(..., max_length=200)


class RejectIn(Schema):
    reason: str = Field(..., max_length=200)


class TransferChild(Schema):
    name: str
    gender: str
    birth_date: date


class TransferOut(Schema):
    id: str
    child_id: str | None
    child: TransferChild
    from_village_code: str | None
    to_village_code: str
    reason: str
    note: str
    status: Literal["pending", "accepted", "rejected"]
    requested_by_side: Literal["sender", "receiver"]
    reject_reason: str
    created_at: datetime
    decided_at: datetime | None
    may_answer: bool


class TransferList(Schema):
    items: list[TransferOut]
    count: int


class TransferListParams(PageParams):
    status: Literal["pending", "accepted", "rejected"] | None = None


def transfer_out(user, transfer: Transfer) -> dict:
    """A transfer as ``user`` may see it: before acceptance the receiving side sees the child's
    name, gender and birth date only — not the file, not even where it is."""
    sees_file = selectors.sees_transferred_file(user, transfer)
    child = transfer.child
    return {
        "id": str(transfer.pk),
        "child_id": str(child.pk) if sees_file else None,
        "child": {"name": child.name, "gender": child.gender, "birth_date": child.birth_date},
        "from_village_code": transfer.from_village_id if sees_file else None,
        "to_village_code": transfer.to_village_id,
        "reason": transfer.reason,
        "note": transfer.note,
        "status": transfer.status,
        "requested_by_side": transfer.requested_by_side,
        "reject_reason": transfer.reject_reason,
        "created_at": transfer.created_at,
        "decided_at": transfer.decided_at,
        "may_answer": transfer.status == "pending" and lifecycle.may_answer(user, transfer),
    }


@router.post("/children/{child_id}/reopen", response=ChildOut)
def child_reopen(request: HttpRequest, child_id: str, payload: ReopenIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    child = lifecycle.child_reopen(
        user=request.auth, child=child, reason=payload.reason, note=payload.note or ""
    )
    return child_out(request.auth, child)


@router.post("/children/{child_id}/siblings", response=ChildOut)
def sibling_link(request: HttpRequest, child_id: str, payload: SiblingIn):
    """Both children share one household and its family members (api.md, Households); the
    other child outside the user's area is 404 like the first."""
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    other = selectors.child_for_user_or_404(
        user=request.auth, child_id=payload.child_id, capability=Capability.CHILD_WRITE
    )
    child = households.siblings_link(user=request.auth, child=child, other=other)
    return child_out(request.auth, child)


@router.post("/children/{child_id}/merge", response=ChildOut)
def child_merge(request: HttpRequest, child_id: str, payload: MergeIn):
    """A supervisor or civil affairs merges a duplicate file into this one; both must be in the
    user's area (404), the role may merge (403)."""
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_MERGE
    )
    duplicate = selectors.child_for_user_or_404(
        user=request.auth, child_id=payload.duplicate_id, capability=Capability.CHILD_MERGE
    )
    child = lifecycle.child_merge(
        user=request.auth, child=child, duplicate=duplicate, reason=payload.reason
    )
    return child_out(request.auth, child)


@router.post("/children/{child_id}/transfers", response={201: TransferOut})
def transfer_from_sender(request: HttpRequest, child_id: str, payload: TransferFromSenderIn):
    child = selectors.child_for_user_or_404(
        user=request.auth, child_id=child_id, capability=Capability.CHILD_WRITE
    )
    transfer = lifecycle.transfer_request_from_sender(
        user=request.auth,
        child=child,
        to_village_code=payload.to_village_code,
        reason=payload.reason,
        note=payload.note or "",
    )
    return Status(201, transfer_out(request.auth, transfer))


@router.post("/transfers", response={201: TransferOut})
def transfer_from_receiver(request: HttpRequest, payload: TransferFromReceiverIn):
    transfer = lifecycle.transfer_request_from_receiver(
        user=request.auth,
        id_number=payload.id_number,
        to_village_code=payload.to_village_code,
        reason=payload.reason,
        note=payload.note or "",
    )
    return Status(201, transfer_out(request.auth, transfer))


@router.get("/transfers", response=TransferList)
def transfer_list(request: HttpRequest, params: Query[TransferListParams]):
    queryset = selectors.transfers_for(user=request.auth, status=params.status or "")
    rows, count = page_of(queryset, params)
    audit_api_read(request, [t.child for t in rows])
    return {"items": [transfer_out(request.auth, t) for t in rows], "count": count}


@router.get("/transfers/{transfer_id}", response=TransferOut)
def transfer_detail(request: HttpRequest, transfer_id: str):
    transfer = selectors.transfer_for_user_or_404(user=request.auth, transfer_id=transfer_id)
    audit_api_read(request, [transfer.child])
    return transfer_out(request.auth, transfer)


@router.post("/transfers/{transfer_id}/accept", response=TransferOut)
def transfer_accept(request: HttpRequest, transfer_id: str):
    transfer = selectors.transfer_for_user_or_404(
        user=request.auth, transfer_id=transfer_id, capability=Capability.CHILD_WRITE
    )
    return transfer_out(
        request.auth, lifecycle.transfer_accept(user=request.auth, transfer=transfer)
    )


@router.post("/transfers/{transfer_id}/reject", response=TransferOut)
def transfer_reject(request: HttpRequest, transfer_id: str, payload: RejectIn):
    transfer = selectors.transfer_for_user_or_404(
        user=request.auth, transfer_id=transfer_id, capability=Capability.CHILD_WRITE
    )
    transfer = lifecycle.transfer_reject(
        user=request.auth, transfer=transfer, reason=payload.reason
    )
    return transfer_out(request.auth, transfer)
