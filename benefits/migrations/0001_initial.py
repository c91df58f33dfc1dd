"""Benefits, taken over from children (issue 15) without touching the database: the tables keep
their names (``db_table``) and their rows. State only, after children/0013 dropped the models
from children's state; the content types (and the permissions hanging off them) move too."""

import core.fields
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


MODELS = (
    "subsidyapplication",
    "subsidydecision",
    "subsidystandard",
    "enrolment",
    "entitlement",
    "educationrecord",
    "subsidyevidence",
)


def content_types_to(app_label):
    """Move the models' content types (and the permissions hanging off them) to ``app_label``."""

    def move(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(
            schema_editor.connection.alias
        )
        source = "children" if app_label == "benefits" else "benefits"
        for model in MODELS:
            if not content_types.filter(app_label=app_label, model=model).exists():
                content_types.filter(app_label=source, model=model).update(app_label=app_label)

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0012_staff_audit_tokens_enrolment_codes'),
        ('children', '0013_move_benefits_to_benefits_app'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SubsidyApplication',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('programme', models.CharField(max_length=40, verbose_name='programme')),
                        ('status', models.CharField(choices=[('submitted', 'Submitted'), ('township_approved', 'Approved by the township'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('returned', 'Returned for more evidence')], default='submitted', max_length=20, verbose_name='status')),
                        ('note', core.fields.EncryptedTextField(blank=True, default='', verbose_name='note')),
                        ('submitted_at', models.DateTimeField(auto_now_add=True, verbose_name='submitted at')),
                        ('township_approved_on', models.DateField(blank=True, null=True, verbose_name='approved by the township on')),
                        ('decided_on', models.DateField(blank=True, null=True, verbose_name='decided on')),
                        ('version', models.PositiveIntegerField(default=1)),
                        ('child', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='subsidy_applications', to='children.child', verbose_name='child')),
                        ('submitted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='submitted by')),
                    ],
                    options={
                        'verbose_name': 'subsidy application',
                        'verbose_name_plural': 'subsidy applications',
                        'db_table': 'children_subsidyapplication',
                        'ordering': ['submitted_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Enrolment',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('programme', models.CharField(max_length=40, verbose_name='programme')),
                        ('start_month', models.DateField(verbose_name='paid from')),
                        ('end_month', models.DateField(blank=True, null=True, verbose_name='last month paid')),
                        ('exit_reason', models.CharField(blank=True, choices=[('turned_18', 'Turned 18'), ('deceased', 'Died'), ('adopted', 'Adopted'), ('moved_away', 'Moved away'), ('parent_regained_capacity', 'A parent regained capacity'), ('file_closed', 'File closed'), ('one_off', 'One-off payment made'), ('other', 'Other')], default='', max_length=30, verbose_name='exit reason')),
                        ('end_reason', models.CharField(blank=True, default='', max_length=200, verbose_name='exit note')),
                        ('ended_on', models.DateField(blank=True, null=True, verbose_name='ended on')),
                        ('next_review_on', models.DateField(blank=True, null=True, verbose_name='next review')),
                        ('last_reviewed_on', models.DateField(blank=True, null=True, verbose_name='last reviewed')),
                        ('payee_name', models.CharField(blank=True, default='', max_length=50, verbose_name='payee')),
                        ('payee_account_encrypted', models.TextField(blank=True, default='', editable=False)),
                        ('payee_account_masked', models.CharField(blank=True, default='', max_length=40, verbose_name='bank account')),
                        ('child', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='enrolments', to='children.child')),
                        ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('application', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='enrolment', to='benefits.subsidyapplication')),
                    ],
                    options={
                        'verbose_name': 'enrolment',
                        'verbose_name_plural': 'enrolments',
                        'db_table': 'children_enrolment',
                    },
                ),
                migrations.CreateModel(
                    name='SubsidyDecision',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('decision', models.CharField(max_length=10)),
                        ('from_status', models.CharField(max_length=20)),
                        ('to_status', models.CharField(max_length=20)),
                        ('at', models.DateTimeField(auto_now_add=True)),
                        ('note', core.fields.EncryptedTextField(blank=True, default='')),
                        ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='benefits.subsidyapplication')),
                        ('by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'children_subsidydecision',
                        'ordering': ['at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='SubsidyEvidence',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('description', models.CharField(max_length=100, verbose_name='document')),
                        ('file', models.FileField(upload_to='subsidy-evidence/%Y/%m/', verbose_name='file')),
                        ('content_type', models.CharField(editable=False, max_length=30)),
                        ('uploaded_at', models.DateTimeField(auto_now_add=True)),
                        ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='evidence', to='benefits.subsidyapplication')),
                        ('uploaded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'evidence',
                        'verbose_name_plural': 'evidence',
                        'db_table': 'children_subsidyevidence',
                        'ordering': ['uploaded_at'],
                    },
                ),
                migrations.CreateModel(
                    name='SubsidyStandard',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('programme', models.CharField(max_length=40, verbose_name='programme')),
                        ('effective_month', models.DateField(verbose_name='from month')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=9, verbose_name='yuan per month')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('area', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.area')),
                        ('set_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'subsidy standard',
                        'verbose_name_plural': 'subsidy standards',
                        'db_table': 'children_subsidystandard',
                    },
                ),
                migrations.CreateModel(
                    name='EducationRecord',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('year', models.PositiveSmallIntegerField(verbose_name='year')),
                        ('school', models.CharField(max_length=100, verbose_name='school')),
                        ('recorded_at', models.DateTimeField(auto_now_add=True)),
                        ('child', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='education_records', to='children.child', verbose_name='child')),
                        ('recorded_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'full-time education record',
                        'verbose_name_plural': 'full-time education records',
                        'db_table': 'children_educationrecord',
                        'ordering': ['-year'],
                        'constraints': [models.UniqueConstraint(fields=('child', 'year'), name='education_once_a_year')],
                    },
                ),
                migrations.CreateModel(
                    name='Entitlement',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('month', models.DateField()),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=9)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('enrolment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entitlements', to='benefits.enrolment')),
                    ],
                    options={
                        'db_table': 'children_entitlement',
                        'ordering': ['month'],
                        'constraints': [models.UniqueConstraint(fields=('enrolment', 'month'), name='entitlement_once_a_month')],
                    },
                ),
                migrations.AddIndex(
                    model_name='subsidyapplication',
                    index=models.Index(fields=['status', 'submitted_at'], name='subsidy_app_status'),
                ),
                migrations.AddConstraint(
                    model_name='subsidyapplication',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['submitted', 'township_approved', 'approved', 'rejected', 'returned'])), name='subsidy_app_status_valid'),
                ),
                migrations.AddIndex(
                    model_name='enrolment',
                    index=models.Index(fields=['programme', 'start_month'], name='enrolment_programme'),
                ),
                migrations.AddIndex(
                    model_name='enrolment',
                    index=models.Index(condition=models.Q(('end_month__isnull', True)), fields=['next_review_on'], name='enrolment_review_open'),
                ),
                migrations.AddConstraint(
                    model_name='enrolment',
                    constraint=models.CheckConstraint(condition=models.Q(('end_month__isnull', True), models.Q(('exit_reason', ''), _negated=True), _connector='OR'), name='enrolment_exit_has_reason'),
                ),
                migrations.AddConstraint(
                    model_name='enrolment',
                    constraint=models.CheckConstraint(condition=models.Q(('exit_reason__in', ['turned_18', 'deceased', 'adopted', 'moved_away', 'parent_regained_capacity', 'file_closed', 'one_off', 'other', ''])), name='enrolment_exit_reason_valid'),
                ),
                migrations.AddConstraint(
                    model_name='subsidystandard',
                    constraint=models.UniqueConstraint(fields=('area', 'programme', 'effective_month'), name='standard_once_per_month'),
                ),
                migrations.AddConstraint(
                    model_name='subsidystandard',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='standard_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='subsidystandard',
                    constraint=models.CheckConstraint(condition=models.Q(('effective_month__day', 1)), name='standard_first_of_month'),
                ),

            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to("benefits"), content_types_to("children")),
    ]
