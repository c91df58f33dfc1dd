"""Writes of benefits (补贴纳入, domain §7): applications and decisions, enrolments and exits,
standards, full-time education and the monthly ledger. Pages, the API, the tasks and the demo all
call these."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, models, transaction
from django.http import Http404
from django.utils import translation

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from accounts.services import policies_for
from children import lifecycle as child_lifecycle
from children import rules as child_rules
from children import schedule
from children.models import Child, ChildStatus, CloseReason, Relation
from children.services import history_context, parent_facts, require_writer
from core import crypto
from core.clock import today
from core.errors import Conflict
from core.uploads import document_type

from . import rules
from .models import (
    ApplicationStatus,
    EducationRecord,
    Enrolment,
    Entitlement,
    ExitReason,
    SubsidyApplication,
    SubsidyDecision,
    SubsidyEvidence,
    SubsidyStandard,
)
from .selectors import STANDARD_IN_FORCE_SQL


def _check_choice(errors: dict, field: str, value: Any, choices) -> None:
    if value not in set(choices):
        errors.setdefault(field, []).append(f"无效的选项：{value}")


def _raise_if_errors(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _require_active(child: Child) -> None:
    if child.status == ChildStatus.CLOSED:
        raise Conflict("档案已结案，不能修改")


# --- Applications ---------------------------------------------------------------------------

OPEN_APPLICATION = (ApplicationStatus.SUBMITTED, ApplicationStatus.TOWNSHIP_APPROVED)


def _subsidy_facts(child: Child) -> dict[str, Any]:
    parents = [
        parent_facts(m)
        for m in child.family_members.filter(relation__in=(Relation.FATHER, Relation.MOTHER))
    ]
    on = today()
    return {
        "today": on,
        "age": child_rules.age_on(child.birth_date, on),
        "categories": child.categories,
        "flags": child.focus_flags,
        "school_status": child.school_status,
        "parents": parents,
    }


def subsidy_refusals(*, child: Child, programme: str) -> list[rules.Refusal]:
    """Every reason the child is not eligible for ``programme``, with the evidence that would
    change it (empty: eligible)."""
    return rules.refusals(programme=programme, **_subsidy_facts(child))


def subsidy_refusals_by_programme(*, child: Child) -> dict[str, list[rules.Refusal]]:
    """Every programme's refusals for the child, from one read of the family."""
    facts = _subsidy_facts(child)
    return {code: rules.refusals(programme=code, **facts) for code in rules.PROGRAMMES}


def subsidy_eligibility(*, child: Child, programme: str) -> list[str]:
    """Every reason the child is not eligible for ``programme`` (empty: eligible)."""
    return [r.reason for r in subsidy_refusals(child=child, programme=programme)]


def _check_eligible(child: Child, programme: str) -> None:
    if programme not in rules.PROGRAMMES:
        raise ValidationError({"programme": [f"未知的补贴项目：{programme}"]})
    reasons = subsidy_eligibility(child=child, programme=programme)
    if reasons:
        raise ValidationError({"programme": reasons})


def _record_decision(application, user: User, decision: str, previous: str, note: str) -> None:
    SubsidyDecision.objects.create(
        application=application,
        decision=decision,
        from_status=previous,
        to_status=application.status,
        by=user,
        note=note,
    )


def subsidy_apply(
    *, user: User, child: Child, programme: str, note: str = ""
) -> SubsidyApplication:
    """Submit (受理) an application; refused (422) with every reason when the rule fails."""
    permissions.require(user, Capability.BENEFIT_SUBMIT)
    _require_active(child)
    _check_eligible(child, programme)
    if SubsidyApplication.objects.filter(
        child=child, programme=programme, status__in=OPEN_APPLICATION
    ).exists():
        raise Conflict("该儿童已有同一项目的申请在审核中")
    if Enrolment.objects.filter(child=child, programme=programme, end_month__isnull=True).exists():
        raise Conflict("该儿童已纳入该补贴项目")
    with transaction.atomic():
        application = SubsidyApplication.objects.create(
            child=child, programme=programme, note=note.strip(), submitted_by=user
        )
        _record_decision(application, user, "submit", "", note.strip())
    return application


