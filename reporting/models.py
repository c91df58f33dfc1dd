"""Mandatory reports (强制报告) and their stage history."""

from __future__ import annotations

import uuid

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import EncryptedTextField, one_of

from . import referral_rules, rules


class Situation(models.TextChoices):
    LIVING_ALONE = "living_alone", _("Living alone without a guardian")
    MISSING = "missing", _("Missing, abducted or of unknown origin")
    GUARDIAN_INCAPABLE = "guardian_incapable", _("Guardian unable or failing to care")
    ABANDONMENT = "abandonment", _("Abandoned or long without care")
    SEXUAL_ABUSE = "sexual_abuse", _("Suspected sexual abuse or unusual pregnancy")
    DOMESTIC_VIOLENCE = "domestic_violence", _("Suspected domestic violence, abuse or bullying")
    SERIOUS_HARM = "serious_harm", _("Suicide, self-harm, injury, poisoning or death")
    ORGANISED_BEGGING = "organised_begging", _("Organised begging")
    ACCIDENTAL_INJURY = "accidental_injury", _("Accidental injury")
    OTHER_HARM = "other_harm", _("Other serious harm or danger")


class Stage(models.TextChoices):
    REPORTED = rules.REPORTED, _("Reported")
    POLICE_RECEIVED = rules.POLICE_RECEIVED, _("Police received")
    EMERGENCY_HANDLED = rules.EMERGENCY_HANDLED, _("Emergency handled")
    ASSESSED = rules.ASSESSED, _("Assessed")
    INTERVENTION = rules.INTERVENTION, _("Intervention")
    CLOSED = rules.CLOSED, _("Closed")


class OrgType(models.TextChoices):
    SCHOOL = "school", pgettext_lazy("organisation", "School")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    MEDICAL = "medical", _("Clinic or hospital")
    VILLAGE_COMMITTEE = "village_committee", _("Village committee")
    SOCIAL_WORK = "social_work", _("Social-work agency")
    RESCUE_INSTITUTION = "rescue_institution", _("Relief institution")
    WELFARE_INSTITUTION = "welfare_institution", _("Welfare institution")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    """Where a report came in (一门受理, domain §10): a reporting body (强制报告), or the intake of
    the 12355 line or the police (110) with their incident number."""

    REPORTING_BODY = "reporting_body", _("Reporting body")
    HOTLINE = "hotline_12355", _("12355 hotline")
    POLICE = "police_110", _("Police (110)")


