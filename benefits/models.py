"""Benefits (补贴纳入): applications and their decisions, the standards, enrolments and the
monthly ledger, full-time education records and supporting documents.

The tables keep the names they had when benefits lived in ``children`` (moved in issue 15).
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from children.models import Child, EvidenceKind
from core.fields import EncryptedTextField, one_of


class _ChildProgramme:
    """What an application and an enrolment (a child in a programme) both show."""

    def __str__(self) -> str:
        return f"{self.child} {self.programme}"

    @property
    def programme_name(self) -> str:
        from .rules import programme_name

        return programme_name(self.programme)


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    TOWNSHIP_APPROVED = "township_approved", _("Approved by the township")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for more evidence")


class SubsidyApplication(_ChildProgramme, models.Model):
    """补贴纳入: an application for a benefit programme, reviewed by township then county."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        Child,
        verbose_name=_("child"),
        on_delete=models.CASCADE,
        related_name="subsidy_applications",
    )
    programme = models.CharField(_("programme"), max_length=40)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
    )
    note = EncryptedTextField(_("note"), blank=True, default="")
    submitted_by = models.ForeignKey(
        "accounts.User", verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    township_approved_on = models.DateField(_("approved by the township on"), null=True, blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "children_subsidyapplication"
        verbose_name = _("subsidy application")
        verbose_name_plural = _("subsidy applications")
        ordering = ["submitted_at"]
        indexes = [models.Index(fields=["status", "submitted_at"], name="subsidy_app_status")]
        constraints = [
            one_of("status", ApplicationStatus.values, "subsidy_app_status_valid"),
        ]


class SubsidyDecision(models.Model):
    """Every decision on an application: who, when, what and the written reason."""

    id = models.BigAutoField(primary_key=True)
    application = models.ForeignKey(
        SubsidyApplication, on_delete=models.CASCADE, related_name="decisions"
    )
    decision = models.CharField(max_length=10)
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = EncryptedTextField(blank=True, default="")

    class Meta:
        db_table = "children_subsidydecision"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.decision}"


class SubsidyStandard(models.Model):
    """The monthly amount (yuan) of a programme in an area from a month on (or the one-off sum of
    temporary assistance). The one in force for a village is the nearest ancestor's latest."""

    id = models.BigAutoField(primary_key=True)
    area = models.ForeignKey("accounts.Area", on_delete=models.PROTECT, related_name="+")
    programme = models.CharField(_("programme"), max_length=40)
    effective_month = models.DateField(_("from month"))  # the first day of the month
    amount = models.DecimalField(_("yuan per month"), max_digits=9, decimal_places=2)
    set_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "children_subsidystandard"
        verbose_name = _("subsidy standard")
        verbose_name_plural = _("subsidy standards")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "programme", "effective_month"], name="standard_once_per_month"
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="standard_not_negative"),
            models.CheckConstraint(
                condition=models.Q(effective_month__day=1), name="standard_first_of_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.programme} {self.effective_month:%Y-%m} {self.amount}"


class ExitReason(models.TextChoices):
    """Why a benefit stops (domain §7). Payment stops from the month after the event."""

    TURNED_18 = "turned_18", _("Turned 18")
    DECEASED = "deceased", _("Died")
    ADOPTED = "adopted", _("Adopted")
    MOVED_AWAY = "moved_away", _("Moved away")
    PARENT_REGAINED_CAPACITY = "parent_regained_capacity", _("A parent regained capacity")
    FILE_CLOSED = "file_closed", _("File closed")
    ONE_OFF = "one_off", _("One-off payment made")
    OTHER = "other", _("Other")


class Enrolment(_ChildProgramme, models.Model):
    """A child enrolled in a programme after county approval; paid from the next month on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.OneToOneField(
        SubsidyApplication, on_delete=models.PROTECT, related_name="enrolment"
    )
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="enrolments")
    programme = models.CharField(_("programme"), max_length=40)
    start_month = models.DateField(_("paid from"))
    end_month = models.DateField(_("last month paid"), null=True, blank=True)
    exit_reason = models.CharField(
        _("exit reason"), max_length=30, choices=ExitReason.choices, blank=True, default=""
    )
    end_reason = models.CharField(_("exit note"), max_length=200, blank=True, default="")
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    ended_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    # Why the review is due before its time (a change to the file or the family broke the
    # programme's rule): the reminder sweep shows it as the subsidy_review's detail.
    review_reason = models.CharField(
        max_length=200, blank=True, default="", db_default="", editable=False
    )
    last_reviewed_on = models.DateField(_("last reviewed"), null=True, blank=True)
    # Who receives the money at the bank (usually the guardian or caregiver); the account number
    # is encrypted like ID numbers and shown masked.
    payee_name = models.CharField(_("payee"), max_length=50, blank=True, default="")
    payee_account_encrypted = models.TextField(blank=True, default="", editable=False)
    payee_account_masked = models.CharField(
        _("bank account"), max_length=40, blank=True, default=""
    )

    class Meta:
        db_table = "children_enrolment"
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        indexes = [
            models.Index(fields=["programme", "start_month"], name="enrolment_programme"),
            models.Index(
                fields=["next_review_on"],
                name="enrolment_review_open",
                condition=models.Q(end_month__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_month__isnull=True) | ~models.Q(exit_reason=""),
                name="enrolment_exit_has_reason",
            ),
            one_of("exit_reason", [*ExitReason.values, ""], "enrolment_exit_reason_valid"),
        ]


class Entitlement(models.Model):
    """One month's entitlement of one enrolment (the payment ledger)."""

    id = models.BigAutoField(primary_key=True)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="entitlements")
    month = models.DateField()
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    # Written by a later run for a month missed because its standard or the child's full-time
    # education record was entered late (补发, domain §7): paid once, shown as back pay.
    back_pay = models.BooleanField(_("back pay"), default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "children_entitlement"
        ordering = ["month"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "month"], name="entitlement_once_a_month"),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.month:%Y-%m} {self.amount}"


