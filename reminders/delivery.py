"""Delivery of reminders: each person's digest of what is new, by e-mail and text message."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from core.sms import sms_backend

from .models import Notification, NotificationKind


def kind_label_zh(kind: str) -> str:
    """A reminder kind's name in Chinese, whatever the language of the page that triggered the
    send: the digest goes out in Chinese (the kinds' labels and their translations are the one
    list of names)."""
    with translation.override("zh-hans"):
        return str(NotificationKind(kind).label) if kind in NotificationKind.values else kind


def digest_send_for(*, recipient_id: int) -> int:
    """Send one recipient's digest of reminders not yet sent. Rows are claimed with
    SELECT … FOR UPDATE SKIP LOCKED and marked sent in the same transaction as the send, so a
    failed send leaves them for the retry and two workers never send the same rows."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(recipient_id=recipient_id, digest_sent_at__isnull=True)
            .select_related("child", "recipient")
            .order_by("kind", "due_date")
        )
        if not rows:
            return 0
        recipient = rows[0].recipient
        lines = []
        for row in rows:
            subject = row.child.name if row.child_id else (row.detail or "")
            if row.child_id and row.detail:
                subject = f"{subject}，{row.detail}"
            due = f"（应于 {row.due_date:%Y-%m-%d}）" if row.due_date else ""
            lines.append(f"· {kind_label_zh(row.kind)}：{subject}{due}")
        body = (
            f"{recipient.display_name}，您好：\n\n守望今日有 {len(rows)} 条新提醒：\n"
            + "\n".join(lines)
            + "\n\n请登录守望查看并处理。"
        )
        if recipient.email:
            send_mail(
                f"守望提醒：{len(rows)} 条新提醒",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [recipient.email],
            )
        if recipient.phone and recipient.phone.startswith("1") and len(recipient.phone) == 11:
            sms_backend().send(recipient.phone, f"【守望】您有{len(rows)}条新提醒，请登录查看。")
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
            digest_sent_at=timezone.now()
        )
    return len(rows)


def recipients_with_unsent() -> list[int]:
    return list(
        Notification.objects.filter(digest_sent_at__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
