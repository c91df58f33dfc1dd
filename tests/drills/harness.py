"""Fault-drill harness: a PRIVATE PostgreSQL and Redis, and gunicorn / Celery worker / Celery beat
processes started against them, each of which a drill can stop, kill or restart.

Nothing here touches the developer's embedded servers under ``var/postgres`` and ``var/redis``:

* ``Services(name)`` starts PostgreSQL and Redis with ``config/embedded.py`` (the same code as
  ``make run``) under ``var/drills/<name>`` (``SHOUWANG_VAR_DIR``), migrates a fresh database and
  seeds the demo county into it once (``seed_demo``, about 20 s). That database is the template of
  every drill's own database (``Services.create_database``: ``CREATE DATABASE … TEMPLATE``, ~1 s).
* Faults on the servers: ``restart_postgres("fast")``, ``stop_postgres`` / ``start_postgres``,
  ``stop_redis(signal.SIGTERM | SIGKILL)`` / ``start_redis`` (same socket, same data).
* ``Stack(services, database)`` runs processes against one drill database: ``manage``, ``gunicorn``,
  ``worker``, ``beat`` and ``relay`` (the last two optionally on a faked clock, ``fakeclock.py``).
  Every process gets its own session (process group) and log file (var/drills/<name>/logs/);
  ``Proc.stop()`` is SIGTERM then SIGKILL, ``Proc.kill()`` SIGKILLs the whole group at once.
  ``Stack.close()`` stops them all; ``Services.close()`` stops both servers and deletes their data
  (``DRILLS_KEEP=1`` keeps it, logs included). ``Services.reap_stale()`` cleans up after a run that
  was itself killed (its pid gone): its processes, servers and directory.

Processes run with ``config.settings.production`` (DEBUG off, the manifest static storage, secrets
from the environment) — the closest to what docker-compose.yml runs — with the few variables a
loopback, plain-HTTP deployment needs (no SSL redirect, no proxy, console e-mail).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests

from core.keys import derive_key  # the Fernet and hash keys the drill processes share

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DRILLS_DIR = BASE_DIR / "var" / "drills"
TEMPLATE_DATABASE = "shouwang"  # the database config/embedded.py creates; migrated and seeded
# Variables that must never leak from the developer's shell into a drill process: they would point
# it at the shared embedded servers.
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SHOUWANG_VAR_DIR")


def log(message: str) -> None:
    print(f"  [drill {time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Processes ---------------------------------------------------------------------------------


@dataclass
class Proc:
    """A process started in its own session, its output in ``log_path``."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def wait_output(self, pattern: str, *, timeout: float, count: int = 1) -> list[str]:
        """Wait until ``pattern`` (a regex) occurs ``count`` times in the log; return matches."""

        def found() -> list[str] | None:
            if not self.alive() and len(re.findall(pattern, self.output())) < count:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.tail()}")
            matches = re.findall(pattern, self.output())
            return matches if len(matches) >= count else None

        try:
            return wait_for(found, timeout=timeout, what=f"{pattern!r} in {self.name}'s log")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n--- {self.name} log tail ---\n{self.tail()}") from None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM to the whole group (graceful), SIGKILL if it is still there after ``timeout``."""
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(10)
        self._reap_group()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL to every process of the group at once (a crash, an OOM kill, a pulled plug)."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self._reap_group()

    def _reap_group(self) -> None:
        # Leftovers of the group (e.g. prefork children whose parent was killed) go too.
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error):
                if os.getpgid(proc.pid) == self.pid and proc.pid != os.getpid():
                    proc.kill()


