"""Issue 18 point 8: the dashboard and the report queue read right — a report's days in its stage
are one count on both, day counts say what they count, and the menu marks one current item."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from dashboards import indicators
from reporting.models import MandatoryReport
from reporting.services import report_file

from ..conftest import TOWNSHIP_1
from ..factories import make_child

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS_IN_STAGE = re.compile(r'data-days-in-stage="(\d+)"')


def _report_in_stage_since(director, child, *, filed: datetime, stage_since: datetime):
    report = report_file(
        user=director,
        situation="abandonment",
        discovered_at=filed - timedelta(hours=2),
        description="长期无人照料",
        child=child,
    )
    # Filed long ago, moved to its present stage later: the two clocks differ.
    MandatoryReport.objects.filter(pk=report.pk).update(
        filed_at=filed, stage="police_received", stage_changed_at=stage_since
    )
    return report


@pytest.mark.parametrize(
    ("now", "days"),
    [
        ("2026-11-23 09:59:59 +0800", 8),  # a second short of nine whole days
        ("2026-11-23 10:00 +0800", 9),
        ("2026-11-23 23:59 +0800", 9),
    ],
)
def test_longest_in_stage_equals_the_queue(frozen, client_for, director_a, supervisor, now, days):
    child = make_child(director_a, name="查小雨", birth_date=datetime(2016, 3, 8).date())
    _report_in_stage_since(
        director_a,
        child,
        filed=datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI),  # 21 days before
        stage_since=datetime(2026, 11, 14, 10, 0, tzinfo=SHANGHAI),
    )
    frozen.move_to(now)
    client = client_for(supervisor)
    queue = client.get("/reports/").content.decode()
    dashboard = client.get("/dashboard/").content.decode()
    assert DAYS_IN_STAGE.findall(queue) == [str(days)]
    assert DAYS_IN_STAGE.findall(dashboard) == [str(days)]
    board = indicators.dashboard_for(user=supervisor, area_code=TOWNSHIP_1)
    assert board.total.reports_longest_in_stage_days == days
    # Each count says what it counts (English source; the Chinese is the catalogue's).
    with_language = client_for(supervisor)
    with_language.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert f"{days} days in this stage" in with_language.get("/reports/").content.decode()
    assert f"{days} days in this stage" in with_language.get("/dashboard/").content.decode()


def _aria_current(content: str) -> list[str]:
    return re.findall(r'<a class="nav-link active" aria-current="page" href="([^"]+)"', content)


def test_the_menu_marks_one_current_item(client_for, supervisor, director_a, child):
    from visits.services import visit_record

    supervisor_client = client_for(supervisor)
    for path in ("/visits/township/", "/visits/review/", "/visits/patrol/"):
        content = supervisor_client.get(path).content.decode()
        assert content.count('aria-current="page"') == 1, path
        assert _aria_current(content) == [path]
        menu = content[content.index("<nav") : content.index("</nav>")]
        assert menu.count("nav-link active") == 1, path  # the page's own tabs are not the menu
    # A page below a menu item marks that item: a township's dashboard marks Statistics.
    content = supervisor_client.get(f"/dashboard/{TOWNSHIP_1}/").content.decode()
    assert _aria_current(content) == ["/dashboard/"]
    # A visit's page marks the director's worklist, not the supervisor's pages.
    visit = visit_record(
        user=director_a, child=child, visited_on=datetime(2026, 11, 23).date(), kind="home"
    )
    director_client = client_for(director_a)
    content = director_client.get(f"/visits/{visit.pk}/").content.decode()
    assert _aria_current(content) == ["/visits/"]
    content = director_client.get("/visits/").content.decode()
    assert _aria_current(content) == ["/visits/"]


def test_the_table_by_area_stacks_on_a_phone(client_for, supervisor, director_a, child):
    content = client_for(supervisor).get("/dashboard/").content.decode()
    table = content[content.index("<table") : content.index("</table>")]
    assert "sw-stack-md" in table.split(">", 1)[0]
    # Every number says its column's name when the headers are hidden.
    cells = re.findall(r"<td[^>]*>", table)
    assert cells and all("data-label=" in cell for cell in cells)
