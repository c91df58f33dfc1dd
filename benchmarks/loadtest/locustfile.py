"""Locust users for `make loadtest` (run headless by benchmarks/loadtest/run.py).

``Director``: one per account in LOADTEST_ACCOUNTS (written by benchmarks/loadtest/accounts.py).
Signs in through the login form once (CSRF token from the page), then, with a think time of
LOADTEST_WAIT_MIN..LOADTEST_WAIT_MAX seconds between actions, by weight:

* 4  the worklist page ``GET /visits/`` (HTML, session)
* 3  a child's file ``GET /children/<id>/`` (HTML, session)
* 3  the API worklist ``GET /api/v1/children?visit_status=overdue`` (bearer token)
* 2  log a home visit ``POST /api/v1/children/<id>/visits`` (bearer token, 201 expected)
* 1  the API reminders ``GET /api/v1/reminders`` (bearer token)

The API calls go through a second HTTP session that has the token but not the page cookies.

``Bare``: ``GET /_bare/`` (a constant, routed only by config.settings.loadtest), same think time.

Phases: every user first gets ready (a director signs in); nobody starts a task before all
LOADTEST_USERS are ready. Then each starts within one longest think time (staggered, not all at
once); after that the statistics are reset and the measured window of LOADTEST_MEASURE_SECONDS
starts; locust quits at its end. So the sign-in storm (the password hash
costs about 0.5 s of CPU each) is timed on its own, written to LOADTEST_PHASE_FILE, and the
measured window is the steady state of signed-in directors. Run with a --run-time well above the
window: it only bounds a run whose sign-ins never finish.

Capacity mode (LOADTEST_CAPACITY_STEPS, e.g. ``2,4,8``; benchmarks/loadtest/capacity.py): the same
sign-ins and the same tasks, without think time. Once all are ready, only the first N users (N the
step) send requests, back to back; the others wait. Each step lets the N users run for
LOADTEST_SETTLE_SECONDS, resets the statistics, measures LOADTEST_MEASURE_SECONDS and records its
numbers; after the last step, or two in a row over the limit, the phase file gets the steps and
locust quits.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import gevent
from gevent.event import Event
from locust import HttpUser, User, between, events, task
from locust.clients import HttpSession
from locust.env import Environment
from locust.exception import StopUser
from locust.stats import StatsEntry

from benchmarks.loadtest import capacity, cpu

ACCOUNTS: list[dict] = json.loads(
    Path(os.environ.get("LOADTEST_ACCOUNTS", "var/loadtest/accounts.json")).read_text("utf-8")
)
_next_account = itertools.cycle(ACCOUNTS)
WAIT_MIN = float(os.environ.get("LOADTEST_WAIT_MIN", "0.5"))
WAIT_MAX = float(os.environ.get("LOADTEST_WAIT_MAX", "2.5"))
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOGIN_PATH = "/accounts/login/"
LOGIN_NAME = "POST /accounts/login/"
USERS = int(os.environ.get("LOADTEST_USERS", "50"))
MEASURE_SECONDS = float(os.environ.get("LOADTEST_MEASURE_SECONDS", "60"))
PHASE_FILE = Path(os.environ.get("LOADTEST_PHASE_FILE", "var/loadtest/results/phase.json"))
CPU_PIDS = cpu.parse_pids(os.environ.get("LOADTEST_CPU_PIDS", ""))
_STEPS = os.environ.get("LOADTEST_CAPACITY_STEPS", "")
CAPACITY_STEPS = capacity.parse_steps(_STEPS, USERS) if _STEPS else []
SETTLE_SECONDS = float(os.environ.get("LOADTEST_SETTLE_SECONDS", "2"))


class _Phase:
    started = 0.0
    ready = 0
    measuring = Event()
    # Capacity mode: the users whose slot is below ``active`` send requests; ``changed`` is set
    # (and replaced) whenever ``active`` changes.
    slots = itertools.count()
    active = 0
    changed = Event()
    done = False


@events.test_start.add_listener
def _test_start(environment: Environment, **kwargs: object) -> None:
    _Phase.started = time.monotonic()


def _set_active(users: int) -> None:
    _Phase.active = users
    changed, _Phase.changed = _Phase.changed, Event()
    changed.set()


def _gate(user: User) -> None:
    """Capacity mode: wait while this user is not among the step's active ones; after the last
    step, stop (at once, rather than after locust's --stop-timeout)."""
    while user.slot >= _Phase.active and not _Phase.done:
        _Phase.changed.wait()
    if _Phase.done:
        raise StopUser()


def _capacity_wait(user: User) -> float:
    """The think time of capacity mode: none for an active user; the others wait their turn."""
    _gate(user)
    return 0.0


WAIT = _capacity_wait if CAPACITY_STEPS else between(WAIT_MIN, WAIT_MAX)


def _entry_row(entry: StatsEntry) -> dict[str, object]:
    return {
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
    }


def _run_steps(environment: Environment, phase: dict) -> None:
    """Capacity mode: each step's users for SETTLE_SECONDS, then its measured window; the steps
    go into the phase file, then locust quits."""
    stats = environment.runner.stats
    steps: list[dict] = []
    for users in CAPACITY_STEPS:
        _set_active(users)
        gevent.sleep(SETTLE_SECONDS)
        # Errors while settling are counted with those outside the windows (sign-in).
        phase["failures"] += stats.total.num_failures
        stats.reset_all()
        started, cpu_before = time.monotonic(), cpu.snapshot(CPU_PIDS)
        clock = time.time()
        gevent.sleep(MEASURE_SECONDS)
        cpu_used = cpu.difference(cpu_before, cpu.snapshot(CPU_PIDS))
        seconds = time.monotonic() - started
        total = stats.total
        steps.append(
            {
                "users": users,
                "seconds": seconds,
                # The window by the clock, for the workers' CPU per request type.
                "clock": [clock, clock + seconds],
                "requests": total.num_requests,
                "failures": total.num_failures,
                "p50": total.get_response_time_percentile(0.5),
                "p95": total.get_response_time_percentile(0.95),
                "p99": total.get_response_time_percentile(0.99),
                "cpu": cpu_used,
                "by_request": [
                    _entry_row(entry)
                    for entry in sorted(stats.entries.values(), key=lambda e: e.name)
                    if entry.num_requests
                ],
                "errors": [
                    f"{error.occurrences}× {error.method} {error.name}: {str(error.error)[:300]}"
                    for error in stats.errors.values()
                ],
            }
        )
        if capacity.should_stop([capacity.Step.from_dict(step) for step in steps]):
            break
    phase["steps"] = steps
    PHASE_FILE.write_text(json.dumps(phase))
    _Phase.done = True
    _set_active(0)
    environment.runner.quit()


def _ready(user: User) -> None:
    """Count this user ready and wait for the others. Then each starts after a random part of
    the longest think time, so that 50 users do not send their first request in the same
    millisecond; once all have started, the stats are reset and the measured window begins.
    In capacity mode the steps begin at once, and a user waits until its step comes."""
    environment = user.environment
    user.slot = next(_Phase.slots)
    _Phase.ready += 1
    if _Phase.ready == USERS:
        stats = environment.runner.stats
        login = stats.get(LOGIN_NAME, "POST")
        phase = {
            "ready_seconds": time.monotonic() - _Phase.started,
            "logins": login.num_requests,
            "login_p50": login.get_response_time_percentile(0.5),
            "login_p95": login.get_response_time_percentile(0.95),
            "login_max": login.max_response_time,
            "failures": stats.total.num_failures,
        }

        def start_window() -> None:
            phase["failures"] += stats.total.num_failures
            stats.reset_all()
            started, cpu_before = time.monotonic(), cpu.snapshot(CPU_PIDS)
            clock = time.time()

            def finish() -> None:
                phase["cpu"] = cpu.difference(cpu_before, cpu.snapshot(CPU_PIDS))
                phase["window_seconds"] = time.monotonic() - started
                phase["window_clock"] = [clock, clock + phase["window_seconds"]]
                PHASE_FILE.write_text(json.dumps(phase))
                environment.runner.quit()

            gevent.spawn_later(MEASURE_SECONDS, finish)

        stats.reset_all()
        _Phase.measuring.set()
        if CAPACITY_STEPS:
            gevent.spawn(_run_steps, environment, phase)
        else:
            gevent.spawn_later(WAIT_MAX, start_window)
    _Phase.measuring.wait()
    if CAPACITY_STEPS:
        _gate(user)
    else:
        gevent.sleep(random.uniform(0, WAIT_MAX))


class Director(HttpUser):
    wait_time = WAIT

    def on_start(self) -> None:
        self.account = next(_next_account)
        self.children: list[str] = self.account["children"]
        self.api = {"Authorization": f"Bearer {self.account['token']}"}
        # The API client (a phone app, a provincial system) holds a token, not the page session:
        # its own HTTP session, without the browser's cookies.
        self.api_client = HttpSession(
            base_url=self.host, request_event=self.environment.events.request, user=self
        )
        page = self.client.get(LOGIN_PATH, name="GET /accounts/login/")
        match = CSRF_INPUT.search(page.text)
        with self.client.post(
            LOGIN_PATH,
            data={
                "username": self.account["username"],
                "password": self.account["password"],
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": self.host + LOGIN_PATH},
            name=LOGIN_NAME,
            catch_response=True,
        ) as response:
            if response.status_code != 200 or response.url.endswith(LOGIN_PATH):
                response.failure(f"login of {self.account['username']} failed")
        _ready(self)

    def _page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code == 200 and LOGIN_PATH in response.url:
                response.failure("sent to the login page")

    @task(4)
    def worklist_page(self) -> None:
        self._page("/visits/", "GET /visits/ (worklist page)")

    @task(3)
    def child_file(self) -> None:
        self._page(f"/children/{random.choice(self.children)}/", "GET /children/[id]/")

    @task(3)
    def api_worklist(self) -> None:
        self.api_client.get(
            "/api/v1/children?visit_status=overdue&page_size=50",
            headers=self.api,
            name="GET /api/v1/children?visit_status=overdue",
        )

    @task(2)
    def log_visit(self) -> None:
        today = datetime.now(SHANGHAI).date().isoformat()
        body = {
            "date": today,
            "kind": "home",
            "notes": "负载测试：入户走访，孩子在家，祖母照看。",
            "findings": {
                "guardian_present": True,
                "caregiver_capable": True,
                "in_school": True,
                "safety_concern": False,
                "needs": "",
            },
            "seen": ["child", "caregiver"],
        }
        with self.api_client.post(
            f"/api/v1/children/{random.choice(self.children)}/visits",
            json=body,
            headers=self.api,
            name="POST /api/v1/children/[id]/visits",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(1)
    def api_reminders(self) -> None:
        self.api_client.get("/api/v1/reminders", headers=self.api, name="GET /api/v1/reminders")


class Bare(HttpUser):
    wait_time = WAIT

    def on_start(self) -> None:
        _ready(self)

    @task
    def bare(self) -> None:
        self.client.get("/_bare/", name="GET /_bare/")
