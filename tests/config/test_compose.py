"""docker-compose.yml (issue 20, "past one machine"): PostgreSQL tuned and ready to stream, an
optional replica cloned with pg_basebackup, and nothing required of it by the application."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TUNED = {
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_wal_size",
    "checkpoint_completion_target",
    "random_page_cost",
    "wal_level",
    "max_wal_senders",
    "hot_standby",
}


def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def settings_of(command: list[str]) -> dict[str, str]:
    """``-c name=value`` pairs of a postgres command line."""
    pairs = [command[i + 1] for i, arg in enumerate(command) if arg == "-c"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_primary_is_tuned_and_can_stream_to_a_replica():
    postgres = services()["postgres"]
    assert postgres["command"][0] == "postgres"
    tuned = settings_of(postgres["command"])
    assert tuned.keys() >= TUNED
    assert tuned["random_page_cost"] == "1.1" and tuned["wal_level"] == "replica"
    assert tuned["checkpoint_completion_target"] == "0.9"
    assert re.fullmatch(r"\$\{PG_SHARED_BUFFERS:-\d+GB\}", tuned["shared_buffers"])
    assert postgres["shm_size"]
    # Replication connections from the replica's container are allowed, with a password.
    hba = tuned["hba_file"]
    mount = next(v for v in postgres["volumes"] if v.endswith(f":{hba}:ro"))
    rules = (ROOT / mount.split(":")[0]).read_text()
    assert re.search(r"^host\s+replication\s+all\s+all\s+scram-sha-256$", rules, re.M)
    assert re.search(r"^host\s+all\s+all\s+all\s+scram-sha-256$", rules, re.M)


def test_the_replica_is_optional_and_cloned_with_pg_basebackup():
    every = services()
    standby = every["postgres-replica"]
    assert standby["profiles"] == ["replica"]
    assert standby["image"] == every["postgres"]["image"]  # the same major version
    script = " ".join(standby["entrypoint"])
    assert "pg_basebackup" in script and "--write-recovery-conf" in script
    assert "--wal-method=stream" in script and "exec postgres" in script
    tuned = settings_of(standby["command"])
    assert tuned["hot_standby"] == "on" and tuned["hot_standby_feedback"] == "on"
    # A standby needs at least the primary's memory settings.
    primary = settings_of(every["postgres"]["command"])
    for name in ("shared_buffers", "max_worker_processes", "max_wal_senders"):
        assert tuned[name] == primary[name], name
    # Nothing waits for it: the application reads the primary while it is missing or down.
    for name, service in every.items():
        assert "postgres-replica" not in (service.get("depends_on") or {}), name
    volumes = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["volumes"]
    assert "pgreplica" in volumes


def test_the_example_env_names_the_replica_url():
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^# DATABASE_REPLICA_URL=postgres://.*@postgres-replica:5432/", example, re.M)
