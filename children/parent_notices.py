"""Telling the entrusting parents that their child's caregiver can no longer care (domain §5).

With an SMS channel configured, the system texts each parent's mobile number and records how each
text went; without one — or when a number cannot be texted, or the text fails for good — the notice
is 待电话通知 (phone call pending): the director phones the parents and ticks it done. Nothing is
recorded as a text message sent unless the provider accepted it."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import notify
from accounts.models import DeliveryChannel, DeliveryPurpose, DeliveryStatus, User
from core.errors import Conflict
from core.messaging import SendError, Sent, is_mainland_mobile, sms_backend

from .models import CareAgreement, ContactChannel, ParentNotice, ParentNoticeStatus
from .services import require_writer

logger = logging.getLogger(__name__)

NO_MOBILE_NOTE = gettext_lazy(
    "No parent's mobile number on file; find another way to reach the parents"
)


def _template_params(agreement: CareAgreement) -> dict[str, str]:
    """The parent_notice template's parameters, in Tencent's order ({1} {2} {3})."""
    return {
        "child": agreement.child.name,
        "caregiver": agreement.caregiver_name,
        "due": f"{agreement.replacement_due:%Y-%m-%d}" if agreement.replacement_due else "",
    }


def agreement_text_parents(agreement_id: uuid.UUID | str, *, final: bool = False) -> int:
    """After the caregiver-unable flag: one automatic notice per parent's mobile number (once,
    however often this runs), texted when an SMS channel is configured, else pending a phone
    call. Returns how many texts the provider accepted on this run. A failed text that a retry
    may cure raises ``SendError`` after its attempt is recorded (the task retries it) unless
    ``final``; one that cannot succeed, or fails on the last attempt, turns to a phone call."""
    agreement = CareAgreement.objects.select_related("child").get(pk=agreement_id)
    numbers = {agreement.parent_phone, *agreement.parents.values_list("phone", flat=True)}
    mobiles = sorted(p for p in numbers if p and is_mainland_mobile(p))
    backend = sms_backend()
    texting = notify.sms_channel_ready()
    now = timezone.now()
    ParentNotice.objects.bulk_create(
        [
            ParentNotice(
                agreement=agreement,
                automatic=True,
                phone=phone,
                status=ParentNoticeStatus.TEXTING if texting else ParentNoticeStatus.PENDING_CALL,
                channel=ContactChannel.SMS if texting else ContactChannel.PHONE,
                notified_at=now,
                note="" if phone else NO_MOBILE_NOTE,
            )
            for phone in (mobiles or [""])
        ],
        ignore_conflicts=True,
    )
    params = _template_params(agreement)
    if not texting:
        if backend is not None:  # the development logging backend: shows the text, sends nothing
            for phone in mobiles:
                backend.send(phone, "parent_notice", params)
        return 0
    sent = 0
    to_retry: SendError | None = None
    pending = agreement.parent_notices.filter(automatic=True, status=ParentNoticeStatus.TEXTING)
    for notice_id in pending.values_list("pk", flat=True):
        with transaction.atomic():
            notice = (
                ParentNotice.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("delivery")
                .filter(pk=notice_id, status=ParentNoticeStatus.TEXTING)
                .first()
            )
            if notice is None:  # another worker has it, or a person ticked it meanwhile
                continue
            delivery = notice.delivery or notify.delivery_start(
                purpose=DeliveryPurpose.PARENT_NOTICE,
                channel=DeliveryChannel.SMS,
                address=notice.phone,
                provider=backend.name,
            )
            try:
                outcome: Sent | SendError = backend.send(notice.phone, "parent_notice", params)
            except SendError as exc:
                outcome = exc
            notify.delivery_attempt_record(delivery=delivery, outcome=outcome, final=final)
            notice.delivery = delivery
            if isinstance(outcome, Sent):
                notice.status = ParentNoticeStatus.TEXTED
                notice.notified_at = timezone.now()
                sent += 1
            elif delivery.status == DeliveryStatus.FAILED:
                notice.status = ParentNoticeStatus.PENDING_CALL
                notice.channel = ContactChannel.PHONE
            else:
                to_retry = outcome
            notice.save(update_fields=["delivery", "status", "notified_at", "channel"])
    if to_retry is not None:
        raise to_retry
    return sent


def parent_notice_mark_called(*, user: User, notice: ParentNotice, note: str = "") -> ParentNotice:
    """The director phoned the parents about a notice pending a call (or whose text is still being
    retried): it is done, by them, now."""
    require_writer(user)
    values = {
        "status": ParentNoticeStatus.DONE,
        "channel": ContactChannel.PHONE,
        "notified_by": user,
        "notified_at": timezone.now(),
    }
    if note.strip():
        values["note"] = note.strip()[:500]
    updated = ParentNotice.objects.filter(
        pk=notice.pk,
        status__in=(ParentNoticeStatus.PENDING_CALL, ParentNoticeStatus.TEXTING),
    ).update(**values)
    if not updated:
        raise Conflict(_("This notice has already been dealt with"))
    notice.refresh_from_db()
    return notice
