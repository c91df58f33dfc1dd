"""On seed_scale data: the reminder sweep against the bare SQL selecting the same rows, and the
director's worklist page (server time and query count). Size: BENCH_CHILDREN — 1,000,000 in
`make bench`, 2,000 by default, as `make test` runs them (so that a broken benchmark fails CI;
timings are printed there, not judged).

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
from django.utils import timezone

from accounts.models import User
from children.services import today
from reminders import services
from tests.conftest import log_in

from .conftest import timed_get

CHILDREN = int(os.environ.get("BENCH_CHILDREN", "2000"))


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
                "TRUNCATE visits_notification, visits_visit, children_child, children_household, "
                "accounts_user, accounts_area CASCADE"
            )


def bare_select_sql() -> str:
    return " UNION ALL ".join(select for _kind, _role, select in services.rule_selects())


def timed_sweep(on):
    params = {"today": on, "now": timezone.now()}
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM ({bare_select_sql()}) s", params)
        rows = cursor.fetchone()[0]
        bare = time.perf_counter() - started
    started = time.perf_counter()
    result = services.reminders_sweep(on=on)
    return rows, bare, result, time.perf_counter() - started


WORKLIST_RATIO = 3.0  # issue 20: the worklist at most 3× the bare view with the same session


@pytest.mark.django_db
@pytest.mark.urls("benchmarks.loadtest.urls")
def test_worklist_page(scale_data):
    """The director's worklist against the bare view with the same session
    (benchmarks/loadtest/urls.py: the middleware, the session and the user, a constant answer),
    requests interleaved so that both see the same machine."""
    from children.models import Child

    director = User.objects.filter(username__startswith="scale_d_").order_by("username").first()
    in_village = Child.objects.filter(village_id=director.area_id).count()
    client = Client()
    client.force_login(director)
    timings: dict[str, list[float]] = {"/visits/": [], "/_bare/session/": []}
    queries = {}
    for url in timings:
        client.get(url)
    for _ in range(30):
        for url, times in timings.items():
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, url
            queries[url] = len(captured)
    page, bare = (statistics.median(timings[url]) for url in timings)
    ratio = page / bare
    print(
        f"\nBENCH worklist: {in_village} children in the village, median {page * 1000:.1f} ms, "
        f"max {max(timings['/visits/']) * 1000:.1f} ms, {queries['/visits/']} queries; "
        f"bare view with the same session {bare * 1000:.1f} ms "
        f"({queries['/_bare/session/']} queries); ratio {ratio:.2f} (goal ≤ {WORKLIST_RATIO:g})"
    )
    if CHILDREN >= 1_000_000:
        assert ratio <= WORKLIST_RATIO


@pytest.mark.django_db
def test_dashboards(scale_data):
    """Refresh of the per-village summary, then county and province dashboards (server time)."""
    from accounts.models import Role
    from dashboards.services import village_stats_refresh

    started = time.perf_counter()
    villages = village_stats_refresh()
    refresh = time.perf_counter() - started
    print(f"\nBENCH dashboard summary refresh: {villages} villages in {refresh:.2f} s")
    county_user = (
        User.objects.filter(username__startswith="scale_c_", area__level="county")
        .order_by("username")
        .first()
    )
    province_user = User.objects.create(
        username="bench_viewer", role=Role.VIEWER, area_id="990000000000", name="省级"
    )
    for label, user in (("county", county_user), ("province", province_user)):
        # Past both sign-in steps (civil affairs give a second factor), as the suite signs in.
        client = log_in(Client(), user)
        median, worst, count, _size = timed_get(client, "/dashboard/", 20)
        print(
            f"BENCH {label} dashboard ({user.area_id}): median {median * 1000:.1f} ms, "
            f"max {worst * 1000:.1f} ms, {count} queries"
        )
        median, worst, count, _size = timed_get(client, "/api/v1/stats", 20)
        print(f"BENCH {label} /api/v1/stats: median {median * 1000:.1f} ms, {count} queries")


ENROLLED_SHARE = 10  # one child in ten receives a monthly benefit: more than any real county


@pytest.mark.django_db
def test_monthly_ledger(scale_data):
    """The nightly ledger job: one entitlement per enrolment in force at the standard in force."""
    from datetime import date

    from benefits.services import entitlements_generate

    month = date(2026, 12, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_user ORDER BY id LIMIT 1")
        user_id = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO children_subsidyapplication (id, child_id, programme, status, note,
                submitted_by_id, submitted_at, township_approved_on, decided_on, version)
            SELECT gen_random_uuid(), c.id, 'orphan_allowance', 'approved', '', %(user)s, now(),
                   '2026-10-01', '2026-10-15', 1
            FROM children_child c WHERE abs(hashtext(c.id::text)) %% %(share)s = 0
            """,
            {"user": user_id, "share": ENROLLED_SHARE},
        )
        cursor.execute(
            """
            INSERT INTO children_enrolment (id, application_id, child_id, programme, start_month,
                exit_reason, end_reason, next_review_on, payee_name, payee_account_encrypted,
                payee_account_masked)
            SELECT gen_random_uuid(), a.id, a.child_id, a.programme, '2026-11-01', '', '',
                   '2027-04-15', '', '', ''
            FROM children_subsidyapplication a
            """
        )
        enrolled = cursor.rowcount
        cursor.execute(
            "INSERT INTO children_subsidystandard (area_id, programme, effective_month, amount, "
            "created_at) SELECT code, 'orphan_allowance', '2026-01-01', 1350, now() "
            "FROM accounts_area WHERE level IN ('province', 'county')"
        )
    started = time.perf_counter()
    written = entitlements_generate(month=month)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = entitlements_generate(month=month)
    second = time.perf_counter() - started
    assert again == 0
    print(
        f"\nBENCH ledger: {enrolled} enrolments, {written} entitlements written in {first:.2f} s; "
        f"the same month again (idempotent, 0 new) {second:.2f} s"
    )


