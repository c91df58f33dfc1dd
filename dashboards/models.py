"""The dashboards' per-village summary (domain §8)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField, one_of

from . import spot_check_rules as spot_rules
from .indicator_sql import CHILD_COUNTS, TABLE


class VillageStats(models.Model):
    """The dashboards' counts for one village (domain §8), as of the last refresh. Rewritten in
    one set-based statement every few minutes; an area's numbers are sums over its villages."""

    village = models.OneToOneField(
        "accounts.Area", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateTimeField()
    as_of_date = models.DateField()

    class Meta:
        db_table = TABLE
        verbose_name = _("village statistics")
        verbose_name_plural = _("village statistics")
        indexes = [
            models.Index(
                fields=["village"], name="villagestats_prefix", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.as_of:%Y-%m-%d %H:%M}"


# One integer column per count of indicator_sql.CHILD_COUNTS, so the list lives in one place.
for _column in CHILD_COUNTS:
    VillageStats.add_to_class(_column, models.PositiveIntegerField(default=0))


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportJob(models.Model):
    """A large export prepared in the background (dashboards.jobs): a city's or a province's
    ledger, or any hand-over. The file is written whole before it is offered, with its row count
    and SHA-256 checksum, so that a download cut short can be told from a complete one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    area = models.ForeignKey("accounts.Area", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("export"), max_length=20)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveIntegerField(_("rows written so far"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    checksum = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.BigIntegerField(_("bytes"), null=True, blank=True)
    file = models.FileField(upload_to="exports/", max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The time the file's data is true of: when it was read, less the lag of the replica it was
    # read from (core.replica), or the summary's recount for the indicators.
    data_as_of = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="exportjob_user")]
        constraints = [
            one_of("status", ExportStatus.values, "exportjob_status_valid"),
            models.CheckConstraint(
                condition=~models.Q(status="done")
                | models.Q(row_count__isnull=False, size__isnull=False) & ~models.Q(checksum=""),
                name="exportjob_done_has_count_and_checksum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.area_id} {self.created_at:%Y-%m-%d %H:%M}"


# --- The yearly spot check of files (抽查, domain §10; dashboards.spot_checks) ------------------


class SpotCheckStrata(models.TextChoices):
    NONE = spot_rules.STRATA_NONE, _("Not stratified")
    TOWNSHIP = spot_rules.STRATA_TOWNSHIP, _("By township")
    CATEGORY = spot_rules.STRATA_CATEGORY, _("By category (in difficulty, left-behind, other)")
    BOTH = spot_rules.STRATA_BOTH, _("By township and category")


class SpotCheckSizeUnit(models.TextChoices):
    CHILDREN = spot_rules.SIZE_CHILDREN, _("files")
    # xgettext:no-python-format
    PERCENT = spot_rules.SIZE_PERCENT, _("% of the files")


class SpotCheckAnswer(models.TextChoices):
    YES = spot_rules.YES, _("Yes")
    NO = spot_rules.NO, _("No")
    NOT_APPLICABLE = spot_rules.NOT_APPLICABLE, _("Not applicable")


class SpotCheck(models.Model):
    """One draw of files to check (抽查) in an area: the population (the open files of the area
    at the moment of the draw), the strata, the size asked and drawn, the seed and the
    population's digest, so that the draw can be redone and shown to be fair
    (dashboards.spot_check_rules)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    area = models.ForeignKey(
        "accounts.Area",
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # spotcheck_area leads with it
    )
    year = models.PositiveSmallIntegerField(_("year"))
    strata = models.CharField(_("strata"), max_length=20, choices=SpotCheckStrata.choices)
    size_value = models.PositiveIntegerField(_("sample size"))
    size_unit = models.CharField(
        _("unit"),
        max_length=10,
        choices=SpotCheckSizeUnit.choices,
        default=SpotCheckSizeUnit.CHILDREN,
    )
    sample_size = models.PositiveIntegerField(_("files drawn"))
    population_count = models.PositiveIntegerField(_("open files in the area"))
    population_digest = models.CharField(_("SHA-256 of the population"), max_length=64)
    # Files per stratum at the draw ({stratum: n}); the allocation follows from it.
    strata_sizes = models.JSONField(default=dict)
    seed = models.PositiveBigIntegerField(_("seed"))
    seed_typed = models.BooleanField(_("seed typed in"), default=False)
    drawn_at = models.DateTimeField(_("drawn at"))
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drawn by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        ordering = ["-drawn_at"]
        indexes = [models.Index(fields=["area", "-drawn_at"], name="spotcheck_area")]
        constraints = [
            one_of("strata", SpotCheckStrata.values, "spotcheck_strata_valid"),
            one_of("size_unit", SpotCheckSizeUnit.values, "spotcheck_size_unit_valid"),
            models.CheckConstraint(
                condition=models.Q(size_value__gte=1)
                & (~models.Q(size_unit="percent") | models.Q(size_value__lte=100)),
                name="spotcheck_size_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(sample_size__lte=models.F("population_count")),
                name="spotcheck_sample_within_population",
            ),
            models.CheckConstraint(
                condition=models.Q(seed__lte=spot_rules.MAX_SEED), name="spotcheck_seed_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id} {self.year} {self.drawn_at:%Y-%m-%d}"


class SpotCheckPopulation(models.Model):
    """The population a check was drawn from, as the lines its digest is taken of
    (``<id>\\t<stratum>\\n`` in id order), zlib-compressed: kept apart from the check so that
    listing checks never loads it (a province holds a million files)."""

    spot_check = models.OneToOneField(
        SpotCheck, primary_key=True, on_delete=models.CASCADE, related_name="population"
    )
    lines = models.BinaryField()

    class Meta:
        verbose_name = _("spot-check population")
        verbose_name_plural = _("spot-check populations")

    def __str__(self) -> str:
        return str(self.spot_check_id)


class SpotCheckItem(models.Model):
    """One sampled file and what the check found: the file complete, the visits real, the
    benefits right (yes, no, not applicable; blank until checked), with a note (a case note:
    encrypted). ``village`` is the child's village at the draw: the item belongs to it (who sees
    it, who is reminded of its corrections, its township in the summary)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    spot_check = models.ForeignKey(
        SpotCheck,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,  # spotcheckitem_village leads with it
    )
    child = models.ForeignKey(
        "children.Child",
        verbose_name=_("child"),
        on_delete=models.PROTECT,
        # Named, so that a merge of two files moves the sample with the rest (children.lifecycle):
        # the file the sampled record lives on now.
        related_name="spot_check_items",
    )
    # The file drawn, as drawn: what the draw again from the seed is compared with, whatever
    # merge of files came after (two drawn files of one child are then two items of one file).
    drawn_id = models.UUIDField(_("file drawn"), editable=False)
    village = models.ForeignKey(
        "accounts.Area", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    stratum = models.CharField(_("stratum"), max_length=40, blank=True)
    position = models.PositiveIntegerField(_("order drawn"))
    file_complete = models.CharField(
        _("file complete"), max_length=3, choices=SpotCheckAnswer.choices, blank=True
    )
    visits_real = models.CharField(
        _("visits real"), max_length=3, choices=SpotCheckAnswer.choices, blank=True
    )
    benefits_right = models.CharField(
        _("benefits right"), max_length=3, choices=SpotCheckAnswer.choices, blank=True
    )
    note = EncryptedTextField(_("note"), blank=True, default="")
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("sampled file")
        verbose_name_plural = _("sampled files")
        ordering = ["spot_check", "village", "position"]
        indexes = [
            models.Index(
                fields=["spot_check", "village", "position"], name="spotcheckitem_village"
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["spot_check", "drawn_id"], name="spotcheckitem_once"),
            *(
                one_of(name, ["", *SpotCheckAnswer.values], f"spotcheckitem_{name}_valid")
                for name in spot_rules.FINDINGS
            ),
            # Checked: every finding answered, and by whom.
            models.CheckConstraint(
                condition=models.Q(checked_at__isnull=True, checked_by__isnull=True)
                | (
                    models.Q(checked_at__isnull=False, checked_by__isnull=False)
                    & ~models.Q(file_complete="")
                    & ~models.Q(visits_real="")
                    & ~models.Q(benefits_right="")
                ),
                name="spotcheckitem_checked_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.spot_check_id} {self.child_id}"


class SpotCheckCorrection(models.Model):
    """A correction the check asks of a sampled file, due by a date: marked done by a case
    worker of the file's area, then confirmed by civil affairs. An open one reminds the
    village's director (the township supervisor when the village has none) from a week before
    its due date (reminders.services)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(SpotCheckItem, on_delete=models.CASCADE, related_name="corrections")
    description = models.CharField(_("what to correct"), max_length=300)
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    corrected_at = models.DateTimeField(_("corrected at"), null=True, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("corrected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    correction_note = models.CharField(_("what was done"), max_length=500, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("spot-check correction")
        verbose_name_plural = _("spot-check corrections")
        ordering = ["due_on", "created_at"]
        indexes = [
            # The reminder sweep: open corrections by due date.
            models.Index(
                fields=["due_on"],
                name="spotcheckcorrection_open_due",
                condition=models.Q(corrected_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(corrected_at__isnull=True, corrected_by__isnull=True)
                | models.Q(corrected_at__isnull=False, corrected_by__isnull=False),
                name="spotcheckcorrection_corrected_by",
            ),
            models.CheckConstraint(
                condition=models.Q(confirmed_at__isnull=True, confirmed_by__isnull=True)
                | models.Q(
                    confirmed_at__isnull=False,
                    confirmed_by__isnull=False,
                    corrected_at__isnull=False,
                ),
                name="spotcheckcorrection_confirmed_after_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.due_on}"
