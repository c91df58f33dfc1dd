"""Issue 20, "past one machine": the dashboards (the directors' page too), the exports,
``/api/v1/stats`` and the hand-over read from the replica, their audit records and job progress
are written to the primary, their "as of" time allows for the replica's lag, and they answer from
the primary when the replica does not (core.replica).

The replica here is the test settings' mirror of the test database: a second connection to it,
so each query can be seen on the connection that ran it. ``transaction=True``: a second
connection sees committed rows only. The real standby is the replica drill's
(tests/drills/test_drill_replica.py)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import AuditAction, AuditRecord
from core import replica
from dashboards import jobs
from dashboards.indicator_sql import TABLE
from dashboards.models import ExportStatus
from dashboards.rules import data_as_of
from dashboards.services import village_stats_refresh
from visits.services import visit_record

from ..conftest import COUNTY_A, TOWNSHIP_1
from ..core.test_replica import replica_unreachable
from ..factories import make_child

REPLICA = "replica"
SUMS = f"FROM {TABLE}\nWHERE village_id LIKE"  # the dashboards' one query of the summary


# --- The "as of" rule -----------------------------------------------------------------------------

T = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_as_of_is_the_summarys_time_when_the_replica_is_not_further_behind():
    summary = T - timedelta(minutes=8)
    assert data_as_of(summary_as_of=summary, read_at=T, lag=timedelta(0)) == summary
    assert data_as_of(summary_as_of=summary, read_at=T, lag=timedelta(minutes=3)) == summary


def test_as_of_is_where_the_replica_had_reached_when_that_is_earlier():
    summary = T - timedelta(minutes=2)
    lag = timedelta(minutes=5)
    assert data_as_of(summary_as_of=summary, read_at=T, lag=lag) == T - lag


def test_as_of_of_records_read_as_they_are_is_the_read_less_the_lag():
    assert data_as_of(summary_as_of=None, read_at=T, lag=timedelta(0)) == T
    assert data_as_of(summary_as_of=None, read_at=T, lag=timedelta(seconds=42)) == T - timedelta(
        seconds=42
    )
    # Clocks a little apart never make the data newer than the read.
    assert data_as_of(summary_as_of=None, read_at=T, lag=timedelta(seconds=-3)) == T


# --- Reads on the replica, writes on the primary -------------------------------------------------

both_databases = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@pytest.fixture
def with_replica(settings, tmp_path):
    settings.DATABASE_READ_REPLICA = REPLICA
    settings.MEDIA_ROOT = str(tmp_path)
    cache.delete(replica.state_key(REPLICA))
    yield
    cache.delete(replica.state_key(REPLICA))


@pytest.fixture
def county(frozen, director_a, civil_affairs):
    for name in ("甲", "乙", "丙"):
        make_child(director_a, name=name)
    village_stats_refresh()
    return civil_affairs


class Queries:
    """The SQL each connection ran meanwhile."""

    def __init__(self) -> None:
        self.replica = CaptureQueriesContext(connections[REPLICA])
        self.primary = CaptureQueriesContext(connections[DEFAULT_DB_ALIAS])

    def __enter__(self) -> Queries:
        self.replica.__enter__()
        self.primary.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.primary.__exit__(*exc)
        self.replica.__exit__(*exc)

    @staticmethod
    def _ran(captured: CaptureQueriesContext, text: str) -> int:
        return sum(text in query["sql"] for query in captured.captured_queries)

    def on_replica(self, text: str) -> int:
        return self._ran(self.replica, text)

    def on_primary(self, text: str) -> int:
        return self._ran(self.primary, text)


@both_databases
def test_stats_and_the_dashboard_read_the_replica(with_replica, county, api_client, client_for):
    with Queries() as queries:
        answer = api_client(county).get(f"/api/v1/stats?area={COUNTY_A}")
        page = client_for(county).get(f"/dashboard/{COUNTY_A}/")
    assert answer.status_code == 200 and page.status_code == 200
    assert answer.json()["children_total"] == 3
    assert "3" in page.content.decode()
    assert queries.on_replica(SUMS) == 2 and queries.on_primary(SUMS) == 0
    assert queries.on_replica("FROM reporting_mandatoryreport") == 2
    assert queries.on_primary("FROM reporting_mandatoryreport") == 0
    # Not a second recount: the replica's copy of the summary was fresh.
    assert queries.on_primary(f"INSERT INTO {TABLE}") == 0
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT max(as_of) FROM {TABLE}")
        summary = cursor.fetchone()[0]
    assert datetime.fromisoformat(answer.json()["as_of"]) == summary


@both_databases
def test_a_stale_summary_is_recounted_on_the_primary_and_read_there(
    with_replica, county, api_client
):
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET as_of = as_of - interval '1 hour'")
    with Queries() as queries:
        answer = api_client(county).get(f"/api/v1/stats?area={COUNTY_A}")
    assert answer.status_code == 200 and answer.json()["children_total"] == 3
    # The replica cannot be written: the recount and the read of its result are the primary's.
    assert queries.on_primary(f"INSERT INTO {TABLE}") == 1 and queries.on_replica("INSERT") == 0
    assert queries.on_primary(SUMS) == 1 and queries.on_replica(SUMS) == 0
    assert datetime.fromisoformat(answer.json()["as_of"]) == timezone.now()


@both_databases
def test_a_ledger_reads_the_replica_and_its_audit_records_go_to_the_primary(
    with_replica, county, client_for
):
    with Queries() as queries:
        response = client_for(county).get(f"/dashboard/{COUNTY_A}/exports/agreements.xlsx")
        children = client_for(county).get(f"/dashboard/{COUNTY_A}/exports/children.xlsx")
    assert response.status_code == 200 and children.status_code == 200
    about = dict(load_workbook(io.BytesIO(response.content))["说明"].iter_rows(values_only=True))
    assert about["数据截至"] == about["导出时间"]  # a replica 0 s behind: as of the export
    assert queries.on_replica('FROM "children_careagreement"') == 1
    assert queries.on_primary('FROM "children_careagreement"') == 0
    assert queries.on_replica('FROM "children_child"') >= 1
    assert queries.on_primary('INSERT INTO "accounts_auditrecord"') == 1
    assert queries.on_replica("INSERT") == 0
    assert AuditRecord.objects.filter(action=AuditAction.EXPORT, object_type="child").count() == 3


@both_databases
def test_the_hand_over_job_reads_the_replica_and_writes_its_progress_and_audit_to_the_primary(
    with_replica, county
):
    job = jobs.export_job_start(user=county, area=county.area, kind=jobs.HANDOVER)
    with Queries() as queries:
        jobs.export_job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    assert job.data_as_of == timezone.now()  # frozen clock, 0 s behind
    assert queries.on_replica('FROM "children_child"') >= 1
    assert queries.on_primary('FROM "children_child"') == 0
    assert queries.on_primary('UPDATE "dashboards_exportjob"') >= 1
    assert queries.on_primary('INSERT INTO "accounts_auditrecord"') == 1
    assert queries.on_replica("INSERT") == 0 and queries.on_replica("UPDATE") == 0
    header = json.loads(job.file.open("rb").readline())
    assert datetime.fromisoformat(header["as_of"]) == job.data_as_of


@both_databases
def test_with_the_replica_down_the_pages_answer_from_the_primary(
    with_replica, county, api_client, client_for
):
    with Queries() as queries, replica_unreachable():
        answer = api_client(county).get(f"/api/v1/stats?area={COUNTY_A}")
        page = client_for(county).get(f"/dashboard/{COUNTY_A}/")
        ledger = client_for(county).get(f"/dashboard/{COUNTY_A}/exports/visits.xlsx")
    assert (answer.status_code, page.status_code, ledger.status_code) == (200, 200, 200)
    assert answer.json()["children_total"] == 3
    assert queries.on_primary(SUMS) == 2 and queries.on_replica(SUMS) == 0
    assert cache.get(replica.state_key(REPLICA)) == replica.DOWN


# --- The directors' performance page --------------------------------------------------------------

DIRECTORS = f"/dashboard/{TOWNSHIP_1}/directors/"


@pytest.fixture
def township(frozen, director_a, supervisor):
    """A key child of director_a's village, on file since August, visited at home this month."""
    frozen.move_to("2026-08-15 10:00 +0800")
    key = make_child(director_a, name="甲", risk_level="high")
    frozen.move_to("2026-11-23 10:00 +0800")
    visit_record(user=director_a, child=key, visited_on=date(2026, 11, 2), kind="home")
    return supervisor


