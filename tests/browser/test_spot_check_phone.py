"""Issue 21 point 3 in Chromium on a 390 px phone: county civil affairs draw a spot check, record a
file's findings and ask a correction, the village's director marks it done — every page fits the
phone's width, with nothing serious for axe-core (dashboards.spot_check_views)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from children.models import Child
from core import clock
from dashboards.models import SpotCheck, SpotCheckCorrection

from ..conftest import COUNTY_A, VILLAGE_1, VILLAGE_3
from ..factories import make_child
from .conftest import PHONE, log_in
from .test_accessibility import AXE, SERIOUS, axe_violations, describe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


def _fits(page) -> None:
    """The page is no wider than the phone, and axe-core finds nothing serious on it."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"
    serious = [v for v in axe_violations(page) if v["impact"] in SERIOUS]
    assert not serious, "\n".join(describe("", page.url, v) for v in serious)


def _phone(open_page):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    page.context.add_init_script(path=str(AXE))
    return page


def test_a_spot_check_on_a_phone(open_page, shoot, areas, civil_affairs, director_a):
    for n in range(3):
        make_child(civil_affairs, village_code=VILLAGE_1, name=f"手机抽查{n}")
        make_child(civil_affairs, village_code=VILLAGE_3, name=f"云岭抽查{n}")
    Child.objects.update(categories=["left_behind"])
    page = _phone(open_page)
    log_in(page, civil_affairs.username)
    page.goto("/dashboard/spot-checks/new/")
    _fits(page)
    page.locator("#id_area").select_option(COUNTY_A)
    page.locator("#id_size_value").fill("100")
    page.locator("#id_size_unit").select_option("percent")
    page.locator("input[name=strata][value=township]").check()
    page.locator("#id_seed").fill("20261123")
    shoot(page, "form")
    page.locator("form:has(#id_seed) button[type=submit]").click()
    expect(page.locator("#draw-heading")).to_be_visible()
    spot_check = SpotCheck.objects.get()
    assert spot_check.seed == 20261123 and spot_check.sample_size == 6
    _fits(page)
    shoot(page, "sample")
    page.locator("a", has_text="手机抽查0").click()
    page.locator("input[name=file_complete][value=no]").check()
    page.locator("input[name=visits_real][value=yes]").check()
    page.locator("input[name=benefits_right][value=na]").check()
    page.locator("#id_note").fill("缺少评估")
    page.locator("form:has(input[value=findings]) button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    page.locator("#id_description").fill("补录家庭监护评估")
    page.locator("#id_due_on").fill((clock.today() + timedelta(days=30)).isoformat())
    page.locator("form:has(input[value=correction]) button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    _fits(page)
    shoot(page, "item")
    page.goto(f"/dashboard/spot-checks/{spot_check.pk}/summary/")
    _fits(page)
    shoot(page, "summary")
    page.goto(f"/dashboard/spot-checks/{spot_check.pk}/verify/")
    expect(page.locator(".alert-success")).to_be_visible()
    _fits(page)
    # The director, on their phone, finds the correction and marks it done.
    director = _phone(open_page)
    log_in(director, director_a.username)
    director.goto("/dashboard/spot-checks/corrections/")
    expect(director.locator("text=补录家庭监护评估")).to_be_visible()
    _fits(director)
    shoot(director, "corrections")
    director.locator("form[action$='/done/'] button[type=submit]").click()
    expect(director.locator(".alert-success")).to_be_visible()
    assert SpotCheckCorrection.objects.get().corrected_by == director_a
