"""Drill: dashboards, exports, /stats and the hand-over read from a streaming replica; the replica
falls behind, stops, and comes back (issue 20, "past one machine").

A primary and a replica of Debian's PostgreSQL (both of one major version, as streaming needs;
the embedded server of the other drills is another version): the primary migrated and seeded with
the demo county, the replica cloned from it with ``pg_basebackup --write-recovery-conf`` and
streaming. Both log every statement, so where each read ran is read from their logs. gunicorn
and a Celery worker run with ``DATABASE_REPLICA_URL``; county civil affairs signs in (password and
second factor) and opens the dashboard, ``/api/v1/stats``, a ledger and a hand-over job:

1. Replica up: the dashboards' sums and the exports' cursors run on the replica, none on the
   primary; the exports' audit records are written to the primary; ``/healthz`` reports it ok.
2. Replica behind (its replay paused while the primary commits): ``/healthz`` gives its lag; the
   hand-over still reads it, and its "as of" time is where the replica had reached, seconds before
   the job ran.
3. Replica stopped (``pg_ctl stop -m immediate``): every page still answers 200, from the primary,
   and the hand-over is prepared there; ``/healthz`` answers 200 and reports the replica down.
4. Replica started again: after DATABASE_REPLICA_RETRY_SECONDS the reads go back to it.
"""

from __future__ import annotations

import contextlib
import re
import time
from datetime import timedelta
from urllib.parse import urljoin

import pytest
import requests

from .harness import (
    Cluster,
    Stack,
    browser_session,
    debian_pg_bin,
    form_token,
    log,
    sign_in,
    summary,
    wait_for,
)

pytestmark = pytest.mark.drill

DATABASE = "shouwang"
USERNAME, PASSWORD = "mz_jingxian", "Shouwang@2026"  # county civil affairs: two-factor sign-in
SUMS = "max(as_of) AS as_of"  # the dashboards' one query of the summary (indicator_sql.sum_sql)
CURSOR = 'DECLARE "_django_curs_'  # a ledger's or hand-over's streamed read
AUDIT = 'INSERT INTO "accounts_auditrecord"'
RETRY_SECONDS = 5  # DATABASE_REPLICA_RETRY_SECONDS of the drill (30 by default)
PAUSED_FOR = 4.0  # seconds the replica's replay is paused before the hand-over reads it
# Every statement in the log, with its time, process and database.
LOGGED = {"log_statement": "all", "log_line_prefix": "'%m [%p] %d '"}


