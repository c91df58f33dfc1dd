"""Issue 15: the demo app is installed by the local, test and load-test settings only. Production
has neither the demo data nor its commands (seed_demo, totp_code, seed_scale)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..config.test_infrastructure import _env_from_example

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMANDS = {"seed_demo", "totp_code", "seed_scale"}

_APPS_AND_COMMANDS = """
import json, django
from django.conf import settings
from django.core.management import get_commands
django.setup()
print(json.dumps({"apps": settings.INSTALLED_APPS, "commands": get_commands()}))
"""


def _apps_and_commands(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _APPS_AND_COMMANDS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_has_no_demo_app_and_no_demo_commands():
    found = _apps_and_commands(_env_from_example())
    assert "demo" not in found["apps"]
    assert not DEMO_COMMANDS & set(found["commands"])
    # What an operator runs in production stays (issue_enrolment_code for the first officer).
    assert {"load_areas", "add_staff", "issue_enrolment_code", "create_api_token"} <= set(
        found["commands"]
    )


def test_load_test_settings_have_the_demo_commands():
    """benchmarks/loadtest/run.py seeds its template database with seed_demo and seed_scale."""
    env = {**_env_from_example(), "DJANGO_SETTINGS_MODULE": "config.settings.loadtest"}
    found = _apps_and_commands(env)
    assert found["apps"][-1] == "demo"
    assert {name: found["commands"][name] for name in DEMO_COMMANDS} == dict.fromkeys(
        DEMO_COMMANDS, "demo"
    )


@pytest.mark.parametrize("settings_module", ["config.settings.local", "config.settings.test"])
def test_local_and_test_settings_have_the_demo_commands(settings_module):
    found = _apps_and_commands({**os.environ, "DJANGO_SETTINGS_MODULE": settings_module})
    assert found["apps"][-1] == "demo"
    assert {name: found["commands"][name] for name in DEMO_COMMANDS} == dict.fromkeys(
        DEMO_COMMANDS, "demo"
    )


def test_this_suite_runs_with_the_demo_app(settings):
    assert "demo" in settings.INSTALLED_APPS
