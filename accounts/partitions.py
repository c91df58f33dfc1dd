"""The audit log's monthly partitions (issue 20, point 7; migration 0014): created ahead by the
daily job, and detached to the ``audit_archive`` schema past the retention by a command. The
application never deletes an audit record: an archived month is a table of its own, still
append-only, for the operators to dump and drop under their own records policy.

Months are Asia/Shanghai months: ``accounts_auditrecord_2026_12`` holds 2026-12-01 00:00 up to
2027-01-01 00:00 local time. A record whose month has no partition (a clock far off) lands in the
default partition rather than failing the request that wrote it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection, transaction

from core import clock

logger = logging.getLogger(__name__)

PARENT = "accounts_auditrecord"
DEFAULT = "accounts_auditrecord_default"
ARCHIVE_SCHEMA = "audit_archive"
AHEAD_MONTHS = 3  # the daily job keeps this many months after the current one ready
MIN_RETENTION_MONTHS = 6  # no command may archive a month younger than this


class RetentionTooShort(ValueError):
    pass


@dataclass(frozen=True)
class Partition:
    name: str
    start: date  # first day (local)
    end: date  # first day of the next month (local)


def _month(day: date, months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


def audit_partitions() -> list[Partition]:
    """The monthly partitions attached now, oldest first (the default partition left out)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname FROM pg_inherits
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            WHERE parent.relname = %s AND child.relname ~ %s
            ORDER BY child.relname
            """,
            [PARENT, rf"^{PARENT}_\d{{4}}_\d{{2}}$"],
        )
        names = [row[0] for row in cursor.fetchall()]
    partitions = []
    for name in names:
        year, month = int(name[-7:-3]), int(name[-2:])
        start = date(year, month, 1)
        partitions.append(Partition(name, start, _month(start, 1)))
    return partitions


def audit_partitions_ensure(*, today: date | None = None) -> list[str]:
    """The daily job: the current month and AHEAD_MONTHS after it get their partition. A month
    whose records already sit in the default partition is left there (logged): attaching it would
    mean moving append-only rows. Returns the partitions created."""
    today = today or clock.today()
    created = []
    existing = {p.name for p in audit_partitions()}
    for offset in range(AHEAD_MONTHS + 1):
        month = _month(today, offset)
        name = partition_name(month)
        if name in existing:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE at >= %s AND at < %s)",
                [_local_midnight(month), _local_midnight(_month(month, 1))],
            )
            if cursor.fetchone()[0]:
                logger.warning("audit records of %s are in the default partition", name)
                continue
            cursor.execute(
                f'CREATE TABLE "{name}" PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)',
                [_local_midnight(month), _local_midnight(_month(month, 1))],
            )
        created.append(name)
    return created


def _local_midnight(day: date) -> str:
    """The first moment of a local day, as PostgreSQL reads it (with its offset)."""
    return f"{day.isoformat()} 00:00:00+08:00"


def retention_months() -> int:
    return max(settings.AUDIT_RETENTION_MONTHS, MIN_RETENTION_MONTHS)


def audit_partitions_archive(
    *, months: int | None = None, today: date | None = None, dry_run: bool = False
) -> list[str]:
    """Detach the monthly partitions that ended more than ``months`` months ago (default the
    retention setting, 36) into the ``audit_archive`` schema; never under MIN_RETENTION_MONTHS.
    Each archived table keeps an append-only trigger. Returns their names."""
    months = retention_months() if months is None else months
    if months < MIN_RETENTION_MONTHS:
        raise RetentionTooShort(
            f"审计记录至少保留{MIN_RETENTION_MONTHS}个月 / audit records are kept at least "
            f"{MIN_RETENTION_MONTHS} months (asked: {months})"
        )
    cutoff = _month(today or clock.today(), -months)
    old = [p for p in audit_partitions() if p.end <= cutoff]
    if dry_run:
        return [p.name for p in old]
    archived = []
    for partition in old:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}")
            cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{partition.name}"')
            cursor.execute(f'ALTER TABLE "{partition.name}" SET SCHEMA {ARCHIVE_SCHEMA}')
            cursor.execute(
                f"CREATE TRIGGER accounts_audit_append_only BEFORE UPDATE OR DELETE ON "
                f'{ARCHIVE_SCHEMA}."{partition.name}" '
                "FOR EACH ROW EXECUTE FUNCTION accounts_audit_append_only()"
            )
        archived.append(partition.name)
    return archived
