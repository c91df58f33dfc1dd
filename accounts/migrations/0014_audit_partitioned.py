"""The audit log partitioned by month (issue 20, point 7): a row per view and per exported row,
kept for years, in one table per month of Asia/Shanghai time, so that a month is found, kept and
archived by itself. Django's model is unchanged (``id`` stays its key; in the database the key is
``(id, at)``, as PostgreSQL requires the partition key in it).

The table is rebuilt under its own name: the old one renamed, a partitioned one created with the
same columns, defaults, indexes (their names kept, so later migrations find them) and the
append-only trigger (declared on the parent, so every partition, those created later included,
has it), the rows copied, the old table dropped. Months from the first record to three months
ahead get their partition; a default partition takes anything outside them (a clock far off), and
the daily job (``accounts.audit_partitions``) creates the months ahead."""

from django.db import migrations

FORWARD = r"""
LOCK TABLE accounts_auditrecord IN ACCESS EXCLUSIVE MODE;
ALTER TABLE accounts_auditrecord RENAME TO accounts_auditrecord_unpartitioned;
ALTER SEQUENCE IF EXISTS accounts_auditrecord_id_seq RENAME TO accounts_auditrecord_unpartitioned_id_seq;
DO $$
DECLARE
    ix record;
BEGIN
    -- Keep the index names for the new table: rename the old ones out of the way first.
    FOR ix IN
        SELECT indexname FROM pg_indexes
        WHERE tablename = 'accounts_auditrecord_unpartitioned' AND schemaname = current_schema()
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', ix.indexname, 'old_' || ix.indexname);
    END LOOP;
END $$;
CREATE TABLE accounts_auditrecord (
    LIKE accounts_auditrecord_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS
) PARTITION BY RANGE (at);
CREATE SEQUENCE accounts_auditrecord_id_seq OWNED BY accounts_auditrecord.id;
SELECT setval(
    'accounts_auditrecord_id_seq',
    (SELECT coalesce(max(id), 0) + 1 FROM accounts_auditrecord_unpartitioned),
    false
);
ALTER TABLE accounts_auditrecord ALTER COLUMN id SET DEFAULT nextval('accounts_auditrecord_id_seq');
ALTER TABLE accounts_auditrecord ADD CONSTRAINT accounts_auditrecord_pkey PRIMARY KEY (id, at);
DO $$
DECLARE
    ix record;
BEGIN
    FOR ix IN
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = 'accounts_auditrecord_unpartitioned' AND schemaname = current_schema()
          AND indexname <> 'old_accounts_auditrecord_pkey'
    LOOP
        EXECUTE replace(
            replace(ix.indexdef, 'accounts_auditrecord_unpartitioned', 'accounts_auditrecord'),
            'INDEX ' || ix.indexname || ' ',
            'INDEX ' || substr(ix.indexname, 5) || ' '
        );
    END LOOP;
END $$;
CREATE TABLE accounts_auditrecord_default PARTITION OF accounts_auditrecord DEFAULT;
DO $$
DECLARE
    first_month date := date_trunc(
        'month',
        coalesce(
            (SELECT min(at) FROM accounts_auditrecord_unpartitioned), now()
        ) AT TIME ZONE 'Asia/Shanghai'
    );
    last_month date := date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') + interval '3 months';
    month date;
BEGIN
    month := first_month;
    WHILE month <= last_month LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF accounts_auditrecord FOR VALUES FROM (%L) TO (%L)',
            'accounts_auditrecord_' || to_char(month, 'YYYY_MM'),
            (month::timestamp AT TIME ZONE 'Asia/Shanghai'),
            ((month + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai')
        );
        month := month + interval '1 month';
    END LOOP;
END $$;
INSERT INTO accounts_auditrecord SELECT * FROM accounts_auditrecord_unpartitioned;
DROP TABLE accounts_auditrecord_unpartitioned;
CREATE TRIGGER accounts_audit_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditrecord
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0013_delivery_digest_channel")]

    # Not reversible: going back would need the rows copied into one table again.
    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]
