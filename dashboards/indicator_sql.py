"""The counts kept per village for the dashboards (domain §8), each a SQL condition on an active
child ``c`` under 18 as of ``%(today)s`` (a file kept open past 18 for full-time education is not
counted). One list: the summary table's columns, its refresh statement and the drill-down links
all come from it."""

from __future__ import annotations

from children import schedule
from children.models import Category, RiskLevel

# The codes are the models' (children.models): a new category or colour gets its column.
CATEGORIES = tuple(Category.values)
RISKS = tuple(RiskLevel.values)
# The summary table kept the name it had when it lived in reporting/ (moved without a copy).
TABLE = "reporting_villagestats"

_ACTIVE_AGREEMENT = (
    "EXISTS (SELECT 1 FROM children_careagreement a "
    "WHERE a.child_id = c.id AND a.status = 'active')"
)

# column → condition (None: every active child)
CHILD_COUNTS: dict[str, str | None] = {
    "children_total": None,
    **{f"category_{code}": f"'{code}' = ANY(c.categories)" for code in CATEGORIES},
    **{f"risk_{code}": f"c.risk_level = '{code}'" for code in RISKS},
    "key_children": "c.is_key_child",
    "home_visits_overdue": schedule.overdue_sql("c.next_home_visit_due"),
    "contacts_overdue": schedule.overdue_sql("c.next_contact_due"),
    "never_visited": "c.last_home_visit_on IS NULL",
    "left_behind_with_agreement": f"'left_behind' = ANY(c.categories) AND {_ACTIVE_AGREEMENT}",
    "left_behind_without_agreement": (
        f"'left_behind' = ANY(c.categories) AND NOT {_ACTIVE_AGREEMENT}"
    ),
    "out_of_school": "'out_of_school' = ANY(c.focus_flags)",
    "no_hukou": "'no_hukou' = ANY(c.focus_flags)",
    "unsupervised": "'unsupervised' = ANY(c.focus_flags)",
    "parent_contact_overdue": schedule.overdue_sql("c.parent_contact_due"),
}


def refresh_sql() -> str:
    """One INSERT … SELECT … GROUP BY village of every count (run after emptying the table)."""
    columns = ", ".join(CHILD_COUNTS)
    counts = ",\n    ".join(
        "count(*)" if condition is None else f"count(*) FILTER (WHERE {condition})"
        for condition in CHILD_COUNTS.values()
    )
    return f"""
INSERT INTO {TABLE} (village_id, {columns}, as_of, as_of_date)
SELECT c.village_id,
    {counts},
    %(now)s, %(today)s
FROM children_child c
WHERE c.status = 'active' AND {schedule.under_18_sql("c.")}
GROUP BY c.village_id
"""


def sum_sql(child_prefix_length: int) -> str:
    """Sums over the villages below a prefix, per child area and in total (GROUPING SETS): one
    query for a whole dashboard. ``%(prefix)s`` is the area's code prefix followed by ``%``."""
    sums = ", ".join(f"sum({column})::int AS {column}" for column in CHILD_COUNTS)
    return f"""
SELECT left(village_id, {int(child_prefix_length)}) AS code, {sums}, max(as_of) AS as_of
FROM {TABLE}
WHERE village_id LIKE %(prefix)s
GROUP BY GROUPING SETS ((left(village_id, {int(child_prefix_length)})), ())
"""
