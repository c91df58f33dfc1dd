"""The per-village summary, taken over from reporting (issue 15) without touching the database:
the table keeps its name (``db_table``) and its rows. State only, after reporting/0005 dropped
the model from reporting's state."""

import django.db.models.deletion
from django.db import migrations, models


def content_type_to(app_label):
    """Move the model's content type (and the permissions hanging off it) to ``app_label``."""

    def move(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(
            schema_editor.connection.alias
        )
        source = "reporting" if app_label == "dashboards" else "dashboards"
        if not content_types.filter(app_label=app_label, model="villagestats").exists():
            content_types.filter(app_label=source, model="villagestats").update(
                app_label=app_label
            )

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0012_staff_audit_tokens_enrolment_codes'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('reporting', '0005_move_village_stats_to_dashboards'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='VillageStats',
                    fields=[
                        ('village', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='accounts.area')),
                        ('as_of', models.DateTimeField()),
                        ('as_of_date', models.DateField()),
                        ('children_total', models.PositiveIntegerField(default=0)),
                        ('category_left_behind', models.PositiveIntegerField(default=0)),
                        ('category_orphan', models.PositiveIntegerField(default=0)),
                        ('category_de_facto_unsupported', models.PositiveIntegerField(default=0)),
                        ('category_hiv_affected', models.PositiveIntegerField(default=0)),
                        ('category_severe_disability', models.PositiveIntegerField(default=0)),
                        ('category_serious_illness', models.PositiveIntegerField(default=0)),
                        ('category_low_income_family', models.PositiveIntegerField(default=0)),
                        ('category_guardian_abuse', models.PositiveIntegerField(default=0)),
                        ('category_street_child', models.PositiveIntegerField(default=0)),
                        ('category_emergency_affected', models.PositiveIntegerField(default=0)),
                        ('category_single_parent', models.PositiveIntegerField(default=0)),
                        ('risk_low', models.PositiveIntegerField(default=0)),
                        ('risk_medium', models.PositiveIntegerField(default=0)),
                        ('risk_high', models.PositiveIntegerField(default=0)),
                        ('key_children', models.PositiveIntegerField(default=0)),
                        ('home_visits_overdue', models.PositiveIntegerField(default=0)),
                        ('contacts_overdue', models.PositiveIntegerField(default=0)),
                        ('never_visited', models.PositiveIntegerField(default=0)),
                        ('left_behind_with_agreement', models.PositiveIntegerField(default=0)),
                        ('left_behind_without_agreement', models.PositiveIntegerField(default=0)),
                        ('out_of_school', models.PositiveIntegerField(default=0)),
                        ('no_hukou', models.PositiveIntegerField(default=0)),
                        ('unsupervised', models.PositiveIntegerField(default=0)),
                        ('parent_contact_overdue', models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        'verbose_name': 'village statistics',
                        'verbose_name_plural': 'village statistics',
                        'db_table': 'reporting_villagestats',
                        'indexes': [models.Index(fields=['village'], name='villagestats_prefix', opclasses=['varchar_pattern_ops'])],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to("dashboards"), content_type_to("reporting")),
    ]
