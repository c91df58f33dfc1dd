"""The reminder sweep and the delivery of reminders.

The sweep (domain §4) is one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` per rule over the whole
database: the rules read the due dates the apps below keep (the child's schedule, care
agreements, benefit reviews, mandatory reports) and never call into them. Delivery sends each
person one digest of what is new, by e-mail and text message.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone, translation

from accounts import outbox
from accounts import rules as area_rules
from accounts.models import Role, User
from accounts.services import policy_joins_sql, policy_sql
from benefits import rules as benefit_rules
from children import rules as child_rules
from children import schedule
from core.clock import today
from reporting import deadlines
from visits import rules as visit_rules

from .models import Notification, NotificationKind

logger = logging.getLogger(__name__)


_policy_joins = policy_joins_sql
_POLICY_JOINS = policy_joins_sql("c.village_id")
_policy = policy_sql


# The sweep's rules: (kind, recipients' role, the recipient's area as derived from the village,
# the rows it is about, the due date, the condition). Each is one INSERT … SELECT.
_CHILDREN = "children_child c"
_AGREEMENTS = "children_careagreement a JOIN children_child c ON c.id = a.child_id"
AGREEMENT_EXPIRING_DAYS = 30
# 孤儿成年后安置: county civil affairs review what follows the 18th birthday of an orphan or a de
# facto unsupported child this many days before it.
TRANSITION_REVIEW_DAYS = 30
_EIGHTEENTH_BIRTHDAY = schedule.eighteenth_birthday_sql("c.")


class Rule(NamedTuple):
    kind: str
    role: str
    recipient_area: str
    source: str
    due: str
    condition: str
    detail: str = "''"  # SQL text of the reminder's detail line
    # About children under 18 only (children.schedule.under_18_sql): a file kept open past 18 for
    # full-time education has no visits or care agreements due. Its benefit is still reviewed.
    under_18_only: bool = True


_RULES = [
    Rule(
        NotificationKind.VISIT_DUE_SOON,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.due_soon_sql("c.next_home_visit_due"),
    ),
    Rule(
        NotificationKind.VISIT_OVERDUE,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.overdue_sql("c.next_home_visit_due"),
    ),
    Rule(
        NotificationKind.ESCALATION,
        Role.SUPERVISOR,
        "left(c.village_id, 9) || '000'",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.overdue_sql(
            "c.next_home_visit_due", days_late=_policy("escalate_supervisor_days")
        ),
    ),
    Rule(
        NotificationKind.ESCALATION,
        Role.CIVIL_AFFAIRS,
        "left(c.village_id, 6) || '000000'",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.overdue_sql("c.next_home_visit_due", days_late=_policy("escalate_county_days")),
    ),
    Rule(
        # A caregiver found unable, and no new agreement by the date set: the supervisor is told.
        NotificationKind.ESCALATION,
        Role.SUPERVISOR,
        "left(c.village_id, 9) || '000'",
        _AGREEMENTS,
        "a.replacement_due",
        "a.status = 'needs_replacement' AND a.replacement_due < %(today)s AND NOT EXISTS ("
        "SELECT 1 FROM children_careagreement b WHERE b.child_id = a.child_id "
        "AND b.status = 'active')",
    ),
    Rule(
        # A benefit's periodic review (every 6 months) falls due within a week.
        NotificationKind.SUBSIDY_REVIEW,
        Role.DIRECTOR,
        "c.village_id",
        "children_enrolment e JOIN children_child c ON c.id = e.child_id",
        "e.next_review_on",
        f"e.end_month IS NULL AND e.next_review_on <= %(today)s + {schedule.DUE_SOON_DAYS}",
        # Why, when a change to the family broke the benefit's rule (benefits stores it).
        "e.review_reason",
        under_18_only=False,
    ),
    Rule(
        NotificationKind.AGREEMENT_EXPIRING,
        Role.DIRECTOR,
        "c.village_id",
        _AGREEMENTS,
        "a.end_date",
        f"a.status = 'active' AND a.end_date BETWEEN %(today)s "
        f"AND %(today)s + {AGREEMENT_EXPIRING_DAYS}",
    ),
    Rule(
        # An orphan or de facto unsupported child turns 18 (the file closes that day): county
        # civil affairs prepare what follows (孤儿成年后安置) from a month before. ``due <= today``:
        # a missed day is caught up until the birthday.
        NotificationKind.TRANSITION_REVIEW,
        Role.CIVIL_AFFAIRS,
        "left(c.village_id, 6) || '000000'",
        _CHILDREN,
        f"({_EIGHTEENTH_BIRTHDAY} - {TRANSITION_REVIEW_DAYS})",
        f"c.categories && ARRAY['orphan', 'de_facto_unsupported']::varchar[] "
        f"AND {_EIGHTEENTH_BIRTHDAY} - {TRANSITION_REVIEW_DAYS} <= %(today)s",
        # Names the birthday: "2026-03-01 年满18周岁".
        f"to_char({_EIGHTEENTH_BIRTHDAY}, 'YYYY-MM-DD') || ' 年满18周岁'",
    ),
]


def _local_date(timestamp_sql: str) -> str:
    return f"(({timestamp_sql}) AT TIME ZONE 'Asia/Shanghai')::date"


# Mandatory reports (domain §6), all report_deadline to whoever is responsible for the report —
# the township supervisor, or for a report of a county or above (no township chosen) the civil
# affairs of its area — and to county civil affairs when a stage is still open a week after its
# limit: (role, recipient's area, due date, condition).
_SUPERVISOR_OF = "left(r.area_id, 9) || '000'"
_COUNTY_OF = "left(r.area_id, 6) || '000000'"  # a city's or province's own code for theirs
_COUNTY_ROUTED = deadlines.routed_to_county_sql()
_POLICE_DUE = deadlines.police_due_sql()
_ASSESSMENT_DUE = f"r.police_received_at + {_policy('report_assessment_days')} * interval '1 day'"
_STAGE_DUE = deadlines.stage_due_sql()
_COUNTY_DUE = deadlines.county_due_sql()
# (due date, condition) of the rules that remind the person responsible for the report.
_RESPONSIBLE_RULES = [
    # No police notification a day after filing.
    (_local_date(_POLICE_DUE), f"r.police_notified_at IS NULL AND {_POLICE_DUE} < %(now)s"),
    # Not assessed within 7 days of the police receiving it.
    (
        _local_date(_ASSESSMENT_DUE),
        f"r.stage IN ('police_received', 'emergency_handled') AND {_ASSESSMENT_DUE} < %(now)s",
    ),
    # Any stage open longer than its limit.
    (_local_date(_STAGE_DUE), deadlines.late_sql()),
]
_REPORT_RULES = [
    # A report of a village or township (no supervisor sits at a county's code: the supervisor
    # rules find nobody for a county's report).
    *((Role.SUPERVISOR, _SUPERVISOR_OF, due, condition) for due, condition in _RESPONSIBLE_RULES),
    # A report of a county or above.
    *(
        (Role.CIVIL_AFFAIRS, _COUNTY_OF, due, f"{_COUNTY_ROUTED} AND {condition}")
        for due, condition in _RESPONSIBLE_RULES
    ),
    # A stage still open a week after its limit: the county too.
    (Role.CIVIL_AFFAIRS, _COUNTY_OF, _local_date(_COUNTY_DUE), f"{_COUNTY_DUE} < %(now)s"),
]


# A report of a county or above, not yet taken up: its civil affairs are told at once (the
# outbox task of filing, report_filed_notify), or at the next sweep if that task has not run.
_REPORT_FILED_SQL = f"""
    SELECT u.id, r.child_id, r.id, {_local_date("r.filed_at")},
           left('强制报告：' || r.child_name, 200)
    FROM reporting_mandatoryreport r
    JOIN accounts_user u
      ON u.area_id = {_COUNTY_OF} AND u.role = 'civil_affairs' AND u.is_active
    WHERE r.stage = 'reported' AND {_COUNTY_ROUTED} AND r.filed_at <= %(now)s
