"""`make loadtest`: 50 directors against gunicorn on loopback, headless locust, bounded.

    python -m benchmarks.loadtest.run [--children 100000] [--users 50] [--duration 60] …

1. A private PostgreSQL (Debian's, with pg_stat_statements and auto_explain) under
   var/loadtest/pg, on a Unix socket only; as root it runs as the ``postgres`` user. Redis:
   REDIS_URL when set, else the embedded one under var/loadtest/redis. The caller's DATABASE_URL
   is never used: the load test drops and recreates its own databases.
2. Data, cached: a template database ``shouwang_loadtest_template`` (migrate, seed_demo,
   seed_scale --children N, director accounts with API tokens: benchmarks/loadtest/accounts.py),
   rebuilt only when a migration, a seed command, this package or N changed. Each run clones it
   (CREATE DATABASE … TEMPLATE), so every run starts from the same data.
3. gunicorn with config.settings.loadtest (production less TLS) on a free loopback port.
4. pg_stat_statements reset, then locust: ``Director`` users for --duration seconds; then the bare
   view (``Bare`` users, same user count, spawn rate and think time) for --bare-duration seconds.
   With --busy-cores C, another process (benchmarks/loadtest/busy.py) keeps C cores busy while
   locust runs; its CPU is reported apart, neither as the server's nor as other processes'.
5. Checks, each printed PASS/FAIL with its numbers: no errors, p95 ≤ 200 ms, no statement slower
   than 100 ms. A line starting with ``BENCH loadtest`` sums up; exit 1 when a check fails.
   With --smoke (`make test`, at a tiny scale) only an error fails the run.

--capacity replaces step 4's windows: after the same sign-ins, steps of 2, 4, 6 … users without
think time (--capacity-steps, --step-duration), up to two steps in a row over the limit
(benchmarks/loadtest/capacity.py). It prints each step's rate, latency, errors and CPU, and
``BENCH loadtest capacity``: the highest rate with p95 ≤ 200 ms and no error; it fails on an error
or, but with --smoke, under 100 requests/s.

gunicorn, PostgreSQL and Redis (when started here) are stopped on every exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.loadtest import capacity, gunicorn_conf

if TYPE_CHECKING:
    import psycopg

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
TEMPLATE_DB = "shouwang_loadtest_template"
RUN_DB = "shouwang_loadtest"
SECRET_KEY = "loadtest-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
P95_LIMIT_MS = capacity.P95_LIMIT_MS
STATEMENT_LIMIT_MS = 100.0
# Other processes using more than this many cores during the window make the run "shared".
BUSY_CORES = 0.25
# Unix socket paths are limited to about 100 bytes (as in config/embedded.py).
_SOCKET_LIMIT = 100


def log(message: str) -> None:
    print(f"loadtest: {message}", flush=True)


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_bin() -> Path:
    """The newest Debian PostgreSQL that ships pg_stat_statements."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        version = bindir.parent.name
        control = Path(f"/usr/share/postgresql/{version}/extension/pg_stat_statements.control")
        if (bindir / "postgres").exists() and control.exists():
            return bindir
    raise SystemExit("loadtest: no PostgreSQL with pg_stat_statements: scripts/loadtest-deps.sh")


