"""VillageStats moved to the dashboards app (issue 15). State only: the table
``reporting_villagestats`` and its rows stay where they are; dashboards/0001_initial takes the
model over with ``db_table`` set to the same name."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0004_encrypt_case_notes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='VillageStats')],
            database_operations=[],
        ),
    ]
