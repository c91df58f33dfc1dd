"""Reminders, taken over from visits (issue 15) without touching the database: the table keeps
its name (``db_table``), its rows, indexes and constraints. State only, after visits/0004 dropped
the model from visits' state."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def content_type_to(app_label):
    """Move the model's content type (and the permissions hanging off it) to ``app_label``."""

    def move(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(
            schema_editor.connection.alias
        )
        source = "visits" if app_label == "reminders" else "reminders"
        if not content_types.filter(app_label=app_label, model="notification").exists():
            content_types.filter(app_label=source, model="notification").update(
                app_label=app_label
            )

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('children', '0012_encrypt_psych_note'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('visits', '0004_move_notification_to_reminders'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('visit_overdue', 'Visit overdue'), ('visit_due_soon', 'Visit due soon'), ('escalation', 'Escalation'), ('report_deadline', 'Report deadline'), ('agreement_expiring', 'Care agreement expiring'), ('subsidy_review', 'Subsidy review due')], max_length=30, verbose_name='kind')),
                        ('report_id', models.UUIDField(blank=True, null=True)),
                        ('due_date', models.DateField(blank=True, null=True, verbose_name='due date')),
                        ('created_on', models.DateField(verbose_name='created on')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('detail', models.CharField(blank=True, default='', max_length=200)),
                        ('read_at', models.DateTimeField(blank=True, null=True)),
                        ('digest_sent_at', models.DateTimeField(blank=True, null=True)),
                        ('child', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='children.child')),
                        ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'reminder',
                        'verbose_name_plural': 'reminders',
                        'db_table': 'visits_notification',
                        'ordering': ['-created_on', '-created_at'],
                        'indexes': [models.Index(condition=models.Q(('read_at__isnull', True)), fields=['recipient', '-created_on'], name='notification_unread'), models.Index(condition=models.Q(('digest_sent_at__isnull', True)), fields=['recipient'], name='notification_undigested')],
                        'constraints': [models.UniqueConstraint(fields=('recipient', 'kind', 'child', 'report_id', 'due_date'), name='notification_once', nulls_distinct=False), models.CheckConstraint(condition=models.Q(('kind__in', ['visit_overdue', 'visit_due_soon', 'escalation', 'report_deadline', 'agreement_expiring', 'subsidy_review'])), name='notification_kind_valid')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to("reminders"), content_type_to("visits")),
    ]
