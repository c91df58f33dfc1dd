"""On seed_scale data: the reminder sweep against the bare SQL selecting the same rows, and the
director's worklist page (server time and query count). Size: BENCH_CHILDREN (default 1,000,000).

The data is loaded once for the module on the test database and committed; each test runs in a
transaction that is rolled back (the django_db mark), so the data stays for the next test.
"""

import os
import statistics
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from children.services import today
from visits import services

CHILDREN = int(os.environ.get("BENCH_CHILDREN", "1000000"))
VILLAGES = 20160


@pytest.fixture(scope="module")
def scale_data(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        # Never against a real database: TRUNCATE below.
        assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict
        started = time.perf_counter()
        call_command("seed_scale", children=CHILDREN, visits_per_child=4)
        print(
            f"\nBENCH seed_scale: {CHILDREN} children + {4 * CHILDREN} visits "
            f"in {time.perf_counter() - started:.0f} s"
        )
        yield
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE visits_notification, visits_visit, children_child, "
                "accounts_user, accounts_area CASCADE"
            )


def bare_select_sql() -> str:
    return " UNION ALL ".join(
        services._rule_sql(role, area, source, due, condition)
        for _kind, role, area, source, due, condition in services._RULES
    )


def timed_sweep(on):
    params = {"today": on, "soon": 7}
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM ({bare_select_sql()}) s", params)
        rows = cursor.fetchone()[0]
        bare = time.perf_counter() - started
    started = time.perf_counter()
    result = services.reminders_sweep(on=on)
    return rows, bare, result.total, time.perf_counter() - started


@pytest.mark.django_db
def test_worklist_page(scale_data):
    director = User.objects.filter(username__startswith="scale_d_").order_by("username").first()
    client = Client()
    client.force_login(director)
    client.get("/visits/")
    timings = []
    for _ in range(20):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/visits/")
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    print(
        f"\nBENCH worklist: about {CHILDREN // VILLAGES} children in the village, median "
        f"{statistics.median(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms, "
        f"{len(queries)} queries"
    )


# Last, and with real commits (deferred foreign-key checks included); its flush ends the data.
@pytest.mark.django_db(transaction=True)
def test_sweep_against_bare_sql(scale_data):
    first = today()
    rows, bare, created, sweep = timed_sweep(first)
    assert created == rows
    print(
        f"\nBENCH sweep (first run, every reminder new): {CHILDREN} children, "
        f"{created} reminders in {sweep:.2f} s; bare SELECT of the same rows {bare:.2f} s; "
        f"ratio {sweep / bare:.1f}"
    )
    rows, bare, created, sweep = timed_sweep(first)
    assert created == 0
    print(
        f"BENCH sweep (same day again, idempotent): {created} new in {sweep:.2f} s; "
        f"bare SELECT {bare:.2f} s ({rows} rows); ratio {sweep / bare:.1f}"
    )
    rows, bare, created, sweep = timed_sweep(first + timedelta(days=1))
    print(
        f"BENCH sweep (next day, steady state): {created} new of {rows} matching in "
        f"{sweep:.2f} s; bare SELECT {bare:.2f} s; ratio {sweep / bare:.1f}"
    )
