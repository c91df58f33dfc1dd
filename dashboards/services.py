"""Writes of the dashboards: the per-village summary's recount (domain §8)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from core.clock import today as local_today

from .indicator_sql import TABLE, refresh_sql

STATS_LOCK = 841_008  # pg_advisory_xact_lock key: one refresh at a time


def village_stats_refresh(*, now: datetime | None = None) -> int:
    """Recount every village's dashboard numbers in one set-based statement; returns the number
    of villages with children. Readers keep seeing the previous counts until it commits."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STATS_LOCK])
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(refresh_sql(), {"now": now, "today": local_today()})
        return cursor.rowcount
