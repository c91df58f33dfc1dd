"""The audit page of a province over a large audit log (issue 20, point 7: 50,000,000 records,
≤ 300 ms). Size: BENCH_AUDIT — 50,000,000 in `make bench`, 20,000 by default, as `make test`
runs it (timings printed, not judged there). The records are spread over 36 months of monthly
partitions, in one transaction rolled back at the end; the page is timed against the bare SQL
of the same 51 rows in the same run."""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.db import connection

from accounts import partitions
from accounts.models import Role
from core import clock
from tests.conftest import PROVINCE
from tests.factories import UserFactory

RECORDS = int(os.environ.get("BENCH_AUDIT", "20000"))
MONTHS = 36
FILL_SQL = """
INSERT INTO accounts_auditrecord
    (at, user_id, username, action, object_type, object_id, area_code, ip, detail)
SELECT now() - (i::float8 / %(n)s) * interval '1095 days', NULL, 'bench_' || (i %% 500),
       (ARRAY['view', 'export', 'api_read'])[1 + i %% 3], 'child', md5(i::text),
       '3418' || lpad((i %% 40)::text, 2, '0') || lpad((100 + i %% 20)::text, 3, '0')
           || lpad((200 + i %% 30)::text, 3, '0'),
       NULL, '{}'::jsonb
FROM generate_series(1, %(n)s) i
"""
BARE_SQL = """
SELECT id, at, username, action, object_type, object_id, area_code, ip, detail
FROM accounts_auditrecord WHERE area_code LIKE '34%%' ORDER BY at DESC, id DESC LIMIT 51
"""


def _median_ms(run, times: int = 15) -> tuple[float, float]:
    run()
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, max(timings) * 1000


@pytest.mark.django_db
def test_the_audit_page_of_a_province_over_a_large_log(areas, client_for):
    today = clock.today()
    for back in range(MONTHS, -1, -1):
        partitions.audit_partitions_ensure(today=partitions._month(today, -back))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FILL_SQL, {"n": RECORDS})
        cursor.execute("ANALYZE accounts_auditrecord")
    fill = time.perf_counter() - started
    months = len(partitions.audit_partitions())
    print(f"\nBENCH audit log: {RECORDS} records over {months} monthly partitions in {fill:.0f} s")
    client = client_for(UserFactory(role=Role.AUDITOR, area=areas[PROVINCE]))

    def bare():
        with connection.cursor() as cursor:
            cursor.execute(BARE_SQL)
            cursor.fetchall()

    pages = {
        "first page": "/audit/",
        "a view filter": "/audit/?action=export",
        "one user": "/audit/?user=bench_7",
    }
    bare_ms, _ = _median_ms(bare)
    for label, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200 and "bench_" in response.content.decode()
        median, worst = _median_ms(lambda url=url: client.get(url))
        print(
            f"BENCH audit page, province, {label}: median {median:.1f} ms, max {worst:.1f} ms, "
            f"bare SQL of the first page {bare_ms:.1f} ms"
        )
    # A page deep in the past, reached by its cursor (no offset to walk).
    with connection.cursor() as cursor:
        cursor.execute("SELECT at, id FROM accounts_auditrecord ORDER BY at LIMIT 1 OFFSET 10")
        at, pk = cursor.fetchone()
    deep = f"/audit/?before={at.isoformat()}_{pk}".replace("+", "%2B")
    assert client.get(deep).status_code == 200
    median, worst = _median_ms(lambda: client.get(deep))
    print(f"BENCH audit page, province, the oldest page: median {median:.1f} ms")
