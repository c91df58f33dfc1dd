"""The dashboards' per-village summary (domain §8)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import one_of

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
