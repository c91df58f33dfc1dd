"""The reminder sweep and the delivery of reminders.

The sweep (domain §4) computes every rule's SELECT over the whole database at once, set-based,
and matches the result against the open reminders: the new are inserted, the answered resolved.
The rules read the due dates the apps below keep (the child's schedule, care agreements, benefit
reviews, mandatory reports) and never call into them. Delivery sends each
person one digest of what is new, by e-mail and text message.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import NamedTuple

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone, translation

from accounts import outbox
from accounts.models import Role, User
from accounts.permissions import Capability, roles_with
from accounts.selectors import training_reminder_select_sql
from accounts.services import policy_joins_sql, policy_sql
from benefits import rules as benefit_rules
from children import rules as child_rules
from children import schedule
from core import prepared
from core.clock import today
from reporting import deadlines, intake
from reporting import referrals as referral_reads
from reporting import rules as reporting_rules
from visits import rules as visit_rules
from visits import verification_selectors as verification_reads

from .models import Notification, NotificationKind, SweepRun

logger = logging.getLogger(__name__)


_policy_joins = policy_joins_sql
_POLICY_JOINS = policy_joins_sql("c.village_id")
_policy = policy_sql


# The sweep's rules about children: (name, kind, recipients' role, the recipient's area as derived
# from the village, the rows it is about, the due date, the condition). Each is one SELECT; a
# reminder is open while its rule still selects it.
_CHILDREN = "children_child c"
_AGREEMENTS = "children_careagreement a JOIN children_child c ON c.id = a.child_id"
AGREEMENT_EXPIRING_DAYS = 30
# 孤儿成年后安置: county civil affairs review what follows the 18th birthday of an orphan or a de
# facto unsupported child this many days before it.
TRANSITION_REVIEW_DAYS = 30
_EIGHTEENTH_BIRTHDAY = schedule.eighteenth_birthday_sql("c.")
# A follow-up date or a red assessment left unanswered this long stops being reminded (the
# child's visit and assessment schedules carry on).
FOLLOW_UP_WINDOW_DAYS = 90
RED_ASSESSMENT_WINDOW_DAYS = 90


class Rule(NamedTuple):
    name: str  # the rule's name, stored on each reminder it raises (notification_once)
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
        "visit_due_soon",
        NotificationKind.VISIT_DUE_SOON,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.due_soon_sql("c.next_home_visit_due"),
    ),
    Rule(
        "visit_overdue",
        NotificationKind.VISIT_OVERDUE,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.overdue_sql("c.next_home_visit_due"),
    ),
    Rule(
        "escalation",
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
        "escalation_county",
        NotificationKind.ESCALATION,
        Role.CIVIL_AFFAIRS,
        "left(c.village_id, 6) || '000000'",
        _CHILDREN,
        "c.next_home_visit_due",
        schedule.overdue_sql("c.next_home_visit_due", days_late=_policy("escalate_county_days")),
    ),
    Rule(
        # A caregiver found unable, and no new agreement by the date set: the supervisor is told.
        "escalation_agreement",
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
        "subsidy_review",
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
        "agreement_expiring",
        NotificationKind.AGREEMENT_EXPIRING,
        Role.DIRECTOR,
        "c.village_id",
        _AGREEMENTS,
        "a.end_date",
        f"a.status = 'active' AND a.end_date BETWEEN %(today)s "
        f"AND %(today)s + {AGREEMENT_EXPIRING_DAYS} "
        # A new agreement that runs on past this one's end answers it.
        "AND NOT EXISTS (SELECT 1 FROM children_careagreement b WHERE b.child_id = a.child_id "
        "AND b.status = 'active' AND b.end_date > a.end_date)",
    ),
    Rule(
        # An orphan or de facto unsupported child turns 18 (the file closes that day): county
        # civil affairs prepare what follows (孤儿成年后安置) from a month before. ``due <= today``:
        # a missed day is caught up until the birthday.
        "transition_review",
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
    Rule(
        # No contact of any kind by its due date (domain §3). A child whose home visit falls due
        # no later is left to visit_overdue: the home visit answers both.
        "contact_overdue",
        NotificationKind.CONTACT_OVERDUE,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_contact_due",
        f"{schedule.overdue_sql('c.next_contact_due')} "
        "AND (c.next_home_visit_due IS NULL OR c.next_home_visit_due > c.next_contact_due)",
    ),
    Rule(
        # The follow-up date the child's latest visit set has come, and nothing was recorded
        # since (a later visit of any kind is the follow-up).
        "follow_up_due",
        NotificationKind.FOLLOW_UP_DUE,
        Role.DIRECTOR,
        "c.village_id",
        "visits_visit v JOIN children_child c ON c.id = v.child_id",
        "v.follow_up_on",
        f"v.follow_up_on <= %(today)s AND v.follow_up_on > %(today)s - {FOLLOW_UP_WINDOW_DAYS} "
        "AND NOT EXISTS (SELECT 1 FROM visits_visit w WHERE w.child_id = v.child_id "
        "AND (w.visited_on, w.created_at) > (v.visited_on, v.created_at))",
        "left(v.follow_up_note, 200)",
    ),
    Rule(
        # Re-assessment every 180 days (policy reassess_days) and at once after a mandatory report
        # (reporting sets the due date to the filing day): from a week before.
        "assessment_due",
        NotificationKind.ASSESSMENT_DUE,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_assessment_due",
        f"c.next_assessment_due <= %(today)s + {schedule.DUE_SOON_DAYS}",
    ),
    Rule(
        # A red (high) result by a village director: the township assesses with them at once
        # (domain §2, §6). Answered by any later assessment of the child.
        "assessment_red",
        NotificationKind.ASSESSMENT_DUE,
        Role.SUPERVISOR,
        "left(c.village_id, 9) || '000'",
        "children_guardianshipassessment g JOIN children_child c ON c.id = g.child_id "
        "JOIN accounts_user ga ON ga.id = g.assessor_id",
        "g.assessed_on",
        f"g.result = 'high' AND ga.role = 'director' "
        f"AND g.assessed_on > %(today)s - {RED_ASSESSMENT_WINDOW_DAYS} "
        "AND NOT EXISTS (SELECT 1 FROM children_guardianshipassessment h "
        "WHERE h.child_id = g.child_id "
        "AND (h.assessed_on, h.created_at) > (g.assessed_on, g.created_at))",
        "'红色评估（' || to_char(g.assessed_on, 'YYYY-MM-DD') || '），请会同评估'",
    ),
    Rule(
        # Key children not seen in person by the supervisor this quarter, from 14 days before it
        # ends (a phone or video call is not a patrol).
        "patrol_due",
        NotificationKind.PATROL_DUE,
        Role.SUPERVISOR,
        "left(c.village_id, 9) || '000'",
        _CHILDREN,
        visit_rules.quarter_end_sql(),
        f"c.is_key_child AND %(today)s >= "
        f"{visit_rules.quarter_end_sql()} - {visit_rules.PATROL_NOTICE_DAYS} "
        f"AND NOT {visit_rules.patrolled_sql('c.', visit_rules.quarter_start_sql())}",
    ),
]


def _local_date(timestamp_sql: str) -> str:
    return f"(({timestamp_sql}) AT TIME ZONE 'Asia/Shanghai')::date"


# Mandatory reports (domain §6): whoever is responsible for the report is reminded — the township
# supervisor, or for a report of a county or above (no township chosen) the civil affairs of its
# area — and county civil affairs too when a stage is still open a week after its limit.
_SUPERVISOR_OF = "left(r.area_id, 9) || '000'"
_COUNTY_OF = "left(r.area_id, 6) || '000000'"  # a city's or province's own code for theirs
_COUNTY_ROUTED = deadlines.routed_to_county_sql()
# (suffix of the rule's name, role, recipient's area, condition on the report): a report of a
# village or township has a supervisor (no supervisor sits at a county's code, so the supervisor
# rules find nobody for a county's report); one of a county or above its civil affairs.
_RESPONSIBLE = [
    ("", Role.SUPERVISOR, _SUPERVISOR_OF, "TRUE"),
    ("_county", Role.CIVIL_AFFAIRS, _COUNTY_OF, _COUNTY_ROUTED),
]
_POLICE_DUE = deadlines.police_due_sql()
_ASSESSMENT_DUE = f"r.police_received_at + {_policy('report_assessment_days')} * interval '1 day'"
_STAGE_DUE = deadlines.stage_due_sql()
_COUNTY_DUE = deadlines.county_due_sql()
# (name, due date, condition) of the report_deadline rules of the person responsible.
_RESPONSIBLE_RULES = [
    # No police notification a day after filing.
    (
        "report_police",
        _local_date(_POLICE_DUE),
        f"r.police_notified_at IS NULL AND {_POLICE_DUE} < %(now)s",
    ),
    # Not assessed within 7 days of the police receiving it.
    (
        "report_assessment",
        _local_date(_ASSESSMENT_DUE),
        f"r.stage IN ('police_received', 'emergency_handled') AND {_ASSESSMENT_DUE} < %(now)s",
    ),
    # Any stage open longer than its limit (a report not yet told to the police: the police
    # rule above, which falls due at the same moment at the default limits).
    (
        "report_stage",
        _local_date(_STAGE_DUE),
        f"{deadlines.late_sql()} AND NOT (r.stage = 'reported' AND r.police_notified_at IS NULL)",
    ),
]


def _report_rule_sql(role: str, recipient_area: str, due: str, condition: str) -> str:
    return f"""
        SELECT u.id, r.child_id, r.id, {due}, ''
        FROM reporting_mandatoryreport r
        {_policy_joins("r.area_id")}
        JOIN accounts_user u
          ON u.area_id = {recipient_area} AND u.role = '{role}' AND u.is_active
        WHERE r.stage <> 'closed' AND {condition}
    """


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


def _responsible_sql(select: str, role: str, recipient_area: str, condition: str) -> str:
    """``select`` (on the report ``r``, with ``{recipient}`` where the recipient is joined) for
    the person responsible for the report."""
    recipient = (
        f"JOIN accounts_user u ON u.area_id = {recipient_area} "
        f"AND u.role = '{role}' AND u.is_active"
    )
    return select.replace("{recipient}", recipient) + f" AND {condition}"


# A personal safety protection order nearing its expiry: reminded 14 days before.
PROTECTION_ORDER_NOTICE_DAYS = 14
_PROTECTION_ORDER_EXPIRY_SQL = f"""
    SELECT u.id, r.child_id, r.id, i.expires_on, ''
    FROM reporting_intervention i
    JOIN reporting_mandatoryreport r ON r.id = i.report_id
    {{recipient}}
    WHERE i.kind = 'protection_order' AND r.stage <> 'closed'
      AND i.expires_on BETWEEN %(today)s AND %(today)s + {PROTECTION_ORDER_NOTICE_DAYS}
