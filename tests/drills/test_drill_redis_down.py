"""Drill: Redis (broker and cache) stopped while directors log visits; it returns later.

With gunicorn, a Celery worker and the outbox relay running, Redis is killed. For 10 s a director
signs in through the login form, opens the worklist and a child's file and logs visits through the
form, while four API clients log visits: every answer must be a success (no 5xx, nothing slowed to
a timeout). Meanwhile the reminder sweep is due: the relay runs on a clock starting at 08:09:50
today, so it queues the day's sweep that beat could not send (the catch-up) — into the outbox,
since the broker is down — and the manual ``send_reminders`` command also runs and queues its
digests. Then Redis comes back: the relay hands everything to the worker, the sweep runs and every
reminder's digest is sent. Afterwards every acknowledged visit is in the database.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from .harness import BIN, browser_session, form_token, log, sign_in, summary, wait_for

pytestmark = pytest.mark.drill

API_THREADS = 4
DOWN_FOR = 10.0
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _count(conn, sql: str, *params) -> int:
    return conn.execute(sql, params).fetchone()[0]


def test_redis_down_while_directors_log_visits(drill_stack):
    stack = drill_stack
    services = stack.services
    today = datetime.now(SHANGHAI).date()
    with services.connect(stack.database) as conn:
        director_village = conn.execute(
            "SELECT area_id FROM accounts_user WHERE username = 'zr_chaji'"
        ).fetchone()[0]
        children = [
            row[0]
            for row in conn.execute(
                "SELECT id::text FROM children_child WHERE status = 'active' AND village_id = %s"
                " ORDER BY id",
                (director_village,),
            )
        ]
    assert len(children) >= 3, children
    token = stack.api_token("zr_chaji")
    _, base = stack.gunicorn()
    stack.worker()

    services.stop_redis(signal.SIGKILL)
    log("Redis killed")
    # The relay starts while Redis is down, its clock just before the sweep's catch-up time.
    relay = stack.spawn(
        "relay",
        [
            str(BIN / "python"),
            "tests/drills/fakeclock.py",
            f"{today.isoformat()}T08:09:50+08:00",
            "--",
            "manage.py",
            "outbox_relay",
        ],
    )

    answers: list[tuple[str, int | str, float]] = []
    created: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + DOWN_FOR

    def record(what: str, status: int | str, seconds: float, visit_id: str | None = None) -> None:
        with lock:
            answers.append((what, status, seconds))
            if visit_id:
                created.append(visit_id)

    def api_load(worker: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.monotonic() < stop_at:
            child = children[(worker + n) % len(children)]
            n += 1
            started = time.monotonic()
            try:
                answer = session.post(
                    f"{base}/api/v1/children/{child}/visits",
                    json={
                        "date": today.isoformat(),
                        "kind": "phone",
                        "notes": "电话联系，一切正常",
                    },
                    timeout=15,
                )
                visit = answer.json().get("id") if answer.status_code == 201 else None
                record("api visit", answer.status_code, time.monotonic() - started, visit)
            except requests.RequestException as exc:
                record("api visit", type(exc).__name__, time.monotonic() - started)

    def browser() -> None:
        session = browser_session()
        started = time.monotonic()
        answer = sign_in(session, base, "zr_chaji", "Shouwang@2026")
        record("sign in", answer.status_code, time.monotonic() - started)
        n = 0
        while time.monotonic() < stop_at:
            child = children[n % len(children)]
            n += 1
            for path in ("/visits/", f"/children/{child}/"):
                started = time.monotonic()
                answer = session.get(f"{base}{path}", timeout=15)
                record(f"page {path.split('/')[1]}", answer.status_code, time.monotonic() - started)
            form = session.get(f"{base}/visits/new/{child}/", timeout=15)
            started = time.monotonic()
            answer = session.post(
                f"{base}/visits/new/{child}/",
                data={
                    "csrfmiddlewaretoken": form_token(form.text),
                    "visited_on": today.isoformat(),
                    "kind": "phone",
                    "notes": "页面登记：电话联系",
                },
                headers={"Referer": f"{base}/visits/new/{child}/"},
                timeout=15,
                allow_redirects=False,
            )
            record("page visit", answer.status_code, time.monotonic() - started)

    threads = [threading.Thread(target=api_load, args=(i,)) for i in range(API_THREADS)]
    threads.append(threading.Thread(target=browser))
    for thread in threads:
        thread.start()
    swept = stack.manage("send_reminders")  # the manual sweep: its digests go to the outbox
    for thread in threads:
        thread.join(timeout=DOWN_FOR + 60)

    expected = {"api visit": 201, "sign in": 302, "page visit": 302}  # pages: 200
    failures = [a for a in answers if a[1] != expected.get(a[0], 200)]
    slowest = max(seconds for *_, seconds in answers)
    by_kind: dict[str, int] = {}
    for what, *_ in answers:
        by_kind[what] = by_kind.get(what, 0) + 1
    slow = sorted(answers, key=lambda a: -a[2])[:3]
    log(f"while Redis was down: {by_kind}, slowest {slow}, failures {failures[:5]}")
    assert not failures, failures[:10]
    assert by_kind.get("page visit", 0) >= 1 and by_kind.get("api visit", 0) >= 10
    assert slowest < 5, f"a request took {slowest:.1f} s with Redis down"

    with services.connect(stack.database) as conn:
        # The relay's clock passes 08:10 (the sweep's time plus the grace) while Redis is down.
        wait_for(
            lambda: (
                _count(
                    conn,
                    "SELECT count(*) FROM accounts_scheduledrun"
                    " WHERE task = 'reminders.send_reminders' AND day = %s"
                    " AND queued_by = 'catch_up'",
                    today,
                )
                == 1
            ),
            timeout=60,
            what="the relay to queue the missed sweep",
        )
        waiting = _count(conn, "SELECT count(*) FROM accounts_outboxmessage WHERE sent_at IS NULL")
        tasks = {
            row[0]
            for row in conn.execute("SELECT task FROM accounts_outboxmessage WHERE sent_at IS NULL")
        }
        conn.commit()
    assert {"reminders.send_reminders", "reminders.send_digests"} <= tasks, tasks
    health = requests.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 200, health.text  # the web stays in the load balancer's rotation
    assert health.json()["broker"] == "down" and health.json()["outbox_waiting"] >= 2
    assert relay.alive(), relay.tail()
    relay.wait_output(r"broker unavailable", timeout=30)
    log(f"outbox while Redis is down: {waiting} task(s) waiting: {sorted(tasks)}")

    services.start_redis()
    back = time.monotonic()
    log("Redis started again")
    with services.connect(stack.database, autocommit=True) as conn:
        wait_for(
            lambda: (
                _count(conn, "SELECT count(*) FROM accounts_outboxmessage WHERE sent_at IS NULL")
                == 0
            ),
            timeout=90,
            what="the relay to empty the outbox",
        )
        relayed_after = time.monotonic() - back
        wait_for(
            lambda: (
                _count(
                    conn,
                    # Only open reminders go into a digest (a visit logged meanwhile resolves one).
                    "SELECT count(*) FROM visits_notification"
                    " WHERE digest_sent_at IS NULL AND resolved_at IS NULL",
                )
                == 0
            ),
            timeout=90,
            what="every reminder's digest to be sent",
        )
        caught_up = time.monotonic() - back
        reminders = _count(
            conn, "SELECT count(*) FROM visits_notification WHERE created_on = %s", today
        )
        duplicates = _count(
            conn,
            "SELECT count(*) FROM (SELECT 1 FROM visits_notification GROUP BY recipient_id, kind,"
            " child_id, report_id, due_date HAVING count(*) > 1) d",
        )
        stored = _count(
            conn, "SELECT count(*) FROM visits_visit WHERE id::text = ANY(%s)", list(set(created))
        )
    assert stored == len(set(created)) == len(created)
    assert reminders > 0 and duplicates == 0
    summary(
        "redis_down",
        requests=len(answers),
        failures=len(failures),
        slowest_s=f"{slowest:.2f}",
        visits_201=len(created),
        visits_present=stored,
        sweep=swept.strip().splitlines()[-1].replace(" ", "_") if swept.strip() else "",
        outbox_waiting=waiting,
        relayed_after_s=f"{relayed_after:.1f}",
        digests_sent_after_s=f"{caught_up:.1f}",
        reminders_today=reminders,
        duplicates=duplicates,
    )