def subsidy_resubmit(
    *, user: User, application: SubsidyApplication, note: str = ""
) -> SubsidyApplication:
    """A returned application, with the evidence asked for, goes back to the township."""
    permissions.require(user, Capability.BENEFIT_SUBMIT)
    _require_active(application.child)
    with transaction.atomic():
        locked = SubsidyApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status != ApplicationStatus.RETURNED:
            raise Conflict("只有被退回的申请可以重新提交", field="status")
        _check_eligible(locked.child, locked.programme)
        if SubsidyApplication.objects.filter(
            child_id=locked.child_id, programme=locked.programme, status__in=OPEN_APPLICATION
        ).exists():
            raise Conflict("该儿童已有同一项目的申请在审核中")
        locked.status = ApplicationStatus.SUBMITTED
        locked.township_approved_on = None
        locked.version += 1
        locked.save()
        _record_decision(locked, user, "resubmit", ApplicationStatus.RETURNED, note.strip())
    return locked


def subsidy_submitted_by(application: SubsidyApplication, user: User) -> bool:
    """Whoever submitted or resubmitted an application may not decide on it."""
    return (
        application.submitted_by_id == user.pk
        or application.decisions.filter(decision="resubmit", by=user).exists()
    )


def subsidy_decide(
    *, user: User, application: SubsidyApplication, decision: str, note: str
) -> SubsidyApplication:
    """Township (supervisor) decides first, county (civil affairs) second. 403 for a wrong role or
    one's own application; 409 for the wrong status or before the public notice ends."""
    if decision not in ("approve", "return", "reject"):
        raise ValidationError({"decision": ["应为 approve、return 或 reject"]})
    permissions.require(user, Capability.BENEFIT_DECIDE)
    if subsidy_submitted_by(application, user):
        raise PermissionDenied("不能审核本人提交的申请")
    if decision in ("return", "reject") and not (note or "").strip():
        raise ValidationError({"note": ["退回或不予批准时须写明理由"]})
    with transaction.atomic(), history_context(user):
        locked = SubsidyApplication.objects.select_for_update().get(pk=application.pk)
        decider = rules.DECIDER.get(locked.status)
        role = user.role
        if decider is None or decider != role:
            raise Conflict("该申请当前不在您的审核环节", field="status")
        on = today()
        programme = rules.PROGRAMMES[locked.programme]
        if (
            decision == "approve"
            and locked.status == ApplicationStatus.TOWNSHIP_APPROVED
            and programme.public_notice
        ):
            first_day = rules.notice_ends(locked.township_approved_on)
            if on < first_day:
                raise Conflict(f"公示期未满，{first_day:%Y-%m-%d}起方可审批", field="status")
        if decision == "approve":
            if locked.child.status == ChildStatus.CLOSED:
                raise Conflict("档案已结案，不能批准", field="status")
            # The family may have changed since submission: the rule is checked again.
            _check_eligible(locked.child, locked.programme)
        previous = locked.status
        if decision == "approve":
            locked.status = rules.NEXT_ON_APPROVE[previous]
            if locked.status == ApplicationStatus.TOWNSHIP_APPROVED:
                locked.township_approved_on = on
        elif decision == "return":
            locked.status = ApplicationStatus.RETURNED
        else:
            locked.status = ApplicationStatus.REJECTED
        if locked.status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            locked.decided_on = on
        if locked.status == ApplicationStatus.APPROVED:
            # Approval enrols the child; payment starts the month after (domain §7).
            _enrol(locked, on)
        locked.version += 1
        locked.save()
        _record_decision(locked, user, decision, previous, (note or "").strip())
    return locked


