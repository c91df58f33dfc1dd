"""seed_scale --children N [--visits-per-child K] — synthetic province-sized data for benchmarks.

Everything is generated inside PostgreSQL with generate_series (no Python loop over rows): a
synthetic province 99 with 16 cities, 96 counties, 1,440 townships and 20,160 villages, a director
per village, a supervisor per township and a civil-affairs officer per county, N children spread
over the villages with plausible schedules, and K visits per child over the past year.
History triggers are switched off for this bulk load. Visit notes are real Fernet tokens (a
pool of them, encrypted once), so pages and exports pay for decryption as they would in
production. Not for production databases.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from core import crypto

PROVINCE = "99"
# Plausible visit notes; each becomes one token, and the visits draw from the pool.
NOTE_PHRASES = (
    "祖母照看，孩子按时上学，情绪稳定。",
    "父母在外务工，每周视频通话一次，孩子希望父母春节回家。",
    "房屋老旧，已提醒监护人注意用电安全和防溺水。",
    "孩子近期成绩下降，已与班主任沟通，安排课后辅导。",
)
NOTE_POOL_SIZE = 64

CITIES, COUNTIES, TOWNSHIPS, VILLAGES = 16, 6, 15, 14

AREAS_SQL = """
INSERT INTO accounts_area (code, name, level, parent_id)
SELECT '990000000000', '规模测试省', 'province', NULL
UNION ALL
SELECT '99' || lpad(c::text, 2, '0') || '00000000', '测试市' || c, 'city', '990000000000'
FROM generate_series(1, %(cities)s) c
UNION ALL
SELECT '99' || lpad(c::text, 2, '0') || lpad(d::text, 2, '0') || '000000',
       '测试县' || c || '-' || d, 'county', '99' || lpad(c::text, 2, '0') || '00000000'
FROM generate_series(1, %(cities)s) c, generate_series(1, %(counties)s) d
UNION ALL
SELECT '99' || lpad(c::text, 2, '0') || lpad(d::text, 2, '0')
       || lpad((100 + t)::text, 3, '0') || '000',
       '测试镇' || c || '-' || d || '-' || t, 'township',
       '99' || lpad(c::text, 2, '0') || lpad(d::text, 2, '0') || '000000'
FROM generate_series(1, %(cities)s) c, generate_series(1, %(counties)s) d,
     generate_series(1, %(townships)s) t
UNION ALL
SELECT '99' || lpad(c::text, 2, '0') || lpad(d::text, 2, '0') || lpad((100 + t)::text, 3, '0')
       || lpad((200 + v)::text, 3, '0'),
       '测试村' || c || '-' || d || '-' || t || '-' || v, 'village',
       '99' || lpad(c::text, 2, '0') || lpad(d::text, 2, '0')
       || lpad((100 + t)::text, 3, '0') || '000'
FROM generate_series(1, %(cities)s) c, generate_series(1, %(counties)s) d,
     generate_series(1, %(townships)s) t, generate_series(1, %(villages)s) v
ON CONFLICT (code) DO NOTHING
"""

STAFF_SQL = """
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                           is_staff, is_active, date_joined, name, phone, role, area_id,
                           digest_channel, wecom_userid)
SELECT '!', false,
       CASE a.level WHEN 'village' THEN 'scale_d_' WHEN 'township' THEN 'scale_s_'
            ELSE 'scale_c_' END || a.code,
       '', '', '', false, true, now(), a.name || '工作人员', '',
       CASE a.level WHEN 'village' THEN 'director' WHEN 'township' THEN 'supervisor'
            ELSE 'civil_affairs' END,
       a.code, 'email', ''
FROM accounts_area a
WHERE a.code LIKE '99%%' AND a.level IN ('village', 'township', 'county')
ON CONFLICT (username) DO NOTHING
"""

CHILDREN_SQL = """
WITH villages AS (
    SELECT code, row_number() OVER (ORDER BY code) - 1 AS n
    FROM accounts_area WHERE code LIKE '99%%' AND level = 'village'
), counted AS (SELECT count(*) AS total FROM villages),
numbered AS (
    -- random() per row: risk colour, categories, and the day of the last home visit
    SELECT i, gen_random_uuid() AS id, random() AS x, random() AS y,
           (random() * 130)::int AS lag
    FROM generate_series(%(start)s, %(stop)s) i
), households AS (
    -- each synthetic child has a household of its own, of the child's id
    INSERT INTO children_household (id, created_at) SELECT id, now() FROM numbered
)
INSERT INTO children_child (
    id, household_id, name, gender, birth_date, id_number_encrypted, id_number_hash,
    id_number_masked, id_number_last4, ethnicity, hukou_registered, hukou_place, village_id,
    address, school_name, grade, school_status, illness, disability_type, disability_grade,
    psych_concern, psych_note, photo, categories, left_behind_reasons, focus_flags,
    is_key_child, risk_level, next_assessment_due, derived_refresh_on, last_contact_on,
    last_home_visit_on, contact_interval_days, home_visit_interval_days, schedule_reason,
    next_contact_due, next_home_visit_due, notes, status, closed_reason, closed_note, closed_on,
    created_by_id, created_at, updated_at, version)
