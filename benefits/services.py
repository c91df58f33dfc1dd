"""Writes of benefits (补贴纳入, domain §7): applications and decisions, enrolments and exits,
standards, full-time education and the monthly ledger. Pages, the API, the tasks and the demo all
call these."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, models, transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts import extensions, permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from accounts.services import policies_for
from children import lifecycle as child_lifecycle
from children import rules as child_rules
from children import schedule
from children import services as child_services
from children.models import Child, ChildStatus, CloseReason, EvidenceKind, Relation
from children.services import history_context, parent_facts, require_writer
from core import crypto
from core.clock import today
from core.errors import Conflict
from core.text import clause_list
from core.uploads import document_type

from . import rules, selectors
from .models import (
    ApplicationStatus,
    EducationRecord,
    Enrolment,
    Entitlement,
    EvidenceRequirement,
    ExitReason,
    NoticeObjection,
    NoticePlace,
    ObjectionOutcome,
    PublicNotice,
    SubsidyApplication,
    SubsidyDecision,
    SubsidyEvidence,
    SubsidyStandard,
)
from .selectors import STANDARD_IN_FORCE_SQL


def _check_choice(errors: dict, field: str, value: Any, choices) -> None:
    if value not in set(choices):
        errors.setdefault(field, []).append(_("Not a valid choice: %(value)s") % {"value": value})


def _unknown_programme(programme: object) -> str:
    return _("Unknown benefit programme: %(programme)s") % {"programme": programme}


def _raise_if_errors(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


def _require_setting_level(area_code: str, message: str) -> None:
    """What a province, city or county sets for its area and those below (standards, required
    documents): refused, with `message` next to the area, for a township or a village."""
    if Area.objects.filter(code=area_code).exclude(level__in=area_rules.COUNTY_LEVELS).exists():
        raise ValidationError({"area_code": [message]})


def _require_active(child: Child) -> None:
    if child.status == ChildStatus.CLOSED:
        raise Conflict(_("The file is closed and cannot be changed"))


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
        "categories_pending": child.categories_pending,
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
        raise ValidationError({"programme": [_unknown_programme(programme)]})
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
        raise Conflict(_("The child already has an application for this programme under review"))
    if Enrolment.objects.filter(child=child, programme=programme, end_month__isnull=True).exists():
        raise Conflict(_("The child already receives this benefit"))
    with transaction.atomic():
        application = SubsidyApplication.objects.create(
            child=child, programme=programme, note=note.strip(), submitted_by=user
        )
        _record_decision(application, user, "submit", "", note.strip())
        extensions.case_changed(child_ids=[child.pk])  # a new application answers subsidy_reapply
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
            raise Conflict(_("Only a returned application can be resubmitted"), field="status")
        _check_eligible(locked.child, locked.programme)
        if SubsidyApplication.objects.filter(
            child_id=locked.child_id, programme=locked.programme, status__in=OPEN_APPLICATION
        ).exists():
            raise Conflict(
                _("The child already has an application for this programme under review")
            )
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
    *,
    user: User,
    application: SubsidyApplication,
    decision: str,
    note: str,
    notice_place: str = "",
    notice_starts_on: date | None = None,
) -> SubsidyApplication:
    """Township (supervisor) decides first, county (civil affairs) second. 403 for a wrong role or
    one's own application; 409 for the wrong status, before the public notice ends or with an
    objection to it unhandled. The township's approval of 低保 or 特困 records the 7-day public
    notice: from the day of approval (or the later ``notice_starts_on``), at ``notice_place``
    (default the village affairs board)."""
    if decision not in ("approve", "return", "reject"):
        raise ValidationError({"decision": [_("Must be approve, return or reject")]})
    permissions.require(user, Capability.BENEFIT_DECIDE)
    if subsidy_submitted_by(application, user):
        raise PermissionDenied(_("You cannot review an application you submitted"))
    if decision in ("return", "reject") and not (note or "").strip():
        raise ValidationError({"note": [_("Give the reason for returning or refusing")]})
    with transaction.atomic(), history_context(user):
        locked = SubsidyApplication.objects.select_for_update().get(pk=application.pk)
        decider = rules.DECIDER.get(locked.status)
        role = user.role
        if decider is None or decider != role:
            raise Conflict(_("This application is not at your review step"), field="status")
        on = today()
        programme = rules.PROGRAMMES[locked.programme]
        notice = _notice_of_decision(locked, decision, notice_place, notice_starts_on, on)
        if decision == "approve" and locked.status == ApplicationStatus.TOWNSHIP_APPROVED:
            _check_public_notice(locked, on)
        if decision == "approve":
            if locked.child.status == ChildStatus.CLOSED:
                raise Conflict(_("The file is closed and cannot be approved"), field="status")
            # The family may have changed since submission: the rule is checked again.
            _check_eligible(locked.child, locked.programme)
            if locked.status == ApplicationStatus.TOWNSHIP_APPROVED:
                _check_documents(locked)
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
            if programme.confirms_category:
                with translation.override(settings.LANGUAGE_CODE):  # stored: the site's language
                    confirmed = _("Approved for %(programme)s") % {"programme": programme.name}
                child_services.category_confirm_by_approval(
                    user=user,
                    child_id=locked.child_id,
                    category=programme.confirms_category,
                    note=confirmed,
                )
        locked.version += 1
        locked.save()
        _record_decision(locked, user, decision, previous, (note or "").strip())
        if notice is not None:
            _record_public_notice(locked, user, *notice)
        extensions.case_changed(child_ids=[locked.child_id])
    return locked


def _check_documents(application: SubsidyApplication) -> None:
    """County approval waits for the programme's required documents (api.md): 409 naming each
    one missing."""
    missing = selectors.document_check(application).missing
    if missing:
        raise Conflict(
            _("Documents missing; upload before county approval: %(missing)s")
            % {"missing": pgettext("clause separator", "; ").join(missing)},
            field="evidence",
        )


# --- The public notice (公示) of 低保 and 特困, and objections to it ----------------------------

MAX_OBJECTION_TEXT = 1000


def _notice_of_decision(
    application: SubsidyApplication,
    decision: str,
    place: str,
    starts_on: date | None,
    on: date,
) -> tuple[date, str] | None:
    """(start, place) of the notice a township approval records, checked; None when the decision
    records none. The notice's fields mean nothing to a return or a rejection and are ignored;
    given to the county's approval or for a programme without notice (an orphan's benefit is
    never noticed publicly) they are refused."""
    if decision != "approve":
        return None
    records = (
        application.status == ApplicationStatus.SUBMITTED
        and rules.PROGRAMMES[application.programme].public_notice
    )
    errors: dict[str, list[str]] = {}
    if not records:
        for field, value in (("notice_place", place), ("notice_starts_on", starts_on)):
            if value:
                errors[field] = [
                    _(
                        "A public notice is recorded only for minimum living or extreme poverty "
                        "applications the township approved"
                    )
                ]
        _raise_if_errors(errors)
        return None
    place = place or NoticePlace.VILLAGE_BOARD
    starts_on = starts_on or on
    _check_choice(errors, "notice_place", place, NoticePlace.values)
    problems = rules.notice_problems(
        starts_on=starts_on,
        ends_on=rules.notice_default_end(starts_on),
        township_approved_on=on,
    )
    for problem in problems.get("starts_on", []):
        errors.setdefault("notice_starts_on", []).append(problem)
    _raise_if_errors(errors)
    return starts_on, place


def _record_public_notice(
    application: SubsidyApplication, user: User, starts_on: date, place: str
) -> PublicNotice:
    """The notice of a township approval: 7 days from ``starts_on``. An application approved
    again after a return gets a fresh notice in place of the old one (and its objections)."""
    PublicNotice.objects.filter(application=application).delete()
    return PublicNotice.objects.create(
        application=application,
        starts_on=starts_on,
        ends_on=rules.notice_default_end(starts_on),
        place=place,
        recorded_by=user,
    )


def _check_public_notice(locked: SubsidyApplication, on: date) -> None:
    """The county's approval of 低保 or 特困 waits for the public notice to end and for every
    objection to it to be handled (409 naming each). An upheld objection does not stop it by
    itself: the county reads it and decides."""
    if not rules.PROGRAMMES[locked.programme].public_notice:
        return
    notice = PublicNotice.objects.filter(application=locked).first()
    if notice is None:
        raise Conflict(_("No public notice recorded yet; it cannot be approved"), field="status")
    problems = []
    first_day = rules.county_may_approve_from(notice.ends_on)
    if on < first_day:
        problems.append(
            _("The public notice is not over; it can be approved from %(date)s")
            % {"date": f"{first_day:%Y-%m-%d}"}
        )
    unhandled = notice.objections.filter(handled_on__isnull=True).count()
    if unhandled:
        problems.append(
            _("Objections not yet dealt with (%(count)s); deal with them before approving")
            % {"count": unhandled}
        )
    if problems:
        raise Conflict(clause_list(problems), field="status")


def _notice_text(field: str, value: str | None, label: str, errors: dict) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        errors.setdefault(field, []).append(_("Contains invalid characters"))
    elif not text:
        errors.setdefault(field, []).append(_("Enter the %(label)s") % {"label": label})
    elif len(text) > MAX_OBJECTION_TEXT:
        errors.setdefault(field, []).append(
            _("The %(label)s cannot be longer than %(limit)s characters")
            % {"label": label, "limit": MAX_OBJECTION_TEXT}
        )
    return text


def _locked_notice(application: SubsidyApplication) -> tuple[SubsidyApplication, PublicNotice]:
    """The application (locked: the county's approval reads the notice under the same lock) and
    its notice, while the notice runs or awaits the county (409 otherwise)."""
    locked = SubsidyApplication.objects.select_for_update().get(pk=application.pk)
    notice = PublicNotice.objects.filter(application=locked).first()
    if locked.status != ApplicationStatus.TOWNSHIP_APPROVED or notice is None:
        raise Conflict(_("This application is not in its public notice"), field="status")
    return locked, notice


def public_notice_update(
    *,
    user: User,
    application: SubsidyApplication,
    starts_on: date,
    ends_on: date,
    place: str,
) -> PublicNotice:
    """The village or the township corrects the notice's dates or place (posted later, kept up
    longer, posted online too) while it awaits the county: never before the township's approval
    nor shorter than 7 days (422)."""
    permissions.require(user, Capability.BENEFIT_NOTICE)
    errors: dict[str, list[str]] = {}
    if starts_on is None:
        errors["starts_on"] = [_("Enter the first day of the public notice")]
    if ends_on is None:
        errors["ends_on"] = [_("Enter the last day of the public notice")]
    _check_choice(errors, "place", place, NoticePlace.values)
    _raise_if_errors(errors)
    with transaction.atomic():
        locked, notice = _locked_notice(application)
        _raise_if_errors(
            rules.notice_problems(
                starts_on=starts_on,
                ends_on=ends_on,
                township_approved_on=locked.township_approved_on,
            )
        )
        notice.starts_on, notice.ends_on, notice.place = starts_on, ends_on, place
        notice.recorded_by = user
        notice.full_clean()
        notice.save()
    return notice


def notice_objection_add(
    *, user: User, application: SubsidyApplication, received_on: date, content: str
) -> NoticeObjection:
    """An objection to the notice, received on ``received_on`` (not before the notice began, not
    in the future). Until it is handled the county may not approve."""
    permissions.require(user, Capability.BENEFIT_OBJECTION_RECORD)
    errors: dict[str, list[str]] = {}
    content = _notice_text("content", content, _("objection"), errors)
    if received_on is None:
        errors["received_on"] = [_("Enter the date the objection was received")]
    elif received_on > today():
        errors["received_on"] = [_("The date received cannot be later than today")]
    _raise_if_errors(errors)
    with transaction.atomic():
        _locked, notice = _locked_notice(application)
        if received_on < notice.starts_on:
            raise ValidationError(
                {
                    "received_on": [
                        _(
                            "The date received cannot be earlier than the notice's first day "
                            "(%(date)s)"
                        )
                        % {"date": f"{notice.starts_on:%Y-%m-%d}"}
                    ]
                }
            )
        return NoticeObjection.objects.create(
            notice=notice, received_on=received_on, content=content, recorded_by=user
        )


def notice_objection_handle(
    *, user: User, objection: NoticeObjection, outcome: str, handling: str
) -> NoticeObjection:
    """The township or the county looked into an objection: upheld or dismissed, with what was
    found and done. Once each is handled the county may approve (after the notice ends)."""
    permissions.require(user, Capability.BENEFIT_OBJECTION_HANDLE)
    errors: dict[str, list[str]] = {}
    _check_choice(errors, "outcome", outcome, ObjectionOutcome.values)
    handling = _notice_text("handling", handling, _("handling"), errors)
    _raise_if_errors(errors)
    with transaction.atomic():
        _locked, notice = _locked_notice(objection.notice.application)
        locked = NoticeObjection.objects.select_for_update().filter(pk=objection.pk).first()
        if locked is None or locked.notice_id != notice.pk:
            # The application was approved again meanwhile: a fresh notice replaced this one.
            raise Conflict(
                _("The public notice of this objection was published again"), field="status"
            )
        if locked.handled_on is not None:
            raise Conflict(_("This objection has already been dealt with"), field="outcome")
        locked.outcome, locked.handling = outcome, handling
        locked.handled_on, locked.handled_by = today(), user
        locked.save(update_fields=["outcome", "handling", "handled_on", "handled_by"])
    return locked


def subsidy_evidence_attach(
    *,
    user: User,
    application: SubsidyApplication,
    upload,
    description: str = "",
    kind: str = EvidenceKind.OTHER,
) -> SubsidyEvidence:
    """A supporting document of a ``kind`` (api.md EVIDENCE KIND; what the programme's required
    documents are counted by), checked like the signed copy of a care agreement (JPEG/PNG/PDF by
    its bytes, ≤ 10 MB), stored under a random name. Without a description it is named by its
    kind; a document of kind "other" must say what it is."""
    permissions.require(user, Capability.BENEFIT_EVIDENCE)
    kind = kind or EvidenceKind.OTHER
    description = (description or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in EvidenceKind.values:
        errors["kind"] = [_("Invalid document kind: %(kind)s") % {"kind": kind}]
    elif not description and kind != EvidenceKind.OTHER:
        description = str(rules.KIND_ZH[kind])
    if not description:
        errors["description"] = [_("Name the document, e.g. “Death certificate”")]
    elif len(description) > 100:
        errors["description"] = [_("A document name cannot be longer than 100 characters")]
    if upload is None:
        errors["file"] = [_("Choose a file")]
    _raise_if_errors(errors)
    content_type, extension = document_type(upload, field="file")
    with transaction.atomic():
        locked = SubsidyApplication.objects.select_for_update().get(pk=application.pk)
        if locked.status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            raise Conflict(
                _("The application is finished; no more documents can be added"), field="status"
            )
        evidence = SubsidyEvidence(
            application=locked,
            description=description,
            kind=kind,
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
        errors.setdefault("note", []).append(_("Explain when the reason for ending is “Other”"))
    if on > today():
        errors.setdefault("on", []).append(_("The end date cannot be later than today"))
    decided = enrolment.application.decided_on
    if decided is not None and on < decided:
        errors.setdefault("on", []).append(
            _("The end date cannot be earlier than the approval date")
        )
    _raise_if_errors(errors)
    with transaction.atomic(), history_context(user):
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.end_month is not None:
            raise Conflict(_("This benefit has already ended"), field="status")
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
        extensions.case_changed(child_ids=[locked.child_id])
    return locked


def enrolment_review(*, user: User, enrolment: Enrolment, note: str = "") -> Enrolment:
    """The six-monthly review found the child still eligible: the next one is due in 6 months."""
    permissions.require(user, Capability.BENEFIT_REVIEW)
    with transaction.atomic():
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.end_month is not None:
            raise Conflict(_("This benefit has already ended"), field="status")
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
        extensions.case_changed(child_ids=[locked.child_id])
    return locked


def enrolment_set_payee(*, user: User, enrolment: Enrolment, name: str, account: str) -> Enrolment:
    """Who the bank pays and to which account (stored encrypted, shown masked)."""
    permissions.require(user, Capability.BENEFIT_ADMINISTER)
    name, account = (name or "").strip(), (account or "").replace(" ", "")
    errors: dict[str, list[str]] = {}
    if not name:
        errors["payee_name"] = [_("Enter the payee's name")]
    if account and not (account.isdigit() and 8 <= len(account) <= 30):
        errors["payee_account"] = [_("A bank account number has 8 to 30 digits")]
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
        errors["school"] = [_("Enter the school")]
    this_year = today().year
    if not (child.birth_date.year + 16 <= year <= this_year + 1):
        first = child.birth_date.year + 16
        errors.setdefault("year", []).append(
            _("The year must be from %(first)s to %(last)s")
            % {"first": first, "last": this_year + 1}
        )
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
        errors.setdefault("programme", []).append(_unknown_programme(programme))
    if amount is None or amount < 0:
        errors.setdefault("amount", []).append(_("A standard cannot be negative"))
    elif amount >= 10**7:
        errors.setdefault("amount", []).append(_("The standard is too large; check it"))
    if month is None:
        errors.setdefault("month", []).append(_("Choose the first month"))
    _raise_if_errors(errors)
    _require_setting_level(area_code, _("Standards are set only for a province, city or county"))
    standard, _created = SubsidyStandard.objects.update_or_create(
        area_id=area_code,
        programme=programme,
        effective_month=month.replace(day=1),
        defaults={"amount": amount, "set_by": user},
    )
    return standard


def evidence_requirement_set(
    *, user: User, area_code: str, programme: str, kinds: Iterable[str] | None
) -> EvidenceRequirement | None:
    """Civil affairs choose the documents their province, city or county requires for a
    programme before county approval (any one of ``kinds``; none: nothing required).
    ``kinds=None`` goes back to the default of api.md (or of the area above)."""
    permissions.require(user, Capability.BENEFIT_ADMINISTER)
    if not scope.code_in_scope(user, area_code):
        raise Http404  # outside the user's area, as everywhere
    errors: dict[str, list[str]] = {}
    if programme not in rules.PROGRAMMES:
        errors["programme"] = [_unknown_programme(programme)]
    chosen = list(dict.fromkeys(kinds)) if kinds is not None else None
    for kind in chosen or []:
        if kind not in EvidenceKind.values:
            errors.setdefault("kinds", []).append(
                _("Unknown kind of document: %(kind)s") % {"kind": kind}
            )
    _raise_if_errors(errors)
    _require_setting_level(
        area_code, _("Required documents are set only for a province, city or county")
    )
    if chosen is None:
        EvidenceRequirement.objects.filter(area_id=area_code, programme=programme).delete()
        return None
    requirement, _created = EvidenceRequirement.objects.update_or_create(
        area_id=area_code, programme=programme, defaults={"kinds": chosen, "set_by": user}
    )
    return requirement


# The month of the 18th birthday is children.schedule's (born 29 February: 1 March), the same
# day rules.payable_in and the ageing-out job use.
_EIGHTEEN = schedule.eighteenth_birthday_sql("c.")

TURNED_18_SQL = f"""
UPDATE children_enrolment e
SET end_month = GREATEST(
        date_trunc('month', {_EIGHTEEN})::date,
        -- a year of full-time education recorded past 18 (perhaps late) is paid to its end
        (SELECT make_date(max(r.year)::int, 12, 1) FROM children_educationrecord r
         WHERE r.child_id = c.id AND r.year < extract(year FROM %(month)s::date))
    ),
    exit_reason = 'turned_18', end_reason = '年满18周岁', ended_on = %(month)s,
    next_review_on = NULL