"""

# A protection order applied for (an intervention recorded with its application date, or the
# report moved to the intervention stage as a protection order) and no court decision recorded:
# the court decides within 72 hours, 24 if urgent (domain §6; urgent: the report's situation is
# one of reporting.deadlines.URGENT_SITUATIONS). Reminded on the day the decision is due.
_URGENT = ", ".join(f"'{s}'" for s in deadlines.URGENT_SITUATIONS)
_ORDER_APPLIED = f"""
    SELECT r0.id AS report_id,
           coalesce(
               (SELECT min(i.applied_on) FROM reporting_intervention i
                WHERE i.report_id = r0.id AND i.kind = 'protection_order'
                  AND i.applied_on IS NOT NULL),
               CASE WHEN r0.stage = 'intervention' AND r0.intervention_type = 'protection_order'
                    THEN {_local_date("r0.stage_changed_at")} END
           ) AS applied_on
    FROM reporting_mandatoryreport r0
    WHERE r0.stage <> 'closed'
      AND NOT EXISTS (
          SELECT 1 FROM reporting_intervention d
          WHERE d.report_id = r0.id AND d.kind = 'protection_order' AND d.decided_on IS NOT NULL
      )
"""
_ORDER_DECISION_DUE = (
    f"(o.applied_on + CASE WHEN r.situation IN ({_URGENT}) THEN "
    f"{reporting_rules.PROTECTION_ORDER_DECISION_DAYS_URGENT} ELSE "
    f"{reporting_rules.PROTECTION_ORDER_DECISION_DAYS} END)"
)
_PROTECTION_ORDER_DECISION_SQL = f"""
    SELECT u.id, r.child_id, r.id, {_ORDER_DECISION_DUE},
           '人身安全保护令申请于' || to_char(o.applied_on, 'YYYY-MM-DD')
    FROM ({_ORDER_APPLIED}) o
    JOIN reporting_mandatoryreport r ON r.id = o.report_id
    {{recipient}}
    WHERE o.applied_on IS NOT NULL AND {_ORDER_DECISION_DUE} <= %(today)s
"""

# A warning letter (告诫书: an intervention recorded as one, or the report moved to the
# intervention stage as one): the director visits the child at home within 30 days of the first.
_WARNING_LETTERS = f"""
    SELECT report_id, min(issued_on) AS issued_on FROM (
        SELECT i.report_id, coalesce(i.applied_on, {_local_date("i.created_at")}) AS issued_on
        FROM reporting_intervention i WHERE i.kind = 'warning_letter'
        UNION ALL
        SELECT t.report_id, {_local_date("t.at")}
        FROM reporting_reporttransition t
        JOIN reporting_mandatoryreport r1 ON r1.id = t.report_id
        WHERE t.to_stage = 'intervention' AND r1.intervention_type = 'warning_letter'
    ) letters GROUP BY report_id
"""
_WARNING_LETTER_WINDOW = reporting_rules.WARNING_LETTER_VISIT_DAYS + FOLLOW_UP_WINDOW_DAYS
_WARNING_LETTER_SQL = f"""
    SELECT u.id, c.id, r.id, w.issued_on + {reporting_rules.WARNING_LETTER_VISIT_DAYS},
           '告诫书' || to_char(w.issued_on, 'YYYY-MM-DD') || '送达后入户走访'
    FROM ({_WARNING_LETTERS}) w
    JOIN reporting_mandatoryreport r ON r.id = w.report_id
    JOIN children_child c ON c.id = r.child_id
    JOIN accounts_user u ON u.area_id = c.village_id AND u.role = 'director' AND u.is_active
    WHERE c.status = 'active' AND w.issued_on <= %(today)s
      AND w.issued_on > %(today)s - {_WARNING_LETTER_WINDOW}
      AND NOT EXISTS (
          SELECT 1 FROM visits_visit hv
          WHERE hv.child_id = c.id AND hv.kind = 'home' AND hv.visited_on >= w.issued_on
      )
