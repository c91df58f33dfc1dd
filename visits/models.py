"""Visits (走访) and their photos."""

from __future__ import annotations

import uuid

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField, one_of


class VisitKind(models.TextChoices):
    HOME = "home", _("Home visit")
    PHONE = "phone", _("Phone call")
    VIDEO = "video", _("Video call")
    SCHOOL = "school", _("School visit")
    OTHER = "other", _("Other")


class PersonSeen(models.TextChoices):
    CHILD = "child", _("The child")
    PARENT = "parent", _("A parent")
    CAREGIVER = "caregiver", _("Caregiver")
    TEACHER = "teacher", _("Teacher")
    OTHER = "other", _("Someone else")


class SafetyHazard(models.TextChoices):
    DROWNING = "drowning", _("Drowning")
    ELECTRICITY = "electricity", _("Electricity")
    TRAFFIC = "traffic", _("Traffic")
    BULLYING = "bullying", _("Bullying")
    ONLINE = "online", _("Online harm")
    OTHER = "other", _("Other hazard")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    REVIEWED = "reviewed", _("Reviewed")
    RETURNED = "returned", _("Returned to the director")


# Every change keeps who, when and before → after (the review too: a re-review after an amendment
# leaves the first one in the history). The case notes are copied as their tokens.
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    exclude=["updated_at", "version", "client_id"],
    model_name="VisitEvent",
)
class Visit(models.Model):
    """A home visit or a contact by phone, video, at school …; any visit counts as a contact."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        "children.Child", verbose_name=_("child"), on_delete=models.CASCADE, related_name="visits"
    )
    visited_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=VisitKind.choices)
    visitor = models.ForeignKey(
        "accounts.User", verbose_name=_("visited by"), on_delete=models.PROTECT, related_name="+"
    )
    visitor_role = models.CharField(max_length=20, editable=False)  # at the time: patrols count
    seen = ArrayField(
        models.CharField(max_length=20, choices=PersonSeen.choices),
        verbose_name=_("who was seen"),
        default=list,
        blank=True,
    )
    # Structured findings (api.md "findings"); None means "not recorded".
    guardian_present = models.BooleanField(_("guardian present"), null=True, blank=True)
    caregiver_capable = models.BooleanField(_("caregiver able to care"), null=True, blank=True)
    in_school = models.BooleanField(_("attending school"), null=True, blank=True)
    safety_concern = models.BooleanField(_("safety concern"), null=True, blank=True)
    safety_hazards = ArrayField(
        models.CharField(max_length=20, choices=SafetyHazard.choices),
        verbose_name=_("safety hazards"),
        default=list,
        blank=True,
    )
    family_situation = EncryptedTextField(_("family situation"), blank=True, default="")
    health = EncryptedTextField(_("physical and mental health"), blank=True, default="")
    needs = EncryptedTextField(_("needs"), blank=True, default="")
    actions_taken = EncryptedTextField(_("actions taken"), blank=True, default="")
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    follow_up_note = models.CharField(_("follow-up"), max_length=500, blank=True, default="")
    notes = EncryptedTextField(_("notes"), blank=True, default="")
    review_status = models.CharField(
        _("review"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_comment = models.CharField(_("review comment"), max_length=500, blank=True, default="")
    # Chosen by the phone when the director starts the visit (api.md ``client_id``): a retried or
    # doubled upload of the same visit finds this one instead of creating a second.
    client_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # Moves with every correction or amendment: a correction typed on a phone against an older
    # version is a conflict to resolve (visits.services.visit_update), never overwritten.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-created_at"]
        indexes = [
            models.Index(fields=["child", "-visited_on"], name="visit_child_date"),
            models.Index(fields=["visitor", "-visited_on"], name="visit_visitor_date"),
            models.Index(fields=["review_status", "visited_on"], name="visit_review"),
            # The sweep's "danger found, no report within 24 hours" rule: a safety concern or
            # a child found alone (rules.prompts_report_sql starts with this predicate).
            models.Index(
                fields=["created_at"],
                name="visit_danger_recent",
                condition=models.Q(safety_concern=True) | models.Q(guardian_present=False),
            ),
            # The follow-up a visit set (the sweep's follow_up_due rule), and the same rule in
            # the refresh after a visit: one child's visits that set one, not all its visits.
            models.Index(
                fields=["child", "follow_up_on"],
                name="visit_follow_up",
                condition=models.Q(follow_up_on__isnull=False),
            ),
        ]
        constraints = [
            one_of("kind", VisitKind.values, "visit_kind_valid"),
            one_of("review_status", ReviewStatus.values, "visit_review_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.visited_on} {self.get_kind_display()}"

    def get_seen_display_list(self) -> list[str]:
        labels = dict(PersonSeen.choices)
        return [str(labels.get(item, item)) for item in self.seen]

    def get_hazards_display_list(self) -> list[str]:
        labels = dict(SafetyHazard.choices)
        return [str(labels.get(item, item)) for item in self.safety_hazards]


MAX_AMENDMENT_LENGTH = 2000


class VisitAmendment(models.Model):
    """补充说明: what a reviewed visit's record lacked or got wrong, added by a case worker (the
    reviewed record itself is not rewritten). Adding one sends the visit back to review; the
    findings it corrects are changed on the visit and kept in the visit's history."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="amendments"
    )
    text = EncryptedTextField(_("amendment"))  # a case note: encrypted at rest
    # The names of the visit's fields it corrected (the values are in the visit's history).
    corrected_fields = ArrayField(
        models.CharField(max_length=30),
        verbose_name=_("corrected fields"),
        default=list,
        blank=True,
    )
    by = models.ForeignKey(
        "accounts.User", verbose_name=_("added by"), on_delete=models.PROTECT, related_name="+"
    )
    # The database's transaction time, as the history's own (pghistory's pgh_created_at).
    at = models.DateTimeField(_("added at"), db_default=Now(), editable=False)

    class Meta:
        verbose_name = _("visit amendment")
        verbose_name_plural = _("visit amendments")
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.at:%Y-%m-%d %H:%M}"


