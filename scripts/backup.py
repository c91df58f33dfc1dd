"""Back up the database (pg_dump custom format) and the uploaded files into one directory.

Usage: make backup   (or: .venv/bin/python scripts/backup.py [--out DIR])

Writes var/backups/shouwang-YYYYmmdd-HHMMSS/ with
  db.dump        pg_dump -Fc of the configured database (restore with scripts/restore.py)
  media.tar.gz   everything under MEDIA_ROOT (an empty archive when there is nothing)
  manifest.json  when, from which database, row counts of every table and the overdue count,
                 for checking a restore (scripts/restore.py prints the same counts afterwards)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_BACKUP_ROOT = BASE_DIR / "var" / "backups"
# The tables a person checks first; the manifest counts every table.
MAIN_TABLES = [
    "accounts_area",
    "accounts_user",
    "children_household",
    "children_child",
    "children_familymember",
    "visits_visit",
    "visits_visitphoto",
    "children_careagreement",
    "reporting_mandatoryreport",
    "children_subsidyapplication",
    "children_enrolment",
    "accounts_auditrecord",
]


def setup_django() -> None:
    """Make the project importable and configure Django (a no-op when it already is)."""
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def pg_binary(name: str) -> str:
    """The PostgreSQL client matching the server: SHOUWANG_PG_BIN, else the embedded server's bin
    directory (pgserver) when installed, else whatever is on PATH."""
    override = os.environ.get("SHOUWANG_PG_BIN")
    if override:
        return str(Path(override) / name)
    import importlib.util

    spec = importlib.util.find_spec("pgserver")  # located, not imported
    bin_dir = None
    if spec is not None and spec.origin:
        bin_dir = Path(spec.origin).resolve().parent / "pginstall" / "bin"
    if bin_dir is not None and (bin_dir / name).exists():
        return str(bin_dir / name)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the PostgreSQL client or set SHOUWANG_PG_BIN")
    return found


def db_settings() -> dict[str, Any]:
    """The default connection's settings (under pytest: the test database)."""
    from django.db import connections

    return dict(connections["default"].settings_dict)


# libpq parameters that django-environ may put in OPTIONS (e.g. ?host=/socket/dir, ?sslmode=…).
LIBPQ_OPTIONS = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "service": "PGSERVICE",
    "passfile": "PGPASSFILE",
}


def conn_params(settings: dict[str, Any]) -> dict[str, str]:
    """libpq keyword → value for the configured server (no database name)."""
    params = {
        arg: str(settings[key])
        for key, arg in (("HOST", "host"), ("PORT", "port"), ("USER", "user"))
        if settings.get(key)
    }
    if settings.get("PASSWORD"):
        params["password"] = str(settings["PASSWORD"])
    for key, value in (settings.get("OPTIONS") or {}).items():
        if key in LIBPQ_OPTIONS and value not in (None, ""):
            params[key] = str(value)
    return params


def pg_env(settings: dict[str, Any]) -> dict[str, str]:
    """Environment for pg_dump/pg_restore: the connection in PG* variables (no password on
    the command line)."""
    env = dict(os.environ)
    names = {**LIBPQ_OPTIONS, "user": "PGUSER", "password": "PGPASSWORD"}
    for key, value in conn_params(settings).items():
        env[names[key]] = value
    return env


def connect(settings: dict[str, Any], dbname: str):
    """A psycopg connection (autocommit) to ``dbname`` on the configured server."""
    import psycopg

    return psycopg.connect(autocommit=True, dbname=dbname, **conn_params(settings))


def today() -> date:
    from django.utils import timezone

    return timezone.localdate()  # Asia/Shanghai


def database_counts(settings: dict[str, Any], dbname: str, on: date | None = None) -> dict:
    """Row counts of every table in the public schema and the overdue count (active children whose
    next home visit was due before ``on``, today in Asia/Shanghai by default)."""
    on = on or today()
    with connect(settings, dbname) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        names = [row[0] for row in cur.fetchall()]
        tables = {}
        for name in names:
            cur.execute(f'SELECT count(*) FROM "{name}"')  # names come from pg_tables
            tables[name] = cur.fetchone()[0]
        overdue = None
        if "children_child" in tables:
            cur.execute(
                "SELECT count(*) FROM children_child"
                " WHERE status = 'active' AND next_home_visit_due < %s",
                [on],
            )
            overdue = cur.fetchone()[0]
    return {"tables": tables, "overdue_children": overdue, "overdue_on": on.isoformat()}


def archive_media(media_root: Path, target: Path) -> int:
    """Write ``target`` (tar.gz) with every file under ``media_root``; return how many files."""
    count = 0
    with tarfile.open(target, "w:gz") as tar:
        if media_root.is_dir():
            for path in sorted(media_root.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(media_root)), recursive=False)
                    count += 1
    return count


def backup(*, out_root: Path | None = None, media_root: Path | None = None) -> Path:
    """Dump the configured database and archive the media; return the backup directory."""
    from django.conf import settings as django_settings

    settings = db_settings()
    media_root = Path(media_root or django_settings.MEDIA_ROOT)
    started = datetime.now().astimezone()
    target = Path(out_root or DEFAULT_BACKUP_ROOT) / f"shouwang-{started:%Y%m%d-%H%M%S}"
    suffix = 1
    while target.exists():  # two backups within one second
        target = target.with_name(f"shouwang-{started:%Y%m%d-%H%M%S}-{suffix}")
        suffix += 1
    target.mkdir(parents=True)
    pg_dump = pg_binary("pg_dump")
    subprocess.run(  # fixed arguments, no shell
        [pg_dump, "-Fc", "--no-password", "-f", str(target / "db.dump"), settings["NAME"]],
        env=pg_env(settings),
        check=True,
    )
    files = archive_media(media_root, target / "media.tar.gz")
    counts = database_counts(settings, settings["NAME"])
    version = subprocess.run(
        [pg_dump, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    manifest = {
        "created_at": started.isoformat(timespec="seconds"),
        "database": settings["NAME"],
        "pg_dump": version,
        "media_files": files,
        **counts,
    }
    (target / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return target


def print_counts(counts: dict, out=sys.stdout) -> None:
    tables = counts["tables"]
    for name in MAIN_TABLES:
        if name in tables:
            print(f"  {name:32} {tables[name]:>10}", file=out)
    print(f"  ({len(tables)} tables counted in all)", file=out)
    print(f"  overdue children on {counts['overdue_on']}: {counts['overdue_children']}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, help=f"parent directory (default {DEFAULT_BACKUP_ROOT})"
    )
    args = parser.parse_args(argv)
    setup_django()
    target = backup(out_root=args.out)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    print(f"Backup written to {target}")
    print(f"  db.dump {(target / 'db.dump').stat().st_size:,} bytes ({manifest['pg_dump']})")
    print(f"  media.tar.gz {manifest['media_files']} files")
    print_counts(manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
