"""Settings are declarations: importing them starts no server, creates no file, imports no app."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from config import embedded
from core.keys import derive_key

from .test_infrastructure import _env_from_example

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_DIR = ROOT / "config" / "settings"
# core is the floor of pure helpers (no models, no app imports): settings may use it.
APPS = {path.parent.name for path in ROOT.glob("*/apps.py")} - {"core"}

_IMPORT_SETTINGS = """
import json, psutil
from django.conf import settings
print(json.dumps({
    "database_host": settings.DATABASES["default"]["OPTIONS"]["host"],
    "redis_url": settings.REDIS_URL,
    "children": [p.pid for p in psutil.Process().children(recursive=True)],
}))
"""


def _without_servers(var_dir: Path, settings_module: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(SHOUWANG_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE=settings_module)
    return env


@pytest.mark.parametrize("settings_module", ["config.settings.local", "config.settings.test"])
def test_importing_settings_without_urls_starts_and_creates_nothing(settings_module, tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_SETTINGS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_without_servers(var_dir, settings_module),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # The addresses the embedded servers would have under that directory, computed only.
    assert found["database_host"] == str(var_dir / "postgres")
    assert found["redis_url"] == f"unix://{var_dir / 'redis' / 'redis.sock'}"
    assert found["children"] == []
    assert list(var_dir.iterdir()) == []
    strays = [
        proc.info["cmdline"]
        for proc in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(proc.info["cmdline"] or [])
    ]
    assert strays == []


def test_a_long_var_dir_gives_short_socket_paths_without_creating_them(tmp_path):
    var_dir = tmp_path / ("x" * 120)
    database = embedded.database_url(var_dir)
    redis = embedded.redis_url(var_dir)
    assert str(var_dir) not in database and str(var_dir) not in redis
    assert len(redis.removeprefix("unix://")) <= 100
    assert len(database.split("host=", 1)[1] + "/.s.PGSQL.5432") <= 100
    assert not var_dir.exists()
    assert not Path(database.split("host=", 1)[1]).exists()
    assert not Path(redis.removeprefix("unix://")).parent.exists()


def _project_imports(path: Path) -> set[str]:
    """Dotted names of the modules ``path`` imports (anywhere in it), relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, [base, node.module]))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_no_settings_module_imports_an_app():
    """Not directly, nor through the project modules the settings import (config.embedded,
    core.keys and the packages above them), nor inside a function."""
    assert {"accounts", "children"} <= APPS
    seen: set[Path] = set()
    todo = sorted(SETTINGS_DIR.glob("*.py"))
    offenders = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _project_imports(path):
            if name.split(".")[0] in APPS:
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                if module := _module_file(".".join(parts[:depth])):
                    todo.append(module)
    assert offenders == []
    assert ROOT / "config" / "embedded.py" in seen and ROOT / "core" / "keys.py" in seen


def test_derived_development_keys_are_unchanged():
    """Data encrypted under development and test settings must stay readable: same keys as
    before the derivation moved from children.idcard to core.keys."""
    secret = "dev-only-insecure-key-change-me-in-production-0123456789"
    assert derive_key(secret, "fields") == "6MAw3hlTE_4vIqgHgbtY4-eLiPj2ZxXwEe3KO13y9AA="
    assert derive_key(secret, "id-hash") == "nrsx_WYpdb7dyqu7OVgzmnNyvitUkaqdA_z-4m3vJ2o="
    assert derive_key("x", "fields") == "Uu-CSYXM5v_0B7d-vRE-TzITKU1hLIaAyc63W4waC34="


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("REDIS_URL", "DATABASE_URL and REDIS_URL are required"),
        ("FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEYS and ID_HASH_KEY are required"),
        ("ID_HASH_KEY", "FIELD_ENCRYPTION_KEYS and ID_HASH_KEY are required"),
    ],
)
def test_production_refuses_to_start_without_urls_or_keys(missing, message, tmp_path):
    env = _env_from_example()
    env.pop(missing)
    env["SHOUWANG_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DATABASES"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []
