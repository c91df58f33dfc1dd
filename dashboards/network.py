"""The network at work (domain §10, 四级网络): the gaps of an area's roster, counted and listed.

- Untrained: directors (and, counted apart, supervisors) in post whose training year has ended —
  more than 365 days since their last training, or since their appointment with none since
  (accounts.rules.training_due; accounts.selectors.training_due_sql is the same in SQL).
- One director for many children: villages with more than 30 (S2: 超过 30 人) active left-behind
  children and children in difficulty under 18 — every category but single-parent, which is a
  focus group of its own (domain §2) — and exactly one director in post (S2: 增配儿童主任).
- No director: villages with active children under 18 and no director in post — a gap to close.

"In post" is accounts.rules.in_post (an account in use, appointed by today, not left). Children
are counted as on the dashboards: active files of children under 18. Every figure is set-based
SQL over the area's subtree: one query for the four counts, two for a list (its count and its
page), whatever the number of villages. No scope check in the SQL helpers: ``*_for`` check it
(404 outside the user's area, then 403 without Capability.NETWORK_READ).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db import connections

from accounts import permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, Role, User
from accounts.permissions import Capability
from children import schedule
from children.models import Category
from core import clock, replica

# 留守儿童和困境儿童 (S2 #16): every category but 单亲家庭儿童.
NEEDY_CATEGORIES = tuple(c for c in Category.values if c != Category.SINGLE_PARENT)
PAGE_SIZE = 50


def _directors_in_post_sql(area: Area) -> str:
    """Directors in post by village (``area_id``, ``n``, one ``name``), as of ``%(today)s``."""
    return f"""
        SELECT u.area_id, count(*) AS n, min(coalesce(nullif(u.name, ''), u.username)) AS name
        FROM accounts_user u
        WHERE u.role = '{Role.DIRECTOR.value}' AND {scope.subtree_sql("u.area_id", area.code)}
          AND {scope.in_post_sql("u")}
        GROUP BY u.area_id
    """


def _villages_sql(area: Area) -> str:
    """Villages with active children under 18: how many, and how many left-behind or in
    difficulty (``needy``), as of ``%(today)s``."""
    return f"""
        SELECT c.village_id,
               count(*) AS children,
               count(*) FILTER (WHERE c.categories && %(needy)s::varchar[]) AS needy
        FROM children_child c
        WHERE c.status = 'active' AND {schedule.under_18_sql("c.")}
          AND {scope.subtree_sql("c.village_id", area.code)}
        GROUP BY c.village_id
    """


def _untrained_sql(area: Area) -> str:
    return f"""
        SELECT u.role, count(*) AS n
        FROM accounts_user u
        WHERE {scope.roster_listed_sql("u")} AND {scope.subtree_sql("u.area_id", area.code)}
          AND {scope.in_post_sql("u")} AND {scope.training_due_sql("u")} < %(today)s::date
        GROUP BY u.role
    """


# The village lists' FROM … WHERE: each village with its name and township (for the page).
_AREA_JOIN = (
    "JOIN accounts_area a ON a.code = v.village_id"
    " LEFT JOIN accounts_area t ON t.code = a.parent_id"
)


def _one_director_rows_sql(villages: str, directors: str, join_areas: bool = True) -> str:
    """``villages`` and ``directors``: _villages_sql and _directors_in_post_sql, as
    subqueries or as the names of a WITH's statements."""
    return f"""
        FROM {villages} v
        JOIN {directors} d ON d.area_id = v.village_id
        {_AREA_JOIN if join_areas else ""}
        WHERE d.n = 1 AND v.needy > %(limit)s
    """


def _no_director_rows_sql(villages: str, directors: str, join_areas: bool = True) -> str:
    return f"""
        FROM {villages} v
        LEFT JOIN {directors} d ON d.area_id = v.village_id
        {_AREA_JOIN if join_areas else ""}
        WHERE d.area_id IS NULL
    """


def _subqueries(area: Area) -> tuple[str, str]:
    return f"({_villages_sql(area)})", f"({_directors_in_post_sql(area)})"


def _params(today: date) -> dict:
    return {
        "today": today,
        "needy": list(NEEDY_CATEGORIES),
        "limit": area_rules.CHILDREN_PER_DIRECTOR,
    }


@dataclass(frozen=True)
class NetworkCounts:
    area: Area
    untrained_directors: int
    untrained_supervisors: int
    villages_one_director: int
    villages_no_director: int


def network_counts(area: Area, *, today: date | None = None) -> NetworkCounts:
    """The four counts of ``area``'s subtree in one query (no scope check: ``counts_for``)."""
    today = today or clock.today()
    # The children of the area are counted by village once, for both village counts (at a
    # million children each count was a scan of its own: 590 ms for a province's dashboard).
    sql = f"""
        WITH untrained AS ({_untrained_sql(area)}),
             villages AS MATERIALIZED ({_villages_sql(area)}),
             directors AS MATERIALIZED ({_directors_in_post_sql(area)})
        SELECT
            coalesce((SELECT n FROM untrained WHERE role = '{Role.DIRECTOR.value}'), 0),
            coalesce((SELECT n FROM untrained WHERE role = '{Role.SUPERVISOR.value}'), 0),
            (SELECT count(*) {_one_director_rows_sql("villages", "directors", False)}),
            (SELECT count(*) {_no_director_rows_sql("villages", "directors", False)})
    """
    with connections[replica.read_alias()].cursor() as cursor:
        cursor.execute(sql, _params(today))
        directors, supervisors, one, none = cursor.fetchone()
    return NetworkCounts(area, directors, supervisors, one, none)


def counts_for(*, user: User, area: Area) -> NetworkCounts | None:
    """The counts for the dashboard of ``area`` (already in the user's scope), or None for a
    role that may not see them (a director's dashboard of their village shows no network)."""
    if not permissions.can(user, Capability.NETWORK_READ):
        return None
    return network_counts(area)


def _area_for(user: User, area_code: str) -> Area:
    area = scope.area_for_user_or_404(user=user, code=area_code)
    permissions.require(user, Capability.NETWORK_READ)
    return area


@dataclass(frozen=True)
class VillageRow:
    code: str
    name: str
    township: str
    children: int
    needy: int
    director: str  # the one director in post (one-director list), else ""


class _Rows:
    """Rows of a village list, counted and sliced in SQL (for Paginator: two queries)."""

    def __init__(self, rows_sql: str, params: dict, *, director: str = "''") -> None:
        self.rows_sql, self.params, self.director = rows_sql, params, director

    def count(self) -> int:
        with connections[replica.read_alias()].cursor() as cursor:
            cursor.execute(f"SELECT count(*) {self.rows_sql}", self.params)
            return cursor.fetchone()[0]

    def __len__(self) -> int:  # Paginator prefers count()
        return self.count()

    def __getitem__(self, window: slice) -> list[VillageRow]:
        offset = window.start or 0
        sql = (
            f"SELECT v.village_id, a.name, coalesce(t.name, ''), v.children, v.needy,"
            f" {self.director} {self.rows_sql}"
            " ORDER BY v.needy DESC, v.children DESC, v.village_id"
            " LIMIT %(page_limit)s OFFSET %(page_offset)s"
        )
        params = {**self.params, "page_limit": max(window.stop - offset, 0), "page_offset": offset}
        with connections[replica.read_alias()].cursor() as cursor:
            cursor.execute(sql, params)
            return [VillageRow(*row) for row in cursor.fetchall()]


def villages_one_director_for(
    *, user: User, area_code: str, page_number: str | int | None = None
) -> tuple[Area, Page]:
    """Villages of the area with more than 30 left-behind children and children in difficulty
    and one director in post, most such children first."""
    area = _area_for(user, area_code)
    rows = _Rows(
        _one_director_rows_sql(*_subqueries(area)), _params(clock.today()), director="d.name"
    )
    return area, Paginator(rows, PAGE_SIZE).get_page(page_number)


def villages_no_director_for(
    *, user: User, area_code: str, page_number: str | int | None = None
) -> tuple[Area, Page]:
    """Villages of the area with active children and no director in post, most children
    first (``needy``: of them, left-behind or in difficulty)."""
    area = _area_for(user, area_code)
    rows = _Rows(_no_director_rows_sql(*_subqueries(area)), _params(clock.today()))
    return area, Paginator(rows, PAGE_SIZE).get_page(page_number)


def untrained_for(
    *, user: User, area_code: str, role: str = Role.DIRECTOR, page_number: str | int | None = None
) -> tuple[Area, str, Page]:
    """Directors (or supervisors: ``role``) in post of the area whose training year has ended,
    longest untrained first, with their appointment and last training (one query a page); the
    role listed is returned with them."""
    area = _area_for(user, area_code)
    if role not in permissions.roles_with(Capability.ROSTER_LISTED):
        role = Role.DIRECTOR
    people = (
        scope.roster_for_user(user=user, area=area, untrained=True)
        .filter(role=role)
        .order_by("training_due", "area__code", "username")
    )
    return area, role, Paginator(people, PAGE_SIZE).get_page(page_number)