def subsidy_evidence_attach(
    *, user: User, application: SubsidyApplication, upload, description: str
) -> SubsidyEvidence:
    """A supporting document, checked like the signed copy of a care agreement (JPEG/PNG/PDF by
    its bytes, ≤ 10 MB), stored under a random name."""
    permissions.require(user, Capability.BENEFIT_EVIDENCE)
    description = (description or "").strip()
    errors: dict[str, list[str]] = {}
    if not description:
        errors["description"] = ["请写明材料名称，如“死亡证明”"]
    elif len(description) > 100:
        errors["description"] = ["材料名称不能超过100字"]
    if upload is None:
        errors["file"] = ["请选择文件"]
    _raise_if_errors(errors)
    content_type, extension = document_type(upload, field="file")
    with transaction.atomic():
        locked = SubsidyApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            raise Conflict("申请已办结，不能再补充材料", field="status")
        evidence = SubsidyEvidence(
            application=locked,
            description=description,
            content_type=content_type,
            uploaded_by=user,
        )
        evidence.file.save(f"{uuid.uuid4().hex}{extension}", ContentFile(upload.read()), save=False)
        evidence.save()
    return evidence


def subsidy_review_days(village_code: str) -> int:
    """Days between reviews of a benefit (*default* 6 months), by the area's policy."""
    return policies_for({village_code})[village_code]["subsidy_review_days"]


def _enrol(application: SubsidyApplication, on: date) -> Enrolment:
    programme = rules.PROGRAMMES[application.programme]
    start = rules.next_month(on)
    if programme.one_off:
        # Temporary assistance is paid once, in the month after approval.
        return Enrolment.objects.create(
            application=application,
            child=application.child,
            programme=application.programme,
            start_month=start,
            end_month=start,
            exit_reason=ExitReason.ONE_OFF,
            ended_on=on,
        )
    enrolment = Enrolment.objects.create(
        application=application,
        child=application.child,
        programme=application.programme,
        start_month=start,
        next_review_on=on + timedelta(days=subsidy_review_days(application.child.village_id)),
    )
    education_continues_until_refresh(child_ids=[application.child_id])
    return enrolment


def _end_enrolments(
    enrolments: models.QuerySet[Enrolment],
    *,
    reason: str,
    note: str,
    on: date,
    user: User | None,
) -> int:
    """End the benefits: the month of the event is the last one paid; entitlements already written
    for later months were never due and are removed."""
    last_month = rules.first_of_month(on)
    rows = list(enrolments.filter(end_month__isnull=True).values_list("pk", "child_id"))
    ids = [pk for pk, _child_id in rows]
    Entitlement.objects.filter(enrolment_id__in=ids, month__gt=last_month).delete()
    ended = Enrolment.objects.filter(pk__in=ids).update(
        end_month=last_month,
        exit_reason=reason,
        end_reason=note[:200],
        ended_on=on,
        ended_by=user,
        next_review_on=None,
        review_reason="",
    )
    # With no benefit left open, the file stays open past 18 no later than the day it ended.
    education_continues_until_refresh(child_ids={child_id for _pk, child_id in rows})
    return ended


def enrolment_end(
    *, user: User, enrolment: Enrolment, reason: str, note: str = "", on: date | None = None
) -> Enrolment:
    """County civil affairs stop a benefit (adopted, moved away, a parent regained capacity …):
    paid up to the month of the event, recorded with who, when and why."""
    permissions.require(user, Capability.BENEFIT_ADMINISTER)
    on = on or today()
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    _check_choice(errors, "reason", reason, [r for r in ExitReason.values if r != "one_off"])
    if reason == ExitReason.OTHER and not note:
        errors.setdefault("note", []).append("终止原因为“其他”时请说明")
    if on > today():
        errors.setdefault("on", []).append("终止日期不能晚于今天")
    decided = enrolment.application.decided_on
    if decided is not None and on < decided:
        errors.setdefault("on", []).append("终止日期不能早于批准日期")
    _raise_if_errors(errors)
    with transaction.atomic(), history_context(user):
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.end_month is not None:
            raise Conflict("该补贴已终止", field="status")
        label = ExitReason(reason).label
        _end_enrolments(
            Enrolment.objects.filter(pk=locked.pk),
            reason=reason,
            note=note or str(label),
            on=on,
            user=user,
        )
        locked.refresh_from_db()
        _record_decision(
            locked.application, user, "exit", ApplicationStatus.APPROVED, note or str(label)
        )
    return locked


