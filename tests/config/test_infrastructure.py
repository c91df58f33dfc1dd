"""The running stack: health check, real Redis and Celery, production settings, migrations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "outbox_waiting": 0}


def test_healthz_names_the_broker_when_down_but_still_serves(client, db, settings, tmp_path):
    from accounts import outbox

    outbox.enqueue("accounts.ping")
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis.sock"
    response = client.get("/healthz")
    assert response.status_code == 200  # pages and the API work; tasks wait in the outbox
    assert response.json() == {"database": "ok", "broker": "down", "outbox_waiting": 1}


def test_healthz_names_the_database_when_down(client, db, monkeypatch):
    from django.db.utils import OperationalError

    class Unreachable:
        """Stands for a PostgreSQL server that refuses connections, for the health view only."""

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("config.views.connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "down", "broker": "ok", "outbox_waiting": None}


def test_real_postgresql_and_redis():
    from django.conf import settings
    from django.core.cache import cache

    assert connection.vendor == "postgresql"
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("shouwang-test", "守望", 10)
    assert cache.get("shouwang-test") == "守望"


def test_celery_worker_round_trip_through_redis():
    from celery.contrib.testing.worker import start_worker

    from accounts.tasks import ping
    from config.celery_app import app

    assert app.conf.broker_url.startswith(("redis://", "redis+socket://", "rediss://"))
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        assert ping.delay().get(timeout=20) == "pong"


def _env_from_example() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    return env


def test_check_deploy_is_clean_with_the_example_env():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env_from_example(),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_database_url():
    env = _env_from_example()
    env.pop("DATABASE_URL")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode != 0
    assert "DATABASE_URL and REDIS_URL are required" in result.stderr


@pytest.mark.django_db
def test_no_missing_migrations():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_api_answers_503_with_retry_after_when_the_database_is_unreachable(
    api_client, director_a, tmp_path
):
    """PostgreSQL restarting: a real connection failure (no server at that socket), not a 500."""
    from django.db import connection

    client = api_client(director_a)
    connection.close()
    host = connection.settings_dict["HOST"]
    connection.settings_dict["HOST"] = str(tmp_path)  # no PostgreSQL listens here
    try:
        answer = client.get("/api/v1/me")
    finally:
        connection.close()
        connection.settings_dict["HOST"] = host
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert "数据库暂时不可用" in answer.json()["detail"]


def test_a_hanging_test_fails_with_its_stack_instead_of_stalling_ci(request, tmp_path):
    """CI gives the whole run 90 minutes: one test waiting forever (a promise never settled in
    the browser, a lock never released) must fail on its own, saying where it waited, and let the
    rest run. The suite's settings carry a per-test timeout; a test under them that waits forever
    is stopped (here after 2 s instead of the suite's own limit)."""
    limit = float(request.config.getini("timeout"))
    assert 0 < limit <= 600
    assert request.config.getini("timeout_method") == "signal"
    (tmp_path / "test_hang.py").write_text(
        "import threading\n\ndef test_waits_forever():\n    threading.Event().wait()\n"
    )
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:django"),
            *("-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)),
            *("-o", "timeout=2", "-o", "addopts=", str(tmp_path / "test_hang.py")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Timeout (>2.0s)" in result.stdout, result.stdout
    assert "test_hang.py:4: " in result.stdout, result.stdout  # where it waited