"""


# A transfer of a child's file waiting for an answer (domain §2): the director of the village that
# must answer is told at once (due a week after the request), and that village's supervisor
# when a week has passed with no answer.
_ANSWERING_VILLAGE = (
    "CASE WHEN t.requested_by_side = 'sender' THEN t.to_village_id ELSE t.from_village_id END"
)
_TRANSFER_DUE = f"t.created_at + interval '{child_rules.TRANSFER_ANSWER_DAYS} days'"
_TRANSFER_PENDING_SQL = f"""
    SELECT u.id, t.child_id, NULL::uuid, {_local_date(_TRANSFER_DUE)}, '转移申请待处理'
    FROM children_transfer t
    JOIN accounts_user u
      ON u.role = 'director' AND u.is_active AND u.area_id = {_ANSWERING_VILLAGE}
    WHERE t.status = 'pending' AND t.created_at <= %(now)s
"""
_TRANSFER_WAITING_SQL = f"""
    SELECT u.id, t.child_id, NULL::uuid, {_local_date(_TRANSFER_DUE)},
           '转移申请{child_rules.TRANSFER_ANSWER_DAYS}天未处理'
    FROM children_transfer t
    JOIN accounts_user u
      ON u.role = 'supervisor' AND u.is_active
     AND u.area_id = left({_ANSWERING_VILLAGE}, 9) || '000'
    WHERE t.status = 'pending' AND {_TRANSFER_DUE} < %(now)s
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


class SweepRule(NamedTuple):
    name: str
    kind: str
    role: str
    select: str  # SELECT (recipient, child, report, due date, detail); takes %(today)s, %(now)s
    # False: a duty of a person or an area, never about a child or a report (child and report
    # NULL), so work recorded on a case cannot raise or answer it: left out of reminders_refresh,
    # whose statement would otherwise compute it whole on every visit.
    about_case: bool = True
    # True: its rows about a child are a function of that child's file alone (the child's row,
    # and the care agreements, benefit enrolments, assessments and visits about it: _CHILD_ROWS),
    # of the day, and of the staff and area policies (_BASIS_SQL). A second run of the same day
    # reads it again only for the files written since the first (reminders_sweep).
    by_child: bool = False


def sweep_rules() -> list[SweepRule]:
    """Every rule of the sweep, each named once: a reminder is open while its rule selects it."""
    found = [
        SweepRule(rule.name, rule.kind, rule.role, _rule_sql(rule), by_child=True)
        for rule in _RULES
    ]
    for suffix, role, area, condition in _RESPONSIBLE:
        for name, due, rule_condition in _RESPONSIBLE_RULES:
            found.append(
                SweepRule(
                    name + suffix,
                    NotificationKind.REPORT_DEADLINE,
                    role,
                    _report_rule_sql(role, area, due, f"{condition} AND {rule_condition}"),
                )
            )
        found += [
            SweepRule(
                "protection_order_expiry" + suffix,
                NotificationKind.REPORT_DEADLINE,
                role,
                _responsible_sql(_PROTECTION_ORDER_EXPIRY_SQL, role, area, condition),
            ),
            SweepRule(
                "protection_order_decision" + suffix,
                NotificationKind.PROTECTION_ORDER_DECISION,
                role,
                _responsible_sql(_PROTECTION_ORDER_DECISION_SQL, role, area, condition),
            ),
        ]
    return [
        *found,
        # A stage still open a week after its limit: the county too.
        SweepRule(
            "report_county_late",
            NotificationKind.REPORT_DEADLINE,
            Role.CIVIL_AFFAIRS,
            _report_rule_sql(
                Role.CIVIL_AFFAIRS, _COUNTY_OF, _local_date(_COUNTY_DUE), f"{_COUNTY_DUE} < %(now)s"
            ),
        ),
        SweepRule(
            "report_filed", NotificationKind.REPORT_FILED, Role.CIVIL_AFFAIRS, _REPORT_FILED_SQL
        ),
        SweepRule(
            "visit_danger", NotificationKind.REPORT_DEADLINE, Role.SUPERVISOR, _VISIT_DANGER_SQL
        ),
        SweepRule(
            "warning_letter_follow_up",
            NotificationKind.WARNING_LETTER_FOLLOW_UP,
            Role.DIRECTOR,
            _WARNING_LETTER_SQL,
        ),
        SweepRule(
            "transfer_pending",
            NotificationKind.TRANSFER_PENDING,
            Role.DIRECTOR,
            _TRANSFER_PENDING_SQL,
        ),
        SweepRule(
            "escalation_transfer",
            NotificationKind.ESCALATION,
            Role.SUPERVISOR,
            _TRANSFER_WAITING_SQL,
        ),
        SweepRule(
            "subsidy_reapply", NotificationKind.SUBSIDY_REVIEW, Role.CIVIL_AFFAIRS, _REAPPLY_SQL
        ),
        # Everyone kept on the roster is reminded of their own yearly training (domain §10).
        *(
            SweepRule(
                f"training_due_{role}",
                NotificationKind.TRAINING_DUE,
                role,
                training_reminder_select_sql(role, f"'{TRAINING_DETAIL}'"),
                about_case=False,
            )
            for role in sorted(roles_with(Capability.ROSTER_LISTED))
        ),
        # A village's quarterly verification of its children in difficulty not yet submitted:
        # its director, from 14 days before the quarter ends (domain §10).
        SweepRule(
            "verification_due",
            NotificationKind.VERIFICATION_DUE,
            Role.DIRECTOR,
            verification_reads.verification_due_select_sql(),
            about_case=False,
        ),
        # A referral its organisation has not answered in time: the referrer (domain §10).
        *_referral_answer_rules(),
        # A correction asked by the yearly spot check of files (dashboards.spot_checks).
        *_spot_check_correction_rules(),
        # A parent detained, minor children at home: checked on within 24 hours (intake).
        *_detention_rules(),
    ]


# The training reminder's detail line (in Chinese, as every detail: reminders.details).
TRAINING_DETAIL = "每年至少参加一次培训"


# --- Referrals the organisation has not answered in time (domain §10, reporting.referrals) ------
# The referrer is reminded from the day after the answer's last day until the organisation
# answers (or the referral is withdrawn, or the child's file leaves the referrer's area).
# SQL of the detail line: ``o`` is the organisation in the rule's SELECT.
REFERRAL_DETAIL_SQL = "'转介至' || o.name || '逾期未答复'"


def _referral_answer_rules() -> list[SweepRule]:
    return [
        SweepRule(
            f"referral_answer_due_{role}",
            NotificationKind.REFERRAL_ANSWER_DUE,
            role,
            referral_reads.referral_reminder_select_sql(role, REFERRAL_DETAIL_SQL),
        )
        for role in sorted(roles_with(Capability.REFERRAL_MAKE))
    ]