def _directors_read(queries: Queries, on: str) -> dict[str, int]:
    count = queries.on_replica if on == REPLICA else queries.on_primary
    return {
        "visits per month": count('FROM "visits_visit"'),
        "village figures": count('FROM "children_child" INNER JOIN "accounts_area"'),
        "key-child months": count("FROM children_child c"),
    }


@both_databases
def test_the_directors_page_reads_the_replica(with_replica, township, client_for):
    with Queries() as queries:
        page = client_for(township).get(DIRECTORS)
    assert page.status_code == 200
    report = page.context["report"]
    rows = [(row.director.username, row.months[-1].home) for row in report.groups[0].rows]
    assert rows == [("director_a", 1)]
    assert report.groups[0].rows[0].figures.key_months_seen == 1  # November
    assert _directors_read(queries, REPLICA) == dict.fromkeys(_directors_read(queries, ""), 1)
    assert set(_directors_read(queries, DEFAULT_DB_ALIAS).values()) == {0}
    assert queries.on_replica("INSERT") == 0 and queries.on_replica("UPDATE") == 0
    # A replica 0 s behind: as of the read, shown as the dashboard shows its own.
    assert report.as_of == timezone.now()
    assert "数据截至2026-11-23 10:00" in page.content.decode()


@both_databases
def test_the_directors_page_is_as_of_where_the_replica_had_reached(
    with_replica, township, client_for, monkeypatch
):
    # The replica found 2 minutes behind when the page checked it.
    monkeypatch.setattr(replica, "measure_lag", lambda alias: timedelta(minutes=2))
    page = client_for(township).get(DIRECTORS)
    assert page.status_code == 200
    assert page.context["report"].as_of == timezone.now() - timedelta(minutes=2)
    assert "数据截至2026-11-23 09:58" in page.content.decode()


@both_databases
def test_with_the_replica_down_the_directors_page_answers_from_the_primary(
    with_replica, township, client_for
):
    with Queries() as queries, replica_unreachable():
        page = client_for(township).get(DIRECTORS)
    assert page.status_code == 200
    assert set(_directors_read(queries, REPLICA).values()) == {0}
    assert set(_directors_read(queries, DEFAULT_DB_ALIAS).values()) == {1}
    assert page.context["report"].as_of == timezone.now()  # the primary: as of the read
    assert "数据截至2026-11-23 10:00" in page.content.decode()
    assert cache.get(replica.state_key(REPLICA)) == replica.DOWN
