"""Drill: PostgreSQL restarted (``pg_ctl restart -m fast``) during a load of visit writes.

8 threads POST /api/v1/children/{id}/visits through gunicorn (4 sync workers) for 20 s, each visit
carrying a unique marker in ``notes``; 7 s in, PostgreSQL is restarted in fast mode (every
connection cut). Afterwards every visit acknowledged with 201 is in the database (by id and by
marker), no marker is stored twice, every other answer is a 503 with Retry-After or a dropped
connection (never a 4xx or a bare 500, never a 201 for a lost write), and writes succeed again
after the restart.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from .harness import log, summary

pytestmark = pytest.mark.drill

THREADS = 8
DURATION = 20.0
RESTART_AT = 7.0


def test_postgres_restart_during_visit_writes(drill_stack):
    stack = drill_stack
    services = stack.services
    with services.connect(stack.database) as conn:
        children = [
            row[0]
            for row in conn.execute(
                "SELECT id::text FROM children_child WHERE status = 'active'"
                " AND village_id LIKE '341823%%' ORDER BY id LIMIT 200"
            )
        ]
        (visits_before,) = conn.execute("SELECT count(*) FROM visits_visit").fetchone()
    assert len(children) >= 50
    token = stack.api_token("mz_jingxian")  # civil affairs of the county: every child in scope
    _, base = stack.gunicorn()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    run = uuid.uuid4().hex[:8]

    results: list[dict] = []
    lock = threading.Lock()
    t0 = time.monotonic()
    stop_at = t0 + DURATION

    def load(worker: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.monotonic() < stop_at:
            child = children[(worker * 997 + n * 31) % len(children)]
            marker = f"drill-{run}-{worker}-{n}"
            n += 1
            sent = time.monotonic() - t0
            record = {"marker": marker, "sent": sent, "status": None, "id": None}
            try:
                answer = session.post(
                    f"{base}/api/v1/children/{child}/visits",
                    json={"date": today, "kind": "phone", "notes": marker},
                    timeout=30,
                )
                record["status"] = answer.status_code
                if answer.status_code == 201:
                    record["id"] = answer.json()["id"]
                else:
                    record["body"] = answer.text[:200]
            except requests.RequestException as exc:
                record["status"] = type(exc).__name__
            record["done"] = time.monotonic() - t0
            with lock:
                results.append(record)

    threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(RESTART_AT)
    restart_began = time.monotonic() - t0
    old_pid = services.postgres_pid()
    downtime = services.restart_postgres("fast")
    restart_ended = time.monotonic() - t0
    assert services.postgres_pid() != old_pid
    log(f"PostgreSQL restarted (fast) at t={restart_began:.1f}s, back after {downtime:.2f} s")
    for thread in threads:
        thread.join(timeout=DURATION + 60)
    assert not any(thread.is_alive() for thread in threads)

    acknowledged = {r["marker"]: r["id"] for r in results if r["status"] == 201}
    statuses = Counter(str(r["status"]) for r in results)
    with services.connect(stack.database) as conn:
        # notes are encrypted at rest: read every visit's back with the drill's key.
        stored_pairs = [
            (stack.decrypt(notes), visit_id)
            for notes, visit_id in conn.execute("SELECT notes, id::text FROM visits_visit")
        ]
        stored = {n: i for n, i in stored_pairs if n.startswith(f"drill-{run}-")}
        stored_rows = sum(1 for n, _ in stored_pairs if n.startswith(f"drill-{run}-"))
        (visits_after,) = conn.execute("SELECT count(*) FROM visits_visit").fetchone()
        present_ids = {
            row[0]
            for row in conn.execute(
                "SELECT id::text FROM visits_visit WHERE id::text = ANY(%s)",
                [list(acknowledged.values())],
            )
        }
    missing = {m: i for m, i in acknowledged.items() if i not in present_ids}
    unacknowledged_but_stored = sorted(set(stored) - set(acknowledged))
    bad = [
        r
        for r in results
        if r["status"] != 201 and isinstance(r["status"], int) and r["status"] != 503
    ]
    after_restart = sum(
        1 for r in results if r["status"] == 201 and r["sent"] > restart_ended + 0.5
    )
    errors_after = [r for r in results if r["status"] != 201 and r["sent"] > restart_ended + 0.5]
    last_error = max((r["done"] for r in results if r["status"] != 201), default=0.0)
    log(f"answers by status: {dict(statuses)}; last error answered at t={last_error:.1f}s")
    for r in bad[:5]:
        log(f"unexpected answer: {r}")
    for marker in unacknowledged_but_stored[:5]:
        log(f"stored although not acknowledged with 201: {marker}")

    assert not missing, f"acknowledged with 201 but not in the database: {missing}"
    assert stored_rows == len(stored), "a marker is stored twice"
    assert set(stored) >= set(acknowledged)
    assert all(stored[m] == i for m, i in acknowledged.items())
    assert visits_after - visits_before == stored_rows
    # config/api.py answers a database outage with 503 + Retry-After (never a 4xx or a bare 500).
    assert not bad, f"{len(bad)} answers other than 503 during the restart, e.g. {bad[:3]}"
    assert after_restart > 0, "no visit was written after the restart"
    # CONN_HEALTH_CHECKS: a worker's connection cut by the restart is replaced on its next request.
    assert not errors_after, f"errors after PostgreSQL was back: {errors_after[:3]}"
    summary(
        "postgres_restart",
        threads=THREADS,
        seconds=f"{DURATION:.0f}",
        attempted=len(results),
        acknowledged_201=len(acknowledged),
        present=len(acknowledged) - len(missing),
        stored_total=stored_rows,
        stored_not_acknowledged=len(unacknowledged_but_stored),
        errors=sum(v for k, v in statuses.items() if k != "201"),
        created_after_restart=after_restart,
        errors_after_restart=len(errors_after),
        downtime_s=f"{downtime:.2f}",
        statuses="/".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
    )
