"""The child file (一人一档): child, family members, guardianship assessments."""

from __future__ import annotations

import uuid

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import EncryptedTextField, one_of
from core.text import join_list


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Category(models.TextChoices):
    LEFT_BEHIND = "left_behind", _("Left-behind child")
    ORPHAN = "orphan", _("Orphan")
    DE_FACTO_UNSUPPORTED = "de_facto_unsupported", _("De facto unsupported child")  # 事实无人抚养
    HIV_AFFECTED = "hiv_affected", _("Affected by HIV")
    SEVERE_DISABILITY = "severe_disability", _("Severe disability")
    SERIOUS_ILLNESS = "serious_illness", _("Serious illness")
    LOW_INCOME_FAMILY = "low_income_family", _("Low-income family")
    GUARDIAN_ABUSE = "guardian_abuse", _("Harmed by guardian")
    STREET_CHILD = "street_child", _("Street child")
    EMERGENCY_AFFECTED = "emergency_affected", _("Affected by an emergency")
    SINGLE_PARENT = "single_parent", _("Single-parent family")


# Set by staff; left_behind is derived and never typed in.
MANUAL_CATEGORIES = [c for c in Category.values if c != Category.LEFT_BEHIND]
# Money is paid on these: typed by a director or supervisor they stay pending (待民政确认) until
# county civil affairs confirm them (api.md, issue 17).
COUNTY_CONFIRMED_CATEGORIES = (
    Category.ORPHAN,
    Category.DE_FACTO_UNSUPPORTED,
    Category.HIV_AFFECTED,
)


class SchoolStatus(models.TextChoices):
    PRESCHOOL = "preschool", _("Preschool")
    IN_SCHOOL = "in_school", _("In school")
    NOT_ENROLLED = "not_enrolled", _("Not enrolled")
    DROPPED_OUT = "dropped_out", _("Dropped out")
    SUSPENDED = "suspended", _("Suspended")
    GRADUATED = "graduated", _("Graduated")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low (green)")
    MEDIUM = "medium", _("Medium (yellow)")
    HIGH = "high", _("High (red)")


class FocusFlag(models.TextChoices):
    UNSUPERVISED = "unsupervised", _("Unsupervised")
    ONE_PARENT_AWAY_OTHER_INCAPABLE = (
        "one_parent_away_other_incapable",
        _("One parent away, the other unable to care"),
    )
    OUT_OF_SCHOOL = "out_of_school", _("Out of school")
    NO_HUKOU = "no_hukou", _("No hukou")
    ILL = "ill", _("Ill")
    DISABLED = "disabled", _("Disabled")


class ChildStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class CloseReason(models.TextChoices):
    TURNED_18 = "turned_18", _("Turned 18")
    PARENTS_RETURNED = "parents_returned", _("Parents returned")
    MOVED_AWAY = "moved_away", _("Moved away")
    DECEASED = "deceased", _("Deceased")
    OTHER = "other", _("Other")


class DisabilityType(models.TextChoices):
    VISUAL = "visual", _("Visual")
    HEARING = "hearing", _("Hearing")
    SPEECH = "speech", _("Speech")
    PHYSICAL = "physical", _("Physical")
    INTELLECTUAL = "intellectual", _("Intellectual")
    MENTAL = "mental", _("Mental")
    MULTIPLE = "multiple", _("Multiple")