def enrolment_review(*, user: User, enrolment: Enrolment, note: str = "") -> Enrolment:
    """The six-monthly review found the child still eligible: the next one is due in 6 months."""
    permissions.require(user, Capability.BENEFIT_REVIEW)
    with transaction.atomic():
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.end_month is not None:
            raise Conflict("该补贴已终止", field="status")
        reasons = subsidy_eligibility(child=locked.child, programme=locked.programme)
        if reasons:
            raise ValidationError({"programme": reasons})
        on = today()
        locked.last_reviewed_on = on
        locked.next_review_on = on + timedelta(days=subsidy_review_days(locked.child.village_id))
        locked.review_reason = ""
        locked.save(update_fields=["last_reviewed_on", "next_review_on", "review_reason"])
        _record_decision(
            locked.application, user, "review", ApplicationStatus.APPROVED, (note or "").strip()
        )
    return locked


def enrolment_set_payee(*, user: User, enrolment: Enrolment, name: str, account: str) -> Enrolment:
    """Who the bank pays and to which account (stored encrypted, shown masked)."""
    permissions.require(user, Capability.BENEFIT_ADMINISTER)
    name, account = (name or "").strip(), (account or "").replace(" ", "")
    errors: dict[str, list[str]] = {}
    if not name:
        errors["payee_name"] = ["请填写收款人姓名"]
    if account and not (account.isdigit() and 8 <= len(account) <= 30):
        errors["payee_account"] = ["银行账号应为8至30位数字"]
    _raise_if_errors(errors)
    enrolment.payee_name = name
    enrolment.payee_account_encrypted = crypto.encrypt(account) if account else ""
    enrolment.payee_account_masked = mask_account(account)
    enrolment.save(update_fields=["payee_name", "payee_account_encrypted", "payee_account_masked"])
    return enrolment


def mask_account(account: str) -> str:
    """A bank account shown as ``6217 **** 1234``."""
    return f"{account[:4]} **** {account[-4:]}" if account else ""


def education_record_add(*, user: User, child: Child, year: int, school: str) -> EducationRecord:
    """Full-time education for a year: the benefits continue past 18 that year. A benefit that
    stopped at the 18th birthday resumes."""
    require_writer(user)
    school = (school or "").strip()
    errors: dict[str, list[str]] = {}
    if not school:
        errors["school"] = ["请填写就读学校"]
    this_year = today().year
    if not (child.birth_date.year + 16 <= year <= this_year + 1):
        first = child.birth_date.year + 16
        errors.setdefault("year", []).append(f"年份应在{first}至{this_year + 1}之间")
    _raise_if_errors(errors)
    with transaction.atomic(), history_context(user):
        record, _created = EducationRecord.objects.update_or_create(
            child=child, year=year, defaults={"school": school, "recorded_by": user}
        )
        Enrolment.objects.filter(
            child=child, exit_reason=ExitReason.TURNED_18, end_month__year__gte=year - 1
        ).update(end_month=None, exit_reason="", end_reason="", ended_on=None, ended_by=None)
        # With a benefit open, the file stays open past 18 to the end of that year; a file
        # closed on the 18th birthday re-opens.
        education_continues_until_refresh(child_ids=[child.pk])
        child_lifecycle.reopen_for_education(child.pk)
    return record


