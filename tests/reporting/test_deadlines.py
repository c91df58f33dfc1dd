"""reporting.deadlines: a report's lateness is one rule, in Python (the queue page) and as SQL (the
reminder sweep, the dashboards' counts), and the two agree at every boundary of every stage; its
days in the stage are one SQL fragment (the queue and the dashboards)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection

from reporting import deadlines

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def late_in_sql(stage: str, changed: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {deadlines.late_sql('r.')} FROM (SELECT %(stage)s::text AS stage, "
            "%(changed)s::timestamptz AS stage_changed_at) AS r",
            {"stage": stage, "changed": changed, "now": NOW},
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db
@pytest.mark.parametrize("stage", list(settings.REPORT_STAGE_LIMIT_DAYS))
@pytest.mark.parametrize("past_limit", [timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)])
def test_python_and_sql_agree_at_the_limit(stage, past_limit):
    limit = timedelta(days=settings.REPORT_STAGE_LIMIT_DAYS[stage])
    changed = NOW - limit - past_limit
    expected = past_limit > timedelta(0)
    assert deadlines.is_late(stage, changed, NOW) is expected
    assert late_in_sql(stage, changed) is expected


@pytest.mark.django_db
def test_a_closed_report_is_never_late():
    long_ago = NOW - timedelta(days=3650)
    assert not deadlines.is_late("closed", long_ago, NOW)
    assert not late_in_sql("closed", long_ago)


def days_in_stage_in_sql(changed: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {deadlines.days_in_stage_sql('r.')} "
            "FROM (SELECT %(changed)s::timestamptz AS stage_changed_at) AS r",
            {"changed": changed, "now": NOW},
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_days_in_stage_are_whole_days():
    # One SQL fragment for the queue's "N days in this stage" and the dashboards' longest.
    assert days_in_stage_in_sql(NOW - timedelta(days=2, hours=23)) == 2
    assert days_in_stage_in_sql(NOW - timedelta(days=3, seconds=-1)) == 2
    assert days_in_stage_in_sql(NOW - timedelta(days=3)) == 3
    assert days_in_stage_in_sql(NOW) == 0


def test_urgency():
    assert deadlines.is_urgent("sexual_abuse") and not deadlines.is_urgent("other")