# Every change keeps who, when and before → after (ReportTransition keeps each move's note and
# data; the history keeps every field, the linked file and the area included). ``version`` and
# ``stage_changed_at`` are bookkeeping that moves with each stage: the event's own time says it.
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    exclude=["version", "stage_changed_at"],
    model_name="MandatoryReportEvent",
)
class MandatoryReport(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    situation = models.CharField(_("situation"), max_length=30, choices=Situation.choices)
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.REPORTED
    )
    discovered_at = models.DateTimeField(_("discovered at"))
    description = EncryptedTextField(_("description"))
    location = models.CharField(_("place"), max_length=200, blank=True, default="")
    child = models.ForeignKey(
        "children.Child",
        verbose_name=_("child"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    child_name = models.CharField(_("child's name"), max_length=50, blank=True, default="")
    # The area the report belongs to (the child's village, else the reporter's area): scoping.
    area = models.ForeignKey(
        "accounts.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    reporter = models.ForeignKey(
        "accounts.User", verbose_name=_("reporter"), on_delete=models.PROTECT, related_name="+"
    )
    reporter_org_type = models.CharField(
        _("reporting body"), max_length=30, choices=OrgType.choices, blank=True, default=""
    )
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    police_notified_at = models.DateTimeField(_("police notified at"), null=True, blank=True)
    police_receipt = models.CharField(_("police receipt"), max_length=100, blank=True, default="")
    emergency_actions = ArrayField(
        models.CharField(max_length=30),
        verbose_name=_("emergency actions"),
        default=list,
        blank=True,
    )
    service_plan = ArrayField(
        models.CharField(max_length=30), verbose_name=_("service plan"), default=list, blank=True
    )
    intervention_type = models.CharField(_("intervention"), max_length=30, blank=True, default="")
    outcome = models.CharField(_("outcome"), max_length=30, blank=True, default="")
    stage_changed_at = models.DateTimeField(_("stage since"))
    police_received_at = models.DateTimeField(null=True, blank=True)
    # Intake (domain §10): its source and the line's or the police's incident number.
    source = models.CharField(
        _("source"),
        max_length=20,
        choices=Source.choices,
        default=Source.REPORTING_BODY,
        db_default=Source.REPORTING_BODY,
    )
    incident_number = models.CharField(
        _("incident number"), max_length=50, blank=True, default="", db_default=""
    )
    # "A parent detained, minor children at home" (police): the director checks on the
    # children within 24 hours of the filing; when they did, and who.
    parent_detained = models.BooleanField(
        _("parent detained, minor children at home"), default=False, db_default=False
    )
    detention_checked_at = models.DateTimeField(_("children checked at"), null=True, blank=True)
    detention_checked_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("children checked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("mandatory report")
        verbose_name_plural = _("mandatory reports")
        ordering = ["-filed_at"]
        indexes = [
            models.Index(fields=["area", "stage"], name="report_area_stage"),
            models.Index(
                fields=["stage_changed_at"],
                name="report_open_since",
                condition=~models.Q(stage="closed"),
            ),
        ]
        constraints = [
            one_of("stage", rules.STAGES, "report_stage_valid"),
            one_of("situation", Situation.values, "report_situation_valid"),
            one_of("source", Source.values, "report_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_situation_display()} {self.filed_at:%Y-%m-%d}"


class ReportTransition(models.Model):
    """Every move of a report: who, when, from, to, note and what it recorded."""

    id = models.BigAutoField(primary_key=True)
    report = models.ForeignKey(
        MandatoryReport, on_delete=models.CASCADE, related_name="transitions"
    )
    from_stage = models.CharField(max_length=20, blank=True, default="")
    to_stage = models.CharField(max_length=20)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = EncryptedTextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.from_stage}→{self.to_stage}"


class ReportAttachment(models.Model):
    """A photo or document attached to a report (JPEG/PNG/PDF checked from the bytes, ≤ 10 MB),
    stored outside the web root and served only to users who may see the report."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        MandatoryReport, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="reports/%Y/%m/")
    content_type = models.CharField(max_length=30)
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.file.name}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    model_name="InterventionEvent",
)
class Intervention(models.Model):
    """A guardianship intervention (监护干预) and its dates: a protection order's application,
    court decision and expiry (up to 6 months); a guardianship's placement."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(
        MandatoryReport, on_delete=models.CASCADE, related_name="interventions"
    )
    kind = models.CharField(_("intervention"), max_length=30)
    applied_on = models.DateField(_("applied on"), null=True, blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    placement = models.CharField(_("placement"), max_length=200, blank=True, default="")
    note = EncryptedTextField(_("note"), blank=True, default="")
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            one_of("kind", rules.INTERVENTION_TYPES, "intervention_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind}"


# --- Referrals to organisations (domain §10, S0 #12) -------------------------------------------


class ReferralStatus(models.TextChoices):
    SENT = referral_rules.SENT, _("Sent")
    ACCEPTED = referral_rules.ACCEPTED, _("Accepted")
    DECLINED = referral_rules.DECLINED, _("Declined")
    SERVICE_GIVEN = referral_rules.SERVICE_GIVEN, _("Service given")
    CLOSED = referral_rules.CLOSED, pgettext_lazy("referral", "Closed")
    WITHDRAWN = referral_rules.WITHDRAWN, _("Withdrawn")


class Referral(models.Model):
    """A child referred to an organisation of the registry (a protection agency, a social-work
    organisation, a hospital) with the reason, from the file or from a mandatory report. The
    organisation's staff (role ``partner``) answer it; every answer is a ReferralEvent.

    Scoped by the child's village (it goes with the file when the file is transferred), and for
    a partner by the organisation it was sent to (reporting.referrals)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        "children.Child",
        verbose_name=_("child"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    report = models.ForeignKey(
        MandatoryReport,
        verbose_name=_("mandatory report"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    # A case note: encrypted at rest (domain §9).
    reason = EncryptedTextField(_("reason"))
    referred_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("referred by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    referred_at = models.DateTimeField(_("referred at"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ReferralStatus.choices,
        default=ReferralStatus.SENT,
    )
    status_changed_at = models.DateTimeField(_("status since"))
    # The last day for the organisation's first answer (referral_rules.answer_due): the sweep
    # reminds the referrer while the referral is still ``sent`` after it.
    answer_due = models.DateField(_("answer due"))

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-referred_at"]
        indexes = [
            models.Index(fields=["organisation", "-referred_at"], name="referral_organisation"),
            models.Index(fields=["child", "-referred_at"], name="referral_child"),
            models.Index(
                fields=["answer_due"],
                name="referral_waiting",
                condition=models.Q(status=referral_rules.SENT),
            ),
        ]
        constraints = [
            one_of("status", referral_rules.STATUSES, "referral_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.referred_at:%Y-%m-%d}"


class ReferralEvent(models.Model):
    """Every step of a referral, kept: sent, each answer of the organisation (accepted,
    declined, service given, closed) and a withdrawal — who, when, from, to and the note."""

    id = models.BigAutoField(primary_key=True)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, choices=ReferralStatus.choices)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = EncryptedTextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            one_of("to_status", referral_rules.STATUSES, "referral_event_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.referral_id} {self.from_status}→{self.to_status}"