MAX_PHOTOS = 5


def _photo_path(instance: VisitPhoto, filename: str) -> str:
    return f"visits/{instance.visit_id}/{uuid.uuid4().hex}.jpg"


class VisitPhoto(models.Model):
    """A photo from a visit: re-encoded as JPEG at most 1600 px, stored outside the web root."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=_photo_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.visit_id} photo"


# --- The quarterly verification (季度核查, domain §10) --------------------------------------------
# Each quarter the village committee verifies every child in difficulty (family, guardianship,
# schooling, benefits) and reports to the township: visits.verification_services.


class VerificationStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class BenefitsReceived(models.TextChoices):
    YES = "yes", _("Received as due")
    NO = "no", _("Not received")
    NONE_DUE = "none_due", _("No benefit due")


MAX_CHANGES_LENGTH = 2000
MAX_REOPEN_REASON_LENGTH = 500


class QuarterlyVerification(models.Model):
    """One village's verification of one quarter: drafted while its children are confirmed one
    by one, then submitted to the township (and read-only until the township re-opens it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    village = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": "village"},
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=VerificationStatus.choices,
        default=VerificationStatus.DRAFT,
    )
    created_by = models.ForeignKey(
        "accounts.User", verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    submitted_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # The last re-opening by the township (a submitted report is otherwise read-only).
    reopened_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("re-opened by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reopened_at = models.DateTimeField(_("re-opened at"), null=True, blank=True)
    reopen_reason = models.CharField(
        _("reason for re-opening"), max_length=MAX_REOPEN_REASON_LENGTH, blank=True, default=""
    )

    class Meta:
        verbose_name = _("quarterly verification")
        verbose_name_plural = _("quarterly verifications")
        ordering = ["-year", "-quarter", "village_id"]
        indexes = [
            # The township's and county's overview of one quarter, by village code range.
            models.Index(fields=["year", "quarter", "village"], name="verification_quarter"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "year", "quarter"], name="verification_one_per_quarter"
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=4),
                name="verification_quarter_1_4",
            ),
            one_of("status", VerificationStatus.values, "verification_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status="draft", submitted_at__isnull=True)
                | models.Q(status="submitted", submitted_at__isnull=False),
                name="verification_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.year}Q{self.quarter}"

    @property
    def submitted(self) -> bool:
        return self.status == VerificationStatus.SUBMITTED


class VerificationItem(models.Model):
    """One child of the checklist, confirmed: family, guardianship and schooling as on file (or
    not), benefits received, and the changes found. A change to the file itself is made through
    the file's services (``changed_fields`` names those made from the checklist)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    verification = models.ForeignKey(
        QuarterlyVerification,
        verbose_name=_("verification"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    # Not "+": a merge of two files moves the items with the rest (children.lifecycle).
    child = models.ForeignKey(
        "children.Child",
        verbose_name=_("child"),
        on_delete=models.CASCADE,
        related_name="verification_items",
    )
    family_ok = models.BooleanField(_("family situation as on file"))
    guardianship_ok = models.BooleanField(_("guardianship in place"))
    schooling_ok = models.BooleanField(_("schooling as on file"))
    benefits_received = models.CharField(
        _("benefits received"), max_length=10, choices=BenefitsReceived.choices
    )
    # A case note: encrypted at rest.
    changes_found = EncryptedTextField(_("changes found"), blank=True, default="")
    changed_fields = ArrayField(
        models.CharField(max_length=30),
        verbose_name=_("file fields changed"),
        default=list,
        blank=True,
    )
    confirmed_by = models.ForeignKey(
        "accounts.User", verbose_name=_("confirmed by"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed at"))
    # On the checklist when the verification was submitted (a child confirmed and then moved
    # away, closed or aged out before the submission is kept here but not reported).
    reported = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("verified child")
        verbose_name_plural = _("verified children")
        ordering = ["confirmed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["verification", "child"], name="verification_item_once"
            ),
            one_of("benefits_received", BenefitsReceived.values, "verification_benefits_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.verification} {self.child_id}"

    @classmethod
    def merge_child_rows(cls, duplicate_id, survivor_id) -> None:
        """Two files of one child merged (children.lifecycle.child_merge): where both were
        confirmed in one quarter's checklist the later confirmation stands, the other goes."""
        rows = cls._base_manager.filter(child_id__in=[duplicate_id, survivor_id])
        later: dict = {}
        for item in rows.order_by("confirmed_at", "id"):
            later[item.verification_id] = item.pk
        rows.exclude(pk__in=later.values()).delete()
        cls._base_manager.filter(child_id=duplicate_id).update(child_id=survivor_id)

    @property
    def all_in_order(self) -> bool:
        return (
            self.family_ok
            and self.guardianship_ok
            and self.schooling_ok
            and self.benefits_received != BenefitsReceived.NO
        )