def spawn(name: str, argv: list[str], *, env: dict[str, str], log_dir: Path) -> Proc:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    handle = log_path.open("ab")
    popen = subprocess.Popen(
        argv,
        cwd=BASE_DIR,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    return Proc(name, popen, log_path)


def _kill_strays(var_dir: Path) -> None:
    """SIGKILL every process started for ``var_dir`` (found by SHOUWANG_VAR_DIR in its
    environment) that is still running: the last line of defence of the teardown."""
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if proc.pid != os.getpid() and proc.environ().get("SHOUWANG_VAR_DIR") == str(var_dir):
                proc.kill()


# --- Private PostgreSQL and Redis ----------------------------------------------------------------


class Services:
    """A private PostgreSQL and Redis under var/drills/<name>, with a migrated, seeded template."""

    def __init__(self, name: str | None = None, *, keep: bool = False) -> None:
        self.name = name or f"run-{os.getpid()}"
        self.dir = DRILLS_DIR / self.name
        self.keep = keep or os.environ.get("DRILLS_KEEP") == "1"
        self.secret_key = secrets.token_urlsafe(40)
        self.database_url = ""
        self.redis_url = ""

    # Servers ----------------------------------------------------------------------------------

    def _embedded(self, action: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env["SHOUWANG_VAR_DIR"] = str(self.dir)
        done = subprocess.run(
            [str(BIN / "python"), "config/embedded.py", action],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def start(self) -> Services:
        self.dir.mkdir(parents=True, exist_ok=True)
        urls = dict(
            line.split("=", 1) for line in self._embedded("urls").splitlines() if "=" in line
        )
        self.database_url, self.redis_url = urls["DATABASE_URL"], urls["REDIS_URL"]
        assert str(self.dir) in self.database_url and str(self.dir) in self.redis_url, urls
        return self

    @property
    def pg_dir(self) -> Path:
        return self.dir / "postgres"

    @property
    def pg_socket_dir(self) -> str:
        return self.database_url.split("host=", 1)[1]

    @property
    def redis_socket(self) -> str:
        return self.redis_url.removeprefix("unix://")

    def _pg_ctl(self, args: list[str]) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver._commands import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(args, pgdata=self.pg_dir, user=user)

    def postgres_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            return int((self.pg_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def restart_postgres(self, mode: str = "fast") -> float:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back when it returns.
        Returns how long PostgreSQL was unavailable (seconds)."""
        started = time.monotonic()
        self._pg_ctl(["-w", "-t", "60", "restart", "-m", mode])
        return time.monotonic() - started

    def stop_postgres(self, mode: str = "fast") -> None:
        self._pg_ctl(["-w", "-t", "60", "stop", "-m", mode])

    def start_postgres(self) -> None:
        self._embedded("urls")  # ensure_postgres starts it with the same socket options

    def redis_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int((self.dir / "redis" / "redis.pid").read_text().strip())
        return None

    def redis_up(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(unix_socket_path=self.redis_socket, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def stop_redis(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM (clean shutdown, saves) or SIGKILL (crash) to the private Redis."""
        pid = self.redis_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        wait_for(lambda: not self.redis_up(), timeout=15, what="Redis to stop")
        if pid is not None:
            wait_for(lambda: not psutil.pid_exists(pid), timeout=15, what="Redis process to exit")

    def start_redis(self) -> None:
        self._embedded("urls")  # ensure_redis starts it on the same socket
        wait_for(self.redis_up, timeout=15, what="Redis to start")

    def flush_redis(self) -> None:
        import redis

        redis.Redis(unix_socket_path=self.redis_socket).flushall()

    # Databases --------------------------------------------------------------------------------

    def url_for(self, database: str) -> str:
        return f"postgres://postgres@/{database}?host={self.pg_socket_dir}"

    def connect(self, database: str = TEMPLATE_DATABASE, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(
            host=self.pg_socket_dir, user="postgres", dbname=database, connect_timeout=10, **kwargs
        )

    def prepare_template(self) -> None:
        """Migrate the template database and seed the demo county into it (about 20 s)."""
        stack = Stack(self, TEMPLATE_DATABASE, name="template")
        started = time.monotonic()
        stack.manage("migrate", "--noinput", timeout=300)
        # seed_demo refuses the production settings (published demo password): same keys, local.
        stack.manage("seed_demo", timeout=300, DJANGO_SETTINGS_MODULE="config.settings.local")
        # Seeding records visits and reports through the services, which raise their reminders at
        # once (accounts.extensions.case_changed): the drills count what the sweeps create, so the
        # copies start with none, as on the first morning after an import.
        with self.connect(autocommit=True) as conn:
            conn.execute("DELETE FROM visits_notification")
        for old in DRILLS_DIR.glob("static-*"):
            if old != self.static_root:
                shutil.rmtree(old, ignore_errors=True)  # static/ has changed since
        if not (self.static_root / "staticfiles.json").exists():
            # Compressing every file takes ~40 s: kept under var/drills/static-<digest of static/>.
            stack.manage("collectstatic", "--noinput", timeout=300)
        log(f"template database migrated and seeded in {time.monotonic() - started:.1f} s")

    @functools.cached_property
    def static_root(self) -> Path:
        digest = hashlib.sha256()
        for path in sorted((BASE_DIR / "static").rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(BASE_DIR)}:{path.stat().st_size}:".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return DRILLS_DIR / f"static-{digest.hexdigest()[:16]}"

    def create_database(self, name: str) -> str:
        """A fresh copy of the seeded template (no connection may be open on the template)."""
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DATABASE}"')
        return name

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._embedded("stop")
        _kill_strays(self.dir)
        if self.keep:
            (self.dir / "KEPT").touch()  # DRILLS_KEEP=1: left for a post-mortem, not reaped
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def reap_stale() -> list[str]:
        """Stop what a killed earlier run left behind (var/drills/run-<pid> whose pid is gone):
        its processes, its PostgreSQL and Redis; then delete it. Returns the names reaped."""
        reaped = []
        for path in sorted(DRILLS_DIR.glob("run-*")):
            pid = path.name.removeprefix("run-")
            if (pid.isdigit() and psutil.pid_exists(int(pid))) or (path / "KEPT").exists():
                continue
            stale = Services(path.name)
            stale.close()
            reaped.append(path.name)
        return reaped


# --- Debian's PostgreSQL: a primary and its streaming replica ------------------------------------


def debian_pg_bin() -> Path | None:
    """The newest Debian PostgreSQL with pg_basebackup (scripts/loadtest-deps.sh installs it)."""
    found = [
        bindir
        for bindir in Path("/usr/lib/postgresql").glob("*/bin")
        if (bindir / "postgres").exists() and (bindir / "pg_basebackup").exists()
    ]
    return max(found, key=lambda bindir: float(bindir.parent.name), default=None)


class Cluster:
    """A PostgreSQL cluster of Debian's binaries under ``root`` (data, socket, log), run as the
    ``postgres`` user when the drill runs as root (PostgreSQL refuses root). Its processes carry
    SHOUWANG_VAR_DIR, so the harness's teardown (``_kill_strays``) also ends them after an
    interrupted run. ``clone_of`` makes it a streaming replica of another cluster."""

    def __init__(self, root: Path, bindir: Path, var_dir: Path) -> None:
        self.root, self.bin, self.var_dir = root, bindir, var_dir
        self.data = root / "data"
        self.socket_dir = root / "run"
        self.log_path = root / "postgres.log"
        self.settings: dict[str, str] = {}

    def _run(self, *argv: str, timeout: float = 120) -> str:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and k != "PGDATA"}
        env["SHOUWANG_VAR_DIR"] = str(self.var_dir)
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _prepare_dirs(self) -> None:
        for path in (self.root, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(path, "postgres", "postgres")

    def initdb(self) -> None:
        self._prepare_dirs()
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )

    def clone_of(self, primary: Cluster) -> float:
        """``pg_basebackup --write-recovery-conf`` from the running ``primary``: a standby that
        streams from it once started. Returns the seconds it took."""
        self._prepare_dirs()
        started = time.monotonic()
        self._run(
            "pg_basebackup",
            "-h",
            str(primary.socket_dir),
            "-U",
            "postgres",
            "-D",
            str(self.data),
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
        )
        return time.monotonic() - started

    def start(self, **settings: str) -> None:
        """Start (socket only, no TCP) with ``-c name=value`` settings; the same ones again on a
        restart."""
        self.settings = settings or self.settings
        options = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            **self.settings,
        }
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(f"-c {name}={value}" for name, value in options.items()),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.data), "status")
        except RuntimeError:
            return False
        return True

    def url(self, database: str) -> str:
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def connect(self, database: str = "postgres", **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir),
            user="postgres",
            dbname=database,
            connect_timeout=5,
            autocommit=True,
            **kwargs,
        )

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", errors="replace")