"""


# A visit found danger (a safety concern, or a child under 16 found alone) and no report followed
# within 24 hours: the township supervisor is told (domain §6).
_VISIT_DANGER_SQL = f"""
    SELECT u.id, c.id, NULL::uuid, {_local_date("v.created_at + interval '24 hours'")}, ''
    FROM visits_visit v
    JOIN children_child c ON c.id = v.child_id
    JOIN accounts_user u
      ON u.area_id = left(c.village_id, 9) || '000' AND u.role = 'supervisor' AND u.is_active
    WHERE {visit_rules.prompts_report_sql("v.", "c.")} AND c.status = 'active'
      AND v.created_at + interval '24 hours' < %(now)s
      AND v.created_at > %(now)s - interval '30 days'
      AND NOT EXISTS (
          SELECT 1 FROM reporting_mandatoryreport r
          WHERE r.child_id = v.child_id AND r.filed_at >= v.created_at - interval '1 day'
      )
"""


# A personal safety protection order nearing its expiry: the supervisor is reminded 14 days before.
PROTECTION_ORDER_NOTICE_DAYS = 14
_PROTECTION_ORDER_SQL = f"""
    SELECT u.id, r.child_id, r.id, i.expires_on, ''
    FROM reporting_intervention i
    JOIN reporting_mandatoryreport r ON r.id = i.report_id
    JOIN accounts_user u
      ON u.area_id = left(r.area_id, 9) || '000' AND u.role = 'supervisor' AND u.is_active
    WHERE i.kind = 'protection_order' AND r.stage <> 'closed'
      AND i.expires_on BETWEEN %(today)s AND %(today)s + {PROTECTION_ORDER_NOTICE_DAYS}
