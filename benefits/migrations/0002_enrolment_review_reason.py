"""Why an enrolment's review fell due early (a change to the file or the family broke the rule),
read by the reminder sweep as the subsidy_review's detail. A database default too, so rows
written by SQL that names no such column (and code from before it) still insert."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='enrolment',
            name='review_reason',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=200),
        ),
    ]