# The SQL form of rules.education_continues_until for the children ``%(ids)s``. Only rows whose
# date changes are written (each write is a line on the child's timeline).
EDUCATION_UNTIL_SELECT = """
SELECT k.id,
       CASE
           WHEN r.last_year IS NULL THEN NULL
           WHEN e.any_open THEN make_date(r.last_year, 12, 31)
           WHEN e.last_ended IS NOT NULL THEN LEAST(make_date(r.last_year, 12, 31), e.last_ended)
       END AS until
FROM children_child k
CROSS JOIN LATERAL (
    SELECT max(year)::int AS last_year FROM children_educationrecord WHERE child_id = k.id
) r
CROSS JOIN LATERAL (
    SELECT bool_or(end_month IS NULL) AS any_open, max(ended_on) AS last_ended
    FROM children_enrolment WHERE child_id = k.id
) e
"""
EDUCATION_UNTIL_SQL = f"""
UPDATE children_child c
SET education_continues_until = s.until
FROM ({EDUCATION_UNTIL_SELECT} WHERE k.id = ANY(%(ids)s::uuid[])) s
WHERE c.id = s.id AND c.education_continues_until IS DISTINCT FROM s.until
"""


def education_continues_until_refresh(*, child_ids: Iterable[uuid.UUID | str]) -> int:
    """Keep the child file's ``education_continues_until`` (how long the daily ageing-out job
    leaves the file open past the 18th birthday) after full-time education is recorded or a
    benefit opens or ends. Returns how many files changed."""
    ids = [str(pk) for pk in child_ids]
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(EDUCATION_UNTIL_SQL, {"ids": ids})
        return cursor.rowcount


def subsidy_standard_set(
    *, user: User, area_code: str, programme: str, month: date, amount
) -> SubsidyStandard:
    """Civil affairs set a programme's monthly standard for their area from a month on (the
    one-off sum for temporary assistance)."""
    permissions.require(user, Capability.BENEFIT_ADMINISTER)
    if not scope.code_in_scope(user, area_code):
        raise Http404  # outside the user's area, as everywhere
    errors: dict[str, list[str]] = {}
    if programme not in rules.PROGRAMMES:
        errors.setdefault("programme", []).append(f"未知的补贴项目：{programme}")
    if amount is None or amount < 0:
        errors.setdefault("amount", []).append("标准不能为负数")
    elif amount >= 10**7:
        errors.setdefault("amount", []).append("标准过大，请核对")
    if month is None:
        errors.setdefault("month", []).append("请选择起始月份")
    _raise_if_errors(errors)
    if (
        Area.objects.filter(code=area_code)
        .exclude(level__in=("province", "city", "county"))
        .exists()
    ):
        raise ValidationError({"area_code": ["标准只能按省、市、县设置"]})
    standard, _created = SubsidyStandard.objects.update_or_create(
        area_id=area_code,
        programme=programme,
        effective_month=month.replace(day=1),
        defaults={"amount": amount, "set_by": user},
    )
    return standard


# The month of the 18th birthday is children.schedule's (born 29 February: 1 March), the same
# day rules.payable_in and the ageing-out job use.
_EIGHTEEN = schedule.eighteenth_birthday_sql("c.")

TURNED_18_SQL = f"""
UPDATE children_enrolment e
SET end_month = date_trunc('month', {_EIGHTEEN})::date,
    exit_reason = 'turned_18', end_reason = '年满18周岁', ended_on = %(month)s,
    next_review_on = NULL
FROM children_child c
WHERE c.id = e.child_id AND e.end_month IS NULL
  AND date_trunc('month', {_EIGHTEEN}) < %(month)s
  AND NOT EXISTS (SELECT 1 FROM children_educationrecord r
                  WHERE r.child_id = c.id AND r.year = extract(year FROM %(month)s::date))
RETURNING e.child_id
"""

ENTITLEMENTS_SQL = f"""
INSERT INTO children_entitlement (enrolment_id, month, amount, created_at)
SELECT e.id, %(month)s, s.amount, now()
FROM children_enrolment e
JOIN children_child c ON c.id = e.child_id
JOIN LATERAL ({
    STANDARD_IN_FORCE_SQL.format(programme="e.programme", month="%(month)s", village="c.village_id")
}) s ON true
WHERE e.start_month <= %(month)s
  AND (e.end_month IS NULL OR e.end_month >= %(month)s)
  AND c.status = 'active'
  -- paid up to the month of the 18th birthday, after it only in years of full-time education
  AND (date_trunc('month', {_EIGHTEEN}) >= %(month)s
       OR EXISTS (SELECT 1 FROM children_educationrecord r
                  WHERE r.child_id = c.id AND r.year = extract(year FROM %(month)s::date)))
ON CONFLICT ON CONSTRAINT entitlement_once_a_month DO NOTHING
"""


