"""Issue 15: VillageStats moved from reporting to dashboards in the migration state only. Rows
written before the move are read through the new model after it, and nothing else moves."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dashboards.models import VillageStats

from ..conftest import VILLAGE_1, VILLAGE_2, VILLAGE_3

BEFORE_MOVE = [("reporting", "0004_encrypt_case_notes"), ("dashboards", None)]
AS_OF = datetime(2026, 11, 20, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def migrate(targets):
    """Migrate the test database to ``targets``; the apps of that state."""
    return MigrationExecutor(connection).migrate(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def content_type_ids(app_label: str) -> list[int]:
    return list(
        ContentType.objects.filter(app_label=app_label, model="villagestats").values_list(
            "pk", flat=True
        )
    )


@pytest.mark.django_db
def test_rows_written_before_the_move_are_read_after_it(areas):
    content_type = content_type_ids("dashboards")
    old_apps = migrate(BEFORE_MOVE)
    assert "dashboards" not in {config.label for config in old_apps.get_app_configs()}
    assert content_type_ids("reporting") == content_type  # the permissions follow the model
    OldVillageStats = old_apps.get_model("reporting", "VillageStats")
    assert OldVillageStats._meta.db_table == "reporting_villagestats"
    for index, code in enumerate((VILLAGE_1, VILLAGE_2, VILLAGE_3), start=1):
        OldVillageStats.objects.create(
            village_id=code,
            as_of=AS_OF,
            as_of_date=date(2026, 11, 20),
            children_total=10 * index,
            category_left_behind=index,
            risk_high=index + 1,
            home_visits_overdue=index + 2,
        )
    before = OldVillageStats.objects.count()

    new_apps = migrate(latest())

    with pytest.raises(LookupError):
        new_apps.get_model("reporting", "VillageStats")
    assert new_apps.get_model("dashboards", "VillageStats")._meta.db_table == (
        "reporting_villagestats"
    )
    assert VillageStats.objects.count() == before == 3
    rows = {row.village_id: row for row in VillageStats.objects.all()}
    assert rows[VILLAGE_2].children_total == 20
    assert rows[VILLAGE_2].category_left_behind == 2
    assert rows[VILLAGE_2].risk_high == 3
    assert rows[VILLAGE_2].home_visits_overdue == 4
    assert rows[VILLAGE_3].as_of == AS_OF
    assert content_type_ids("dashboards") == content_type
    assert content_type_ids("reporting") == []
