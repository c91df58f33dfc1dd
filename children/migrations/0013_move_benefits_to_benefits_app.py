"""The benefits domain moved to the benefits app (issue 15). State only: the tables
(``children_subsidyapplication``, ``children_enrolment`` …) and their rows stay where they are;
benefits/0001_initial takes the models over with ``db_table`` set to the same names."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('children', '0012_encrypt_psych_note'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='enrolment',
                    name='application',
                ),
                migrations.RemoveField(
                    model_name='enrolment',
                    name='child',
                ),
                migrations.RemoveField(
                    model_name='enrolment',
                    name='ended_by',
                ),
                migrations.RemoveField(
                    model_name='entitlement',
                    name='enrolment',
                ),
                migrations.RemoveField(
                    model_name='subsidyapplication',
                    name='child',
                ),
                migrations.RemoveField(
                    model_name='subsidyapplication',
                    name='submitted_by',
                ),
                migrations.RemoveField(
                    model_name='subsidydecision',
                    name='application',
                ),
                migrations.RemoveField(
                    model_name='subsidyevidence',
                    name='application',
                ),
                migrations.RemoveField(
                    model_name='subsidydecision',
                    name='by',
                ),
                migrations.RemoveField(
                    model_name='subsidyevidence',
                    name='uploaded_by',
                ),
                migrations.RemoveField(
                    model_name='subsidystandard',
                    name='area',
                ),
                migrations.RemoveField(
                    model_name='subsidystandard',
                    name='set_by',
                ),
                migrations.DeleteModel(
                    name='EducationRecord',
                ),
                migrations.DeleteModel(
                    name='Enrolment',
                ),
                migrations.DeleteModel(
                    name='Entitlement',
                ),
                migrations.DeleteModel(
                    name='SubsidyApplication',
                ),
                migrations.DeleteModel(
                    name='SubsidyDecision',
                ),
                migrations.DeleteModel(
                    name='SubsidyEvidence',
                ),
                migrations.DeleteModel(
                    name='SubsidyStandard',
                ),

            ],
            database_operations=[],
        ),
    ]
