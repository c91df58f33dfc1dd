"""The audit log partitioned by month (issue 20, point 7): every partition append-only, months
created ahead by the daily job, old months archived (detached, never deleted) by a command."""

from __future__ import annotations

import io
from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from accounts import partitions
from accounts.models import AuditRecord
from accounts.services import audit_log
from accounts.tasks import audit_partitions as daily_task
from core import clock


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _partitions_with_trigger() -> dict[str, bool]:
    return dict(
        _rows(
            """
            SELECT child.relname, EXISTS (
                SELECT 1 FROM pg_trigger t
                WHERE t.tgrelid = child.oid AND t.tgname = 'accounts_audit_append_only'
            )
            FROM pg_inherits
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
            WHERE parent.relname = 'accounts_auditrecord'
            """
        )
    )


def _write(user, when: str, object_id: str = "x") -> AuditRecord:
    with time_machine.travel(when, tick=False):
        audit_log(
            user=user, action="view", object_type="child", records=[(object_id, "341823103201")]
        )
    return AuditRecord.objects.get(object_id=object_id)


def _partition_of(record: AuditRecord) -> str:
    return _rows(
        "SELECT tableoid::regclass::text FROM accounts_auditrecord WHERE id = %s", [record.pk]
    )[0][0]


def test_the_table_is_partitioned_by_month_with_the_months_ahead(db):
    assert _rows("SELECT relkind FROM pg_class WHERE relname = 'accounts_auditrecord'") == [("p",)]
    today = clock.today()
    names = {p.name for p in partitions.audit_partitions()}
    for offset in range(partitions.AHEAD_MONTHS + 1):
        assert partitions.partition_name(partitions._month(today, offset)) in names
    # The append-only trigger is on every partition, the default one included.
    triggers = _partitions_with_trigger()
    assert partitions.DEFAULT in triggers and all(triggers.values())


def test_a_record_lands_in_its_local_month_and_stays_append_only(db, civil_affairs):
    partitions.audit_partitions_ensure(today=date(2030, 1, 15))
    # 2030-01-31 23:30 in Beijing is still January there (15:30 UTC).
    record = _write(civil_affairs, "2030-01-31 23:30 +0800")
    assert _partition_of(record) == "accounts_auditrecord_2030_01"
    february = _write(civil_affairs, "2030-02-01 00:10 +0800", object_id="y")
    assert _partition_of(february) == "accounts_auditrecord_2030_02"
    for statement in (
        "UPDATE accounts_auditrecord SET username = 'x' WHERE id = %s",
        "DELETE FROM accounts_auditrecord WHERE id = %s",
        "DELETE FROM accounts_auditrecord_2030_01 WHERE id = %s",
    ):
        with (
            pytest.raises(ProgrammingError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [record.pk])
    assert AuditRecord.objects.filter(pk=record.pk).exists()


def test_the_daily_job_creates_the_months_ahead_once(db, civil_affairs):
    assert daily_task.apply(kwargs={"on": "2031-05-20"}).get() == 4
    created = {p.name for p in partitions.audit_partitions()}
    assert {f"accounts_auditrecord_2031_{m:02d}" for m in (5, 6, 7, 8)} <= created
    assert all(_partitions_with_trigger().values())  # created later, append-only all the same
    assert daily_task.apply(kwargs={"on": "2031-05-21"}).get() == 0
    # A month whose records already went to the default partition is left there, not moved.
    stray = _write(civil_affairs, "2031-09-03 10:00 +0800")
    assert _partition_of(stray) == partitions.DEFAULT
    assert partitions.audit_partitions_ensure(today=date(2031, 6, 1)) == []
    assert "accounts_auditrecord_2031_09" not in {p.name for p in partitions.audit_partitions()}


def test_old_months_are_archived_never_deleted(db, civil_affairs):
    partitions.audit_partitions_ensure(today=date(2021, 1, 1))
    old = _write(civil_affairs, "2021-02-10 10:00 +0800", object_id="old")
    assert _partition_of(old) == "accounts_auditrecord_2021_02"
    with pytest.raises(CommandError, match="6"):
        call_command("audit_archive", "--months", "5", stdout=io.StringIO())
    with time_machine.travel("2026-12-03 10:00 +0800", tick=False):
        out = io.StringIO()
        call_command("audit_archive", "--dry-run", stdout=out)
        assert "accounts_auditrecord_2021_02" in out.getvalue()
        assert AuditRecord.objects.filter(pk=old.pk).exists()  # a dry run moves nothing
        call_command("audit_archive", stdout=io.StringIO())
    names = {p.name for p in partitions.audit_partitions()}
    assert not {n for n in names if n.startswith("accounts_auditrecord_2021")}
    assert partitions.partition_name(partitions._month(clock.today())) in names  # this month stays
    # Gone from the log the application reads, kept whole in the archive schema, append-only.
    assert not AuditRecord.objects.filter(pk=old.pk).exists()
    assert _rows(
        "SELECT object_id FROM audit_archive.accounts_auditrecord_2021_02 WHERE id = %s", [old.pk]
    ) == [("old",)]
    with (
        pytest.raises(ProgrammingError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_archive.accounts_auditrecord_2021_02")
    # What the retention keeps (36 months back from December 2026: December 2023 on) stays.
    assert partitions.audit_partitions_archive(today=date(2026, 12, 3), dry_run=True) == []


def test_the_audit_page_goes_back_by_time_without_counting(
    client_for, auditor, civil_affairs, django_assert_max_num_queries
):
    import re

    with time_machine.travel("2026-11-20 09:00 +0800", tick=True):
        audit_log(
            user=civil_affairs,
            action="view",
            object_type="child",
            records=[(f"r{i:03d}", "341823103201") for i in range(120)],
        )  # one INSERT: all 120 at the same moment, told apart by id
    client = client_for(auditor)
    seen: list[str] = []
    url = "/audit/?action=view"
    for _page in range(3):
        with django_assert_max_num_queries(12):
            body = client.get(url).content.decode()
        assert "count(" not in body
        seen += re.findall(r"r\d{3}", body)
        older = re.search(r'href="\?([^"]*before=[^"]+)"', body)
        if older is None:
            break
        assert "action=view" in older[1]
        url = "/audit/?" + older[1].replace("&amp;", "&")
    assert sorted(seen) == [f"r{i:03d}" for i in range(120)]  # each once, none missed
    assert seen[0] == "r119"  # newest first
    assert client.get("/audit/?before=garbage").status_code == 200  # the first page
