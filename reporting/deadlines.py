"""The one definition of a mandatory report's deadlines (domain §6): how long each stage may stay
open, when a report is late, and which reports are urgent — in Python for a page or an answer,
and as SQL text (on the report row ``r``) for the reminder sweep and the dashboards' counts.

A stage is late once more than its limit (settings.REPORT_STAGE_LIMIT_DAYS) has passed since the
report entered it; the police must be told within POLICE_NOTICE_HOURS of filing; county civil
affairs are told when a stage is still open COUNTY_AFTER_DAYS after its limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from . import rules

# Dangers to life and body come first in every queue.
URGENT_SITUATIONS = ("sexual_abuse", "serious_harm", "missing", "domestic_violence", "living_alone")


def stage_limit_days(stage: str) -> int | None:
    """Days the stage may stay open (None: a closed report has no limit)."""
    return settings.REPORT_STAGE_LIMIT_DAYS.get(stage)


def is_late(stage: str, stage_changed_at: datetime, now: datetime) -> bool:
    limit = stage_limit_days(stage)
    return limit is not None and now > stage_changed_at + timedelta(days=limit)


def is_urgent(situation: str) -> bool:
    return situation in URGENT_SITUATIONS


# --- The same, as SQL text ----------------------------------------------------------------------


def _limit_case(r: str) -> str:
    whens = " ".join(
        f"WHEN '{stage}' THEN interval '{int(days)} days'"
        for stage, days in settings.REPORT_STAGE_LIMIT_DAYS.items()
    )
    return f"CASE {r}stage {whens} END"


def stage_due_sql(r: str = "r.") -> str:
    """When the report's current stage falls late (NULL for a closed one). ``r`` is the column
    prefix of the report row: ``"r."`` or ``""``."""
    return f"{r}stage_changed_at + {_limit_case(r)}"


def days_in_stage_sql(r: str = "r.", now: str = "%(now)s") -> str:
    """Whole days the report has been in its current stage: the one count the queue shows beside
    each report and the dashboards' "longest in its stage" take the maximum of."""
    return f"floor(extract(epoch FROM {now}::timestamptz - {r}stage_changed_at) / 86400)::int"


def late_sql(r: str = "r.", now: str = "%(now)s") -> str:
    return f"{stage_due_sql(r)} < {now}"


def county_due_sql(r: str = "r.") -> str:
    """When county civil affairs are told of a stage still open past its limit."""
    return f"{stage_due_sql(r)} + interval '{rules.COUNTY_AFTER_DAYS} days'"


def police_due_sql(r: str = "r.") -> str:
    """When the police should have been told of the report."""
    return f"{r}filed_at + interval '{rules.POLICE_NOTICE_HOURS} hours'"


def routed_to_county_sql(r: str = "r.") -> str:
    """rules.routed_to_county on the report's area code: no township part (digits 7–9 zero)."""
    return f"substr({r}area_id, 7, 3) = '000'"