FROM children_child c
WHERE c.id = e.child_id AND e.end_month IS NULL
  AND date_trunc('month', {_EIGHTEEN}) < %(month)s
  AND NOT EXISTS (SELECT 1 FROM children_educationrecord r
                  WHERE r.child_id = c.id AND r.year = extract(year FROM %(month)s::date))
RETURNING e.child_id
"""

# The one rule of the ledger, for the month of the run and for back pay alike: {months} gives
# the months to consider for each enrolment e, {back_pay} how they are marked. A month is payable
# when the enrolment is in force that month, the file is active, a standard is in force for that
# month and the child's village, and the month is not after the 18th birthday's or falls in a
# year of full-time education. Idempotent by the (enrolment, month) constraint. The months
# already written are left out first (OFFSET 0 keeps the planner from merging the subquery):
# the job runs nightly, and looking the standard up for every month ever paid took the back
# pay's statement from 1.4 s to 100 s a night for 30,000 enrolments of three years.
_LEDGER_SQL = """
INSERT INTO children_entitlement (enrolment_id, month, amount, back_pay, created_at)
SELECT e.id, m.month, s.amount, {back_pay}, %(now)s
FROM children_enrolment e
JOIN children_child c ON c.id = e.child_id
CROSS JOIN LATERAL (
    SELECT d.month FROM ({months}) d(month)
    WHERE NOT EXISTS (SELECT 1 FROM children_entitlement x
                      WHERE x.enrolment_id = e.id AND x.month = d.month)
    OFFSET 0
) m
JOIN LATERAL ({standard}) s ON true
WHERE e.start_month <= m.month
  AND (e.end_month IS NULL OR e.end_month >= m.month)
  -- The file as it is now: a closed file is paid nothing, not even back pay for the months it
  -- missed while open (its benefits ended with the closing).
  AND c.status = 'active'
  -- paid up to the month of the 18th birthday, after it only in years of full-time education
  AND (date_trunc('month', {eighteen}) >= m.month
       OR EXISTS (SELECT 1 FROM children_educationrecord r
                  WHERE r.child_id = c.id AND r.year = extract(year FROM m.month)))