def _as_pg_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: as root, run it as Debian's postgres user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Postgres:
    """A private cluster: data in ``root/data``, socket only, stopped by ``stop``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.bin = _pg_bin()
        self.socket_dir = root / "run"
        if len(str(self.socket_dir / ".s.PGSQL.5432")) > _SOCKET_LIMIT:
            digest = hashlib.sha1(str(root).encode(), usedforsecurity=False).hexdigest()[:12]
            self.socket_dir = Path("/tmp") / f"shouwang-loadtest-{digest}"
        self.started = False

    def url(self, database: str) -> str:
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        self._own(self.socket_dir)
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data, ignore_errors=True)
            subprocess.run(
                _as_pg_user(
                    [
                        str(self.bin / "initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        "postgres",
                        "-A",
                        "trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        status = subprocess.run(
            _as_pg_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]),
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if status.returncode == 0:
            # Left running by an interrupted run (it is ours): restart with the settings below.
            self.started = True
            self.stop()
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "100",
            "shared_buffers": "'512MB'",
            "shared_preload_libraries": "'pg_stat_statements,auto_explain'",
            "pg_stat_statements.max": "10000",
            # Statements inside functions and triggers (pghistory) are counted on their own too.
            "pg_stat_statements.track": "all",
            # Planning times too: a statement sent with its values inline is planned every time.
            "pg_stat_statements.track_planning": "on",
            # The plan of any statement over the limit goes to the server log (no ANALYZE: free
            # for the others).
            "auto_explain.log_min_duration": f"'{int(STATEMENT_LIMIT_MS)}ms'",
            "auto_explain.log_nested_statements": "on",
            "log_min_duration_statement": f"'{int(STATEMENT_LIMIT_MS)}ms'",
            "log_line_prefix": "'%m [%p] %d '",
        }
        # -c options override postgresql.conf without editing it.
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        subprocess.run(
            _as_pg_user(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started = True
        with self.connect("postgres") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def stop(self) -> None:
        if not self.started:
            return
        subprocess.run(
            _as_pg_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
        )
        self.started = False

    def connect(self, database: str) -> psycopg.Connection:
        import psycopg

        return psycopg.connect(
            dbname=database, user="postgres", host=str(self.socket_dir), autocommit=True
        )

    def database_exists(self, name: str) -> bool:
        with self.connect("postgres") as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        return row is not None

    def recreate(self, name: str, template: str | None = None) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')


# --- Data ------------------------------------------------------------------------------------


def data_fingerprint(children: int, users: int) -> str:
    """Changes when anything that shapes the template database changes."""
    digest = hashlib.sha256(f"{children}:{users}".encode())
    sources = sorted(BASE_DIR.glob("*/migrations/*.py"))
    # The demo app: its data modules, fixtures and commands (seed_demo, seed_scale).
    sources += sorted((BASE_DIR / "demo").rglob("*.py"))
    sources += sorted((BASE_DIR / "demo" / "fixtures").glob("*.csv"))
    sources += [Path(__file__).with_name("accounts.py")]
    for path in sources:
        digest.update(str(path.relative_to(BASE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def manage(env: dict[str, str], *args: str, log_file: Path | None = None) -> None:
    """Run a management command; with ``log_file``, its output goes there, its last line here."""
    if log_file is None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)
        return
    _logged([PYTHON, "manage.py", *args], env, log_file)


def _logged(command: list[str], env: dict[str, str], log_file: Path) -> None:
    with log_file.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
    if result.returncode != 0:
        raise SystemExit(f"loadtest: {' '.join(command[1:3])} failed; see {log_file}")
    lines = log_file.read_text("utf-8", "replace").strip().splitlines()
    log(f"  {lines[-1] if lines else ''}")


def prepare_data(
    pg: Postgres, env: dict[str, str], var: Path, *, children: int, users: int
) -> bool:
    """Build the template database unless the cached one matches; True when it was reused."""
    marker = var / "data.json"
    accounts = var / "accounts.json"
    fingerprint = data_fingerprint(children, users)
    if (
        marker.exists()
        and accounts.exists()
        and json.loads(marker.read_text()).get("fingerprint") == fingerprint
        and pg.database_exists(TEMPLATE_DB)
    ):
        return True
    marker.unlink(missing_ok=True)
    setup_log = var / "setup.log"
    setup_log.write_text("")
    log(f"building the data (output in {setup_log})")
    pg.recreate(TEMPLATE_DB)
    build_env = {**env, "DATABASE_URL": pg.url(TEMPLATE_DB)}
    manage(build_env, "migrate", "--noinput", log_file=setup_log)
    manage(build_env, "seed_demo", log_file=setup_log)
    manage(build_env, "seed_scale", "--children", str(children), log_file=setup_log)
    _logged(
        [PYTHON, "-m", "benchmarks.loadtest.accounts", str(accounts), "--users", str(users)],
        build_env,
        setup_log,
    )
    with pg.connect(TEMPLATE_DB) as conn:
        conn.execute("VACUUM ANALYZE")
    marker.write_text(json.dumps({"fingerprint": fingerprint, "children": children}))
    return False


def collect_static(env: dict[str, str], var: Path) -> bool:
    """collectstatic (manifest, compressed) unless nothing it reads changed; True when run."""
    digest = hashlib.sha256()
    # Third-party static (admin, ninja) changes only with a reinstall, which touches .installed.
    inputs = [VENV_BIN.parent / ".installed", *sorted((BASE_DIR / "static").rglob("*"))]
    for path in inputs:
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    marker = var / "static.sha256"
    manifest = var / "static" / "staticfiles.json"
    if manifest.exists() and marker.exists() and marker.read_text() == digest.hexdigest():
        return False
    manage(env, "collectstatic", "--noinput", "-v", "0")
    marker.write_text(digest.hexdigest())
    return True


# --- gunicorn and locust ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], port: int, *, workers: int, threads: int, log_file: Path
) -> Iterator[int]:
    """Start gunicorn, wait for /healthz, yield the master's pid; stop it on exit. The hooks of
    benchmarks/loadtest/gunicorn_conf.py count each request type's CPU when the environment has
    LOADTEST_REQUEST_CPU_DIR (the workers write it when they exit)."""
    command = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        "--config",
        str(Path(__file__).with_name("gunicorn_conf.py")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--error-logfile",
        str(log_file),
    ]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    with log_file.open("a") as out:
        proc = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"loadtest: gunicorn exited ({proc.returncode}); see {log_file}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"loadtest: gunicorn did not answer /healthz; see {log_file}")
            time.sleep(0.3)
        yield proc.pid
    finally:
        if proc.poll() is None:
            _stop(proc, timeout=20)


def _stop(proc: subprocess.Popen, *, timeout: float) -> None:
    """Ask the process to end; kill it if it has not within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def competing_load(cores: float) -> Iterator[int | None]:
    """``cores`` of CPU burnt by a busy loop (benchmarks/loadtest/busy.py) while the block runs;
    yields its pid (None for 0), stops it on exit."""
    if not cores:
        yield None
        return
    proc = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.loadtest.busy", str(cores)],
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR)},
        start_new_session=True,
    )
    try:
        yield proc.pid
    finally:
        _stop(proc, timeout=10)


