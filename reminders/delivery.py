"""Delivery of reminders: each person's daily digest of their open reminders, grouped by child with
a link to each action, by the channel they chose at 账号设置 (e-mail, text message or 企业微信).
Every send is recorded (accounts.Delivery); rows are marked sent only when the send succeeded."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from accounts import notify
from accounts.models import DeliveryChannel, DeliveryPurpose, User
from core.messaging import SendError, Sent, sms_backend, wecom_backend

from .models import Notification, NotificationKind

# Reminders whose action is recording a visit (the visit form); other reminders about a child open
# the child's file, reminders about a report the report.
VISIT_KINDS = frozenset(
    {
        NotificationKind.VISIT_DUE_SOON,
        NotificationKind.VISIT_OVERDUE,
        NotificationKind.FOLLOW_UP_DUE,
        NotificationKind.WARNING_LETTER_FOLLOW_UP,
        # Any contact with the child answers it (a phone call is a visit of kind phone).
        NotificationKind.CONTACT_OVERDUE,
        # The supervisor's patrol is a visit in person.
        NotificationKind.PATROL_DUE,
    }
)
VISIT_ESCALATION_RULES = frozenset({"escalation", "escalation_county"})


def kind_label_zh(kind: str) -> str:
    """A reminder kind's name in Chinese, whatever the language of the page that triggered the
    send: the digest goes out in Chinese (the kinds' labels and their translations are the one
    list of names)."""
    with translation.override("zh-hans"):
        return str(NotificationKind(kind).label) if kind in NotificationKind.values else kind


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def action_url(row: Notification) -> str:
    """Where the reminder's work is done, as an absolute link for a message."""
    if row.report_id:
        path = reverse("reporting:detail", args=[row.report_id])
    elif row.child_id and (
        row.kind in VISIT_KINDS
        or (row.kind == NotificationKind.ESCALATION and row.rule in VISIT_ESCALATION_RULES)
    ):
        path = reverse("visits:create", args=[row.child_id])
    elif row.kind == NotificationKind.TRANSFER_PENDING:
        path = reverse("children:transfers")
    elif row.child_id:
        path = reverse("children:detail", args=[row.child_id])
    elif row.kind == NotificationKind.PATROL_DUE:
        path = reverse("visits:patrol")
    else:
        path = reverse("reminders:inbox")
    return absolute_url(path)


def digest_text(recipient: User, rows: Sequence[Notification]) -> tuple[str, str]:
    """(subject, body) of the digest: the open reminders grouped by child, each with its link."""
    groups: dict[object, list[Notification]] = {}
    for row in sorted(rows, key=lambda r: (r.child is None, r.child.name if r.child else "")):
        groups.setdefault(row.child_id, []).append(row)
    blocks = []
    for child_id, items in groups.items():
        title = items[0].child.name if child_id else "其他事项"
        lines = [f"■ {title}"]
        for row in sorted(items, key=lambda r: (r.due_date is None, r.due_date, r.kind)):
            detail = f"：{row.detail}" if row.detail else ""
            due = f"（应于 {row.due_date:%Y-%m-%d}）" if row.due_date else ""
            lines.append(f"  · {kind_label_zh(row.kind)}{detail}{due}\n    {action_url(row)}")
        blocks.append("\n".join(lines))
    subject = f"守望提醒：{len(rows)} 条待办提醒"
    body = (
        f"{recipient.display_name}，您好：\n\n守望今日有 {len(rows)} 条待办提醒：\n\n"
        + "\n\n".join(blocks)
        + f"\n\n全部提醒：{absolute_url(reverse('reminders:inbox'))}"
    )
    return subject, body


def _send(channel: str, address: str, recipient: User, rows: Sequence[Notification]) -> Sent:
    """One attempt through the channel; ``SendError`` with the provider's code when it fails."""
    subject, body = digest_text(recipient, rows)
    if channel == DeliveryChannel.SMS:
        backend = sms_backend()
        # A text message carries only the count and the link to the inbox (the template).
        params = {"count": str(len(rows)), "url": absolute_url(reverse("reminders:inbox"))}
        return backend.send(address, "digest", params)
    if channel == DeliveryChannel.WECOM:
        return wecom_backend().send_text(address, body)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    except Exception as exc:  # SMTP refused, unreachable …
        code = getattr(exc, "smtp_code", None) or type(exc).__name__
        raise SendError(str(code), str(exc), retryable=True) from exc
    return Sent()


def _provider(channel: str) -> str:
    if channel == DeliveryChannel.SMS:
        return sms_backend().name
    return "wecom" if channel == DeliveryChannel.WECOM else "email"


def digest_send_for(*, recipient_id: int, final: bool = False) -> int:
    """Send one recipient's digest of open reminders not yet sent, by their channel; returns how
    many reminders went out.

    Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, so two workers never send the same rows,
    and marked sent in the same transaction only when the send succeeded. Each attempt is
    recorded; a failure that a retry may cure raises ``SendError`` after the record is committed
    (the task retries it as another attempt of the same delivery) unless ``final``. With no
    usable channel (no address for the chosen one, or the channel is not configured) nothing is
    sent and nothing is recorded as sent."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                recipient_id=recipient_id, digest_sent_at__isnull=True, resolved_at__isnull=True
            )
            .select_related("child", "recipient")
            .order_by("kind", "due_date")
        )
        if not rows:
            return 0
        recipient = rows[0].recipient
        route = notify.digest_address(recipient)
        if route is None:
            return 0
        channel, address = route
        delivery = notify.digest_delivery_to_retry(
            recipient_id=recipient_id, channel=channel, address=address
        ) or notify.delivery_start(
            purpose=DeliveryPurpose.DIGEST,
            channel=channel,
            address=address,
            provider=_provider(channel),
            recipient=recipient,
        )
        try:
            outcome: Sent | SendError = _send(channel, address, recipient, rows)
        except SendError as exc:
            outcome = exc
        notify.delivery_attempt_record(
            delivery=delivery, outcome=outcome, final=final, items=len(rows)
        )
        if isinstance(outcome, Sent):
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
                digest_sent_at=timezone.now()
            )
            return len(rows)
    if outcome.retryable and not final:
        raise outcome
    return 0


def recipients_with_unsent() -> list[int]:
    """People with open reminders not yet in a digest."""
    return list(
        Notification.objects.filter(digest_sent_at__isnull=True, resolved_at__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
