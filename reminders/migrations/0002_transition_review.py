"""A new reminder kind, transition_review (孤儿成年后安置): the kind's check constraint changes."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reminders', '0001_initial'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='notification',
            name='notification_kind_valid',
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('visit_overdue', 'Visit overdue'), ('visit_due_soon', 'Visit due soon'), ('escalation', 'Escalation'), ('report_deadline', 'Report deadline'), ('agreement_expiring', 'Care agreement expiring'), ('subsidy_review', 'Subsidy review due'), ('transition_review', 'Transition review at 18')], max_length=30, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['visit_overdue', 'visit_due_soon', 'escalation', 'report_deadline', 'agreement_expiring', 'subsidy_review', 'transition_review'])), name='notification_kind_valid'),
        ),
    ]