# --- Application processes ---------------------------------------------------------------------


@dataclass
class Stack:
    """gunicorn, Celery worker and beat, and management commands, on one drill database."""

    services: Services
    database: str
    name: str = "drill"
    procs: list[Proc] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.services.dir / "logs" / self.name

    def env(self, **overrides: str) -> dict[str, str]:
        secret = self.services.secret_key
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.production",
            SHOUWANG_VAR_DIR=str(self.services.dir),
            DATABASE_URL=self.services.url_for(self.database),
            REDIS_URL=self.services.redis_url,
            DJANGO_SECRET_KEY=secret,
            FIELD_ENCRYPTION_KEYS=derive_key(secret, "fields"),
            ID_HASH_KEY=derive_key(secret, "id-hash"),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_SSL_REDIRECT="false",
            TRUSTED_PROXY_COUNT="0",
            EMAIL_URL="consolemail://",
            STATIC_ROOT=str(self.services.static_root),
            MEDIA_ROOT=str(self.services.dir / "media"),
            # Load drills call the API thousands of times a minute as one user.
            API_RATE_LIMIT_AUTHENTICATED="1000000/m",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def decrypt(self, value: str) -> str:
        """The plaintext of an encrypted text column (core.fields.EncryptedTextField: a Fernet
        token with the drill's key); a value that is no token is returned as it is."""
        from cryptography.fernet import Fernet, InvalidToken

        fernet = Fernet(derive_key(self.services.secret_key, "fields"))
        try:
            return fernet.decrypt(value.encode()).decode()
        except (InvalidToken, ValueError):
            return value

    # Commands ---------------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 120, **env: str) -> str:
        done = subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def api_token(self, username: str) -> str:
        return self.manage("create_api_token", username).strip().splitlines()[-1].strip()

    def send_reminders(self) -> int:
        """The manual ``send_reminders`` command; returns how many new reminders it reported."""
        out = self.manage("send_reminders")
        match = re.search(r"(\d+) new reminders", out)
        assert match, out
        return int(match.group(1))

    # Long-running processes ---------------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], **env: str) -> Proc:
        proc = spawn(name, argv, env=self.env(**env), log_dir=self.log_dir)
        self.procs.append(proc)
        return proc

    def gunicorn(self, *, workers: int = 4, startup: float = 60) -> tuple[Proc, str]:
        """gunicorn as docker-compose.yml runs it (sync workers, --timeout 60), on loopback."""
        port = free_port()
        proc = self.spawn(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
        )
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if not proc.alive():
                raise RuntimeError(f"gunicorn exited:\n{proc.tail()}")
            try:
                return requests.get(f"{base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(healthy, timeout=startup, what="gunicorn /healthz 200")
        return proc, base

    def worker(self, *, concurrency: int = 1, name: str = "worker", timeout: float = 60) -> Proc:
        """``celery -A config worker --pool=prefork``; returns once it is ready for tasks."""
        proc = self.spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}@drill",
            ],
        )
        proc.wait_output(r"ready\.", timeout=timeout)
        return proc

    def beat(self, schedule: Path, *, fake_start: str | None = None, name: str = "beat") -> Proc:
        """``celery -A config beat`` with its schedule file; with ``fake_start`` (ISO 8601 with
        offset) its clock starts there and ticks at the real rate (tests/drills/fakeclock.py)."""
        argv = [str(BIN / "celery")]
        if fake_start:
            argv = [str(BIN / "python"), "tests/drills/fakeclock.py", fake_start, "--", "celery"]
        argv += ["-A", "config", "beat", "--loglevel=INFO", f"--schedule={schedule}"]
        proc = self.spawn(name, argv)
        proc.wait_output(r"beat: Starting", timeout=60)
        return proc

    def relay(self, *, fake_start: str | None = None, name: str = "relay") -> Proc:
        """``manage.py outbox_relay`` (the outbox's relay and daily catch-up), optionally on a
        faked clock like ``beat``."""
        argv = [str(BIN / "python")]
        if fake_start:
            argv += ["tests/drills/fakeclock.py", fake_start, "--"]
        return self.spawn(name, [*argv, "manage.py", "outbox_relay"])

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop()


