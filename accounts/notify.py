"""Writes for how people are reached: a person's own digest channel and addresses (账号设置), and
the delivery record of every message sent (``Delivery``: each attempt, the provider's code)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.messaging import SendError, Sent, is_mainland_mobile, sms_backend, wecom_backend

from .models import Delivery, DeliveryChannel, DeliveryPurpose, DeliveryStatus, DigestChannel, User

# 企业微信成员 UserID: 1–64 letters, digits and _-@. starting with a letter or digit.
_WECOM_USERID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def sms_channel_ready() -> bool:
    """A text message given to the SMS channel reaches a phone (not none, not the logging one)."""
    backend = sms_backend()
    return backend is not None and backend.delivers


def digest_address(user: User) -> tuple[str, str] | None:
    """(channel, address) the user's digest goes to, or None when their choice cannot be used
    (no address for it, or the channel is not configured here): then nothing is sent."""
    if user.digest_channel == DigestChannel.SMS:
        ok = sms_channel_ready() and is_mainland_mobile(user.phone)
        return (DeliveryChannel.SMS, user.phone) if ok else None
    if user.digest_channel == DigestChannel.WECOM:
        ok = wecom_backend() is not None and bool(user.wecom_userid)
        return (DeliveryChannel.WECOM, user.wecom_userid) if ok else None
    return (DeliveryChannel.EMAIL, user.email) if user.email else None


def user_notify_settings_update(
    *, user: User, digest_channel: str, email: str = "", phone: str = "", wecom_userid: str = ""
) -> User:
    """A person sets how their daily digest reaches them, and the addresses it needs. Checked
    whole: one bad field saves nothing."""
    email, phone, wecom_userid = email.strip(), phone.strip(), wecom_userid.strip()
    errors: dict[str, list[str]] = {}
    if digest_channel not in DigestChannel.values:
        errors["digest_channel"] = [_("Choose how to receive reminders")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid e-mail address")]
    if phone and not is_mainland_mobile(phone):
        errors["phone"] = [_("Enter an 11-digit mainland China mobile number (e.g. 13812345678)")]
    if wecom_userid and not _WECOM_USERID.fullmatch(wecom_userid):
        errors["wecom_userid"] = [
            _(
                "A WeCom account may contain only letters, digits and _ - @ ., starts with a "
                "letter or digit and has at most 64 characters"
            )
        ]
    if digest_channel == DigestChannel.EMAIL and not email and "email" not in errors:
        errors["email"] = [_("Enter an e-mail address to receive reminders by e-mail")]
    if digest_channel == DigestChannel.SMS:
        if not sms_channel_ready():
            errors.setdefault("digest_channel", []).append(
                _("Text messages are not set up on this system; choose another way")
            )
        elif not phone and "phone" not in errors:
            errors["phone"] = [_("Enter a mobile number to receive reminders by text message")]
    if digest_channel == DigestChannel.WECOM:
        if wecom_backend() is None:
            errors.setdefault("digest_channel", []).append(
                _("WeCom is not set up on this system; choose another way")
            )
        elif not wecom_userid and "wecom_userid" not in errors:
            errors["wecom_userid"] = [_("Enter a WeCom account to receive reminders by WeCom")]
    if errors:
        raise ValidationError(errors)
    User.objects.filter(pk=user.pk).update(
        digest_channel=digest_channel, email=email, phone=phone, wecom_userid=wecom_userid
    )
    user.refresh_from_db(fields=["digest_channel", "email", "phone", "wecom_userid"])
    return user


def delivery_start(
    *,
    purpose: str,
    channel: str,
    address: str,
    provider: str,
    recipient: User | None = None,
    items: int = 0,
) -> Delivery:
    return Delivery.objects.create(
        purpose=purpose,
        channel=channel,
        address=address,
        provider=provider,
        recipient=recipient,
        items=items,
    )


def digest_delivery_to_retry(*, recipient_id: int, channel: str, address: str) -> Delivery | None:
    """The person's digest that failed and waits for its retry to the same address: a retry is
    another attempt of it, not a new message."""
    return (
        Delivery.objects.select_for_update()
        .filter(
            recipient_id=recipient_id,
            purpose=DeliveryPurpose.DIGEST,
            status=DeliveryStatus.RETRYING,
            channel=channel,
            address=address,
        )
        .order_by("-created_at")
        .first()
    )


def delivery_attempt_record(
    *, delivery: Delivery, outcome: Sent | SendError, final: bool = False, items: int | None = None
) -> Delivery:
    """Record one attempt: sent, or failed with the provider's code and message — to be retried
    unless it was the last attempt or trying again cannot help."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if items is not None:
        delivery.items = items
    if isinstance(outcome, Sent):
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        delivery.provider_id = outcome.provider_id[:100]
        delivery.error_code = delivery.error_message = ""
        delivery.attempt_log = [*delivery.attempt_log, {"at": now.isoformat(), "code": ""}]
    else:
        retry = outcome.retryable and not final
        delivery.status = DeliveryStatus.RETRYING if retry else DeliveryStatus.FAILED
        delivery.error_code = outcome.code
        delivery.error_message = outcome.message
        delivery.attempt_log = [
            *delivery.attempt_log,
            {"at": now.isoformat(), "code": outcome.code, "message": outcome.message},
        ]
    with transaction.atomic():
        delivery.save()
    return delivery