# --- The yearly spot check's corrections (domain §10, dashboards.spot_checks) -----------------
# A correction not marked done reminds the director(s) of the sampled file's village (its village
# at the draw, which the sample belongs to) from a week before its due date until it is done —
# the township supervisor when the village has no director. Two corrections of one file due the
# same day are one reminder. The week is dashboards.spot_check_rules.CORRECTION_REMINDER_DAYS
# (the same floor: not imported; a test holds them equal).
SPOT_CHECK_CORRECTION_DAYS = 7
SPOT_CHECK_CORRECTION_DETAIL = "年度抽查发现的问题待整改"
_SPOT_CHECK_VILLAGE_HAS_DIRECTOR = (
    "EXISTS (SELECT 1 FROM accounts_user d WHERE d.area_id = i.village_id "
    "AND d.role = 'director' AND d.is_active)"
)


def _spot_check_correction_sql(recipient_area: str, role: str, condition: str) -> str:
    return f"""
        SELECT u.id, i.child_id, NULL::uuid, x.due_on, '{SPOT_CHECK_CORRECTION_DETAIL}'
        FROM dashboards_spotcheckcorrection x
        JOIN dashboards_spotcheckitem i ON i.id = x.item_id
        JOIN accounts_user u ON u.area_id = {recipient_area} AND u.role = '{role}' AND u.is_active
        WHERE x.corrected_at IS NULL
          AND x.due_on - {SPOT_CHECK_CORRECTION_DAYS} <= %(today)s AND {condition}
    """


def _spot_check_correction_rules() -> list[SweepRule]:
    return [
        SweepRule(
            "spot_check_correction",
            NotificationKind.SPOT_CHECK_CORRECTION,
            Role.DIRECTOR,
            _spot_check_correction_sql("i.village_id", Role.DIRECTOR, "TRUE"),
        ),
        SweepRule(
            "spot_check_correction_township",
            NotificationKind.SPOT_CHECK_CORRECTION,
            Role.SUPERVISOR,
            _spot_check_correction_sql(
                "left(i.village_id, 9) || '000'",
                Role.SUPERVISOR,
                f"NOT {_SPOT_CHECK_VILLAGE_HAS_DIRECTOR}",
            ),
        ),
    ]


# --- Intake: a parent detained, minor children at home (domain §10, reporting.intake) ----------
# The police filed it: the village's child director(s) check on the children within 24 hours of
# the filing — the township supervisor when only a township was chosen or the village has no
# director in post, county civil affairs when the township has no supervisor either. Raised as
# the report is filed (its case_changed) and sent at once (detention_check_notify). Unchecked 24
# hours after the filing: the township supervisor is told (county civil affairs if none). Open
# until the check is recorded (or the report closed).
_DETENTION_DUE = f"r.filed_at + interval '{intake.DETENTION_CHECK_HOURS} hours'"
_DETENTION_OPEN = (
    "r.parent_detained AND r.detention_checked_at IS NULL AND r.stage <> 'closed' "
    "AND r.filed_at <= %(now)s"
)
_HAS_DIRECTOR = (
    "EXISTS (SELECT 1 FROM accounts_user d WHERE d.area_id = r.area_id "
    "AND d.role = 'director' AND d.is_active)"
)
_HAS_SUPERVISOR = (
    f"EXISTS (SELECT 1 FROM accounts_user s WHERE s.area_id = {_SUPERVISOR_OF} "
    "AND s.role = 'supervisor' AND s.is_active)"
)
# "父母被羁押，请于2026-11-24 10:00前核查子女情况" (reminders.details says it in English).
_DETENTION_DETAIL = (
    "'父母被羁押，请于' || to_char(("
    + _DETENTION_DUE
    + ") AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') || '前核查子女情况'"
)
DETENTION_LATE_DETAIL = f"父母被羁押，子女{intake.DETENTION_CHECK_HOURS}小时内未获核查"


def _detention_sql(recipient_area: str, role: str, condition: str, detail: str) -> str:
    return f"""
        SELECT u.id, r.child_id, r.id, {_local_date(_DETENTION_DUE)}, {detail}
        FROM reporting_mandatoryreport r
        JOIN accounts_user u ON u.area_id = {recipient_area} AND u.role = '{role}' AND u.is_active
        WHERE {_DETENTION_OPEN} AND {condition}
    """


def _detention_rules() -> list[SweepRule]:
    late = f"{_DETENTION_DUE} < %(now)s"
    late_detail = f"'{DETENTION_LATE_DETAIL}'"
    return [
        SweepRule(
            "detention_check",
            NotificationKind.DETENTION_CHECK,
            Role.DIRECTOR,
            _detention_sql("r.area_id", Role.DIRECTOR, "TRUE", _DETENTION_DETAIL),
        ),
        SweepRule(
            "detention_check_township",
            NotificationKind.DETENTION_CHECK,
            Role.SUPERVISOR,
            _detention_sql(
                _SUPERVISOR_OF, Role.SUPERVISOR, f"NOT {_HAS_DIRECTOR}", _DETENTION_DETAIL
            ),
        ),
        SweepRule(
            "detention_check_county",
            NotificationKind.DETENTION_CHECK,
            Role.CIVIL_AFFAIRS,
            _detention_sql(
                _COUNTY_OF,
                Role.CIVIL_AFFAIRS,
                f"NOT {_HAS_DIRECTOR} AND NOT {_HAS_SUPERVISOR}",
                _DETENTION_DETAIL,
            ),
        ),
        SweepRule(
            "detention_check_late",
            NotificationKind.ESCALATION,
            Role.SUPERVISOR,
            _detention_sql(_SUPERVISOR_OF, Role.SUPERVISOR, late, late_detail),
        ),
        SweepRule(
            "detention_check_late_county",
            NotificationKind.ESCALATION,
            Role.CIVIL_AFFAIRS,
            _detention_sql(
                _COUNTY_OF, Role.CIVIL_AFFAIRS, f"{late} AND NOT {_HAS_SUPERVISOR}", late_detail
            ),
        ),
    ]


def rule_selects() -> list[tuple[str, str, str]]:
    """(kind, recipients' role, SELECT) of every rule (the benchmarks' bare SQL)."""
    return [(rule.kind, rule.role, rule.select) for rule in sweep_rules()]


@dataclass
class SweepResult:
    created: dict[str, int]
    resolved: int = 0
    pruned: int = 0  # answered longer ago than settings.REMINDER_RETENTION_DAYS, deleted
    # A second run of the same day: how many changed files it read again (None: a full run).
    changed_children: int | None = None

    @property
    def total(self) -> int:
        return sum(self.created.values())


def _params(on: date | None) -> dict:
    now = timezone.now()
    if on is not None and on != timezone.localdate(now):
        # As if the sweep ran at 08:00 that day (send_reminders --date).
        now = timezone.make_aware(datetime.combine(on, time(8, 0)))
    return {"today": on or today(), "now": now}


_NO_ID = "'00000000-0000-0000-0000-000000000000'::uuid"


