"""Restore a backup written by scripts/backup.py: the database and the uploaded files.

Usage: make restore BACKUP=var/backups/shouwang-… RESTORE_ARGS="--database scratch"
   or: .venv/bin/python scripts/restore.py BACKUP_DIR [--database NAME] [--media DIR] [--yes]

--database NAME  restore into NAME on the configured server (created when missing); without it
                 the configured database itself is REPLACED, which needs --yes.
--media DIR      unpack the uploaded files into DIR instead of MEDIA_ROOT.

The database's schemas are dropped and the dump's SQL run in one transaction (psql), so the
append-only trigger on the audit log is dropped with its table and recreated after the data is
loaded (it refuses only UPDATE and DELETE), and a failure leaves the database as it was.
Afterwards the row counts are compared with the backup's manifest.json; any difference exits 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from scripts.backup import (  # noqa: E402
    connect,
    database_counts,
    db_settings,
    pg_binary,
    pg_env,
    print_counts,
    setup_django,
)


class RestoreRefused(Exception):
    pass


def create_database(name: str) -> bool:
    """Create ``name`` on the configured server unless it exists; True when created."""
    from psycopg import sql

    settings = db_settings()
    with connect(settings, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def drop_database(name: str) -> None:
    from psycopg import sql

    settings = db_settings()
    if name == settings["NAME"]:
        raise RestoreRefused(f"refusing to drop the configured database {name}")
    with connect(settings, "postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# What the restore replaces, dropped in the restore's own transaction. Not pg_restore --clean:
# its DROP of a partition's index (the audit log's monthly partitions) is refused while the index
# is attached to the partitioned table's ("cannot drop index … because index … requires it").
CLEAN_SQL = (
    "DROP SCHEMA IF EXISTS audit_archive CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
)


def restore_database(dump: Path, dbname: str) -> None:
    """Replace everything in ``dbname`` with the dump, in one transaction: psql runs the schema
    drop above, then the dump's SQL as pg_restore writes it (streamed, never held in memory),
    stopping at the first error, which rolls all of it back."""
    settings = db_settings()
    env = pg_env(settings)
    script = subprocess.Popen(  # fixed arguments, no shell
        [pg_binary("pg_restore"), "--no-owner", "--exit-on-error", "--file", "-", str(dump)],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        subprocess.run(  # fixed arguments, no shell
            [
                pg_binary("psql"),
                "--no-psqlrc",
                "--quiet",
                "--no-password",
                "--single-transaction",
                "--set",
                "ON_ERROR_STOP=1",
                "--dbname",
                dbname,
                "--command",
                CLEAN_SQL,
                "--file",
                "-",
            ],
            env=env,
            stdin=script.stdout,
            stdout=subprocess.DEVNULL,
            check=True,
        )
    finally:
        script.stdout.close()
        if script.wait() != 0:
            raise subprocess.CalledProcessError(script.returncode, "pg_restore")


def unpack_media(archive: Path, media_root: Path) -> int:
    """Unpack ``archive`` into ``media_root`` (existing files of the same name are replaced,
    others left alone); return how many files."""
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tar.extractall(media_root, members=members, filter="data")
    return len(members)


def restore(
    backup_dir: Path,
    *,
    database: str | None = None,
    media_root: Path | None = None,
    yes: bool = False,
) -> dict:
    """Restore ``backup_dir`` into ``database`` (default: the configured one, only with ``yes``)
    and its media into ``media_root`` (default MEDIA_ROOT); return the restored counts."""
    from django.conf import settings as django_settings

    backup_dir = Path(backup_dir)
    dump = backup_dir / "db.dump"
    manifest = json.loads((backup_dir / "manifest.json").read_text(encoding="utf-8"))
    if not dump.is_file():
        raise RestoreRefused(f"{dump} is missing")
    configured = db_settings()["NAME"]
    target = database or configured
    if target == configured and not yes:
        raise RestoreRefused(
            f"this would REPLACE everything in the configured database {configured!r} "
            f"with the backup from {manifest['created_at']}. Stop the web and Celery processes, "
            "then run again with --yes (or restore into another database with --database NAME)."
        )
    if target != configured:
        create_database(target)
    restore_database(dump, target)
    archive = backup_dir / "media.tar.gz"
    media_root = Path(media_root or django_settings.MEDIA_ROOT)
    files = unpack_media(archive, media_root) if archive.is_file() else 0
    from datetime import date

    counts = database_counts(db_settings(), target, on=date.fromisoformat(manifest["overdue_on"]))
    counts["media_files"] = files
    counts["media_root"] = str(media_root)
    counts["database"] = target
    return counts


def differences(manifest: dict, counts: dict) -> list[str]:
    """What differs between a manifest and restored counts (empty when they match)."""
    problems = []
    for name, expected in manifest["tables"].items():
        got = counts["tables"].get(name)
        if got != expected:
            problems.append(f"{name}: backup {expected}, restored {got}")
    if counts["overdue_children"] != manifest["overdue_children"]:
        problems.append(
            f"overdue children: backup {manifest['overdue_children']}, "
            f"restored {counts['overdue_children']}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backup_dir", type=Path)
    parser.add_argument("--database", help="target database (default: the configured one)")
    parser.add_argument(
        "--media", type=Path, help="unpack uploaded files here (default MEDIA_ROOT)"
    )
    parser.add_argument("--yes", action="store_true", help="really replace the configured database")
    args = parser.parse_args(argv)
    setup_django()
    try:
        counts = restore(
            args.backup_dir, database=args.database, media_root=args.media, yes=args.yes
        )
    except RestoreRefused as exc:
        print(f"\n*** RESTORE REFUSED: {exc}\n", file=sys.stderr)
        return 2
    manifest = json.loads((args.backup_dir / "manifest.json").read_text(encoding="utf-8"))
    print(f"Restored {args.backup_dir} into database {counts['database']}")
    print(f"  {counts['media_files']} files into {counts['media_root']}")
    print_counts(counts)
    problems = differences(manifest, counts)
    for problem in problems:
        print(f"  MISMATCH {problem}", file=sys.stderr)
    if problems:
        return 1
    print("  every count matches the backup's manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