# Last, and with real commits (deferred foreign-key checks included); its flush ends the data.
@pytest.mark.django_db(transaction=True)
def test_sweep_against_bare_sql(scale_data):
    """Issue 20's goals, printed: first run ≤ 4× and ≤ 15 s, same day again ≤ 1.5×, next day
    ≤ 2× and ≤ 10 s (the bare SELECT of every rule, in the same run)."""
    first = today()
    rows, bare, result, sweep = timed_sweep(first)
    assert result.total == rows and result.changed_children is None
    print(
        f"\nBENCH sweep (first run, every reminder new): {CHILDREN} children, "
        f"{result.total} reminders in {sweep:.2f} s; bare SELECT of the same rows {bare:.2f} s; "
        f"ratio {sweep / bare:.2f} (goal ≤ 4, ≤ 15 s)"
    )
    rows, bare, result, sweep = timed_sweep(first)
    # Nothing was written since the first run: the second of the day reads no file again.
    assert (result.total, result.resolved, result.changed_children) == (0, 0, 0)
    print(
        f"BENCH sweep (same day again, idempotent): {result.total} new in {sweep:.2f} s, "
        f"{result.changed_children} files read again; bare SELECT {bare:.2f} s ({rows} rows); "
        f"ratio {sweep / bare:.2f} (goal ≤ 1.5)"
    )
    rows, bare, result, sweep = timed_sweep(first + timedelta(days=1))
    assert result.changed_children is None
    print(
        f"BENCH sweep (next day, steady state): {result.total} new and {result.resolved} "
        f"resolved of {rows} matching in {sweep:.2f} s; bare SELECT {bare:.2f} s; "
        f"ratio {sweep / bare:.2f} (goal ≤ 2, ≤ 10 s)"
    )


@pytest.mark.django_db
def test_recording_work_refreshes_one_childs_reminders_cheaply(scale_data):
    """Issue 18: work recorded on a child raises and resolves its reminders at once
    (reminders_refresh, one statement over every rule restricted to the child). Against the bare
    SELECT of every rule over the whole database, one child's refresh must cost a small fraction:
    the restriction reaches each rule's indexes instead of scanning."""
    services.reminders_sweep(on=today())
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM children_child ORDER BY id LIMIT 50")
        child_ids = [str(row[0]) for row in cursor.fetchall()]
    params = {"today": today(), "now": timezone.now()}
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM ({bare_select_sql()}) s", params)
        bare = time.perf_counter() - started
    timings = []
    for child_id in child_ids:
        started = time.perf_counter()
        services.reminders_refresh(child_ids=[child_id])
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(
        f"BENCH refresh of one child's reminders: median {median * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms; bare SELECT of every rule over {CHILDREN} children "
        f"{bare * 1000:.0f} ms; ratio {median / bare:.2f}"
    )
    # Planning the union of every rule is a fixed cost (~30 ms); above a few thousand children
    # the whole-database SELECT must cost many times one child's refresh.
    if CHILDREN >= 100_000:
        assert median < bare / 5