def _one(cluster: Cluster, sql: str, *params, database: str = DATABASE):
    with cluster.connect(database) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _streaming(primary: Cluster) -> bool:
    return _one(primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") > 0


def _caught_up(primary: Cluster, standby: Cluster) -> bool:
    lsn = _one(primary, "SELECT pg_current_wal_lsn()::text")
    return _one(standby, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn)


def _sign_in_with_code(stack: Stack, base: str) -> requests.Session:
    session = browser_session()
    answer = sign_in(session, base, USERNAME, PASSWORD)
    assert answer.status_code == 302, answer.status_code
    # The home page sends a session that owes its second factor to the two-factor page.
    step = session.get(urljoin(base, answer.headers["Location"]), timeout=15)
    assert "/accounts/two-factor/" in step.url and 'name="token"' in step.text, step.url
    code = stack.manage("totp_code", USERNAME, DJANGO_SETTINGS_MODULE="config.settings.local")
    verified = session.post(
        step.url,
        data={"csrfmiddlewaretoken": form_token(step.text), "token": code.split()[-1]},
        headers={"Referer": step.url},
        timeout=15,
        allow_redirects=False,
    )
    assert verified.status_code == 302, verified.text[:500]
    assert "/accounts/two-factor/" not in verified.headers["Location"], verified.headers
    return session


def _timed(session: requests.Session, url: str) -> tuple[int, float]:
    """GET ``url`` as it is (a redirect to the sign-in is a failure): (status, seconds)."""
    started = time.monotonic()
    status = session.get(url, timeout=60, allow_redirects=False).status_code
    return status, time.monotonic() - started


def _replica_health(base: str) -> tuple[dict, float]:
    """``/healthz``'s report of the replica, and how long it took to answer; the primary is up
    throughout, so the answer is always 200."""
    started = time.monotonic()
    answer = requests.get(f"{base}/healthz", timeout=10)
    took = time.monotonic() - started
    assert answer.status_code == 200, (answer.status_code, answer.text)
    assert answer.json()["database"] == "ok", answer.json()
    return answer.json()["replica"], took


def _hand_over(session: requests.Session, base: str, county: str) -> tuple[str, float]:
    """Ask for the county's hand-over and wait until the worker has prepared it: (job id, s)."""
    exports = f"{base}/dashboard/{county}/exports/"
    page = session.get(exports, timeout=15)
    started = time.monotonic()
    answer = session.post(
        f"{exports}jobs/",
        data={"csrfmiddlewaretoken": form_token(page.text), "kind": "handover"},
        headers={"Referer": exports},
        timeout=15,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.status_code
    job_url = urljoin(base, answer.headers["Location"])

    def status() -> str | None:
        found = re.search(r'data-status="(\w+)"', session.get(job_url, timeout=15).text)
        value = found.group(1) if found else "?"
        assert value != "failed", job_url
        return value if value == "done" else None

    wait_for(status, timeout=120, interval=0.5, what="the hand-over job")
    return job_url.rstrip("/").rsplit("/", 1)[1], time.monotonic() - started


def test_reads_from_a_streaming_replica_and_from_the_primary_when_it_is_down(drill_services):
    bindir = debian_pg_bin()
    if bindir is None:
        pytest.fail("Debian's PostgreSQL with pg_basebackup is missing: scripts/loadtest-deps.sh")
    services = drill_services
    services.flush_redis()
    root = services.dir / "replica-drill"
    primary = Cluster(root / "primary", bindir, services.dir)
    standby = Cluster(root / "standby", bindir, services.dir)
    stack = Stack(
        services, DATABASE, name="replica", extra_env={"DATABASE_URL": primary.url(DATABASE)}
    )
    try:
        started = time.monotonic()
        primary.initdb()
        primary.start(wal_level="replica", max_wal_senders="10", wal_keep_size="'256MB'", **LOGGED)
        with primary.connect() as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        stack.manage("migrate", "--noinput", timeout=300)
        stack.manage("seed_demo", timeout=300, DJANGO_SETTINGS_MODULE="config.settings.local")
        # The summary counted now: the first pages find the replica's copy fresh.
        stack.manage(
            "shell",
            "-c",
            "from dashboards.services import village_stats_refresh; village_stats_refresh()",
        )
        seeded = time.monotonic() - started
        clone = standby.clone_of(primary)
        standby.start(hot_standby="on", hot_standby_feedback="on", **LOGGED)
        wait_for(lambda: _streaming(primary), timeout=60, what="the replica streaming")
        wait_for(lambda: _caught_up(primary, standby), timeout=60, what="the replica caught up")
        log(
            f"{bindir.parent.name}: primary migrated and seeded in {seeded:.1f} s, replica cloned"
            f" with pg_basebackup in {clone:.1f} s and streaming"
        )
        stack.extra_env.update(
            DATABASE_REPLICA_URL=standby.url(DATABASE),
            DATABASE_REPLICA_RETRY_SECONDS=str(RETRY_SECONDS),
        )
        _, base = stack.gunicorn(workers=2)
        stack.worker()
        county = _one(primary, "SELECT area_id FROM accounts_user WHERE username = %s", USERNAME)
        children = _one(
            primary,
            "SELECT count(*) FROM children_child WHERE status = 'active' AND village_id LIKE %s",
            county[:6] + "%",
        )
        session = _sign_in_with_code(stack, base)
        pages = {
            "dashboard": f"{base}/dashboard/{county}/",
            "stats": f"{base}/api/v1/stats?area={county}",
            "ledger": f"{base}/dashboard/{county}/exports/children.xlsx",
        }

        # 1. Replica up: the reads are the replica's, the audit records the primary's.
        on_replica, on_primary = standby.log_size(), primary.log_size()
        audit_before = _one(primary, "SELECT count(*) FROM accounts_auditrecord")
        up = {name: _timed(session, url) for name, url in pages.items()}
        assert {status for status, _s in up.values()} == {200}, up
        job_up, handover_up = _hand_over(session, base, county)
        replica_log, primary_log = standby.log_since(on_replica), primary.log_since(on_primary)
        assert replica_log.count(SUMS) == 2 and primary_log.count(SUMS) == 0
        read_on_replica = replica_log.count(CURSOR)
        assert read_on_replica >= 9 and primary_log.count(CURSOR) == 0  # ledger + 8 hand-over
        assert replica_log.count(AUDIT) == 0 and primary_log.count(AUDIT) >= 2
        audited = _one(primary, "SELECT count(*) FROM accounts_auditrecord") - audit_before
        assert audited >= 2 * children, (audited, children)  # the ledger's and the hand-over's
        health_up, health_up_s = _replica_health(base)
        assert health_up["state"] == "ok" and health_up["reads_from"] == "replica", health_up
        log(
            f"replica up: {read_on_replica} cursors and 2 summary reads on the replica, none on"
            f" the primary; {audited} audit records written to the primary; /healthz {health_up}"
            f" in {health_up_s * 1000:.0f} ms"
        )

        # 2. Replica behind: its replay paused while the primary commits.
        with standby.connect(DATABASE) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        with primary.connect(DATABASE) as conn:
            conn.execute("CREATE TABLE drill_tick AS SELECT now() AS at")
            committed_at = conn.execute("SELECT at FROM drill_tick").fetchone()[0]
        wait_for(
            lambda: _one(standby, "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"),
            timeout=30,
            what="the replica to receive WAL it does not replay",
        )
        replayed_to = _one(standby, "SELECT pg_last_xact_replay_timestamp()")
        time.sleep(PAUSED_FOR)
        health_behind, _s = _replica_health(base)
        assert health_behind["state"] == "ok", health_behind  # behind, but well within 300 s
        assert health_behind["lag_seconds"] >= PAUSED_FOR, health_behind
        on_replica = standby.log_size()
        job_behind, _s = _hand_over(session, base, county)
        assert standby.log_since(on_replica).count(CURSOR) >= 8  # still read from the replica
        as_of, job_started = [
            _one(primary, f"SELECT {column} FROM dashboards_exportjob WHERE id = %s", job_behind)
            for column in ("data_as_of", "started_at")
        ]
        assert abs(as_of - replayed_to) < timedelta(seconds=1), (as_of, replayed_to)
        assert as_of < committed_at and job_started - as_of >= timedelta(seconds=PAUSED_FOR)
        behind = (job_started - as_of).total_seconds()
        with standby.connect(DATABASE) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        wait_for(lambda: _caught_up(primary, standby), timeout=60, what="the replica caught up")
        log(
            f"replica paused: /healthz gave a lag of {health_behind['lag_seconds']} s; the"
            f" hand-over read it, as of {behind:.1f} s before it started"
        )

        # 3. Replica stopped: the primary answers.
        standby.stop("immediate")
        on_primary = primary.log_size()
        down = {name: _timed(session, url) for name, url in pages.items()}
        assert {status for status, _s in down.values()} == {200}, down
        # /healthz: 200 at once, naming the replica down — right after the pages found it down,
        # and once DATABASE_REPLICA_RETRY_SECONDS have passed (asked again: the socket refuses).
        health_down = []
        for wait in (0, RETRY_SECONDS):
            time.sleep(wait)
            replica_down, took = _replica_health(base)
            assert replica_down == {"state": "down", "lag_seconds": None, "reads_from": "primary"}
            assert took < 2, took  # DATABASE_REPLICA_CONNECT_TIMEOUT
            health_down.append(took)
        job_down, handover_down = _hand_over(session, base, county)
        primary_log = primary.log_since(on_primary)
        assert primary_log.count(SUMS) == 2 and primary_log.count(CURSOR) >= 9
        first_down = next(iter(down.values()))[1]
        healthz_down_ms = "/".join(f"{took * 1000:.0f}" for took in health_down)
        log(
            f"replica stopped: {len(down)} pages 200 from the primary (first {first_down:.2f} s),"
            f" hand-over prepared there in {handover_down:.1f} s; /healthz 200 with the replica"
            f" down in {healthz_down_ms} ms (right after the pages / {RETRY_SECONDS} s later)"
        )

        # 4. Replica back: its reads return once the primary's watch on it has lapsed.
        back_started = time.monotonic()
        standby.start()
        wait_for(lambda: _caught_up(primary, standby), timeout=60, what="the replica caught up")
        on_replica = standby.log_size()

        def read_on_replica_again() -> bool:
            assert session.get(pages["stats"], timeout=30).status_code == 200
            return SUMS in standby.log_since(on_replica)

        wait_for(read_on_replica_again, timeout=RETRY_SECONDS + 30, interval=1, what="reads back")
        back = time.monotonic() - back_started
        log(f"replica started again: reads back on it after {back:.1f} s")

        summary(
            "replica",
            seed_s=f"{seeded:.1f}",
            basebackup_s=f"{clone:.1f}",
            up_ms="/".join(f"{s * 1000:.0f}" for _status, s in up.values()),
            handover_up_s=f"{handover_up:.1f}",
            read_on_replica=read_on_replica,
            audit_on_primary=audited,
            behind_s=f"{behind:.1f}",
            down_ms="/".join(f"{s * 1000:.0f}" for _status, s in down.values()),
            handover_down_s=f"{handover_down:.1f}",
            healthz_up_ms=f"{health_up_s * 1000:.0f}",
            healthz_lag_s=health_behind["lag_seconds"],
            healthz_down_ms=healthz_down_ms,
            back_s=f"{back:.1f}",
            jobs=",".join(job[:8] for job in (job_up, job_behind, job_down)),
        )
    finally:
        stack.close()
        for cluster in (standby, primary):
            with contextlib.suppress(Exception):
                if cluster.running():
                    cluster.stop("immediate")
        if services.redis_up():
            services.flush_redis()
