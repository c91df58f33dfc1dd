"""Issue 15: the benefit models moved from children to benefits in the migration state only.
Rows written before the move are read through the new models after it, the tables keep their
names, the content types follow the models, and the move runs backwards too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from benefits.models import (
    EducationRecord,
    Enrolment,
    Entitlement,
    SubsidyApplication,
    SubsidyDecision,
    SubsidyEvidence,
    SubsidyStandard,
)

from ..conftest import COUNTY_A
from ..factories import make_child

BEFORE_MOVE = [("children", "0012_encrypt_psych_note"), ("benefits", None)]
MODELS = {
    "SubsidyApplication": "children_subsidyapplication",
    "SubsidyDecision": "children_subsidydecision",
    "SubsidyStandard": "children_subsidystandard",
    "Enrolment": "children_enrolment",
    "Entitlement": "children_entitlement",
    "EducationRecord": "children_educationrecord",
    "SubsidyEvidence": "children_subsidyevidence",
}


def migrate(targets):
    """Migrate the test database to ``targets``; the apps of that state."""
    # Rows written in this test's transaction leave deferred foreign-key checks pending, and
    # PostgreSQL refuses to ALTER a table with pending trigger events: run them now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return MigrationExecutor(connection).migrate(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def content_type_ids(app_label: str) -> dict[str, int]:
    return dict(
        ContentType.objects.filter(
            app_label=app_label, model__in=[name.lower() for name in MODELS]
        ).values_list("model", "pk")
    )


@pytest.mark.django_db
def test_rows_written_before_the_move_are_read_after_it(areas, director_a, civil_affairs):
    child = make_child(director_a, name="迁移前", birth_date=date(2009, 3, 1))
    content_types = content_type_ids("benefits")
    assert len(content_types) == len(MODELS)

    old_apps = migrate(BEFORE_MOVE)
    assert "benefits" not in {config.label for config in old_apps.get_app_configs()}
    assert content_type_ids("children") == content_types  # the permissions follow the models
    old = {name: old_apps.get_model("children", name) for name in MODELS}
    for name, table in MODELS.items():
        assert old[name]._meta.db_table == table
    application = old["SubsidyApplication"].objects.create(
        child_id=child.pk,
        programme="orphan_allowance",
        status="approved",
        note="父母双亡",
        submitted_by_id=director_a.pk,
        decided_on=date(2026, 10, 20),
    )
    old["SubsidyDecision"].objects.create(
        application=application,
        decision="approve",
        from_status="township_approved",
        to_status="approved",
        by_id=civil_affairs.pk,
        note="同意纳入",
    )
    old["SubsidyEvidence"].objects.create(
        application=application,
        description="死亡证明",
        file="subsidy-evidence/2026/10/a.pdf",
        content_type="application/pdf",
        uploaded_by_id=director_a.pk,
    )
    enrolment = old["Enrolment"].objects.create(
        application=application,
        child_id=child.pk,
        programme="orphan_allowance",
        start_month=date(2026, 11, 1),
        next_review_on=date(2027, 4, 21),
        payee_name="祖母",
    )
    old["Entitlement"].objects.create(
        enrolment=enrolment, month=date(2026, 11, 1), amount=Decimal("1350.00")
    )
    old["SubsidyStandard"].objects.create(
        area_id=COUNTY_A,
        programme="orphan_allowance",
        effective_month=date(2026, 1, 1),
        amount=Decimal("1350.00"),
        set_by_id=civil_affairs.pk,
    )
    old["EducationRecord"].objects.create(
        child_id=child.pk, year=2027, school="泾县中学", recorded_by_id=director_a.pk
    )

    # The rows' deferred foreign-key checks, before the forward migration alters the tables.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    new_apps = migrate(latest())

    for name, table in MODELS.items():
        with pytest.raises(LookupError):
            new_apps.get_model("children", name)
        assert new_apps.get_model("benefits", name)._meta.db_table == table
    assert content_type_ids("benefits") == content_types
    assert content_type_ids("children") == {}
    moved = SubsidyApplication.objects.get()
    assert (moved.pk, moved.child, moved.note) == (application.pk, child, "父母双亡")
    assert SubsidyDecision.objects.get().application == moved
    assert SubsidyEvidence.objects.get().description == "死亡证明"
    enrolment = Enrolment.objects.get()
    assert enrolment.application == moved and enrolment.child == child
    assert (enrolment.payee_name, enrolment.review_reason) == ("祖母", "")
    assert [(e.month, e.amount) for e in Entitlement.objects.all()] == [
        (date(2026, 11, 1), Decimal("1350.00"))
    ]
    assert SubsidyStandard.objects.get().amount == Decimal("1350.00")
    assert EducationRecord.objects.get().child == child
    assert list(child.enrolments.all()) == [enrolment]  # the child's reverse relations hold
