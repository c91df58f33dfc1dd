"""Files of children with full-time education recorded get their ``education_continues_until``
(children 0014 added it empty), so the first run of the daily ageing-out job does not close a file
kept open past 18 for education: the rule of benefits.rules.education_continues_until, as
benefits.services.EDUCATION_UNTIL_SQL writes it (copied: a migration does not import app code)."""

from django.db import migrations

BACKFILL_SQL = """
UPDATE children_child c
SET education_continues_until = s.until
FROM (
    SELECT k.id,
           CASE
               WHEN e.any_open THEN make_date(r.last_year, 12, 31)
               WHEN e.last_ended IS NOT NULL
                   THEN LEAST(make_date(r.last_year, 12, 31), e.last_ended)
           END AS until
    FROM children_child k
    CROSS JOIN LATERAL (
        SELECT max(year)::int AS last_year FROM children_educationrecord WHERE child_id = k.id
    ) r
    CROSS JOIN LATERAL (
        SELECT bool_or(end_month IS NULL) AS any_open, max(ended_on) AS last_ended
        FROM children_enrolment WHERE child_id = k.id
    ) e
    WHERE r.last_year IS NOT NULL
) s
WHERE c.id = s.id AND c.education_continues_until IS DISTINCT FROM s.until;
-- The history rows these updates wrote have deferred foreign-key checks: run them now, so a later
-- migration in the same transaction may alter the tables they point to.
SET CONSTRAINTS ALL IMMEDIATE;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('benefits', '0002_enrolment_review_reason'),
        ('children', '0014_reopen_transfers_ageing'),
    ]

    operations = [
        migrations.RunSQL(BACKFILL_SQL, migrations.RunSQL.noop),
    ]