def _same_key(k: str, n: str) -> str:
    """A reminder the rules select (``k``: rule, uid, cid, rid, due) is the stored one ``n``:
    equality on coalesced keys, so that the planner can hash the join."""
    return (
        f"{k}.rule = {n}.rule AND {k}.uid = {n}.recipient_id "
        f"AND coalesce({k}.cid, {_NO_ID}) = coalesce({n}.child_id, {_NO_ID}) "
        f"AND coalesce({k}.rid, {_NO_ID}) = coalesce({n}.report_id, {_NO_ID}) "
        f"AND coalesce({k}.due, '-infinity'::date) = coalesce({n}.due_date, '-infinity'::date)"
    )


# The sweep's working memory: the day's reminders (a million and a half rows in a province) are
# matched against the open ones in one hash join, which spills to disk below this.
SWEEP_WORK_MEM = "256MB"


def reminders_sweep(*, on: date | None = None) -> SweepResult:
    """The daily sweep (domain §4): every rule's SELECT is computed once, set-based over the
    whole database, and matched against the open reminders in one full join; what is new is
    inserted (``ON CONFLICT DO NOTHING`` on the unique key) and what no rule selects any more is
    resolved. Three statements, whatever the number of rules or rows.

    ``due <= today`` (never ``== today``) so a missed day is caught up; the unique constraint
    makes re-runs harmless, and sweeps run one at a time (an advisory lock: a second waits for
    the first to commit and then finds nothing new). On an empty table (the first morning) every
    reminder is new: _raise_all inserts them in bulk instead. A second run of the same day (a
    retry, a manual send_reminders) reads only the files written since the last run began
    (_sweep_changed): nothing else can have changed what the rules select that day.
    """
    params = _params(on)
    rules = sweep_rules()
    role_of = {rule.name: rule.role for rule in rules}
    created = {f"{rule.kind}:{rule.role}": 0 for rule in rules}  # by kind and role, 0 included
    started_at = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # One sweep at a time (beat's, a retry, a manual send_reminders): the second starts from
        # what the first committed, and creates nothing twice.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SWEEP_LOCK])
        cursor.execute("SELECT set_config('work_mem', %s, true)", [SWEEP_WORK_MEM])
        cursor.execute(_BASIS_SQL)
        snapshot, current_xid, basis = cursor.fetchone()
        changed = None  # how many files a second run of the day read again; None: all
        if _first_sweep(cursor):
            raised = _raise_all(cursor, rules, params)
            resolved = 0
        else:
            last = _same_day_run(params["today"], basis, current_xid)
            children = None if last is None else _changed_children(cursor, last, current_xid)
            if children is None:
                raised, resolved = _sweep_all(cursor, rules, params)
            else:
                raised, resolved = _sweep_changed(cursor, rules, params, children)
                changed = len(children)
        for rule, kind, count in raised:
            created[f"{kind}:{role_of[rule]}"] += count
        cursor.execute(_PRUNE_SQL, {**params, "keep": settings.REMINDER_RETENTION_DAYS})
        pruned = cursor.rowcount
        SweepRun.objects.create(
            on=params["today"],
            full=changed is None,
            snapshot=snapshot,
            basis=basis,
            started_at=started_at,
            changed_children=changed,
            created=sum(created.values()),
            resolved=resolved,
        )
        # Through the outbox: queued only if the sweep commits, and kept if the broker is down.
        outbox.enqueue("reminders.send_digests", params["today"].isoformat())
    logger.info(
        "reminder sweep for %s: %s, %s resolved, %s pruned%s",
        params["today"],
        created,
        resolved,
        pruned,
        "" if changed is None else f", {changed} changed files read again",
    )
    return SweepResult(created, resolved, pruned, changed)


def _sweep_all(cursor, rules: list[SweepRule], params: dict) -> tuple[list, int]:
    """Every rule over the whole database against every open reminder: (rule, kind, count) of
    what was raised, and how many were resolved."""
    # A hash full join: the planner otherwise sorts both sides (a million and a half rows each,
    # on text keys) for a merge join, three times slower.
    cursor.execute("SELECT set_config('enable_mergejoin', 'off', true)")
    # A full join never runs in parallel (PostgreSQL 15), but its two sides may: each rule's
    # SELECT and the scan of the open reminders under a Gather, the join in the leader. At the
    # default cost of passing a row from a worker the planner runs the whole statement in one
    # process instead: 4.8 s against 3.8 s at a million children (the bare SELECT, in parallel,
    # 2.6 s).
    cursor.execute("SELECT set_config('parallel_tuple_cost', '0', true)")
    changes = _CHANGES_SQL.replace("{same_key}", _same_key("k", "o"))
    cursor.execute(changes.replace("{current}", _current_sql(rules)), params)
    # A temporary table has no statistics until analysed: without them the planner may scan
    # the reminders once per change.
    cursor.execute("ANALYZE sweep_changes")
    cursor.execute(_RAISE_SQL, params)
    raised = cursor.fetchall()
    cursor.execute(_RESOLVE_CHANGED_SQL)
    resolved = cursor.rowcount
    cursor.execute("DROP TABLE sweep_changes")
    return raised, resolved


# --- A second run of the same day --------------------------------------------------------------
# The by_child rules read these tables about a child (table: its column naming the child), the
# staff and the area policies (the basis), and the day. On the same day, what they select can
# only have changed for a file one of these rows was written about since the last run began:
# read by the transaction numbers of the rows (xmin), which every write — a service, a bulk
# update, an import, the admin — sets. Rows are never deleted from them but when files are
# merged: the survivor is written, and the other file's reminders go with it (the foreign key's
# cascade). A test holds this list to the tables the rules name.
_CHILD_ROWS = {
    "children_child": "id",
    "children_careagreement": "child_id",
    "children_enrolment": "child_id",
    "children_guardianshipassessment": "child_id",
    "visits_visit": "child_id",
}
_BASIS_TABLES = ("accounts_user", "accounts_areapolicy")
# Rows written further back than this many transaction ids are never compared (transaction ids
# wrap around at 2³¹): the run reads everything instead.
SAME_DAY_MAX_XIDS = 1_000_000_000
# A partial run reads at most this many changed files; more (an import, a policy's schedules
# recomputed) and it reads everything, which is then cheaper.
SAME_DAY_MAX_CHILDREN = 100_000


# (this statement's snapshot, this transaction's id, digest of the staff and area policies).
# What the snapshot does not see, the run may not have read: the statements after see more,
# never less.
_BASIS_SQL = """
    SELECT pg_current_snapshot()::text,
           pg_current_xact_id()::text::bigint,
           md5(
               (SELECT coalesce(string_agg(
                    concat_ws('|', u.id, u.role, u.area_id, u.is_active), ',' ORDER BY u.id
                ), '') FROM accounts_user u)
               || '#' ||
               (SELECT coalesce(string_agg(p::text, ',' ORDER BY p.area_id), '')
                FROM accounts_areapolicy p)
           )
"""


def _oldest_running(snapshot: str) -> int:
    """A snapshot's oldest running transaction (pg_snapshot's text is ``xmin:xmax:xip,…``):
    every transaction numbered before it had ended when the snapshot was taken."""
    return int(snapshot.split(":", 1)[0])


