"""Issue 20: the load test's own logic (benchmarks/loadtest): the competing busy loop
(--busy-cores), the capacity mode's steps and result (--capacity), the CPU per request type and
the CPU shares. The whole load test runs in `make test` as a smoke (LOADTEST_SMOKE,
LOADTEST_SMOKE_CAPACITY); these are its parts that need no servers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.loadtest import busy, capacity, gunicorn_conf, run

ROOT = Path(__file__).resolve().parents[2]


def _step(users: int, rps: float, p95: float, failures: int = 0, **cpu: float) -> capacity.Step:
    seconds = 10.0
    return capacity.Step(
        users=users,
        seconds=seconds,
        requests=round(rps * seconds),
        failures=failures,
        p50=p95 / 2,
        p95=p95,
        p99=p95 * 1.2,
        cpu=cpu,
    )


# --- the busy loop ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cores", "expected"), [(0.5, (0.005, 0.005)), (1, (0.01, 0.0)), (0.2, (0.002, 0.008))]
)
def test_duty_cycle_spins_the_share_of_each_10_ms_period(cores, expected):
    assert busy.duty_cycle(cores) == pytest.approx(expected)


@pytest.mark.parametrize("cores", [0, -0.5, 1.5])
def test_one_busy_loop_keeps_between_0_and_1_core_busy(cores):
    with pytest.raises(ValueError):
        busy.duty_cycle(cores)


@pytest.mark.parametrize(
    ("cores", "parts"),
    [(0, []), (0.5, [0.5]), (1, [1.0]), (1.5, [0.75, 0.75]), (2, [1.0, 1.0])],
)
def test_more_than_a_core_is_shared_equally_by_one_loop_a_core(cores, parts):
    assert busy.split_cores(cores) == parts


def test_negative_busy_cores_are_refused():
    with pytest.raises(ValueError):
        busy.split_cores(-1)


def test_the_busy_loop_sleeps_between_its_spins():
    """Half a core for 0.4 s: about 0.2 s of CPU, never the whole 0.4 s (the bound is loose:
    the test machine is shared)."""
    cpu_before, wall_before = time.process_time(), time.monotonic()
    busy.burn(0.5, seconds=0.4)
    cpu_used, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
    assert wall >= 0.4
    assert 0.02 < cpu_used < 0.32


def test_the_busy_process_and_its_children_end_on_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.loadtest.busy", "1.2"], cwd=ROOT)
    try:
        time.sleep(0.5)
        assert proc.poll() is None
        children = [
            entry.name
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _ppid(entry) == proc.pid
        ]
        assert len(children) == 1  # 1.2 cores: the first loop and one forked child
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert not [pid for pid in children if Path("/proc", pid).exists()]
    finally:
        proc.kill()
        proc.wait()


def _ppid(entry: Path) -> int:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


# --- capacity mode ---------------------------------------------------------------------------


def test_steps_are_ascending_distinct_and_at_most_the_signed_in_users():
    assert capacity.parse_steps("2,4,8", users=50) == [2, 4, 8]
    assert capacity.parse_steps(" 8, 2,2 ,", users=50) == [2, 8]
    assert capacity.parse_steps("2,32,64", users=40) == [2, 32, 40]


@pytest.mark.parametrize("text", ["", "a,b", "0,2", "2,-4"])
def test_steps_that_are_not_user_counts_are_refused(text):
    with pytest.raises(ValueError):
        capacity.parse_steps(text, users=50)


def test_a_step_passes_within_the_limit_with_no_error():
    assert capacity.passes(_step(4, 60.0, 200.0))
    assert not capacity.passes(_step(4, 60.0, 210.0))
    assert not capacity.passes(_step(4, 60.0, 90.0, failures=1))
    assert not capacity.passes(_step(4, 0.0, 0.0))


def test_the_capacity_is_the_highest_rate_among_the_steps_within_the_limit():
    steps = [
        _step(2, 40.0, 60.0),
        _step(4, 70.0, 120.0),
        _step(6, 80.0, 180.0),
        _step(8, 85.0, 240.0),  # faster, but over the limit
        _step(10, 90.0, 150.0, failures=2),  # faster, but with errors
        _step(12, 79.0, 190.0),
    ]
    best = capacity.best(steps)
    assert best is not None
    assert (best.users, best.rps) == (6, 80.0)


def test_on_a_tie_the_capacity_is_the_step_with_fewer_users():
    best = capacity.best([_step(8, 80.0, 190.0), _step(6, 80.0, 150.0)])
    assert best is not None
    assert best.users == 6


def test_no_capacity_when_no_step_is_within_the_limit():
    assert capacity.best([_step(2, 40.0, 250.0), _step(4, 50.0, 400.0)]) is None
    assert capacity.best([]) is None


def test_the_steps_stop_after_two_in_a_row_over_the_limit():
    within, over = _step(2, 40.0, 100.0), _step(4, 50.0, 300.0)
    assert not capacity.should_stop([])
    assert not capacity.should_stop([over])  # one miss may be noise
    assert not capacity.should_stop([within, over, within, over])
    assert capacity.should_stop([within, over, over])


def test_a_step_from_the_phase_file_gives_its_rate_and_server_cpu_per_request():
    row = {
        "users": 8,
        "seconds": 15.0,
        "requests": 1500,
        "failures": 0,
        "p50": 40,
        "p95": 120,
        "p99": 180,
        "cpu": {"gunicorn": 18.0, "postgres": 6.0, "locust": 3.0, "busy": 7.5},
        "by_request": [],
        "errors": [],
    }
    step = capacity.Step.from_dict(json.loads(json.dumps(row)))
    assert step.rps == 100.0
    # gunicorn + PostgreSQL only: not locust, not the competing busy loop.
    assert step.server_cpu_ms == 16.0


# --- CPU: per request type, shares -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/children/71743540-c2b0-440b-a033-0f8d00e188fc/", "GET /children/[id]/"),
        (
            "POST",
            "/api/v1/children/71743540-C2B0-440B-A033-0F8D00E188FC/visits",
            "POST /api/v1/children/[id]/visits",
        ),
        ("GET", "/visits/12/edit/", "GET /visits/[id]/edit/"),
        ("GET", "/visits/", "GET /visits/"),
        ("GET", "/api/v1/children", "GET /api/v1/children"),
        ("GET", "/static/v2/app.css", "GET /static/v2/app.css"),
    ],
)
def test_request_types_name_ids_as_id(method, path, kind):
    assert gunicorn_conf.request_type(method, path) == kind


def test_the_workers_cpu_files_add_up_inside_the_windows(tmp_path):
    """Per second of the clock: a second counts when its middle is inside a window."""
    (tmp_path / "101.json").write_text(
        json.dumps(
            {
                "GET /visits/": {"99": [3, 0.5], "100": [10, 0.2], "159": [1, 0.01]},
                "GET /_bare/": {"200": [4, 0.004]},
                "POST /accounts/login/": {"90": [5, 0.7]},
            }
        )
    )
    (tmp_path / "102.json").write_text(json.dumps({"GET /visits/": {"130": [5, 0.1]}}))
    merged = gunicorn_conf.merge(sorted(tmp_path.glob("*.json")), [(100.2, 160.2), (199.9, 220.0)])
    assert merged.keys() == {"GET /visits/", "GET /_bare/"}
    assert merged["GET /visits/"][0] == 16
    assert merged["GET /visits/"][1] == pytest.approx(0.31)
    assert merged["GET /_bare/"] == (4, pytest.approx(0.004))
    assert gunicorn_conf.merge(sorted(tmp_path.glob("*.json")), []) == {}


def test_the_gunicorn_hooks_count_a_requests_thread_cpu_by_type_and_second(monkeypatch, tmp_path):
    monkeypatch.setattr(gunicorn_conf, "_OUT_DIR", str(tmp_path))
    monkeypatch.setattr(gunicorn_conf, "_totals", {})

    class Request:
        method = "GET"
        path = "/children/71743540-c2b0-440b-a033-0f8d00e188fc/"

    request = Request()
    gunicorn_conf.pre_request(None, request)
    sum(range(100_000))  # some CPU
    gunicorn_conf.post_request(None, request, {}, None)
    gunicorn_conf.worker_exit(None, None)
    (written,) = tmp_path.glob("*.json")
    second = int(request.loadtest_started)
    merged = gunicorn_conf.merge([written], [(second, second + 1)])
    requests, cpu = merged["GET /children/[id]/"]
    assert requests == 1
    assert 0 < cpu < 1


def test_the_competing_busy_loop_is_not_counted_among_other_processes():
    cpu = {"gunicorn": 30.0, "postgres": 12.0, "locust": 6.0, "busy": 30.0, "machine_busy": 90.0}
    assert run.other_cores(cpu, 60.0) == pytest.approx(0.2)
    without_busy = {name: value for name, value in cpu.items() if name != "busy"}
    assert run.other_cores(without_busy, 60.0) == pytest.approx(0.7)
    assert run.server_cpu_ms(cpu, 2100) == pytest.approx(20.0)


def test_capacity_mode_has_no_think_time_and_its_steps_fit_the_users():
    args = run.parse_args(["--capacity", "--users", "10", "--capacity-steps", "2,4,16"])
    assert (args.wait_min, args.wait_max) == (0.0, 0.0)
    assert args.steps == [2, 4, 10]
    plain = run.parse_args([])
    assert (plain.capacity, plain.busy_cores) == (False, 0.0)
    assert plain.wait_max > 0


@pytest.mark.parametrize("argv", [["--busy-cores", "-1"], ["--capacity-steps", "x"]])
def test_bad_load_test_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        run.parse_args(argv)


def test_the_server_log_shows_the_statement_behind_pghistorys_context():
    entry = (
        "2026-12-03 18:30:11.586 UTC [17834] shouwang_loadtest LOG:  duration: 134.336 ms  "
        "statement: SELECT set_config('pghistory.context_id', '30d74e8f-87c4-44a9-b068-"
        "e41efc0ba716', true), set_config('pghistory.context_metadata', '{\"user\": 2623}', "
        "true); \n\t WITH current_reminders AS MATERIALIZED (SELECT 1)"
    )
    assert run.one_line(run.without_context(entry), 200).endswith(
        "duration: 134.336 ms statement: WITH current_reminders AS MATERIALIZED (SELECT 1)"
    )
    plain = "… LOG:  duration: 120.0 ms  statement: COMMIT"
    assert run.without_context(plain) == plain