def entitlements_generate(*, month: date) -> int:
    """The monthly ledger: first end the benefits of children past 18 with no full-time education
    that year (recorded as a turned_18 exit), then one entitlement per enrolment in force at the
    standard in force, in one set-based INSERT. Idempotent by the (enrolment, month) constraint."""
    params = {"month": month.replace(day=1)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TURNED_18_SQL, params)
        education_continues_until_refresh(child_ids={row[0] for row in cursor.fetchall()})
        cursor.execute(ENTITLEMENTS_SQL, params)
        return cursor.rowcount


# --- What the child file asks of benefits (outbox tasks, benefits/tasks.py) ------------------

# A file closed for these reasons ends its benefits with the same reason; any other closing is
# recorded as file_closed.
CLOSE_EXIT_REASON = {
    CloseReason.DECEASED: ExitReason.DECEASED,
    CloseReason.MOVED_AWAY: ExitReason.MOVED_AWAY,
    CloseReason.TURNED_18: ExitReason.TURNED_18,
}


def enrolments_end_for_closed_file(
    *, child_id: uuid.UUID | str, reason: str, closed_on: date, user_id: int | None
) -> int:
    """Benefits stop with the file: the month it closed is the last one paid. Queued by
    children.services.child_close in its transaction; a second run finds nothing open."""
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    # The note is stored, so it is written in the site's language, not the worker's.
    with translation.override(settings.LANGUAGE_CODE):
        label = str(CloseReason(reason).label) if reason in CloseReason.values else reason
    with transaction.atomic(), history_context(user):
        return _end_enrolments(
            Enrolment.objects.filter(child_id=child_id),
            reason=CLOSE_EXIT_REASON.get(reason, ExitReason.FILE_CLOSED),
            note=f"档案结案：{label}",
            on=closed_on,
            user=user,
        )


def enrolments_end_for_moved_file(
    *, child_id: uuid.UUID | str, source: str, destination: str, on: date
) -> int:
    """A file moved to another county (children.lifecycle): benefits paid by the old county end
    that month (exit ``moved_away``); the new county is asked to re-apply by the reminder sweep,
    which reads these ended enrolments. A move within one county changes nothing. Idempotent."""
    if area_rules.prefix(source, area_rules.COUNTY) == area_rules.prefix(
        destination, area_rules.COUNTY
    ):
        return 0
    with transaction.atomic():
        return _end_enrolments(
            Enrolment.objects.filter(child_id=child_id),
            reason=ExitReason.MOVED_AWAY,
            note=f"迁出：{source} → {destination}",
            on=on,
            user=None,
        )


def enrolments_recheck(*, child_id: uuid.UUID | str) -> int:
    """A change to the file or the family that breaks a benefit's rule (a parent regains
    capacity, the child leaves school …) makes the benefit's review due today instead of stopping
    payment silently: the reminder sweep then tells the director (subsidy_review), with the
    reason. Queued by the child file's services after each change; idempotent."""
    with transaction.atomic():
        enrolments = list(
            Enrolment.objects.select_for_update().filter(child_id=child_id, end_month__isnull=True)
        )
        if not enrolments:
            return 0
        child = Child.objects.get(pk=child_id)
        on = today()
        flagged = 0
        for enrolment in enrolments:
            if not subsidy_eligibility(child=child, programme=enrolment.programme):
                continue
            with translation.override(settings.LANGUAGE_CODE):
                enrolment.review_reason = f"家庭情况变化，需复核：{enrolment.programme_name}"[:200]
            if enrolment.next_review_on is None or enrolment.next_review_on > on:
                enrolment.next_review_on = on
            enrolment.save(update_fields=["next_review_on", "review_reason"])
            flagged += 1
    return flagged