@contextlib.contextmanager
def drill_stack(services: Services, name: str) -> Iterator[Stack]:
    """A fresh copy of the template database, an empty Redis; every process stopped after."""
    services.flush_redis()
    database = services.create_database(f"drill_{name}")
    stack = Stack(services, database, name=name)
    try:
        yield stack
    finally:
        stack.close()
        services.flush_redis() if services.redis_up() else None


# The columns of the notification_once constraint: one reminder per (recipient, kind, child, report,
# due date).
NOTIFICATION_KEY = "recipient_id, kind, child_id, report_id, due_date"


def notification_counts(conn: psycopg.Connection) -> tuple[int, int]:
    """(notifications stored, distinct by the notification_once key)."""
    return conn.execute(
        f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {NOTIFICATION_KEY}"
        " FROM visits_notification) d) FROM visits_notification"
    ).fetchone()


def reference_sweep(services: Services) -> int:
    """How many notifications ONE ``send_reminders`` creates on an untouched copy of the seeded
    data (today's date, as the drills' own sweeps run today)."""
    reference = Stack(services, services.create_database("drill_reference"), name="reference")
    reported = reference.send_reminders()
    with services.connect(reference.database) as conn:
        stored, distinct = notification_counts(conn)
    assert stored == reported == distinct and stored > 0, (stored, reported, distinct)
    with services.connect(autocommit=True) as conn:
        conn.execute('DROP DATABASE "drill_reference" WITH (FORCE)')
    log(f"one send_reminders on a copy of the data creates {stored} notifications")
    return stored


