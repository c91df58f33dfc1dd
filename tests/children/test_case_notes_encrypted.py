"""Free-text case notes are encrypted at rest (domain §9): ciphertext in the tables and in the
history copies, plaintext through the API, pages and exports; legacy plaintext is read as it is
and encrypted by the data migrations; rotated keys still open old rows."""

from __future__ import annotations

import importlib
import json
from datetime import date
from types import SimpleNamespace

import pgtrigger
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

from children.models import Child, ChildEvent
from children.selectors import timeline_for
from children.services import child_update
from core import crypto
from core.fields import SealedText, encrypt_rows
from dashboards.exports import handover_lines
from reporting.models import MandatoryReport
from reporting.services import report_file
from visits.models import Visit

from ..factories import make_child

pytestmark = pytest.mark.django_db

NOTES = "祖母照看，孩子夜里常哭"
FINDINGS = {"family_situation": "父母在浙江务工", "needs": "心理疏导", "actions_taken": "联系学校"}


def raw(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def is_token_of(stored: str, plain: str) -> bool:
    return stored != plain and plain not in stored and crypto.decrypt_or_none(stored) == plain


@pytest.fixture
def child(director_a):
    return make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))


@pytest.fixture
def fresh_keys():
    """The key ring is cached: clear it around a test that changes FIELD_ENCRYPTION_KEYS."""
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def post_visit(client, child, **body):
    payload = {"date": str(timezone.localdate()), "kind": "home", **body}
    return client.post(
        f"/api/v1/children/{child.pk}/visits", payload, content_type="application/json"
    )


def test_visit_notes_are_ciphertext_in_the_table_and_plaintext_in_the_api(
    api_client, client_for, child, director_a
):
    response = post_visit(
        api_client(director_a),
        child,
        notes=NOTES,
        actions_taken="联系学校",
        findings={"needs": "心理疏导", "safety_concern": False},
    )
    assert response.status_code == 201, response.content
    visit_id = response.json()["id"]
    [row] = raw("SELECT notes, needs, actions_taken FROM visits_visit WHERE id = %s", [visit_id])
    plain = [NOTES, "心理疏导", "联系学校"]
    assert all(is_token_of(stored, text) for stored, text in zip(row, plain, strict=True))

    item = api_client(director_a).get(f"/api/v1/children/{child.pk}/visits").json()["items"][0]
    assert item["notes"] == NOTES and item["findings"]["needs"] == "心理疏导"
    assert item["actions_taken"] == "联系学校"
    page = client_for(director_a).get(f"/visits/{visit_id}/").content.decode()
    assert NOTES in page and "心理疏导" in page


def test_blank_notes_are_stored_blank(api_client, child, director_a):
    visit_id = post_visit(api_client(director_a), child).json()["id"]
    assert raw("SELECT notes, needs FROM visits_visit WHERE id = %s", [visit_id]) == [("", "")]
    assert Visit.objects.filter(notes="").count() == 1


def test_saving_unchanged_notes_keeps_the_token_and_adds_no_history(child, director_a):
    child = child_update(user=director_a, child=child, changes={"notes": NOTES})
    events = ChildEvent.objects.filter(pgh_obj_id=child.pk).count()
    [(token,)] = raw("SELECT notes FROM children_child WHERE id = %s", [child.pk])
    again = Child.objects.get(pk=child.pk)
    assert isinstance(again.notes, SealedText) and again.notes == NOTES
    again.save()
    assert raw("SELECT notes FROM children_child WHERE id = %s", [child.pk]) == [(token,)]
    # The section's form sends the same notes back with a change elsewhere: one event, and the
    # notes keep their token.
    child_update(user=director_a, child=again, changes={"notes": str(NOTES), "grade": "三年级"})
    assert raw("SELECT notes FROM children_child WHERE id = %s", [child.pk]) == [(token,)]
    child_update(user=director_a, child=again, changes={"notes": str(NOTES)})
    assert ChildEvent.objects.filter(pgh_obj_id=child.pk).count() == events + 1


def test_history_holds_ciphertext_and_the_timeline_shows_plaintext(child, director_a):
    child = child_update(user=director_a, child=child, changes={"notes": "初次走访"})
    child_update(user=director_a, child=child, changes={"notes": NOTES})
    stored = [
        n
        for (n,) in raw(
            "SELECT notes FROM children_childevent WHERE pgh_obj_id = %s "
            "AND notes <> '' ORDER BY pgh_id",
            [child.pk],
        )
    ]
    assert len(stored) == 2
    assert is_token_of(stored[0], "初次走访") and is_token_of(stored[1], NOTES)
    changes = [c for entry in timeline_for(child) for c in entry.changes]
    assert any(old == "初次走访" and new == NOTES for _label, old, new in changes)


def test_report_description_and_handover_are_plaintext(civil_affairs, child, reporter, director_a):
    report = report_file(
        user=reporter,
        situation="living_alone",
        discovered_at=timezone.now(),
        description="孩子独自在家，无人照看",
        child=child,
    )
    [(stored,)] = raw(
        "SELECT description FROM reporting_mandatoryreport WHERE id = %s", [report.pk]
    )
    assert is_token_of(stored, "孩子独自在家，无人照看")
    assert MandatoryReport.objects.get(pk=report.pk).description == "孩子独自在家，无人照看"

    from visits.services import visit_record

    visit_record(
        user=director_a, child=child, visited_on=timezone.localdate(), kind="home", **FINDINGS
    )
    county = civil_affairs.area
    records = [
        json.loads(line)
        for chunk in handover_lines(user=civil_affairs, area=county)
        for line in chunk.decode().splitlines()
    ]
    [report_record] = [r for r in records if r["type"] == "report"]
    [visit_record_out] = [r for r in records if r["type"] == "visit"]
    assert report_record["description"] == "孩子独自在家，无人照看"
    assert visit_record_out["family_situation"] == "父母在浙江务工"
    assert "gAAAAA" not in "".join(json.dumps(r, ensure_ascii=False) for r in records)