@dataclass
class Stats:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    mean: float
    max: float


def _number(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def read_stats(prefix: Path) -> list[Stats]:
    """Rows of locust's ``<prefix>_stats.csv``, the ``Aggregated`` row last."""
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                Stats(
                    name=row["Name"],
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    rps=_number(row["Requests/s"]),
                    p50=_number(row["50%"]),
                    p95=_number(row["95%"]),
                    p99=_number(row["99%"]),
                    mean=_number(row["Average Response Time"]),
                    max=_number(row["Max Response Time"]),
                )
            )
    return rows


def read_failures(prefix: Path) -> list[str]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            f"{row['Occurrences']}× {row['Method']} {row['Name']}: {row['Error'][:300]}"
            for row in csv.DictReader(handle)
        ]


# How long the users may take to get ready (sign in) before the measured window: a bound only.
READY_LIMIT_SECONDS = 120


def run_locust(
    env: dict[str, str],
    port: int,
    user_class: str,
    *,
    users: int,
    spawn_rate: int,
    seconds: float,
    prefix: Path,
    pids: dict[str, int],
    measured_seconds: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[list[Stats], dict[str, Any]]:
    """Stats of the measured window (after every user is ready) and the phase file: the ready
    phase (sign-ins) and the CPU seconds used in the window (benchmarks/loadtest/cpu.py).
    ``seconds`` is the window (capacity mode: a step's); ``measured_seconds`` how long all the
    measuring takes (capacity mode: every step, settling included), ``seconds`` when None."""
    phase_file = Path(f"{prefix}_phase.json")
    phase_file.unlink(missing_ok=True)
    env = {
        **env,
        "LOADTEST_USERS": str(users),
        "LOADTEST_MEASURE_SECONDS": str(seconds),
        "LOADTEST_PHASE_FILE": str(phase_file),
        "LOADTEST_CPU_PIDS": ",".join(f"{name}:{pid}" for name, pid in pids.items()),
        **(extra_env or {}),
    }
    run_time = (seconds if measured_seconds is None else measured_seconds) + READY_LIMIT_SECONDS
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{math.ceil(run_time)}s",
        "--stop-timeout",
        "10",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        user_class,
    ]
    with open(f"{prefix}.log", "w") as out:
        result = subprocess.run(command, cwd=BASE_DIR, env=env, stdout=out, stderr=out)
    if result.returncode != 0 or not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"loadtest: locust failed ({result.returncode}); see {prefix}.log")
    if not phase_file.exists():
        raise SystemExit(
            f"loadtest: the {users} users were not ready within {READY_LIMIT_SECONDS} s; "
            f"see {prefix}.log"
        )
    return read_stats(prefix), json.loads(phase_file.read_text())


# --- pg_stat_statements ----------------------------------------------------------------------


@dataclass
class Statement:
    calls: int
    mean_ms: float
    max_ms: float
    total_ms: float
    query: str
    # Planning (pg_stat_statements.track_planning), per execution; not in the times above.
    plan_mean_ms: float = 0.0
    plan_max_ms: float = 0.0


def statements(pg: Postgres) -> list[Statement]:
    """What the run database executed since the reset, slowest (max) first."""
    with pg.connect("postgres") as conn:
        rows = conn.execute(
            """
            SELECT s.calls, s.mean_exec_time, s.max_exec_time, s.total_exec_time, s.query,
                   s.total_plan_time / greatest(s.calls, 1), s.max_plan_time
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = %s
            ORDER BY s.max_exec_time DESC
            """,
            [RUN_DB],
        ).fetchall()
    return [Statement(*row) for row in rows]


