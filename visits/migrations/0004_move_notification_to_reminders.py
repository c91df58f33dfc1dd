"""Notification moved to the reminders app (issue 15). State only: the table
``visits_notification`` and its rows stay where they are; reminders/0001_initial takes the model
over with ``db_table`` set to the same name."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('visits', '0003_encrypt_case_notes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Notification')],
            database_operations=[],
        ),
    ]