class Household(models.Model):
    """Siblings share one household and its family members (domain §2): a parent's change is
    recorded once and every sibling's derived status follows. Every child has one, alone or not."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return join_list(self.children.order_by("birth_date").values_list("name", flat=True))


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    exclude=[
        "updated_at",
        "version",
        "id_number_encrypted",
        "derived_refresh_on",
        "last_contact_on",
        "last_home_visit_on",
        "contact_interval_days",
        "home_visit_interval_days",
        "schedule_reason",
        "next_contact_due",
        "next_home_visit_due",
        "last_parent_contact_on",
        "parent_contact_due",
    ],
    model_name="ChildEvent",
)
class Child(models.Model):
    """One file per child across the whole system (一人一档)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("full name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    # The ID number is stored encrypted; the hash finds duplicates, the masked form is for display.
    id_number_encrypted = models.TextField(blank=True, default="", editable=False)
    # NULL (not "") when absent, so the unique constraint ignores children without a number.
    id_number_hash = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True, default="")
    id_number_last4 = models.CharField(max_length=4, blank=True, default="", editable=False)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True, default="汉族")
    hukou_registered = models.BooleanField(_("hukou registered"), default=True)
    hukou_place = models.CharField(_("hukou place"), max_length=200, blank=True, default="")
    village = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="child_files",
        limit_choices_to={"level": "village"},
    )
    # Siblings share the household's family members (children.households).
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="children",
    )
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    school_name = models.CharField(_("school"), max_length=100, blank=True, default="")
    grade = models.CharField(_("grade"), max_length=30, blank=True, default="")
    school_status = models.CharField(
        _("school status"),
        max_length=20,
        choices=SchoolStatus.choices,
        default=SchoolStatus.IN_SCHOOL,
    )
    illness = models.CharField(_("illness"), max_length=200, blank=True, default="")
    disability_type = models.CharField(
        _("disability type"), max_length=20, choices=DisabilityType.choices, blank=True, default=""
    )
    disability_grade = models.PositiveSmallIntegerField(
        _("disability grade"), null=True, blank=True
    )
    psych_concern = models.BooleanField(_("psychological or behavioural concern"), default=False)
    # About a child's mental health: a case note, encrypted at rest like ``notes``.
    psych_note = EncryptedTextField(
        _("concern note"), blank=True, default="", validators=[MaxLengthValidator(500)]
    )
    photo = models.ImageField(_("photo"), upload_to="photos/%Y/%m/", blank=True)
    categories = ArrayField(
        models.CharField(max_length=30, choices=Category.choices),
        verbose_name=_("categories"),
        default=list,
        blank=True,
    )
    categories_pending = ArrayField(
        models.CharField(max_length=30, choices=Category.choices),
        verbose_name=_("categories awaiting confirmation by civil affairs"),
        default=list,
        blank=True,
        db_default=models.Value([], output_field=ArrayField(models.CharField(max_length=30))),
    )
    left_behind_reasons = ArrayField(
        models.CharField(max_length=200),
        verbose_name=_("left-behind reasons"),
        default=list,
        blank=True,
    )
    focus_flags = ArrayField(
        models.CharField(max_length=40, choices=FocusFlag.choices),
        verbose_name=_("focus flags"),
        default=list,
        blank=True,
    )
    is_key_child = models.BooleanField(_("key child"), default=False)
    risk_level = models.CharField(
        _("risk level"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    next_assessment_due = models.DateField(_("next assessment due"), null=True, blank=True)
    # When derived data (left-behind, flags) may next change by the calendar alone; the daily job
    # recomputes files with derived_refresh_on <= today.
    derived_refresh_on = models.DateField(null=True, blank=True, editable=False, db_index=True)
    # Visit schedule (domain §3), recomputed with the other derived data whenever a visit is
    # recorded or the risk or a condition changes. Reminder sweeps query these columns.
    last_contact_on = models.DateField(_("last contact"), null=True, blank=True, editable=False)
    last_home_visit_on = models.DateField(
        _("last home visit"), null=True, blank=True, editable=False
    )
    contact_interval_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    home_visit_interval_days = models.PositiveSmallIntegerField(
        null=True, blank=True, editable=False
    )
    schedule_reason = models.CharField(max_length=100, blank=True, default="", editable=False)
    next_contact_due = models.DateField(
        _("next contact due"), null=True, blank=True, editable=False
    )
    next_home_visit_due = models.DateField(
        _("next home visit due"), null=True, blank=True, editable=False
    )
    # Parent–child contact (domain §3): a left-behind child's parents must call at least weekly;
    # no logged contact for 14 days (*default*) shows a flag.
    last_parent_contact_on = models.DateField(
        _("last parent contact"), null=True, blank=True, editable=False
    )
    parent_contact_due = models.DateField(
        _("parent contact due"), null=True, blank=True, editable=False
    )
    notes = EncryptedTextField(_("notes"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=ChildStatus.choices, default=ChildStatus.ACTIVE
    )
    closed_reason = models.CharField(
        _("closing reason"), max_length=20, choices=CloseReason.choices, blank=True, default=""
    )
    closed_note = models.CharField(_("closing note"), max_length=500, blank=True, default="")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The last re-opening of a closed file (one file for life: never a second file).
    reopened_on = models.DateField(_("re-opened on"), null=True, blank=True)
    reopen_reason = models.CharField(
        _("reason for re-opening"), max_length=500, blank=True, default="", db_default=""
    )
    # Kept open past the 18th birthday while a benefit continues for full-time education (set by
    # benefits when it records the education; the daily ageing-out job reads it).
    education_continues_until = models.DateField(
        _("full-time education until"), null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("child")
        verbose_name_plural = _("children")
        ordering = ["village_id", "name"]
        indexes = [
            models.Index(fields=["village", "status", "name"], name="child_village_status_name"),
            models.Index(fields=["id_number_last4"], name="child_id_last4"),
            models.Index(fields=["risk_level"], name="child_risk"),
            # The reminder sweep and worklists: active children by home-visit due date.
            models.Index(
                fields=["next_home_visit_due"],
                name="child_home_due_active",
                condition=models.Q(status="active"),
            ),
            models.Index(
                fields=["village", "next_home_visit_due"],
                name="child_village_home_due",
                condition=models.Q(status="active"),
            ),
            GinIndex(fields=["categories"], name="child_categories_gin"),
            GinIndex(fields=["focus_flags"], name="child_flags_gin"),
            # County civil affairs' queue of categories to confirm (待民政确认): few rows.
            models.Index(
                fields=["village"],
                name="child_categories_pending",
                condition=~models.Q(categories_pending=[]),
            ),
        ]
        constraints = [
            # One file per ID number across the whole system.
            models.UniqueConstraint(fields=["id_number_hash"], name="child_unique_id_number"),
            # The ID number may be empty only for a child with no hukou.
            models.CheckConstraint(
                condition=models.Q(id_number_hash__isnull=False) | models.Q(hukou_registered=False),
                name="child_id_required_unless_no_hukou",
            ),
            models.CheckConstraint(
                condition=models.Q(disability_grade__isnull=True)
                | models.Q(disability_grade__gte=1, disability_grade__lte=4),
                name="child_disability_grade_1_4",
            ),
            models.CheckConstraint(
                condition=models.Q(status="active", closed_on__isnull=True)
                | models.Q(status="closed", closed_on__isnull=False),
                name="child_closed_has_date",
            ),
            one_of("gender", Gender.values, "child_gender_valid"),
            one_of("school_status", SchoolStatus.values, "child_school_valid"),
            one_of("risk_level", RiskLevel.values, "child_risk_valid"),
            models.CheckConstraint(
                condition=models.Q(categories__contained_by=Category.values),
                name="child_categories_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(categories_pending__contained_by=COUNTY_CONFIRMED_CATEGORIES),
                name="child_categories_pending_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_reason_shown(self) -> str:
        """Why the child is contacted and visited as often as they are, in the reader's language
        (the column keeps it in the default language)."""
        from . import schedule

        return schedule.shown_reason(self.schedule_reason)

    @property
    def family_members(self) -> models.QuerySet[FamilyMember]:
        """The family members of the child's household (shared with its siblings)."""
        return FamilyMember.objects.filter(household_id=self.household_id)


class Relation(models.TextChoices):
    FATHER = "father", _("Father")
    MOTHER = "mother", _("Mother")
    GRANDPARENT = "grandparent", _("Grandparent")
    OTHER = "other", _("Other")


class MemberStatus(models.TextChoices):
    AT_HOME = "at_home", _("At home")
    WORKING_AWAY = "working_away", _("Working away")
    IMPRISONED = "imprisoned", _("Imprisoned")
    IN_REHAB = "in_rehab", _("In compulsory drug rehabilitation")
    DECEASED = "deceased", _("Deceased")
    MISSING = "missing", _("Missing")
    LOST_CONTACT = "lost_contact", _("Lost contact")
    DECLARED_MISSING = "declared_missing", _("Declared missing by a court")
    OTHER = "other", _("Other")


class EvidenceKind(models.TextChoices):
    """What a document proves (api.md, EVIDENCE KIND): a family member's status, or what a
    benefit application needs."""

    DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
    COURT_DECLARATION = "court_declaration", _("Court declaration of missing person")
    JUDGEMENT = "judgement", _("Judgement")
    DETENTION_RECORD = "detention_record", _("Detention record")
    REHAB_RECORD = "rehab_record", _("Compulsory rehab decision")
    LOST_CONTACT_RECORD = "lost_contact_record", _("Police record of lost contact")
    DISABILITY_CERTIFICATE = "disability_certificate", _("Disability certificate")
    ILLNESS_DIAGNOSIS = "illness_diagnosis", _("Diagnosis of serious illness")
    MEDICAL_CERTIFICATE = "medical_certificate", _("Medical certificate")
    SCHOOL_CERTIFICATE = "school_certificate", _("School certificate")
    INCOME_CHECK = "income_check", _("Household economic check")
    OTHER = "other", _("Other")


# Statuses whose start date counts (domain §7: deprived of liberty or lost contact for 6 months).
STATUSES_WITH_SINCE = {
    MemberStatus.IMPRISONED,
    MemberStatus.IN_REHAB,
    MemberStatus.LOST_CONTACT,
}

# Statuses that must be proved with a document (death certificate, court papers, police record …).
STATUSES_NEEDING_EVIDENCE = {
    MemberStatus.IMPRISONED,
    MemberStatus.IN_REHAB,
    MemberStatus.DECEASED,
    MemberStatus.MISSING,
    MemberStatus.LOST_CONTACT,
    MemberStatus.DECLARED_MISSING,
}


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["updated_at", "id_number_encrypted", "id_number_hash", "evidence_content_type"],
    model_name="FamilyMemberEvent",
)
class FamilyMember(models.Model):
    """A parent or relative of the children of one household (siblings share them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="members",
    )
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    name = models.CharField(_("full name"), max_length=50)
    id_number_encrypted = models.TextField(blank=True, default="", editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True, default="")
    # The keyed hash of the ID number: a parent already on file in the village is found by it
    # (registration and census import offer to join the household).
    id_number_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="")
    status = models.CharField(_("status"), max_length=20, choices=MemberStatus.choices)
    has_guardian_capacity = models.BooleanField(_("able to act as guardian"), default=True)
    # A parent with a serious disability shortens the visit interval (domain §3) and counts
    # towards 事实无人抚养 (domain §7).
    has_serious_disability = models.BooleanField(_("serious disability"), default=False)
    has_serious_illness = models.BooleanField(_("serious illness"), default=False)
    # When the status began: imprisonment, compulsory rehab, lost contact (domain §2, §7).
    status_since = models.DateField(_("status since"), null=True, blank=True)
    work_place = models.CharField(_("work place"), max_length=100, blank=True, default="")
    employer = models.CharField(_("employer"), max_length=100, blank=True, default="")
    away_since = models.DateField(_("away since"), null=True, blank=True)
    evidence = models.FileField(_("evidence"), upload_to="evidence/%Y/%m/", blank=True)
    evidence_kind = models.CharField(
        _("kind of evidence"), max_length=30, choices=EvidenceKind.choices, blank=True, default=""
    )
    evidence_content_type = models.CharField(max_length=50, blank=True, default="")
    evidence_date = models.DateField(_("evidence date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("family member")
        verbose_name_plural = _("family members")
        ordering = ["household", "relation", "name"]
        indexes = [
            models.Index(fields=["status", "away_since"], name="member_status_away"),
            models.Index(
                fields=["id_number_hash"],
                name="member_id_number_hash",
                condition=~models.Q(id_number_hash=""),
            ),
        ]
        constraints = [
            one_of("relation", Relation.values, "member_relation_valid"),
            one_of("status", MemberStatus.values, "member_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_relation_display()} {self.name}"


class AssessmentScore(models.IntegerChoices):
    NONE = 0, _("No concern")
    MINOR = 1, _("Minor concern")
    SERIOUS = 2, _("Serious concern")
    SEVERE = 3, _("Severe concern")


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    model_name="GuardianshipAssessmentEvent",
)
class GuardianshipAssessment(models.Model):
    """家庭监护能力评估: four scored areas give a colour (赋色); the latest sets the risk level."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="assessments"
    )
    assessed_on = models.DateField(_("assessed on"))
    assessor = models.ForeignKey(
        "accounts.User", verbose_name=_("assessor"), on_delete=models.PROTECT, related_name="+"
    )
    guardianship = models.PositiveSmallIntegerField(
        _("guardianship"), choices=AssessmentScore.choices
    )
    safety = models.PositiveSmallIntegerField(_("safety"), choices=AssessmentScore.choices)
    health = models.PositiveSmallIntegerField(_("health"), choices=AssessmentScore.choices)
    behaviour = models.PositiveSmallIntegerField(_("behaviour"), choices=AssessmentScore.choices)
    result = models.CharField(_("result"), max_length=10, choices=RiskLevel.choices)
    note = EncryptedTextField(_("note"), blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("guardianship assessment")
        verbose_name_plural = _("guardianship assessments")
        ordering = ["-assessed_on", "-created_at"]
        constraints = [
            one_of("result", RiskLevel.values, "assessment_result_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.assessed_on}"


class CaregiverRelation(models.TextChoices):
    GRANDPARENT = "grandparent", _("Grandparent")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    OTHER_ADULT = "other_adult", _("Other adult")


class AgreementStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("care agreement", "Active")
    NEEDS_REPLACEMENT = "needs_replacement", _("Needs a new caregiver")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    exclude=["updated_at", "caregiver_id_number_encrypted"],
    model_name="CareAgreementEvent",
)
class CareAgreement(models.Model):
    """委托照护协议 (MPL art. 22–23): a parent working away entrusts the child to an adult."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="care_agreements"
    )
    parents = models.ManyToManyField(
        FamilyMember, verbose_name=_("entrusting parents"), blank=True, related_name="+"
    )
    parent_work_place = models.CharField(_("parent's work place"), max_length=100, blank=True)
    parent_employer = models.CharField(_("parent's employer"), max_length=100, blank=True)
    parent_phone = models.CharField(_("parent's phone"), max_length=20, blank=True)
    parent_departure_date = models.DateField(_("departure date"), null=True, blank=True)
    caregiver_name = models.CharField(_("caregiver"), max_length=50)
    caregiver_relation = models.CharField(
        _("caregiver's relation"), max_length=20, choices=CaregiverRelation.choices
    )
    caregiver_id_number_encrypted = models.TextField(blank=True, default="", editable=False)
    caregiver_id_number_masked = models.CharField(
        _("caregiver's ID number"), max_length=18, blank=True, default=""
    )
    caregiver_birth_date = models.DateField(_("caregiver's birth date"), null=True, blank=True)
    caregiver_health = models.CharField(_("caregiver's health"), max_length=200, blank=True)
    caregiver_address = models.CharField(_("caregiver's address"), max_length=200, blank=True)
    caregiver_phone = models.CharField(_("caregiver's phone"), max_length=20)
    # Plain: the caregiver's duties are the standard wording of the agreement, not case notes.
    duties = models.TextField(_("duties"), blank=True, default="")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    weekly_contact = models.BooleanField(_("parents contact the child every week"), default=True)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    filed_on = models.DateField(_("filed with the village committee on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.ACTIVE
    )
    status_reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    status_changed_on = models.DateField(_("status changed on"), null=True, blank=True)
    # The signed copy: JPEG, PNG or PDF (checked from the bytes), outside the web root.
    scan = models.FileField(_("signed copy"), upload_to="agreements/%Y/%m/", blank=True)
    scan_content_type = models.CharField(max_length=30, blank=True, default="", editable=False)
    # When the caregiver can no longer care: a new agreement is due by this date.
    replacement_due = models.DateField(_("new agreement due"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("care agreement")
        verbose_name_plural = _("care agreements")
        ordering = ["-start_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["child"],
                condition=models.Q(status="active"),
                name="agreement_one_active_per_child",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gt=models.F("start_date")),
                name="agreement_ends_after_start",
            ),
            one_of("status", AgreementStatus.values, "agreement_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["end_date"],
                name="agreement_active_end",
                condition=models.Q(status__in=["active", "needs_replacement"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child} → {self.caregiver_name}"


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    VIDEO = "video", _("Video call")
    SMS = "sms", _("Text message")
    WECHAT = "wechat", _("WeChat message")
    IN_PERSON = "in_person", _("In person")
    LETTER = "letter", _("Letter")


class ParentNoticeStatus(models.TextChoices):
    # A person recorded telling the parents (by phone, in person …), or ticked the call done.
    DONE = "done", _("Told")
    # 待电话通知: no text message reached them (no SMS channel, no mobile number, or the text
    # failed for good): the director phones and ticks it done.
    PENDING_CALL = "pending_call", _("Phone call pending")
    # The system's text message is on its way (a failed attempt is retried).
    TEXTING = "texting", _("Text message being sent")
    # The SMS provider accepted the system's text message.
    TEXTED = "texted", _("Text message sent")


class ParentNotice(models.Model):
    """That the entrusting parents were told their child's caregiver can no longer care (who,
    when, how). The system's own notices (``automatic``: one per parent's number when the flag is
    raised) have no user until a person ticks a phone call done; their text message's attempts
    are in ``delivery``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement = models.ForeignKey(
        CareAgreement,
        verbose_name=_("care agreement"),
        on_delete=models.CASCADE,
        related_name="parent_notices",
    )
    notified_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("notified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notified_at = models.DateTimeField(_("notified at"))
    channel = models.CharField(_("how"), max_length=20, choices=ContactChannel.choices)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ParentNoticeStatus.choices,
        default=ParentNoticeStatus.DONE,
    )
    automatic = models.BooleanField(default=False)
    # The parent's number this notice is about (automatic notices).
    phone = models.CharField(_("phone"), max_length=20, blank=True, default="")
    delivery = models.OneToOneField(
        "accounts.Delivery",
        verbose_name=_("delivery"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("parent notice")
        verbose_name_plural = _("parent notices")
        ordering = ["-notified_at"]
        constraints = [
            one_of("status", ParentNoticeStatus.values, "parent_notice_status_valid"),
            # Raising the flag twice (the outbox delivers at least once) notifies each number once.
            models.UniqueConstraint(
                fields=["agreement", "phone"],
                condition=models.Q(automatic=True),
                name="parent_notice_automatic_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement} {self.notified_at:%Y-%m-%d}"


class ParentContact(models.Model):
    """A parent–child contact logged by the director (MPL art. 23: at least weekly)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="parent_contacts"
    )
    parent = models.ForeignKey(
        FamilyMember,
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contacted_on = models.DateField(_("date"))
    channel = models.CharField(_("how"), max_length=20, choices=ContactChannel.choices)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Chosen by the phone (as Visit.client_id): a retried upload finds this contact again.
    client_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("parent contact")
        verbose_name_plural = _("parent contacts")
        ordering = ["-contacted_on", "-created_at"]
        indexes = [models.Index(fields=["child", "-contacted_on"], name="parent_contact_child")]

    def __str__(self) -> str:
        return f"{self.child} {self.contacted_on}"


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class TransferSide(models.TextChoices):
    SENDER = "sender", _("Sending side")
    RECEIVER = "receiver", _("Receiving side")


class Transfer(models.Model):
    """A child's file moving to another village (domain §2): asked by the side the child left
    (sender) or the side the child arrived at (receiver), accepted or rejected by the other."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="transfers"
    )
    from_village = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("from village"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_village = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("to village"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.PENDING
    )
    requested_by_side = models.CharField(_("asked by"), max_length=10, choices=TransferSide.choices)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("asked by")
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    reject_reason = models.CharField(
        _("reason for rejecting"), max_length=200, blank=True, default=""
    )

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at"]
        indexes = [
            # Each side's pending transfers, by area prefix (LIKE '3418%').
            models.Index(
                fields=["from_village"],
                name="transfer_pending_from",
                opclasses=["varchar_pattern_ops"],
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["to_village"],
                name="transfer_pending_to",
                opclasses=["varchar_pattern_ops"],
                condition=models.Q(status="pending"),
            ),
        ]
        constraints = [
            # At most one open transfer of a child at a time.
            models.UniqueConstraint(
                fields=["child"], condition=models.Q(status="pending"), name="transfer_one_pending"
            ),
            one_of("status", TransferStatus.values, "transfer_status_valid"),
            one_of("requested_by_side", TransferSide.values, "transfer_side_valid"),
            models.CheckConstraint(
                condition=~models.Q(from_village=models.F("to_village")),
                name="transfer_to_another_village",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", decided_at__isnull=True)
                | (~models.Q(status="pending") & models.Q(decided_at__isnull=False)),
                name="transfer_decided_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child_id}: {self.from_village_id} → {self.to_village_id} ({self.status})"


class ChildMerge(models.Model):
    """Two files of one child merged (domain §2, one file for life): the duplicate's visits,
    agreements, reports, benefits and family moved to the surviving file, and the duplicate file
    went. Its own history stays under its id (ChildEvent); this record names it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survivor = models.ForeignKey(
        Child, verbose_name=_("file kept"), on_delete=models.CASCADE, related_name="merges"
    )
    duplicate_id = models.UUIDField(_("file merged"), unique=True)
    duplicate_name = models.CharField(_("full name"), max_length=50)
    duplicate_village = models.ForeignKey(
        "accounts.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    reason = models.CharField(_("reason"), max_length=500)
    merged_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("merged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("merged file")
        verbose_name_plural = _("merged files")
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.duplicate_name} → {self.survivor}"


class CategoryDecision(models.Model):
    """County civil affairs confirmed or rejected a category typed by a director or supervisor
    (orphan, de facto unsupported, HIV-affected), or confirmed it by approving its allowance:
    who, when, and the written note, for the audit money is paid on."""

    class Decision(models.TextChoices):
        CONFIRM = "confirm", _("Confirmed")
        REJECT = "reject", _("Rejected")

    id = models.BigAutoField(primary_key=True)
    child = models.ForeignKey(
        Child, verbose_name=_("child"), on_delete=models.CASCADE, related_name="category_decisions"
    )
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    note = EncryptedTextField(_("note"), blank=True, default="")
    decided_by = models.ForeignKey(
        "accounts.User", verbose_name=_("decided by"), on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        verbose_name = _("category decision")
        verbose_name_plural = _("category decisions")
        ordering = ["decided_at", "id"]
        constraints = [
            one_of("category", COUNTY_CONFIRMED_CATEGORIES, "category_decision_category_valid"),
            one_of("decision", ["confirm", "reject"], "category_decision_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.category} {self.decision}"


# --- 控辍保学: the education department's out-of-school list and 劝返复学 (children.dropouts) ---


class DropoutList(models.Model):
    """One list of children out of school from the education department (控辍保学), as imported
    by civil affairs or the township: who, when, which file, and where it came from."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The importer's area: the list is seen in that area's subtree.
    area = models.ForeignKey(
        "accounts.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=100)
    file_name = models.CharField(_("file"), max_length=200, blank=True, default="")
    imported_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("imported by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    matched_count = models.PositiveIntegerField(_("matched"), default=0)
    unmatched_count = models.PositiveIntegerField(_("not matched"), default=0)
    cases_opened = models.PositiveIntegerField(_("cases opened"), default=0)

    class Meta:
        verbose_name = _("out-of-school list")
        verbose_name_plural = _("out-of-school lists")
        ordering = ["-imported_at"]
        indexes = [
            models.Index(fields=["area", "-imported_at"], name="dropout_list_area"),
        ]

    def __str__(self) -> str:
        return self.source


class DropoutMatch(models.TextChoices):
    """How a row of the list was matched to a file in the importer's area."""

    MATCHED = "matched", _("Matched")
    NO_FILE = "no_file", _("No file with this ID number in the area")
    NO_NAME_MATCH = "no_name_match", _("No file with this name and birth date in the area")
    NO_BIRTH_DATE = "no_birth_date", _("No ID number or birth date to match on")
    AMBIGUOUS = "ambiguous", _("Several files with this name and birth date")
    FILE_CLOSED = "file_closed", _("The file is closed")
    ADULT = "adult", _("18 or older")


class DropoutFollowUp(models.TextChoices):
    """A row not matched at import waits for a case worker: linked to a file, or dismissed."""

    NONE = "", _("Nothing to do")
    OPEN = "open", _("To follow up")
    LINKED = "linked", _("Linked to a file")
    DISMISSED = "dismissed", _("Dismissed")


class DropoutRow(models.Model):
    """One child of an out-of-school list, with the result of matching it to a file."""

    id = models.BigAutoField(primary_key=True)
    dropout_list = models.ForeignKey(
        DropoutList, verbose_name=_("list"), on_delete=models.CASCADE, related_name="rows"
    )
    line = models.PositiveIntegerField(_("row"))
    name = models.CharField(_("full name"), max_length=50)
    id_number_encrypted = models.TextField(blank=True, default="", editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    school_name = models.CharField(_("school"), max_length=100, blank=True, default="")
    grade = models.CharField(_("grade"), max_length=30, blank=True, default="")
    listed_status = models.CharField(
        _("status on the list"), max_length=20, choices=SchoolStatus.choices
    )
    # The township named on the row, else the list's area: who follows it up.
    area = models.ForeignKey(
        "accounts.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(_("match"), max_length=20, choices=DropoutMatch.choices)
    child = models.ForeignKey(
        Child,
        verbose_name=_("child"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dropout_rows",
    )
    case = models.ForeignKey(
        "ReturnToSchoolCase",
        verbose_name=_("return-to-school case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rows",
    )
    case_opened = models.BooleanField(_("case opened by this row"), default=False)
    follow_up = models.CharField(
        _("follow-up"), max_length=10, choices=DropoutFollowUp.choices, blank=True, default=""
    )
    follow_up_note = models.CharField(_("note"), max_length=500, blank=True, default="")
    followed_up_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    followed_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("out-of-school list row")
        verbose_name_plural = _("out-of-school list rows")
        ordering = ["dropout_list", "line"]
        indexes = [
            # The rows waiting for a case worker, by area (a range of codes: the user's subtree).
            models.Index(
                fields=["area"],
                name="dropout_row_follow_up",
                condition=models.Q(follow_up="open"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dropout_list", "line"], name="dropout_row_line"),
            one_of("result", DropoutMatch.values, "dropout_row_result_valid"),
            one_of("follow_up", DropoutFollowUp.values, "dropout_row_follow_up_valid"),
            one_of(
                "listed_status",
                ["dropped_out", "not_enrolled", "suspended"],
                "dropout_row_status_valid",
            ),
            # A matched row has its file; one linked later too.
            models.CheckConstraint(
                condition=~models.Q(result="matched", child__isnull=True)
                & ~models.Q(follow_up="linked", child__isnull=True),
                name="dropout_row_matched_has_child",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dropout_list_id}:{self.line} {self.name}"


class ReturnOutcome(models.TextChoices):
    RETURNED = "returned", _("Back in school")
    TRANSFERRED_TO_VOCATIONAL = "transferred_to_vocational", _("Went on to vocational education")
    EXEMPTED = "exempted", _("Exempted or deferred by the education department")
    OTHER = "other", _("Other")


class ReturnCaseStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("return-to-school case", "Open")
    CLOSED = "closed", pgettext_lazy("return-to-school case", "Closed")


class ReturnToSchoolCase(models.Model):
    """劝返复学: a child out of school is followed up until back in school — contacts with the
    family, a plan, and an outcome. At most one open case per child."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    child = models.ForeignKey(
        Child,
        verbose_name=_("child"),
        on_delete=models.CASCADE,
        related_name="return_to_school_cases",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReturnCaseStatus.choices, default=ReturnCaseStatus.OPEN
    )
    opened_on = models.DateField(_("opened on"))
    opened_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("opened by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The list the child was on (null when opened from a row linked later: the row says).
    source_list = models.ForeignKey(
        DropoutList,
        verbose_name=_("list"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    listed_status = models.CharField(
        _("status on the list"), max_length=20, choices=SchoolStatus.choices
    )
    # Case notes about a child: encrypted at rest like the file's notes.
    plan = EncryptedTextField(
        _("plan"), blank=True, default="", validators=[MaxLengthValidator(2000)]
    )
    outcome = models.CharField(
        _("outcome"), max_length=30, choices=ReturnOutcome.choices, blank=True, default=""
    )
    returned_on = models.DateField(_("back in school on"), null=True, blank=True)
    returned_school = models.CharField(_("school"), max_length=100, blank=True, default="")
    outcome_note = EncryptedTextField(
        _("note"), blank=True, default="", validators=[MaxLengthValidator(500)]
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("return-to-school case")
        verbose_name_plural = _("return-to-school cases")
        ordering = ["-opened_on", "-created_at"]
        constraints = [
            # Also the index of a child's open case.
            models.UniqueConstraint(
                fields=["child"], condition=models.Q(status="open"), name="return_case_one_open"
            ),
            one_of("status", ReturnCaseStatus.values, "return_case_status_valid"),
            one_of("outcome", ["", *ReturnOutcome.values], "return_case_outcome_valid"),
            models.CheckConstraint(
                condition=models.Q(status="open", outcome="", closed_on__isnull=True)
                | (models.Q(status="closed", closed_on__isnull=False) & ~models.Q(outcome="")),
                name="return_case_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome="returned") | models.Q(returned_on__isnull=False),
                name="return_case_returned_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} {self.opened_on}"


class ReturnContactChannel(models.TextChoices):
    HOME_VISIT = "home_visit", _("Home visit")
    PHONE = "phone", _("Phone call")
    VIDEO = "video", _("Video call")
    AT_SCHOOL = "at_school", _("Meeting at school")
    WECHAT = "wechat", _("WeChat message")
    OTHER = "other", _("Other")


class ReturnToSchoolContact(models.Model):
    """One contact of a return-to-school case (劝返): when, who, with whom, how, and a note."""

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(
        ReturnToSchoolCase,
        verbose_name=_("return-to-school case"),
        on_delete=models.CASCADE,
        related_name="contacts",
    )
    contacted_on = models.DateField(_("date"))
    contacted_by = models.ForeignKey(
        "accounts.User", verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    with_whom = models.CharField(_("with whom"), max_length=100)
    channel = models.CharField(_("how"), max_length=20, choices=ReturnContactChannel.choices)
    note = EncryptedTextField(
        _("note"), blank=True, default="", validators=[MaxLengthValidator(1000)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("return-to-school contact")
        verbose_name_plural = _("return-to-school contacts")
        ordering = ["-contacted_on", "-created_at"]
        constraints = [
            one_of("channel", ReturnContactChannel.values, "return_contact_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.contacted_on}"