def test_lookups_other_than_blank_are_refused():
    with pytest.raises(FieldError):
        list(Visit.objects.filter(notes__icontains="哭"))
    with pytest.raises(ValueError, match="encrypted"):
        list(Visit.objects.filter(notes="哭"))
    assert list(Visit.objects.filter(notes__isnull=True)) == []


def run_migration(app: str, name: str, direction: str = "encrypt_case_notes") -> None:
    """The data migration's function on the models as they were at that migration (benefits'
    models, for one, have moved to another app since)."""
    module = importlib.import_module(f"{app}.migrations.{name}")
    state = MigrationExecutor(connection).loader.project_state((app, name))
    getattr(module, direction)(state.apps, SimpleNamespace(connection=connection))


def test_legacy_plaintext_is_read_as_it_is_and_the_data_migration_encrypts_it(
    api_client, child, director_a
):
    visit_id = post_visit(api_client(director_a), child, notes=NOTES).json()["id"]
    raw("UPDATE visits_visit SET needs = %s WHERE id = %s", ["旧的明文", visit_id])
    visit = Visit.objects.get(pk=visit_id)
    assert visit.needs == "旧的明文" and visit.notes == NOTES

    run_migration("visits", "0003_encrypt_case_notes")
    [(needs, notes)] = raw("SELECT needs, notes FROM visits_visit WHERE id = %s", [visit_id])
    assert is_token_of(needs, "旧的明文")
    assert is_token_of(notes, NOTES)  # already a token: left as it was
    assert Visit.objects.get(pk=visit_id).needs == "旧的明文"
    # Idempotent: a second run changes nothing.
    assert (
        encrypt_rows(Visit, ["family_situation", "health", "needs", "actions_taken", "notes"]) == 0
    )
    assert raw("SELECT needs FROM visits_visit WHERE id = %s", [visit_id]) == [(needs,)]

    run_migration("visits", "0003_encrypt_case_notes", "decrypt_case_notes")
    assert raw("SELECT needs, notes FROM visits_visit WHERE id = %s", [visit_id]) == [
        ("旧的明文", NOTES)
    ]


def test_children_migration_encrypts_the_file_and_its_history_without_new_events(child, director_a):
    child = child_update(user=director_a, child=child, changes={"notes": NOTES})
    raw(
        "UPDATE children_childevent SET notes = %s WHERE pgh_obj_id = %s AND notes <> ''",
        [NOTES, child.pk],
    )
    with pgtrigger.ignore("children.Child:update_update"):  # a legacy row, as before
        raw("UPDATE children_child SET notes = %s WHERE id = %s", [NOTES, child.pk])
    events = ChildEvent.objects.filter(pgh_obj_id=child.pk).count()

    run_migration("children", "0011_encrypt_case_notes")
    [(stored,)] = raw("SELECT notes FROM children_child WHERE id = %s", [child.pk])
    assert is_token_of(stored, NOTES)
    history = raw(
        "SELECT notes FROM children_childevent WHERE pgh_obj_id = %s AND notes <> ''", [child.pk]
    )
    assert history and all(is_token_of(n, NOTES) for (n,) in history)
    assert ChildEvent.objects.filter(pgh_obj_id=child.pk).count() == events


def test_the_data_migration_refuses_a_token_no_key_opens(api_client, child, director_a):
    visit_id = post_visit(api_client(director_a), child).json()["id"]
    lost = Fernet(Fernet.generate_key()).encrypt("丢失的密钥".encode()).decode()
    raw("UPDATE visits_visit SET notes = %s WHERE id = %s", [lost, visit_id])
    assert Visit.objects.get(pk=visit_id).notes == lost  # shown as stored, never ""
    with pytest.raises(RuntimeError, match="FIELD_ENCRYPTION_KEYS"):
        run_migration("visits", "0003_encrypt_case_notes")


def test_rotated_keys_still_open_old_notes(fresh_keys, settings, child, director_a):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    visit = Visit.objects.create(
        child=child, visited_on=date(2026, 11, 1), kind="phone", visitor=director_a, notes=NOTES
    )
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *old_keys]):
        crypto._fernet.cache_clear()
        assert Visit.objects.get(pk=visit.pk).notes == NOTES
        newer = Visit.objects.create(
            child=child,
            visited_on=date(2026, 11, 2),
            kind="phone",
            visitor=director_a,
            notes="新密钥",
        )
        [(token,)] = raw("SELECT notes FROM visits_visit WHERE id = %s", [newer.pk])
        assert Fernet(new_key.encode()).decrypt(token.encode()).decode() == "新密钥"


def test_the_mental_health_concern_note_is_encrypted_and_limited_to_500(
    client_for, director_a, child
):
    concern = "孩子近期沉默寡言，夜间失眠"
    child_update(
        user=director_a, child=child, changes={"psych_concern": True, "psych_note": concern}
    )
    [(stored,)] = raw("SELECT psych_note FROM children_child WHERE id = %s", [child.pk])
    assert is_token_of(stored, concern)
    assert all(concern not in row[0] for row in raw("SELECT psych_note FROM children_childevent"))
    assert concern in client_for(director_a).get(f"/children/{child.pk}/").content.decode()
    with pytest.raises(ValidationError) as refused:
        child_update(user=director_a, child=child, changes={"psych_note": "长" * 501})
    assert "psych_note" in refused.value.message_dict