"""


# A transfer of a child's file not answered within a week: the supervisor of the side that
# must answer is told (domain §2).
_TRANSFER_WAITING_SQL = f"""
    SELECT u.id, t.child_id, NULL::uuid,
           {_local_date(f"t.created_at + interval '{child_rules.TRANSFER_ANSWER_DAYS} days'")},
           '转移申请{child_rules.TRANSFER_ANSWER_DAYS}天未处理'
    FROM children_transfer t
    JOIN accounts_user u
      ON u.role = 'supervisor' AND u.is_active
     AND u.area_id = left(CASE WHEN t.requested_by_side = 'sender' THEN t.to_village_id
                               ELSE t.from_village_id END, 9) || '000'
    WHERE t.status = 'pending'
      AND t.created_at + interval '{child_rules.TRANSFER_ANSWER_DAYS} days' < %(now)s
"""


def _programme_names_sql(column: str) -> str:
    with translation.override("zh-hans"):
        whens = " ".join(
            f"WHEN '{code}' THEN '{benefit_rules.programme_name(code)}'"
            for code in benefit_rules.PROGRAMMES
        )
    return f"(CASE {column} {whens} ELSE {column} END)"


# A file moved in from another county whose benefit ended with the move (exit moved_away): the
# new county's civil affairs are asked to take up the application again, until one is made.
REAPPLY_WINDOW_DAYS = 90
_REAPPLY_SQL = f"""
    SELECT u.id, c.id, NULL::uuid, e.ended_on,
           '迁入前享受的' || {_programme_names_sql("e.programme")} || '已停发，请重新申请'
    FROM children_enrolment e
    JOIN children_child c ON c.id = e.child_id
    JOIN accounts_user u
      ON u.role = 'civil_affairs' AND u.is_active AND u.area_id = left(c.village_id, 6) || '000000'
    WHERE e.exit_reason = 'moved_away' AND c.status = 'active'
      AND e.ended_on > %(today)s - {REAPPLY_WINDOW_DAYS}
      AND NOT EXISTS (
          SELECT 1 FROM children_subsidyapplication a
          WHERE a.child_id = c.id AND a.programme = e.programme
            AND a.submitted_at::date >= e.ended_on
      )