ON CONFLICT ON CONSTRAINT entitlement_once_a_month DO NOTHING
"""
_LEDGER_STANDARD = STANDARD_IN_FORCE_SQL.format(
    programme="e.programme", month="m.month", village="c.village_id"
)

# The month of the run.
ENTITLEMENTS_SQL = _LEDGER_SQL.format(
    months="SELECT %(month)s::date",
    back_pay="false",
    standard=_LEDGER_STANDARD,
    eighteen=_EIGHTEEN,
)

# Back pay (补发, domain §7): every earlier month of each enrolment, from its first month to the
# month before the run (or its last month), with no entitlement yet but payable now, because its
# standard or the child's full-time education record was entered after that month's run.
BACK_PAY_SQL = _LEDGER_SQL.format(
    months="""
        SELECT g::date FROM generate_series(
            date_trunc('month', e.start_month::timestamp),
            LEAST(e.end_month::timestamp, %(month)s::timestamp - interval '1 month'),
            interval '1 month'
        ) g""",
    back_pay="true",
    standard=_LEDGER_STANDARD,
    eighteen=_EIGHTEEN,
)


logger = logging.getLogger(__name__)


def entitlements_generate(*, month: date) -> int:
    """The monthly ledger: first end the benefits of children past 18 with no full-time education
    that year (recorded as a turned_18 exit), then one entitlement per enrolment in force at the
    standard in force, in one set-based INSERT, then, in another, the earlier months missed and
    payable now, marked as back pay (on the payment list of the month they are written in).
    Idempotent by the (enrolment, month) constraint. Returns the entitlements written for
    ``month`` itself; the back pay written is logged."""
    params = {"month": month.replace(day=1), "now": timezone.now()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TURNED_18_SQL, params)
        education_continues_until_refresh(child_ids={row[0] for row in cursor.fetchall()})
        cursor.execute(ENTITLEMENTS_SQL, params)
        written = cursor.rowcount
        cursor.execute(BACK_PAY_SQL, params)
        back_pay = cursor.rowcount
    logger.info("ledger %s: %d entitlements, %d back pay", f"{month:%Y-%m}", written, back_pay)
    return written


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
        note = _("File closed: %(reason)s") % {"reason": label}
    with transaction.atomic(), history_context(user):
        return _end_enrolments(
            Enrolment.objects.filter(child_id=child_id),
            reason=CLOSE_EXIT_REASON.get(reason, ExitReason.FILE_CLOSED),
            note=note,
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
    with translation.override(settings.LANGUAGE_CODE):  # stored: the site's language
        note = _("Moved away: %(source)s → %(destination)s") % {
            "source": source,
            "destination": destination,
        }
    with transaction.atomic():
        return _end_enrolments(
            Enrolment.objects.filter(child_id=child_id),
            reason=ExitReason.MOVED_AWAY,
            note=note,
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
                enrolment.review_reason = _(
                    "The family's situation changed; review %(programme)s"
                ) % {"programme": enrolment.programme_name}
                enrolment.review_reason = enrolment.review_reason[:200]
            if enrolment.next_review_on is None or enrolment.next_review_on > on:
                enrolment.next_review_on = on
            enrolment.save(update_fields=["next_review_on", "review_reason"])
            flagged += 1
    return flagged
