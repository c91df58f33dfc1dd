"""Areas (区划), staff users with a role and an area, and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from decimal import Decimal

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import one_of
from core.text import join_list

from . import rules
from .validators import validate_plain_text


class AreaLevel(models.TextChoices):
    PROVINCE = rules.PROVINCE, _("Province")
    CITY = rules.CITY, _("City")
    COUNTY = rules.COUNTY, _("County")
    TOWNSHIP = rules.TOWNSHIP, _("Township")
    VILLAGE = rules.VILLAGE, _("Village")


class Area(models.Model):
    """An administrative area keyed by its 12-digit 统计用区划代码.

    Level and parent are derived from the code. Subtrees are code prefixes, so scoping a queryset
    to an area is a single indexed ``LIKE 'prefix%'``.
    """

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=AreaLevel.choices, editable=False)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        editable=False,
    )
    # Codes are re-issued yearly: an area that disappears is closed, never deleted.
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]
        indexes = [
            models.Index(
                fields=["code"], name="area_code_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["level"], name="area_level_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^\d{12}$"), name="area_code_12_digits"
            ),
            one_of("level", rules.LEVELS, "area_level_valid"),
        ]

    def __str__(self) -> str:
        return _("%(name)s (%(code)s)") % {"name": self.name, "code": self.code}

    @property
    def prefix(self) -> str:
        return rules.prefix(self.code, self.level)

    @property
    def parent_code(self) -> str | None:
        return rules.parent_code(self.code)

    def contains(self, other_code: str) -> bool:
        return other_code.startswith(self.prefix)


class Role(models.TextChoices):
    DIRECTOR = rules.DIRECTOR, _("Child director")
    SUPERVISOR = rules.SUPERVISOR, _("Child supervisor")
    CIVIL_AFFAIRS = rules.CIVIL_AFFAIRS, _("Civil affairs")
    VIEWER = rules.VIEWER, _("Viewer")
    REPORTER = rules.REPORTER, _("Mandatory reporter")
    ADMIN = rules.ADMIN, _("Administrator")
    SECURITY = rules.SECURITY, _("Security officer")
    AUDITOR = rules.AUDITOR, _("Security auditor")
    HOTLINE = rules.HOTLINE, _("12355 hotline")
    POLICE = rules.POLICE, _("Police")
    PARTNER = rules.PARTNER, _("Referral organisation")


class DigestChannel(models.TextChoices):
    """How a person receives their daily digest of reminders (chosen at 账号设置)."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")
    WECOM = "wecom", _("WeCom")