def _same_day_run(on: date, basis: str, current_xid: int) -> SweepRun | None:
    """The last run, when this one may read only the files written since it began: None for a
    full run (the first of its day, after another day's, after the staff or a policy changed,
    or too long ago in transaction ids)."""
    last = SweepRun.objects.order_by("-id").first()
    if last is None or last.on != on or last.basis != basis:
        return None
    since = current_xid - _oldest_running(last.snapshot)
    return last if 0 <= since <= SAME_DAY_MAX_XIDS else None


def _changed_children(cursor, last: SweepRun, current_xid: int) -> list[uuid.UUID] | None:
    """The files written by a transaction the last run's snapshot does not see, or None when
    there are more than a partial run reads."""
    # age(xmin): how many transaction ids before this one the row was written (this one's own
    # rows and subtransactions: 0 or less; a frozen row: the most an int holds). Rows written
    # since the last run's oldest running transaction are looked up in its snapshot, by their
    # 64-bit id (this one's, less the age). This transaction's own rows always count: a snapshot
    # does not list its own transaction as running, though it may write more after (a sweep in
    # the transaction of the writes, as in a test).
    cursor.execute(
        " UNION ".join(
            f"SELECT {column} FROM {table} WHERE age(xmin) <= %(since)s "
            "AND (age(xmin) <= 0 OR NOT pg_visible_in_snapshot("
            "(%(current)s - age(xmin))::text::xid8, %(snapshot)s::pg_snapshot))"
            for table, column in _CHILD_ROWS.items()
        )
        + " LIMIT %(most)s",
        {
            "since": current_xid - _oldest_running(last.snapshot),
            "current": current_xid,
            "snapshot": last.snapshot,
            "most": SAME_DAY_MAX_CHILDREN + 1,
        },
    )
    children = [row[0] for row in cursor.fetchall()]
    return children if len(children) <= SAME_DAY_MAX_CHILDREN else None


@functools.cache
def _changed_sql() -> tuple[str, str]:
    """(what the rules select now: the by_child rules for %(children)s, the others whole, into
    the temporary table sweep_current; the ids of the open reminders of the same that it no
    longer holds). Two statements that may read in parallel, unlike an UPDATE."""
    rules = sweep_rules()
    current = (
        _current_sql(
            [rule for rule in rules if rule.by_child], "WHERE s.cid = ANY(%(children)s::uuid[])"
        )
        + " UNION ALL "
        + _current_sql([rule for rule in rules if not rule.by_child])
    )
    return (
        f"""
        CREATE TEMPORARY TABLE sweep_current ON COMMIT DROP AS
        SELECT * FROM ({current}) AS k(rule, kind, uid, cid, rid, due, detail)
        """,
        f"""
        SELECT n.id FROM visits_notification n
        WHERE n.resolved_at IS NULL
          AND (n.rule = ANY(%(whole)s)
               OR (n.rule = ANY(%(by_child)s) AND n.child_id = ANY(%(children)s::uuid[])))
          AND NOT EXISTS (SELECT 1 FROM sweep_current k WHERE {_same_key("k", "n")})
        """,
    )


def _sweep_changed(
    cursor, rules: list[SweepRule], params: dict, children: list[uuid.UUID]
) -> tuple[list, int]:
    """The by_child rules for ``children``, the others whole, against the open reminders of the
    same: (rule, kind, count) of what was raised, and how many were resolved."""
    select, answered = _changed_sql()
    params = {
        **params,
        "children": children,
        "by_child": [rule.name for rule in rules if rule.by_child],
        "whole": [rule.name for rule in rules if not rule.by_child],
    }
    cursor.execute(select, params)
    cursor.execute("ANALYZE sweep_current")
    cursor.execute(_RAISE_CURRENT_SQL, params)
    raised = cursor.fetchall()
    cursor.execute(answered, params)
    ids = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "UPDATE visits_notification SET resolved_at = now() "
        "WHERE id = ANY(%s) AND resolved_at IS NULL",
        [ids],
    )
    resolved = cursor.rowcount
    cursor.execute("DROP TABLE sweep_current")
    return raised, resolved


# pg_advisory_xact_lock's key of the sweep (any bigint of our own: "SWEEP" in ASCII).
SWEEP_LOCK = 0x5357454550


def _first_sweep(cursor) -> bool:
    """No reminder at all yet (a new installation, or the first morning after an import): then
    the table is the sweep's alone until it commits (an exclusive lock, which the pages' reads
    of the bell wait for), and _raise_all fills it in bulk."""
    cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM visits_notification)")
    if not cursor.fetchone()[0]:
        return False
    cursor.execute("LOCK TABLE visits_notification IN ACCESS EXCLUSIVE MODE")
    cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM visits_notification)")  # none came meanwhile
    return cursor.fetchone()[0]


def _raise_all(cursor, rules: list[SweepRule], params: dict) -> list[tuple[str, str, int]]:
    """Every reminder the rules select, into the empty table at once: its primary key, unique
    key and indexes are dropped and built again after the rows are in (a sorted build, instead
    of a million and a half index insertions and conflict probes: the primary key alone is 2–4 s
    of a 16 s first run at a million children), with the same definitions, in the sweep's
    transaction. DISTINCT ON the unique key keeps what ON CONFLICT would have kept, and the key
    is checked again as it is built. Returns (rule, kind, count) of what was created.

    The rows are first gathered by a statement of their own (_FIRST_SELECT_SQL): an INSERT's
    SELECT never runs in parallel, this one may, like the bare SQL. They are numbered in the
    unique key's order and take the ids the row-by-row path would give them (it inserts in
    that order), from one call of the sequence rather than one a row."""
    primary_key = _primary_key(cursor)
    _keys_and_indexes("remove")
    cursor.execute(f"ALTER TABLE {_TABLE} DROP CONSTRAINT {primary_key.name}")
    cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [SWEEP_WORK_MEM])
    cursor.execute(_FIRST_SELECT_SQL.replace("{current}", _current_sql(rules)), params)
    # No one else takes ids meanwhile: inserting needs the table, which this sweep holds.
    sequence = f"pg_get_serial_sequence('{_TABLE}', '{Notification._meta.pk.column}')"
    cursor.execute(f"SELECT nextval({sequence})")
    first_id = cursor.fetchone()[0]
    cursor.execute(_RAISE_ALL_SQL, {**params, "first_id": first_id})
    # The next id is the one after the last inserted, as after one nextval a row.
    cursor.execute(f"SELECT setval({sequence}, %s, false)", [first_id + cursor.rowcount])
    cursor.execute("DROP TABLE sweep_first")
    # Counted from the table, which held nothing else (cheaper than RETURNING every row).
    cursor.execute("SELECT rule, kind, count(*) FROM visits_notification GROUP BY rule, kind")
    raised = cursor.fetchall()
    # The primary key as it was (its name, its column), then the rest as the model declares.
    # The rows and their ids are in the order of both keys: one process reads them already
    # sorted, where parallel workers would sort shares and merge them again (at a million
    # children the unique key took 0.9 s alone against 1.1–2.3 s with two workers). The other
    # indexes are sorted from scratch: in parallel when a core is free.
    cursor.execute("SELECT current_setting('max_parallel_maintenance_workers')")
    workers = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('max_parallel_maintenance_workers', '0', true)")
    cursor.execute(
        f"ALTER TABLE {_TABLE} ADD CONSTRAINT {primary_key.name} PRIMARY KEY ({primary_key.column})"
    )
    _keys_and_indexes("add", indexes=False)
    cursor.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)", [workers])
    _keys_and_indexes("add", keys=False)
    # Statistics now, in this transaction: a visit's refresh (core.prepared) makes its generic
    # plan once per connection, and made without them (autovacuum analyses only after the
    # commit) it scanned the new reminders: 80 ms a visit at a million children, not 2. About
    # 0.2 s of the first run.
    cursor.execute(f"ANALYZE {_TABLE}")
    return raised


