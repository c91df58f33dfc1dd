"""The dashboards' per-village summary (domain §8)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

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