def one_line(query: str, width: int = 150) -> str:
    text = " ".join(query.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# django-pghistory sends its context in front of a tracked write, in the same query string.
_PGHISTORY_CONTEXT = re.compile(r"SELECT set_config\('pghistory\.context_id'.*?, true\);\s*", re.S)


def without_context(entry: str) -> str:
    """A server log entry without pghistory's ``SELECT set_config(…);`` prefix: the statement
    that took the time shows."""
    return _PGHISTORY_CONTEXT.sub("", entry, count=1)


def slow_log_entries(log_file: Path, since: int) -> list[str]:
    """Entries the server logged after byte offset ``since`` for statements over the limit
    (log_min_duration_statement, with auto_explain's plan when there is one). A COMMIT that waits
    for its WAL flush shows here but not in pg_stat_statements, which times only the statement."""
    if not log_file.exists():
        return []
    with log_file.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode("utf-8", "replace")
    entries = ("20" + block for block in ("\n" + text).split("\n20") if block.strip())
    return [entry for entry in entries if "duration:" in entry]


# --- Main ------------------------------------------------------------------------------------


def _print_table(title: str, rows: list[Stats]) -> None:
    print(f"\n{title}")
    header = ("request", "count", "fail", "req/s", "p50", "p95", "p99")
    print("{:<46} {:>6} {:>5} {:>7} {:>6} {:>6} {:>6}".format(*header))
    for row in rows:
        if not row.requests:
            continue
        print(
            f"{row.name[:46]:<46} {row.requests:>6} {row.failures:>5} {row.rps:>7.1f} "
            f"{row.p50:>6.0f} {row.p95:>6.0f} {row.p99:>6.0f}"
        )


def _check(ok: bool, label: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return ok


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Shouwang load test (see module docstring)")
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=10)
    parser.add_argument("--duration", type=int, default=60, help="seconds of the application run")
    parser.add_argument("--bare-duration", type=int, default=20, help="seconds of the bare run")
    parser.add_argument("--workers", type=int, default=4)
    # As the production image (Dockerfile): 4 sync workers.
    parser.add_argument("--threads", type=int, default=1, help="per worker; 1 = sync workers")
    parser.add_argument("--wait-min", type=float, default=0.5, help="think time, seconds")
    parser.add_argument("--wait-max", type=float, default=2.5)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data")
    parser.add_argument("--var-dir", type=Path, default=BASE_DIR / "var" / "loadtest")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="`make test`: only errors fail the run; the timings are printed, not judged",
    )
    parser.add_argument(
        "--busy-cores",
        type=float,
        default=0.0,
        help="while the locust phases run, another process keeps this much CPU busy (0.5: half a "
        "core; benchmarks/loadtest/busy.py)",
    )
    parser.add_argument(
        "--capacity",
        action="store_true",
        help="instead of the timed windows: steps of users without think time, reporting the "
        f"highest rate at p95 ≤ {P95_LIMIT_MS:.0f} ms (benchmarks/loadtest/capacity.py)",
    )
    parser.add_argument(
        "--capacity-steps",
        default=",".join(map(str, capacity.DEFAULT_STEPS)),
        help="capacity mode: user counts, ascending (at most --users)",
    )
    parser.add_argument(
        "--step-duration", type=int, default=15, help="capacity mode: seconds measured a step"
    )
    parser.add_argument(
        "--settle", type=float, default=2.0, help="capacity mode: seconds before each step"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.busy_cores <= (os.cpu_count() or 1):
        parser.error(f"--busy-cores must be between 0 and {os.cpu_count()}")
    try:
        args.steps = capacity.parse_steps(args.capacity_steps, args.users)
    except ValueError as error:
        parser.error(str(error))
    if args.capacity:
        # No think time.
        args.wait_min = args.wait_max = 0.0
    return args


def other_cores(cpu: dict[str, float], seconds: float) -> float:
    """Cores used during a window by processes that are not the load test's: the machine's busy
    time less gunicorn, PostgreSQL, locust and the competing busy loop (--busy-cores)."""
    ours = sum(cpu.get(name, 0.0) for name in ("gunicorn", "postgres", "locust", "busy"))
    return max(0.0, cpu["machine_busy"] - ours) / seconds if seconds else 0.0


def server_cpu_ms(cpu: dict[str, float], requests: int) -> float:
    """gunicorn + PostgreSQL CPU per request, ms."""
    return (cpu["gunicorn"] + cpu["postgres"]) * 1000 / requests if requests else 0.0


def _cpu_line(label: str, cpu: dict[str, float], window: float, requests: int) -> str:
    cores = cpu["machine_total"] / window if window else 0.0
    per_request = server_cpu_ms(cpu, requests)
    busy = f", competing busy loop {cpu['busy'] / window:.2f}" if "busy" in cpu else ""
    return (
        f"{label}: server CPU {per_request:.1f} ms per request (gunicorn "
        f"{cpu['gunicorn'] / window:.2f} cores, PostgreSQL {cpu['postgres'] / window:.2f}, "
        f"locust {cpu['locust'] / window:.2f}{busy}); other processes on the machine "
        f"{other_cores(cpu, window):.2f} of {cores:.0f} cores"
    )


def _busy_line(args: argparse.Namespace, used: list[tuple[str, dict[str, float], float]]) -> str:
    """What the competing load (--busy-cores) asked for and what it used in each window."""
    parts = ", ".join(
        f"{cpu['busy'] / seconds:.2f} cores in the {label}" for label, cpu, seconds in used
    )
    return (
        f"competing load ON: a busy loop asking for {args.busy_cores:g} cores "
        f"(benchmarks/loadtest/busy.py) used {parts}; not counted as server CPU or as other "
        f"processes"
    )


def _clock(window: list[float]) -> tuple[float, float]:
    start, end = window
    return start, end


def _print_request_cpu(
    directory: Path, windows: list[tuple[float, float]], gunicorn_seconds: float
) -> None:
    """gunicorn's CPU per request type in the measured windows
    (benchmarks/loadtest/gunicorn_conf.py), when the workers wrote it; ``gunicorn_seconds``:
    the CPU of gunicorn's whole process tree in those windows (cpu.py)."""
    merged = gunicorn_conf.merge(sorted(directory.glob("*.json")), windows)
    if not merged:
        print("\n(no per-request CPU from the gunicorn workers)")
        return
    print(
        "\ngunicorn CPU per request type in the measured windows (the worker's thread from "
        "gunicorn's\npre_request to its post_request hook; PostgreSQL's CPU not included):"
    )
    print(f"{'request':<46} {'count':>6} {'CPU ms':>7} {'total s':>8}")
    for key, (requests, seconds) in sorted(merged.items(), key=lambda item: -item[1][1]):
        print(f"{key[:46]:<46} {requests:>6} {seconds * 1000 / requests:>7.1f} {seconds:>8.1f}")
    inside = sum(seconds for _, seconds in merged.values())
    if gunicorn_seconds:
        print(
            f"inside requests: {inside:.1f} s of gunicorn's {gunicorn_seconds:.1f} s of CPU "
            f"({inside / gunicorn_seconds:.0%}; the rest: parsing requests, the master, idle "
            f"workers)"
        )


def _print_sign_in(ready: dict[str, Any]) -> None:
    print(
        f"\nsign-in: {ready['logins']:.0f} directors through the login form in "
        f"{ready['ready_seconds']:.1f} s (login p50 {ready['login_p50']:.0f} ms, p95 "
        f"{ready['login_p95']:.0f} ms, {ready['failures']:.0f} errors); not in the window"
    )


def _print_statements(
    executed: list[Statement], pg: Postgres, log_offset: int, results: Path
) -> list[Statement]:
    """The slowest statements and the server log's; writes both files; returns those over the
    limit."""
    print(
        f"\nStatements during the application run ({len(executed)} distinct), by max "
        f"(execution; planning apart, mean per execution):"
    )
    print(f"{'calls':>7} {'mean ms':>8} {'max ms':>8} {'plan ms':>8}  query")

    def row(st: Statement) -> str:
        return (
            f"{st.calls:>7} {st.mean_ms:>8.2f} {st.max_ms:>8.1f} {st.plan_mean_ms:>8.2f}  "
            f"{one_line(st.query, 140)}"
        )

    for st in executed[:10]:
        print(row(st))
    print("by mean, planning included:")
    for st in sorted(executed, key=lambda s: s.mean_ms + s.plan_mean_ms, reverse=True)[:5]:
        print(row(st))
    print("by total time, planning included (where PostgreSQL's time goes):")
    for st in sorted(executed, key=lambda s: s.total_ms + s.plan_mean_ms * s.calls)[::-1][:5]:
        print(row(st))
    (results / "statements.txt").write_text(
        "\n\n".join(
            f"calls {s.calls}, mean {s.mean_ms:.2f} ms, max {s.max_ms:.1f} ms, "
            f"total {s.total_ms:.0f} ms; planning mean {s.plan_mean_ms:.2f} ms, max "
            f"{s.plan_max_ms:.1f} ms\n{s.query}"
            for s in executed
        ),
        encoding="utf-8",
    )
    slow = [s for s in executed if s.max_ms > STATEMENT_LIMIT_MS]
    logged = slow_log_entries(pg.log_file, log_offset)
    (results / "slow_log.txt").write_text("\n".join(logged), encoding="utf-8")
    print(
        f"server log: {len(logged)} statements over {STATEMENT_LIMIT_MS:.0f} ms during the run "
        f"(plans from auto_explain in {results / 'slow_log.txt'})"
    )
    if logged:
        print(
            "  (the duration there includes parsing and planning, which pg_stat_statements' "
            "execution times leave out)"
        )
    for entry in logged[:5]:
        print(f"  {one_line(without_context(entry), 160)}")
    return slow


def _warn_shared(cores: float) -> None:
    if cores > BUSY_CORES:
        print(
            f"WARNING: other processes used {cores:.2f} cores during the window: the "
            f"latencies are those of a shared machine, not of a dedicated one"
        )


@dataclass(frozen=True)
class RunRecord:
    """What both reports read besides the phases' numbers."""

    executed: list[Statement]  # the statements PostgreSQL ran in the measured windows
    pg: Postgres
    log_offset: int  # where the server log stood when the windows began
    started: float  # time.monotonic() at the start
    setup: float  # seconds spent building and starting before the first user


def report(
    args: argparse.Namespace,
    app: list[Stats],
    ready: dict[str, Any],
    bare: list[Stats],
    bare_phase: dict[str, Any],
    run: RunRecord,
) -> int:
    """Print the tables, the statements and the checks; 0 when every check passes."""
    results = args.var_dir.resolve() / "results"
    _print_sign_in(ready)
    _print_table(f"Application, measured {args.duration} s (Director users), ms:", app)
    _print_table("Bare view (a constant: no database, no session), ms:", bare)
    failures = read_failures(results / "app") + read_failures(results / "bare")
    for failure in failures:
        print(f"  error: {failure}")

    slow = _print_statements(run.executed, run.pg, run.log_offset, results)

    total, bare_total = app[-1], bare[-1]
    _print_request_cpu(
        results / "request_cpu",
        [_clock(ready["window_clock"]), _clock(bare_phase["window_clock"])],
        ready["cpu"]["gunicorn"] + bare_phase["cpu"]["gunicorn"],
    )
    print()
    print(_cpu_line("application", ready["cpu"], ready["window_seconds"], total.requests))
    print(
        _cpu_line("bare view", bare_phase["cpu"], bare_phase["window_seconds"], bare_total.requests)
    )
    busy_cores = other_cores(ready["cpu"], ready["window_seconds"])
    competing = ""
    if args.busy_cores:
        print(
            _busy_line(
                args,
                [
                    ("application window", ready["cpu"], ready["window_seconds"]),
                    ("bare one", bare_phase["cpu"], bare_phase["window_seconds"]),
                ],
            )
        )
        competing = f"competing load {ready['cpu']['busy'] / ready['window_seconds']:.2f} cores, "
    _warn_shared(busy_cores)
    errors = total.failures + bare_total.failures + int(ready["failures"])
    slowest = run.executed[0].max_ms if run.executed else 0.0
    p50_ratio = total.p50 / bare_total.p50 if bare_total.p50 else float("inf")
    mean_ratio = total.mean / bare_total.mean if bare_total.mean else float("inf")
    rps_ratio = total.rps / bare_total.rps if bare_total.rps else 0.0
    print(
        f"bare view: {bare_total.rps:.1f} req/s, p50 {bare_total.p50:.0f} ms, "
        f"p95 {bare_total.p95:.0f} ms, mean {bare_total.mean:.1f} ms; application / bare: "
        f"p50 {p50_ratio:.1f}×, mean {mean_ratio:.1f}×, throughput {rps_ratio:.2f}×"
    )
    checks = [
        _check(
            errors == 0,
            f"errors: {errors} (sign-in {ready['failures']:.0f}, application "
            f"{total.failures}, bare {bare_total.failures}) of "
            f"{total.requests + bare_total.requests} measured requests",
        ),
        _check(total.p95 <= P95_LIMIT_MS, f"p95 {total.p95:.0f} ms ≤ {P95_LIMIT_MS:.0f} ms"),
        _check(
            slowest <= STATEMENT_LIMIT_MS,
            f"slowest statement max {slowest:.1f} ms ≤ {STATEMENT_LIMIT_MS:.0f} ms "
            f"({len(slow)} over)",
        ),
    ]
    # A smoke run (tiny, on a machine busy with the test suite) proves that the load test still
    # works end to end: its timings say nothing, only an error fails it.
    passed = checks[0] if args.smoke else all(checks)
    verdict = ("PASS" if passed else "FAIL") + (
        " (smoke: only errors judged)" if args.smoke else ""
    )
    print(
        f"BENCH loadtest: {args.users} directors × {args.duration} s on {args.children} "
        f"children: {total.rps:.1f} req/s, p50 {total.p50:.0f} / p95 {total.p95:.0f} / "
        f"p99 {total.p99:.0f} ms, {errors} errors, slowest SQL {slowest:.1f} ms, server CPU "
        f"{server_cpu_ms(ready['cpu'], total.requests):.1f} ms per request; bare view "
        f"{bare_total.rps:.1f} req/s p50 {bare_total.p50:.0f} ms (p50 ratio {p50_ratio:.1f}×, "
        f"throughput ratio {rps_ratio:.2f}×); {competing}other processes {busy_cores:.2f} cores; "
        f"setup {run.setup:.0f} s, total {time.monotonic() - run.started:.0f} s — {verdict}"
    )
    return 0 if passed else 1


def _print_steps(args: argparse.Namespace, steps: list[capacity.Step]) -> None:
    print(
        f"\nCapacity: Director users without think time, {args.step_duration} s a step after "
        f"{args.settle:g} s to settle; within = p95 ≤ {P95_LIMIT_MS:.0f} ms and no error;\n"
        f"CPU: ms per request (gunicorn + PostgreSQL), then cores used"
    )
    header = (
        "users", "req/s", "count", "fail", "p50", "p95", "p99",
        "CPU ms", "gunicorn", "postgres", "locust", "busy", "others", "",
    )  # fmt: skip
    line = "{:>5} {:>7} {:>6} {:>5} {:>5} {:>5} {:>5} {:>7} {:>8} {:>8} {:>6} {:>5} {:>6}  {}"
    print(line.format(*header))
    for step in steps:
        cores = {name: value / step.seconds for name, value in step.cpu.items()}
        print(
            line.format(
                step.users,
                f"{step.rps:.1f}",
                step.requests,
                step.failures,
                f"{step.p50:.0f}",
                f"{step.p95:.0f}",
                f"{step.p99:.0f}",
                f"{step.server_cpu_ms:.1f}",
                f"{cores.get('gunicorn', 0.0):.2f}",
                f"{cores.get('postgres', 0.0):.2f}",
                f"{cores.get('locust', 0.0):.2f}",
                f"{cores.get('busy', 0.0):.2f}",
                f"{other_cores(dict(step.cpu), step.seconds):.2f}",
                "within" if capacity.passes(step) else "over",
            )
        )


def report_capacity(
    args: argparse.Namespace,
    ready: dict[str, Any],
    run: RunRecord,
) -> int:
    """Print the steps and the capacity; 0 unless an error (or, but in a smoke run, a capacity
    under the goal)."""
    results = args.var_dir.resolve() / "results"
    _print_sign_in(ready)
    rows = ready.get("steps", [])
    steps = [capacity.Step.from_dict(row) for row in rows]
    _print_steps(args, steps)
    for row in rows:
        for error in row["errors"]:
            print(f"  error at {row['users']} users: {error}")
    best = capacity.best(steps)
    if best is not None:
        row = rows[steps.index(best)]
        print(f"\nAt {best.users} users (the capacity), by request, ms:")
        print(f"{'request':<46} {'count':>6} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6}")
        for entry in row["by_request"]:
            print(
                f"{entry['name'][:46]:<46} {entry['requests']:>6} {entry['failures']:>5} "
                f"{entry['requests'] / best.seconds:>7.1f} {entry['p50']:>6.0f} "
                f"{entry['p95']:>6.0f}"
            )
    slow = _print_statements(run.executed, run.pg, run.log_offset, results)
    _print_request_cpu(
        results / "request_cpu",
        [_clock(row["clock"]) for row in rows],
        sum(step.cpu.get("gunicorn", 0.0) for step in steps),
    )

    seconds = sum(step.seconds for step in steps)
    machine = {
        name: sum(step.cpu.get(name, 0.0) for step in steps)
        for name in ("gunicorn", "postgres", "locust", "busy", "machine_busy")
    }
    others = other_cores(machine, seconds)
    print()
    competing = ""
    if args.busy_cores:
        print(_busy_line(args, [("steps", machine, seconds)]))
        competing = f"competing load {machine['busy'] / seconds:.2f} cores, " if seconds else ""
    _warn_shared(others)
    errors = int(ready["failures"]) + sum(step.failures for step in steps)
    slowest = run.executed[0].max_ms if run.executed else 0.0
    print(
        f"slowest statement max {slowest:.1f} ms ({len(slow)} over {STATEMENT_LIMIT_MS:.0f} ms; "
        f"not judged here: overload queues)"
    )
    checks = [
        _check(
            errors == 0,
            f"errors: {errors} (outside the windows: sign-in and settling "
            f"{ready['failures']:.0f}) of {sum(step.requests for step in steps)} measured "
            f"requests",
        ),
        _check(
            best is not None and best.rps >= capacity.GOAL_RPS,
            f"capacity {best.rps if best else 0.0:.1f} req/s ≥ {capacity.GOAL_RPS:.0f} req/s at "
            f"p95 ≤ {P95_LIMIT_MS:.0f} ms",
        ),
    ]
    # The smoke proves that the steps still run; only an error (or no step at all) fails it.
    passed = (checks[0] and bool(steps)) if args.smoke else all(checks)
    verdict = ("PASS" if passed else "FAIL") + (
        " (smoke: only errors judged)" if args.smoke else ""
    )
    if best is not None:
        found = (
            f"{best.rps:.1f} req/s at p95 {best.p95:.0f} ms ({best.users} users), server CPU "
            f"{best.server_cpu_ms:.1f} ms per request"
        )
    else:
        found = f"none: no step within p95 ≤ {P95_LIMIT_MS:.0f} ms and no error"
        if steps:
            fastest = max(steps, key=lambda step: step.rps)
            found += (
                f" (fastest {fastest.rps:.1f} req/s at p95 {fastest.p95:.0f} ms, "
                f"{fastest.users} users)"
            )
    tried = f"{steps[0].users}–{steps[-1].users}" if steps else "none"
    kind = f"gthread × {args.threads}" if args.threads > 1 else "sync"
    print(
        f"BENCH loadtest capacity: {found}; goal ≥ {capacity.GOAL_RPS:.0f} req/s; {len(steps)} "
        f"steps ({tried} users × {args.step_duration} s), {errors} errors, on {args.children} "
        f"children, {args.workers} {kind} workers; {competing}other processes {others:.2f} "
        f"cores; setup {run.setup:.0f} s, total {time.monotonic() - run.started:.0f} s — {verdict}"
    )
    return 0 if passed else 1


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    var: Path = args.var_dir.resolve()
    results = var / "results"
    results.mkdir(parents=True, exist_ok=True)
    if args.rebuild:
        (var / "data.json").unlink(missing_ok=True)

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    pg = Postgres(var / "pg")
    redis_started = False
    try:
        pg.start()
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            # The embedded Redis of config/embedded.py, in a private directory.
            os.environ["SHOUWANG_VAR_DIR"] = str(var)
            from config import embedded

            # Private to the load test: stopped at the end even if an earlier run left it up.
            redis_started = True
            redis_url = embedded.ensure_redis()
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")},
            "PYTHONPATH": str(BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "config.settings.loadtest",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": pg.url(RUN_DB),
            "REDIS_URL": redis_url,
            "STATIC_ROOT": str(var / "static"),
            "MEDIA_ROOT": str(var / "media"),
            "LOADTEST_ACCOUNTS": str(var / "accounts.json"),
            "LOADTEST_WAIT_MIN": str(args.wait_min),
            "LOADTEST_WAIT_MAX": str(args.wait_max),
        }
        reused = prepare_data(pg, env, var, children=args.children, users=args.users)
        step = time.monotonic()
        pg.recreate(RUN_DB, template=TEMPLATE_DB)
        log(f"run database cloned from the template in {time.monotonic() - step:.1f} s")
        step = time.monotonic()
        if collect_static(env, var):
            log(f"collectstatic in {time.monotonic() - step:.1f} s")
        setup = time.monotonic() - started
        log(
            f"setup {setup:.0f} s ({'cached data reused' if reused else 'data built'}: "
            f"{args.children} children, {args.users} directors)"
        )

        port = free_port()
        request_cpu = results / "request_cpu"
        shutil.rmtree(request_cpu, ignore_errors=True)
        request_cpu.mkdir()
        server_env = {**env, "LOADTEST_REQUEST_CPU_DIR": str(request_cpu)}
        if args.capacity:
            # A few users stand for many without think time: one director's 20 requests a
            # second are not over the per-user API limit (600/m) of a real one. The throttle
            # still counts every call in Redis, as in production.
            server_env["API_RATE_LIMIT_AUTHENTICATED"] = "1000000/m"
        with gunicorn(
            server_env,
            port,
            workers=args.workers,
            threads=args.threads,
            log_file=var / "gunicorn.log",
        ) as server_pid:
            kind = f"gthread × {args.threads} threads" if args.threads > 1 else "sync"
            if args.capacity:
                measuring = (
                    f"capacity steps of {args.capacity_steps} users without think time, "
                    f"{args.step_duration} s each"
                )
            else:
                measuring = (
                    f"think {args.wait_min}–{args.wait_max} s; measured window {args.duration} s"
                )
            log(
                f"gunicorn on 127.0.0.1:{port}: {args.workers} workers ({kind}); locust "
                f"{args.users} users, spawn {args.spawn_rate}/s; {measuring} once all have "
                f"signed in; competing load {args.busy_cores:g} cores; load average before: "
                f"{os.getloadavg()[0]:.2f}"
            )
            pids = {"gunicorn": server_pid, "postgres": pg.pid}
            with pg.connect("postgres") as conn:
                conn.execute("SELECT pg_stat_statements_reset()")
            log_offset = pg.log_file.stat().st_size if pg.log_file.exists() else 0
            with competing_load(args.busy_cores) as busy_pid:
                if busy_pid is not None:
                    pids["busy"] = busy_pid
                phase = functools.partial(
                    run_locust, env, port, users=args.users, spawn_rate=args.spawn_rate, pids=pids
                )
                if args.capacity:
                    _, ready = phase(
                        "Director",
                        seconds=args.step_duration,
                        prefix=results / "capacity",
                        measured_seconds=len(args.steps) * (args.settle + args.step_duration) + 10,
                        extra_env={
                            "LOADTEST_CAPACITY_STEPS": ",".join(map(str, args.steps)),
                            "LOADTEST_SETTLE_SECONDS": str(args.settle),
                        },
                    )
                    executed = statements(pg)
                else:
                    app, ready = phase("Director", seconds=args.duration, prefix=results / "app")
                    executed = statements(pg)
                    log(f"bare view: same users, spawn rate and think time, {args.bare_duration} s")
                    bare, bare_phase = phase(
                        "Bare", seconds=args.bare_duration, prefix=results / "bare"
                    )
        run = RunRecord(executed, pg, log_offset, started, setup)
        if args.capacity:
            return report_capacity(args, ready, run)
        return report(args, app, ready, bare, bare_phase, run)
    finally:
        pg.stop()
        if redis_started:
            from config import embedded

            embedded.stop_redis()
        log(f"stopped what it started; wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