_TABLE = "visits_notification"


class _PrimaryKey(NamedTuple):
    name: str  # quoted
    column: str  # quoted


def _primary_key(cursor) -> _PrimaryKey:
    """The reminder table's primary key constraint, as the database names it."""
    quote = connection.ops.quote_name
    for name, info in connection.introspection.get_constraints(cursor, _TABLE).items():
        if info["primary_key"]:
            return _PrimaryKey(quote(name), ", ".join(quote(c) for c in info["columns"]))
    raise RuntimeError(f"{_TABLE} has no primary key")


def _keys_and_indexes(verb: str, *, keys: bool = True, indexes: bool = True) -> None:
    """Remove (or add) the reminder table's unique key and indexes as its model declares them,
    through the schema editor: the statements a migration would run."""
    meta = Notification._meta
    with connection.schema_editor(atomic=False) as editor:
        for constraint in meta.constraints if keys else []:
            if isinstance(constraint, models.UniqueConstraint):
                getattr(editor, f"{verb}_constraint")(Notification, constraint)
        for index in meta.indexes if indexes else []:
            getattr(editor, f"{verb}_index")(Notification, index)


# Every reminder the rules select, once each (DISTINCT ON notification_once's key: what ON
# CONFLICT would keep), numbered in that key's order, into a temporary table (no WAL).
_FIRST_SELECT_SQL = """
    CREATE TEMPORARY TABLE sweep_first ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY k.cid, k.uid, k.kind, k.rule, k.rid, k.due) AS n, k.*
    FROM (
        SELECT DISTINCT ON (k.cid, k.uid, k.kind, k.rule, k.rid, k.due) k.*
        FROM ({current}) AS k(rule, kind, uid, cid, rid, due, detail)
        ORDER BY k.cid, k.uid, k.kind, k.rule, k.rid, k.due  -- notification_once's order
    ) k
"""
# The ids follow the numbering, whatever order the rows come in; they come in the order they were
# written (a temporary table is read from its first page), so the table is written in the keys'
# order too.
_RAISE_ALL_SQL = """
    INSERT INTO visits_notification
        (id, recipient_id, kind, rule, child_id, report_id, due_date, created_on, created_at,
         detail)
    SELECT %(first_id)s - 1 + k.n, k.uid, k.kind, k.rule, k.cid, k.rid, k.due, %(today)s, now(),
           k.detail
    FROM sweep_first k
"""


# What differs between the reminders the rules select today and the open ones: a row of the
# first with no open twin (open_id NULL) is new, an open reminder with no twin today (uid NULL)
# is resolved (keys compared by _same_key).
_CHANGES_SQL = """
    CREATE TEMPORARY TABLE sweep_changes ON COMMIT DROP AS
    WITH current_reminders (rule, kind, uid, cid, rid, due, detail) AS ({current})
    SELECT k.rule, k.kind, k.uid, k.cid, k.rid, k.due, k.detail, o.id AS open_id
    FROM current_reminders k
    FULL JOIN (
        SELECT id, rule, recipient_id, child_id, report_id, due_date
        FROM visits_notification WHERE resolved_at IS NULL
    ) o
      ON {same_key}
    WHERE o.id IS NULL OR k.uid IS NULL
"""


def _raise_from(source: str) -> str:
    """INSERT the reminders of ``source`` (FROM text, rows ``c``) not stored yet, in
    notification_once's order; (rule, kind, count) of what was raised."""
    return f"""
    WITH raised AS (
        INSERT INTO visits_notification
            (recipient_id, kind, rule, child_id, report_id, due_date, created_on, created_at,
             detail)
        SELECT c.uid, c.kind, c.rule, c.cid, c.rid, c.due, %(today)s, now(), c.detail
        FROM {source}
        ORDER BY c.cid, c.uid, c.kind, c.rule, c.rid, c.due  -- notification_once's order
        ON CONFLICT ON CONSTRAINT notification_once DO NOTHING
        RETURNING rule, kind
    )
    SELECT rule, kind, count(*) FROM raised GROUP BY rule, kind
"""


_RAISE_SQL = _raise_from("sweep_changes c WHERE c.open_id IS NULL")
_RAISE_CURRENT_SQL = _raise_from("sweep_current c")  # a second run of the day's
# The keys gathered first (an init plan): the rows just inserted are not in the table's
# statistics yet, and a join could be planned as one scan of the changes per reminder.
_RESOLVE_CHANGED_SQL = """
    UPDATE visits_notification n SET resolved_at = now()
    WHERE n.id = ANY(ARRAY(SELECT c.open_id FROM sweep_changes c WHERE c.uid IS NULL))
      AND n.resolved_at IS NULL
"""

# Reminders answered before the retention (index notification_resolved): their unique key goes
# with them, so a rule selecting the same duty again after so long raises it anew.
_PRUNE_SQL = """
    DELETE FROM visits_notification
    WHERE resolved_at < %(now)s - make_interval(days => %(keep)s)
"""

# One rule's notifications, each created once (notification_once): the new rows' recipients.
_INSERT_SQL = """
    INSERT INTO visits_notification
        (recipient_id, kind, rule, child_id, report_id, due_date, created_on, created_at, detail)
    SELECT s.uid, %(kind)s, %(rule)s, s.cid, s.rid, s.due, %(today)s, now(), s.detail
    FROM ({select}) AS s(uid, cid, rid, due, detail)
    ON CONFLICT ON CONSTRAINT notification_once DO NOTHING
    RETURNING recipient_id
"""


def _insert_sql(select: str) -> str:
    # Not str.format: a rule's SQL may hold braces (an array literal).
    return _INSERT_SQL.replace("{select}", select)


def _current_sql(chosen: list[SweepRule], where: str = "") -> str:
    """Every reminder the rules select now, as (rule, kind, uid, cid, rid, due, detail);
    ``where`` restricts each rule's rows (on ``s``) before the union."""
    return " UNION ALL ".join(
        f"SELECT '{rule.name}', '{rule.kind}', s.* "
        f"FROM ({rule.select}) AS s(uid, cid, rid, due, detail) {where}"
        for rule in chosen
    )


def _resolve_sql(current: str, scope: str) -> str:
    """Resolve the open reminders (within ``scope``, SQL on ``n``) that ``current`` (a SELECT of
    _current_sql, or the name of a CTE holding one) no longer holds (_same_key)."""
    return f"""
        UPDATE visits_notification n SET resolved_at = now()
        WHERE n.resolved_at IS NULL {scope}
          AND NOT EXISTS (
              SELECT 1 FROM ({current}) AS k(rule, kind, uid, cid, rid, due, detail)
              WHERE {_same_key("k", "n")}
          )
    """