class EducationRecord(models.Model):
    """Full-time education recorded for a calendar year: a benefit continues past the 18th
    birthday for the years so recorded (domain §7)."""

    id = models.BigAutoField(primary_key=True)
    child = models.ForeignKey(
        Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="education_records"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    school = models.CharField(_("school"), max_length=100)
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "children_educationrecord"
        verbose_name = _("full-time education record")
        verbose_name_plural = _("full-time education records")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["child", "year"], name="education_once_a_year"),
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.year}"


class SubsidyEvidence(models.Model):
    """A supporting document of an application (death certificate, court ruling, disability
    card …): JPEG, PNG or PDF checked from the bytes, outside the web root, served in scope."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(
        SubsidyApplication, on_delete=models.CASCADE, related_name="evidence"
    )
    description = models.CharField(_("document"), max_length=100)
    # What it proves (api.md EVIDENCE KIND): the programme's required kinds are checked by it.
    kind = models.CharField(
        _("kind of document"),
        max_length=30,
        choices=EvidenceKind.choices,
        default=EvidenceKind.OTHER,
        db_default=EvidenceKind.OTHER,
    )
    file = models.FileField(_("file"), upload_to="subsidy-evidence/%Y/%m/")
    content_type = models.CharField(max_length=30, editable=False)
    uploaded_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "children_subsidyevidence"
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.description


class NoticePlace(models.TextChoices):
    """Where a public notice (公示) is posted."""

    VILLAGE_BOARD = "village_board", _("Village affairs board")
    ONLINE = "online", _("Online")
    BOTH = "both", _("Village affairs board and online")


class PublicNotice(models.Model):
    """The 7-day public notice (公示) of a 低保 or 特困 application after the township's approval
    (domain §7): recorded by the township approval, corrected by the village or the township.
    The county may approve from the day after ``ends_on`` (benefits.rules)."""

    id = models.BigAutoField(primary_key=True)
    application = models.OneToOneField(
        SubsidyApplication, on_delete=models.CASCADE, related_name="public_notice"
    )
    starts_on = models.DateField(_("notice starts on"))
    ends_on = models.DateField(_("notice ends on"))  # the last day of the notice
    place = models.CharField(
        _("posted at"),
        max_length=20,
        choices=NoticePlace.choices,
        default=NoticePlace.VILLAGE_BOARD,
    )
    # Who recorded or last corrected it, and when.
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="public_notice_ends_after_start",
            ),
            one_of("place", NoticePlace.values, "public_notice_place_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.starts_on}–{self.ends_on}"


class ObjectionOutcome(models.TextChoices):
    UPHELD = "upheld", _("Objection upheld")
    DISMISSED = "dismissed", _("Objection dismissed")


class NoticeObjection(models.Model):
    """An objection (异议) to a public notice and how it was handled. The text names people, so
    it is encrypted like case notes; an objection left unhandled holds up the county."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notice = models.ForeignKey(PublicNotice, on_delete=models.CASCADE, related_name="objections")
    received_on = models.DateField(_("received on"))
    content = EncryptedTextField(_("objection"))
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    handled_on = models.DateField(_("handled on"), null=True, blank=True)
    handling = EncryptedTextField(_("handling"), blank=True, default="")
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=ObjectionOutcome.choices, blank=True, default=""
    )
    handled_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("objection to a public notice")
        verbose_name_plural = _("objections to public notices")
        ordering = ["received_on", "recorded_at"]
        constraints = [
            one_of("outcome", [*ObjectionOutcome.values, ""], "notice_objection_outcome_valid"),
            # Handled means a day and an outcome, both or neither.
            models.CheckConstraint(
                condition=(models.Q(handled_on__isnull=True) & models.Q(outcome=""))
                | (models.Q(handled_on__isnull=False) & ~models.Q(outcome="")),
                name="notice_objection_handled_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.received_on}"


class EvidenceRequirement(models.Model):
    """The documents an area's civil affairs require for a programme before county approval,
    instead of the defaults of api.md (benefits.rules.DEFAULT_REQUIREMENTS): any one of
    ``kinds``, for each parent in the orphan and de facto unsupported allowances. No kinds:
    nothing required. The nearest area above a village that set one decides."""

    id = models.BigAutoField(primary_key=True)
    area = models.ForeignKey("accounts.Area", on_delete=models.PROTECT, related_name="+")
    programme = models.CharField(_("programme"), max_length=40)
    kinds = ArrayField(
        models.CharField(max_length=30, choices=EvidenceKind.choices),
        verbose_name=_("documents required"),
        default=list,
        blank=True,
    )
    set_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("documents required")
        verbose_name_plural = _("documents required")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "programme"], name="evidence_requirement_once_per_area"
            ),
            models.CheckConstraint(
                condition=models.Q(kinds__contained_by=EvidenceKind.values),
                name="evidence_requirement_kinds_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.programme} {','.join(self.kinds)}"
