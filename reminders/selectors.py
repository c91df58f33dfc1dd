"""Reads of a person's reminders (the inbox, the bell, the API)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User

from .models import Notification


def reminders_for(*, user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user)
        .select_related("child")
        .order_by("read_at", "-created_on", "kind")
    )


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