def _raise_current_sql(returning: str) -> str:
    """INSERT what the CTE ``current_reminders`` selects and is not stored yet (notification_once),
    RETURNING ``returning``: the raising half of a refresh or of the urgent sweep."""
    return f"""
        INSERT INTO visits_notification
            (recipient_id, kind, rule, child_id, report_id, due_date, created_on, created_at,
             detail)
        SELECT k.uid, k.kind, k.rule, k.cid, k.rid, k.due, %(today)s, now(), k.detail
        FROM current_reminders AS k(rule, kind, uid, cid, rid, due, detail)
        ON CONFLICT ON CONSTRAINT notification_once DO NOTHING
        RETURNING {returning}
    """


@functools.cache
def _refresh_sql(children: int, reports: int) -> str:
    """reminders_refresh's statement for some children, some reports, or both: the same text
    every time (it is prepared once per connection: core.prepared), each shape restricted to
    what it is given, so that its generic plan looks up only those keys. ``children`` and
    ``reports``: 0 (none), 1 (one: the key compared with ``=``) or 2 (several: ``= ANY``). A
    generic plan knows that ``id = $1`` is one row; of ``id = ANY($1)`` it guesses ten, and
    so began some rules from their other conditions — a range of due dates, every high-risk
    assessment — 2 ms of the database's CPU on every visit recorded, where one file's rows
    are a key lookup."""

    def key(shape: int, one: str, many: str) -> str | None:
        return {0: None, 1: f"= %({one})s::uuid", 2: f"= ANY(%({many})s::uuid[])"}[shape]

    keys = [
        ("s.cid", "n.child_id", key(children, "child", "children")),
        ("s.rid", "n.report_id", key(reports, "report", "reports")),
    ]
    keys = [(rule, stored, match) for rule, stored, match in keys if match]
    current = _current_sql(
        [rule for rule in sweep_rules() if rule.about_case],
        "WHERE " + " OR ".join(f"{rule} {match}" for rule, _, match in keys),
    )
    resolve = _resolve_sql(
        "SELECT * FROM current_reminders",
        "AND (" + " OR ".join(f"{stored} {match}" for _, stored, match in keys) + ")",
    )
    return f"""
        WITH current_reminders AS MATERIALIZED ({current}),
        raised AS ({_raise_current_sql("1")})
        {resolve}
        """


def reminders_refresh(*, child_ids: list[str] = (), report_ids: list[str] = ()) -> int:
    """Work was recorded on these children or reports (accounts.extensions.case_changed, in the
    same transaction): raise what is now due about them and resolve, with its escalations,
    whatever the work answered — the same rules as the sweep, restricted to them, in one
    statement whatever the number of rules, planned once per connection (core.prepared).
    Returns how many reminders were resolved."""
    children = list(dict.fromkeys(uuid.UUID(str(c)) for c in child_ids))
    reports = list(dict.fromkeys(uuid.UUID(str(r)) for r in report_ids))
    if not children and not reports:
        return 0
    params = {**_params(None)}
    if len(children) == 1:
        params["child"] = children[0]
    elif children:
        params["children"] = children
    if len(reports) == 1:
        params["report"] = reports[0]
    elif reports:
        params["reports"] = reports
    shape = (min(len(children), 2), min(len(reports), 2))
    return prepared.execute(_refresh_sql(*shape), params)


# Duties counted in hours, not days: a detained parent's children unchecked 24 hours after the
# report (domain §10). Their rules are also swept every ten minutes (reminders.urgent_sweep, beat)
# and what they raise is sent at once: the daily 08:00 sweep alone would tell the township up to
# a day late.
URGENT_RULES = ("detention_check_late", "detention_check_late_county")


@functools.cache
def _urgent_sql() -> str:
    chosen = [rule for rule in sweep_rules() if rule.name in URGENT_RULES]
    resolve = _resolve_sql("SELECT * FROM current_reminders", "AND n.rule = ANY(%(rules)s)")
    return f"""
        WITH current_reminders AS MATERIALIZED ({_current_sql(chosen)}),
        raised AS ({_raise_current_sql("recipient_id")}),
        resolved AS ({resolve} RETURNING 1)
        SELECT DISTINCT recipient_id FROM raised ORDER BY 1
    """


def reminders_sweep_urgent() -> int:
    """The sweep of URGENT_RULES only (raise what they select now, resolve what they no longer
    select), one statement; the people newly reminded get their digest now (the outbox).
    Idempotent. Returns how many people were told."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_urgent_sql(), {**_params(None), "rules": list(URGENT_RULES)})
        recipients = [row[0] for row in cursor.fetchall()]
        outbox.enqueue_many("reminders.send_digest", [(uid,) for uid in recipients])
    return len(recipients)


def duty_done_resolve(*, kind: str, area_code: str, due_date: date) -> int:
    """accounts.extensions.duty_done: the open reminders of ``kind`` due on ``due_date`` to the
    staff of ``area_code`` (about no child and no report) are answered now; the next sweep,
    whose rule no longer selects them, would resolve the same ones. Returns how many."""
    return Notification.objects.filter(
        kind=kind,
        due_date=due_date,
        recipient__area_id=area_code,
        child_id__isnull=True,
        report_id__isnull=True,
        resolved_at__isnull=True,
    ).update(resolved_at=timezone.now())


def report_filed_notify(*, report_id: str) -> int:
    """A report of a county or above was filed: its civil affairs get a ``report_filed``
    reminder now, sent to them at once rather than in tomorrow's digest. Idempotent (the outbox
    delivers at least once; the sweep would create the same row): returns how many people it
    was sent to, none once it has been."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(f"{_REPORT_FILED_SQL} AND r.id = %(report)s"),
            {
                "today": today(),
                "now": now,
                "kind": NotificationKind.REPORT_FILED,
                "rule": "report_filed",
                "report": report_id,
            },
        )
        # Whoever holds it unsent — raised just now, or by the filing's own case_changed.
        return _send_now(NotificationKind.REPORT_FILED, report_id)


def _send_now(kind: str, report_id: str) -> int:
    """Send now (a digest each, through the outbox) the open, unsent reminders of ``kind`` for
    the report: how many people they go to."""
    recipients = list(
        Notification.objects.filter(
            kind=kind,
            report_id=report_id,
            digest_sent_at__isnull=True,
            resolved_at__isnull=True,
        )
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    outbox.enqueue_many("reminders.send_digest", [(uid,) for uid in sorted(recipients)])
    return len(recipients)


def detention_check_notify(*, report_id: str) -> int:
    """A parent detained, minor children at home (reporting.intake): the check's reminder was
    raised as the report was filed; its holders get it now, not in tomorrow's digest. Idempotent
    (the outbox delivers at least once): returns how many people it was sent to, none once it
    has been."""
    with transaction.atomic():
        # Raised by the filing's case_changed; raised here too if that refresh could not.
        reminders_refresh(report_ids=[report_id])
        return _send_now(NotificationKind.DETENTION_CHECK, report_id)


def notification_mark_read(*, user: User, notification_ids: list[int] | None = None) -> int:
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    return queryset.update(read_at=timezone.now())
