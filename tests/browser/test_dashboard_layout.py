"""Issue 18 point 8 in Chromium: a township's dashboard on a 390px phone and a 1280px desktop —
chart numbers of any width show in full, and the table by village fits the phone's width."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboards.indicator_sql import CHILD_COUNTS
from dashboards.models import VillageStats

from ..conftest import VILLAGE_1, VILLAGE_2
from .conftest import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


def _village_counts(village: str, **counts: int) -> None:
    # The summary as the refresh would have left it a moment ago (no refresh before the page).
    now = timezone.now()
    values = dict.fromkeys(CHILD_COUNTS, 0) | counts
    VillageStats.objects.create(
        village_id=village, as_of=now, as_of_date=timezone.localdate(now), **values
    )


@pytest.fixture
def big_township(areas):
    _village_counts(
        VILLAGE_1,
        children_total=1234,
        category_left_behind=1234,
        category_orphan=235,
        risk_high=137,
        risk_medium=235,
        risk_low=862,
    )
    _village_counts(VILLAGE_2, children_total=9, category_orphan=2, risk_low=9)


# What each chart must show, whole (the old SVG cut 235 to 23 and 137 to 13).
CATEGORY_VALUES = {"1234", "237"}
RISK_VALUES = {"137/235/862", "0/0/9"}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_chart_numbers_are_never_cut(open_page, big_township, supervisor, viewport):
    page = open_page(viewport)
    log_in(page, supervisor.username)
    page.goto("/dashboard/")
    values = page.eval_on_selector_all(
        ".sw-bars .sw-bar-value",
        """els => els.map(el => {
            const box = el.getBoundingClientRect();
            const card = el.closest('.card').getBoundingClientRect();
            return {text: el.textContent.trim(), fits: el.scrollWidth <= el.clientWidth,
                    inside: box.left >= card.left && box.right <= card.right,
                    clipped: getComputedStyle(el).textOverflow === 'ellipsis'};
        })""",
    )
    texts = {value["text"] for value in values}
    assert texts >= RISK_VALUES
    assert texts >= CATEGORY_VALUES
    assert all(v["fits"] and v["inside"] and not v["clipped"] for v in values), values


def test_table_by_village_fits_a_phone(open_page, big_township, supervisor):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, supervisor.username)
    page.goto("/dashboard/")
    cells = page.eval_on_selector_all(
        "table.sw-stack-md th, table.sw-stack-md td",
        """els => els.filter(el => el.getClientRects().length).map(el => {
            const box = el.getBoundingClientRect();
            const em = parseFloat(getComputedStyle(el).fontSize);
            return {text: el.textContent.trim(), right: box.right, chars: box.width / em};
        })""",
    )
    assert cells
    # No cell hidden off-screen, none so narrow its text stands one character a line.
    assert all(cell["right"] <= PHONE["width"] for cell in cells), cells
    assert all(cell["chars"] >= 2 for cell in cells), cells
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