"""


def _report_rule_sql(role: str, recipient_area: str, due: str, condition: str) -> str:
    return f"""
        SELECT u.id, r.child_id, r.id, {due}, ''
        FROM reporting_mandatoryreport r
        {_policy_joins("r.area_id")}
        JOIN accounts_user u
          ON u.area_id = {recipient_area} AND u.role = '{role}' AND u.is_active
        WHERE r.stage <> 'closed' AND {condition}
    """


def _rule_sql(rule: Rule) -> str:
    """The SELECT of one rule: (recipient, child, report, due date, detail) for every active
    child (under 18 unless the rule says otherwise)."""
    under_18 = f"AND {schedule.under_18_sql('c.')}" if rule.under_18_only else ""
    return f"""
        SELECT u.id, c.id, NULL::uuid, {rule.due}, {rule.detail}
        FROM {rule.source}
        {_POLICY_JOINS}
        JOIN accounts_user u
          ON u.area_id = {rule.recipient_area} AND u.role = '{rule.role}' AND u.is_active
        WHERE c.status = 'active' {under_18} AND {rule.due} IS NOT NULL AND {rule.condition}
    """


@dataclass
class SweepResult:
    created: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.created.values())


def reminders_sweep(*, on: date | None = None) -> SweepResult:
    """The daily sweep (domain §4), one INSERT … SELECT … ON CONFLICT DO NOTHING per rule.

    Selection is set-based over the whole database; ``due <= today`` (never ``== today``) so a
    missed day is caught up; the unique constraint makes re-runs and concurrent runs harmless.
    """
    now = timezone.now()
    if on is not None and on != timezone.localdate(now):
        # As if the sweep ran at 08:00 that day (send_reminders --date).
        now = timezone.make_aware(datetime.combine(on, time(8, 0)))
    on = on or today()
    params = {"today": on, "now": now}
    created: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, role, select in rule_selects():
            cursor.execute(_insert_sql(select), {**params, "kind": kind})
            key = f"{kind}:{role}"
            created[key] = created.get(key, 0) + cursor.rowcount
        # Through the outbox: queued only if the sweep commits, and kept if the broker is down.
        outbox.enqueue("reminders.send_digests", on.isoformat())
    logger.info("reminder sweep for %s: %s", on, created)
    return SweepResult(created)


# One rule's notifications, each created once (notification_once): the new rows' recipients.
_INSERT_SQL = """
    INSERT INTO visits_notification
        (id, recipient_id, kind, child_id, report_id, due_date, created_on, created_at, detail)
    SELECT gen_random_uuid(), s.uid, %(kind)s, s.cid, s.rid, s.due, %(today)s, now(), s.detail
    FROM ({select}) AS s(uid, cid, rid, due, detail)
    ON CONFLICT ON CONSTRAINT notification_once DO NOTHING
    RETURNING recipient_id
"""


def _insert_sql(select: str) -> str:
    # Not str.format: a rule's SQL may hold braces (an array literal).
    return _INSERT_SQL.replace("{select}", select)


def report_filed_notify(*, report_id: str) -> int:
    """A report of a county or above was filed: its civil affairs get a ``report_filed``
    reminder now, sent to them at once rather than in tomorrow's digest. Idempotent (the outbox
    delivers at least once; the sweep would create the same row)."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(f"{_REPORT_FILED_SQL} AND r.id = %(report)s"),
            {
                "today": today(),
                "now": now,
                "kind": NotificationKind.REPORT_FILED,
                "report": report_id,
            },
        )
        recipients = sorted({row[0] for row in cursor.fetchall()})
        outbox.enqueue_many("reminders.send_digest", [(uid,) for uid in recipients])
    return len(recipients)


def rule_selects() -> list[tuple[str, str, str]]:
    """(kind, recipients' role, SELECT of (recipient, child, report, due date, detail)) of every
    rule of the sweep; the SELECTs take %(today)s and %(now)s."""
    return (
        [(rule.kind, rule.role, _rule_sql(rule)) for rule in _RULES]
        + [
            (NotificationKind.REPORT_DEADLINE, role, _report_rule_sql(role, area, due, condition))
            for role, area, due, condition in _REPORT_RULES
        ]
        + [
            (NotificationKind.REPORT_FILED, Role.CIVIL_AFFAIRS, _REPORT_FILED_SQL),
            (NotificationKind.REPORT_DEADLINE, Role.SUPERVISOR, _VISIT_DANGER_SQL),
            (NotificationKind.REPORT_DEADLINE, Role.SUPERVISOR, _PROTECTION_ORDER_SQL),
            (NotificationKind.ESCALATION, Role.SUPERVISOR, _TRANSFER_WAITING_SQL),
            (NotificationKind.SUBSIDY_REVIEW, Role.CIVIL_AFFAIRS, _REAPPLY_SQL),
        ]
    )


def notification_mark_read(*, user: User, notification_ids: list[uuid.UUID] | None = None) -> int:
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    return queryset.update(read_at=timezone.now())


def reminders_resolve_for_moved_child(*, child_id: str) -> int:
    """A file moved (children.lifecycle): the reminders about the child held by people whose
    area no longer covers it are resolved (marked read), so their bell stops counting them."""
    length = area_rules.prefix_length_sql("a.level")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE visits_notification n SET read_at = now()
            FROM accounts_user u
            JOIN accounts_area a ON a.code = u.area_id, children_child c
            WHERE n.recipient_id = u.id AND c.id = n.child_id AND n.child_id = %(child)s
              AND n.read_at IS NULL
              AND left(c.village_id, {length}) <> left(u.area_id, {length})
            """,
            {"child": child_id},
        )
        return cursor.rowcount
