"""Backup and restore drill: a small world made through the services and committed, backed up with
scripts/backup.py, restored with scripts/restore.py into a fresh database on the same server, and
every count in the manifest (each table, the overdue children) compared with the restored copy."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.models import AuditAction, AuditRecord
from accounts.services import audit_log
from children.models import Child
from scripts import backup as backup_script
from scripts import restore as restore_script
from visits.services import visit_record

from ..factories import make_child

pytestmark = pytest.mark.django_db(transaction=True)


def _photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="JPEG")
    return SimpleUploadedFile("visit.jpg", buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def test_backup_restores_into_a_fresh_database(director_a, media, tmp_path):
    today = timezone.localdate()
    with time_machine.travel(timezone.now() - timedelta(days=90), tick=False):
        overdue = make_child(director_a, name="查小雨", gender="female")
    visited = make_child(director_a, name="王大山")
    visit_record(user=director_a, child=visited, visited_on=today, kind="home", photos=[_photo()])
    audit_log(
        user=director_a,
        action=AuditAction.VIEW,
        object_type="child",
        records=[(str(visited.pk), director_a.area_id)],
    )
    assert Child.objects.filter(next_home_visit_due__lt=today).get() == overdue

    target = backup_script.backup(out_root=tmp_path / "backups")
    assert {p.name for p in target.iterdir()} == {"db.dump", "media.tar.gz", "manifest.json"}
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["overdue_children"] == 1
    assert manifest["tables"]["children_child"] == 2
    assert manifest["tables"]["visits_visit"] == 1
    assert manifest["tables"]["visits_visitphoto"] == 1
    assert manifest["tables"]["accounts_auditrecord"] >= 1
    with tarfile.open(target / "media.tar.gz") as tar:
        archived = sorted(m.name for m in tar.getmembers() if m.isfile())
    uploaded = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    assert archived == uploaded and uploaded

    # Without --yes the configured database is never touched.
    with pytest.raises(restore_script.RestoreRefused, match="REPLACE"):
        restore_script.restore(target, media_root=tmp_path / "nowhere")
    assert restore_script.main([str(target), "--media", str(tmp_path / "nowhere")]) == 2

    fresh = f"test_restore_{secrets.token_hex(4)}"
    restored_media = tmp_path / "restored-media"
    try:
        counts = restore_script.restore(target, database=fresh, media_root=restored_media)
        assert restore_script.differences(manifest, counts) == []
        assert counts["tables"] == manifest["tables"]
        assert counts["overdue_children"] == manifest["overdue_children"] == 1
        restored = sorted(
            str(p.relative_to(restored_media)) for p in restored_media.rglob("*") if p.is_file()
        )
        assert restored == uploaded
        # The audit log is append-only in the restored database too.
        with (
            backup_script.connect(backup_script.db_settings(), fresh) as conn,
            pytest.raises(Exception, match="append-only"),
        ):
            conn.execute("DELETE FROM accounts_auditrecord")
        # A second restore over the first (--clean) gives the same counts.
        again = restore_script.restore(target, database=fresh, media_root=restored_media)
        assert restore_script.differences(manifest, again) == []
    finally:
        restore_script.drop_database(fresh)
    assert AuditRecord.objects.exists()