def celery_client(services: Services):
    """A Celery app that only publishes to the private broker (for ``send_task``)."""
    from celery import Celery

    broker = services.redis_url.replace("unix://", "redis+socket://", 1)
    return Celery("drill-client", broker=broker, set_as_current=False)


def browser_session() -> requests.Session:
    """A requests session that behaves like a browser behind the TLS proxy: the production settings
    mark cookies Secure, and this plain-HTTP loopback client sends them anyway."""
    session = requests.Session()
    send = session.request

    def request(*args: Any, **kwargs: Any) -> requests.Response:
        for cookie in session.cookies:
            cookie.secure = False
        return send(*args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    return session


def form_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return match.group(1) if match else ""


def sign_in(session: requests.Session, base: str, username: str, password: str):
    """Sign in through the login form (CSRF token and Referer as a browser sends them)."""
    page = session.get(f"{base}/accounts/login/", timeout=15)
    return session.post(
        f"{base}/accounts/login/",
        data={
            "csrfmiddlewaretoken": form_token(page.text),
            "username": username,
            "password": password,
        },
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=15,
        allow_redirects=False,
    )


def summary(name: str, **numbers: Any) -> None:
    """The one line per drill that `make drills` output is read for."""
    print("DRILL " + name + " " + " ".join(f"{k}={v}" for k, v in numbers.items()), flush=True)