class OrganisationKind(models.TextChoices):
    """Where a child may be referred (domain §10, S0 #12)."""

    PROTECTION_AGENCY = "protection_agency", _("Child protection agency")
    SOCIAL_WORK = "social_work", _("Social-work organisation")
    HOSPITAL = "hospital", _("Hospital")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """The registry of organisations children are referred to (未成年人保护机构, 社工机构,
    医院), kept per county by civil affairs with their services and contacts. Its staff sign in
    with the ``partner`` role and see only the referrals sent to it."""

    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="organisations"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=20, choices=OrganisationKind.choices, default=OrganisationKind.OTHER
    )
    services = models.TextField(_("services"), blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="organisation_area_name_uniq"),
            one_of("kind", OrganisationKind.values, "organisation_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Everything a user sees is limited to ``area``'s subtree."""

    name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    digest_channel = models.CharField(
        _("daily digest by"),
        max_length=10,
        choices=DigestChannel.choices,
        default=DigestChannel.EMAIL,
    )
    # 企业微信成员 UserID, for the digest by WeCom.
    wecom_userid = models.CharField(_("WeCom user ID"), max_length=64, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    # A ``partner`` works for one organisation and sees its referrals only.
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        indexes = [models.Index(fields=["role", "area"], name="user_role_area_idx")]
        constraints = [
            one_of("role", [r.value for r in Role], "user_role_valid"),
            one_of("digest_channel", DigestChannel.values, "user_digest_channel_valid"),
        ]

    def __str__(self) -> str:
        return self.name or self.username

    def clean(self) -> None:
        super().clean()
        if self.area_id and not rules.role_allowed_at(self.role, rules.parse_level(self.area_id)):
            allowed = join_list(AreaLevel(level).label for level in rules.ROLE_LEVELS[self.role])
            raise ValidationError(
                {
                    "area": _("This role must be placed at a %(levels)s-level area.")
                    % {"levels": allowed}
                }
            )
        if self.area_id is None and self.role != Role.ADMIN:
            raise ValidationError({"area": _("Every role except administrator needs an area.")})
        if self.role == Role.PARTNER and self.organisation_id is None:
            raise ValidationError(
                {"organisation": _("A referral organisation's staff need an organisation.")}
            )

    @property
    def display_name(self) -> str:
        return rules.display_name(self.name, self.first_name, self.last_name, self.username)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Every token ends (issue 14, M1): 90 days by default (create_api_token --days N).
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate() -> str:
        return "sw_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return _hash_token(raw)


def _policy_number(verbose_name: str) -> models.PositiveSmallIntegerField:
    """A number of an area policy: empty (NULL) takes the value of the area above."""
    return models.PositiveSmallIntegerField(verbose_name, null=True, blank=True)


class AreaPolicy(models.Model):
    """Per-area overrides of the numbers domain.md marks *default*. Empty means "inherit".

    The value in force for an area is the one set on the nearest ancestor (village → township →
    county → city → province), else the built-in default.
    """

    area = models.OneToOneField(
        Area,
        verbose_name=_("area"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="policy",
    )
    left_behind_away_days = _policy_number(_("days away before a child counts as left-behind"))
    reassess_days = _policy_number(_("days between guardianship assessments"))
    # Visit cadence (domain §3): any contact / home visit at least every N days.
    contact_days_low = _policy_number(_("contact every (days), low risk"))
    home_days_low = _policy_number(_("home visit every (days), low risk"))
    contact_days_medium = _policy_number(
        _("contact every (days), medium risk or special condition")
    )
    home_days_medium = _policy_number(
        _("home visit every (days), medium risk or special condition")
    )
    contact_days_high = _policy_number(_("contact every (days), high risk"))
    home_days_high = _policy_number(_("home visit every (days), high risk"))
    never_visited_days = _policy_number(_("first home visit due (days after registration)"))
    escalate_supervisor_days = _policy_number(
        _("tell the township supervisor when overdue by more than (days)")
    )
    escalate_county_days = _policy_number(
        _("tell county civil affairs when overdue by more than (days)")
    )
    agreement_replacement_days = _policy_number(
        _("days to sign a new care agreement when the caregiver cannot care")
    )
    report_assessment_days = _policy_number(
        _("days to assess a mandatory report after the police receive it")
    )
    parent_contact_days = _policy_number(
        _("flag a left-behind child with no parent contact logged for (days)")
    )
    # Benefits (domain §7): each review level decides within N working days; reviews every N days.
    subsidy_township_working_days = _policy_number(
        _("working days for the township to review a benefit application")
    )
    subsidy_county_working_days = _policy_number(
        _("working days for the county to approve a benefit application")
    )
    subsidy_review_days = _policy_number(_("days between reviews of a benefit in payment"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("area policy")
        verbose_name_plural = _("area policies")

    def __str__(self) -> str:
        return str(self.area)


class AuditAction(models.TextChoices):
    VIEW = "view", _("Viewed a file")
    API_READ = "api_read", _("Read through the API")
    EXPORT = "export", _("Exported")
    IMPORT = "import", _("Imported")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    DENIED = "denied", _("Access refused")
    SESSIONS_ENDED = "sessions_ended", _("Sessions ended by an administrator")
    MFA_FAILED = "mfa_failed", _("Wrong two-factor code")
    MFA_ENROLLED = "mfa_enrolled", _("Two-factor authentication set up")
    MFA_RESET = "mfa_reset", _("Two-factor device reset")
    LOCKOUT_CLEARED = "lockout_cleared", _("Sign-in lockout lifted")
    # Issue 14, M5: an ID number found on file outside the user's area (census import, API,
    # pages), one record per number; too many in an hour lock the user's imports.
    ID_PROBE = "id_probe", _("ID number on file outside the area")
    IMPORT_LOCKED = "import_locked", _("Imports locked")
    IMPORT_LOCK_LIFTED = "import_unlocked", _("Import lock lifted")
    # Issue 14, H2 and M1: every change to a staff account and its credentials.
    STAFF_CREATED = "staff_created", _("Staff account created")
    STAFF_CHANGED = "staff_changed", _("Staff account changed")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    TOKEN_ISSUED = "token_issued", _("API token issued")
    TOKEN_USED = "token_used", _("API token used for a change")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    ENROLMENT_CODE = "enrolment_code", _("Two-factor enrolment code issued")
    # The roster (domain §10): an appointment changed, a training recorded.
    ROSTER_CHANGED = "roster_changed", _("Roster record changed")
    TRAINING_RECORDED = "training_recorded", _("Training recorded")
    # The registry of referral organisations (domain §10): registered, changed, deactivated.
    ORGANISATION_CHANGED = "organisation_changed", _("Referral organisation changed")


# Audit record types that are not a model's name (a model's own is shown by its verbose name).
AUDIT_OBJECT_LABELS = {
    "user": _("staff account"),
    "request": _("request"),
    "child_import": _("census import"),
    "care_agreement_pdf": _("printed care agreement"),
    "care_agreement_scan": _("signed care agreement"),
    "mandatory_report": _("mandatory report"),
    "subsidy_evidence": _("benefit evidence"),
    "roster": _("roster record"),
    "training_certificate": _("training certificate"),
    "organisation": _("referral organisation"),
}


def audit_object_label(object_type: str) -> str:
    """What an audit record is about, in the reader's language ("child" → 儿童档案)."""
    from django.apps import apps

    if object_type in AUDIT_OBJECT_LABELS:
        return str(AUDIT_OBJECT_LABELS[object_type])
    for model in apps.get_models():
        if model._meta.model_name == object_type:
            return str(model._meta.verbose_name)
    return object_type


class AuditRecord(models.Model):
    """Who looked at or exported which record, when and from where (PIPL art. 28)."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    # Append-only (a database trigger refuses UPDATE and DELETE): no foreign-key constraint, so
    # removing a user can never rewrite or remove what they did; the username is kept as it was.
    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150, blank=True, default="")
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("record type"), max_length=40)
    object_id = models.CharField(_("record"), max_length=64, blank=True, default="")
    # The record's area, so that audit records are scoped like the records themselves.
    area_code = models.CharField(_("area code"), max_length=12, blank=True, default="")
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(
                fields=["area_code"], name="audit_area_prefix", opclasses=["varchar_pattern_ops"]
            ),
            # Counting a user's duplicate-ID probes of the last hour (accounts.services).
            models.Index(
                fields=["user", "at"],
                condition=models.Q(action="id_probe"),
                name="audit_id_probe_by_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_type}"

    @property
    def object_label(self) -> str:
        return audit_object_label(self.object_type)


class OutboxMessage(models.Model):
    """A Celery task waiting to be handed to the broker (the transactional outbox).

    Written in the same transaction as the change that needs it, so a task is queued exactly when
    its change commits, and a broker that is down loses nothing: ``manage.py outbox_relay`` sends
    what is waiting when the broker is back. Delivery is at least once; every task it carries is
    idempotent.
    """

    id = models.BigAutoField(primary_key=True)
    task = models.CharField(max_length=100)
    # The Celery task id it is sent with (unique across databases, unlike ``id``).
    task_id = models.UUIDField(default=uuid.uuid4, editable=False)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("queued task")
        verbose_name_plural = _("queued tasks")
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class ScheduledRun(models.Model):
    """One row per daily periodic task and day it ran (or was queued to run).

    Beat sends the daily tasks; the outbox relay queues any that beat missed (beat or the broker
    down at the time) once the day's time has passed, and this row makes sure that happens once.
    """

    task = models.CharField(max_length=100)
    day = models.DateField()
    queued_by = models.CharField(max_length=20, default="beat")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "day"], name="scheduled_run_once"),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.day}"


class ImportLock(models.Model):
    """A user's census imports and ID-number changes stopped after too many ID numbers found on
    file outside their area (issue 14, M5: an existence oracle). Open until the security officer
    of an area covering the user lifts it: it never expires by itself."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="import_locks"
    )
    locked_at = models.DateTimeField(_("locked at"), auto_now_add=True)
    probes = models.PositiveIntegerField(_("ID numbers found outside the area in the hour"))
    notified_at = models.DateTimeField(_("security officers told at"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        User,
        verbose_name=_("lifted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import lock")
        verbose_name_plural = _("import locks")
        ordering = ["-locked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(lifted_at__isnull=True),
                name="import_lock_one_open_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.locked_at:%Y-%m-%d %H:%M}"


class MfaEnrolmentCode(models.Model):
    """A one-time code the security officer gives a privileged account (administrator, security
    officer, auditor) for its first second-factor enrolment, instead of trusting whoever first
    signs in with the password (issue 14, H2). Shown once; only its keyed hash is kept."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="enrolment_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    issued_by = models.ForeignKey(
        User,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("two-factor enrolment code")
        verbose_name_plural = _("two-factor enrolment codes")
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.issued_at:%Y-%m-%d %H:%M}"


class DeliveryPurpose(models.TextChoices):
    DIGEST = "digest", _("Daily digest")
    PARENT_NOTICE = "parent_notice", _("Parent notice")


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")
    WECOM = "wecom", _("WeCom")


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Failed, will retry")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One message to one address through one channel (a person's digest, a text to a parent),
    with every attempt: sent when the provider accepted it, else failed with the provider's own
    code and message, retried while a retry may help. Written by accounts.notify only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(_("purpose"), max_length=20, choices=DeliveryPurpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=DeliveryChannel.choices)
    # The staff member a digest is for (none for a text to a parent).
    recipient = models.ForeignKey(
        User,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    address = models.CharField(_("sent to"), max_length=254)  # phone, e-mail or WeCom userid
    provider = models.CharField(_("provider"), max_length=20, blank=True, default="")
    items = models.PositiveIntegerField(_("items"), default=0)  # reminders in a digest
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error_code = models.CharField(_("error code"), max_length=100, blank=True, default="")
    error_message = models.CharField(_("error message"), max_length=500, blank=True, default="")
    provider_id = models.CharField(max_length=100, blank=True, default="")
    # Every attempt: [{"at": ISO time, "code": "" when sent, "message": ""}].
    attempt_log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "purpose", "-created_at"], name="delivery_recent"),
        ]
        constraints = [
            one_of("purpose", DeliveryPurpose.values, "delivery_purpose_valid"),
            one_of("channel", DeliveryChannel.values, "delivery_channel_valid"),
            one_of("status", DeliveryStatus.values, "delivery_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="delivery_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.channel} {self.status}"


# --- The roster of child directors and supervisors, and their trainings (domain §10) -----------


class Post(models.TextChoices):
    """What a child director is besides (S2 #16: a village committee member or a social worker)."""

    VILLAGE_COMMITTEE = "village_committee", _("Village committee member")
    SOCIAL_WORKER = "social_worker", _("Social worker")
    OTHER = "other", _("Other")


def _roster_text(verbose_name: str, max_length: int) -> models.CharField:
    """A short label of the roster (never free case notes): no NUL, never a formula."""
    return models.CharField(
        verbose_name, max_length=max_length, blank=True, validators=[validate_plain_text]
    )


class RosterEntry(models.Model):
    """The appointment of one child director or supervisor (儿童主任、儿童督导员信息台账).

    One per person, made the first time civil affairs fill it in: a director or supervisor with
    none is on the roster all the same, in post from their account's creation. Their phone is the
    account's (one number per person, changed with the account). Who is in post is
    ``rules.in_post``: an account in use, appointed by today and not left."""

    user = models.OneToOneField(
        User,
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="roster_entry",
    )
    appointed_on = models.DateField(_("appointed on"), null=True, blank=True)
    post = models.CharField(_("post"), max_length=20, choices=Post.choices, blank=True)
    # e.g. 村妇联主席, 驻村社工 (何种 "其他").
    post_detail = _roster_text(_("post (details)"), 100)
    qualification = _roster_text(_("qualification"), 200)
    # The first day out of post; empty while in post.
    left_on = models.DateField(_("left the post on"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        User,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("roster record")
        verbose_name_plural = _("roster records")
        constraints = [
            one_of("post", ["", *Post.values], "roster_post_valid"),
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True)
                | models.Q(appointed_on__isnull=True)
                | models.Q(left_on__gt=models.F("appointed_on")),
                name="roster_left_after_appointed",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.appointed_on and self.left_on and self.left_on <= self.appointed_on:
            errors["left_on"] = _("The day the post was left must come after the appointment.")
        if self.post == Post.OTHER and not self.post_detail.strip():
            errors["post_detail"] = _("Say what the post is.")
        if errors:
            raise ValidationError(errors)


class Training(models.Model):
    """One training (培训) held for many people at once, recorded once by civil affairs: its
    attendees are ``attendances`` (培训档案, S2 #16)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    held_on = models.DateField(_("date"))
    subject = models.CharField(_("subject"), max_length=200, validators=[validate_plain_text])
    hours = models.DecimalField(
        _("hours"),
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal(200))],
    )
    organiser = models.CharField(_("organiser"), max_length=200, validators=[validate_plain_text])
    # A scan of the certificate or the signed attendance sheet: JPEG, PNG or PDF by its bytes
    # (core.uploads.document_type), served only to those who may read an attendee's record.
    certificate = models.FileField(_("certificate"), upload_to="trainings/%Y/%m/", blank=True)
    certificate_content_type = models.CharField(max_length=50, blank=True, default="")
    # Where it was recorded (the officer's area): whose civil affairs answer for the record.
    area = models.ForeignKey(
        Area, verbose_name=_("recorded in"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        User, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    attendees = models.ManyToManyField(
        User,
        verbose_name=_("attendees"),
        through="TrainingAttendance",
        related_name="trainings",
    )

    class Meta:
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        ordering = ["-held_on", "-recorded_at"]
        indexes = [models.Index(fields=["-held_on"], name="training_held_on")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gte=Decimal("0.5")) & models.Q(hours__lte=200),
                name="training_hours_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.held_on} {self.subject}"


class TrainingAttendance(models.Model):
    """One person at one training."""

    id = models.BigAutoField(primary_key=True)
    training = models.ForeignKey(
        Training, verbose_name=_("training"), on_delete=models.CASCADE, related_name="attendances"
    )
    person = models.ForeignKey(
        User,
        verbose_name=_("attendee"),
        on_delete=models.PROTECT,
        related_name="training_attendances",
        db_index=False,  # training_attendance_person
    )

    class Meta:
        verbose_name = _("training attendance")
        verbose_name_plural = _("training attendances")
        constraints = [
            models.UniqueConstraint(fields=["training", "person"], name="training_attended_once"),
        ]
        indexes = [
            # A person's trainings, and their last one (the roster, the sweep, the dashboards).
            models.Index(fields=["person", "training"], name="training_attendance_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.training}"