SELECT r.id, r.id, '规模儿童' || r.i,
       CASE WHEN r.i %% 2 = 0 THEN 'male' ELSE 'female' END,
       current_date - (365 + (r.i::bigint * 7919) %% (16 * 365))::int,
       '', encode(sha256(('scale-' || r.i)::text::bytea), 'hex'),
       '9900**********' || lpad((r.i %% 10000)::text, 4, '0'), lpad((r.i %% 10000)::text, 4, '0'),
       '汉族', true, '', v.code, '', '', '', 'in_school', '', '', NULL, false, '', '',
       CASE WHEN r.x < 0.35 THEN ARRAY['left_behind']::varchar[] ELSE ARRAY[]::varchar[] END,
       CASE WHEN r.x < 0.35 THEN ARRAY['父母双方外出务工满3个月']::varchar[]
            ELSE ARRAY[]::varchar[] END,
       CASE WHEN r.x < 0.05 THEN ARRAY['unsupervised']::varchar[] ELSE ARRAY[]::varchar[] END,
       (r.x < 0.05 OR r.y > 0.85),
       CASE WHEN r.y > 0.95 THEN 'high' WHEN r.y > 0.85 THEN 'medium' ELSE 'low' END,
       NULL, NULL, current_date - r.lag, current_date - r.lag,
       CASE WHEN r.y > 0.95 THEN 7 ELSE 30 END,
       CASE WHEN r.y > 0.95 THEN 7 WHEN r.y > 0.85 THEN 30 ELSE 90 END,
       '', current_date - r.lag + 30,
       current_date - r.lag + CASE WHEN r.y > 0.95 THEN 7 WHEN r.y > 0.85 THEN 30 ELSE 90 END,
       '', 'active', '', '', NULL, NULL, now() - interval '400 days', now(), 1
FROM numbered r
CROSS JOIN counted
JOIN villages v ON v.n = r.i %% counted.total
"""

VISITS_SQL = """
INSERT INTO visits_visit (
    id, child_id, visited_on, kind, visitor_id, visitor_role, seen, guardian_present,
    caregiver_capable, in_school, safety_concern, safety_hazards, family_situation, health,
    needs, actions_taken, follow_up_on, follow_up_note, notes, review_status, reviewed_by_id,
    reviewed_at, review_comment, created_at, updated_at)
SELECT gen_random_uuid(), c.id,
       CASE WHEN k = 1 THEN c.last_home_visit_on ELSE current_date - (random() * 365)::int END,
       CASE WHEN k = 1 OR random() < 0.5 THEN 'home' ELSE 'phone' END,
       u.id, 'director', ARRAY['child']::varchar[], true, true, true, false, ARRAY[]::varchar[],
       '', '', '', '', NULL, '',
       -- Case notes are Fernet tokens at rest: one of a pool made in Python (see handle)
       (%(notes)s::text[])[1 + (random() * (cardinality(%(notes)s::text[]) - 1))::int],
       'reviewed', NULL, NULL, '', now(), now()
FROM children_child c
JOIN accounts_user u ON u.username = 'scale_d_' || c.village_id
CROSS JOIN generate_series(1, %(per_child)s) k
WHERE c.village_id LIKE '99%%' AND c.id_number_hash LIKE %(batch)s
"""


class Command(BaseCommand):
    help = "Generate synthetic province-sized data for benchmarks (bulk SQL, no history)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--children", type=int, required=True)
        parser.add_argument("--visits-per-child", type=int, default=4)

    def handle(self, *args, children: int, visits_per_child: int, **options) -> None:
        if children < 1:
            raise CommandError("--children must be at least 1")
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM children_child WHERE village_id LIKE %s", ["99%"])
            existing = cursor.fetchone()[0]
        # No history events for synthetic rows: the table owner switches the triggers off for
        # the load (re-enabled after the commit, when the deferred foreign-key checks have run).
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE children_child DISABLE TRIGGER USER")
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    AREAS_SQL,
                    {
                        "cities": CITIES,
                        "counties": COUNTIES,
                        "townships": TOWNSHIPS,
                        "villages": VILLAGES,
                    },
                )
                cursor.execute(STAFF_SQL)
                step = 200_000
                for start in range(existing + 1, children + 1, step):
                    stop = min(start + step - 1, children)
                    cursor.execute(CHILDREN_SQL, {"start": start, "stop": stop})
                    self.stdout.write(f"children {stop} / {children}")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE children_child ENABLE TRIGGER USER")
        if visits_per_child and existing == 0:
            notes = [
                crypto.encrypt(NOTE_PHRASES[i % len(NOTE_PHRASES)]) for i in range(NOTE_POOL_SIZE)
            ]
            # No history events for the synthetic visits either (visits.Visit is tracked).
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE visits_visit DISABLE TRIGGER USER")
            try:
                # In 16 slices by hash prefix, each its own transaction, to keep memory flat.
                for digit in "0123456789abcdef":
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(
                            VISITS_SQL,
                            {"per_child": visits_per_child, "batch": f"{digit}%", "notes": notes},
                        )
                    self.stdout.write(f"visits slice {digit} done")
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("ALTER TABLE visits_visit ENABLE TRIGGER USER")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_scale: {children} children, {visits_per_child} visits each "
                f"({time.monotonic() - started:.0f} s)"
            )
        )
