"""Issue 20 point 5, in the browser on a 390 px phone: a county of 300 villages more narrows its
child list one level at a time and registers a child by typing the village — with the script
(suggestions from /areas/search.json in the field's list) and without it (the submit searches,
and a name two villages share asks which)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Area
from children.models import Child

from ..children.test_area_picker import add_villages
from ..conftest import TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1
from .conftest import PHONE, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


@pytest.fixture
def county(areas, civil_affairs):
    add_villages()
    Area.objects.bulk_create(
        [
            Area(code="341823103209", name="新村", level="village", parent_id=TOWNSHIP_1),
            Area(code="341823105209", name="新村", level="village", parent_id=TOWNSHIP_2),
        ]
    )
    return civil_affairs


def fill_the_rest(page: Page, name: str) -> None:
    page.locator("#id_name").fill(name)
    page.locator("input[name=gender][value=female]").check()
    page.locator("#id_birth_date").fill("2016-03-08")
    page.locator("#id_hukou_registered").uncheck()  # no hukou: the ID number may stay empty


def test_the_list_goes_down_a_level_and_back_up(open_page, county):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, county.username)
    page.goto("/children/?risk=low")
    picker = page.locator("#f-area")
    expect(picker.locator("option")).to_have_count(18)  # the county, its 17 townships
    picker.select_option(TOWNSHIP_1)  # the script sends the form at once
    expect(page).to_have_url(re.compile(rf"area={TOWNSHIP_1}"))
    expect(page.locator("#f-area option")).to_have_count(4)  # the township, its 3 villages
    expect(page.locator("#f-risk")).to_have_value("low")
    page.locator("nav.sw-crumbs").get_by_role("link", name="泾县").click()
    expect(page).not_to_have_url(re.compile("area="))
    expect(page).to_have_url(re.compile("risk=low"))


def test_the_list_goes_down_a_level_without_the_script(open_page, county):
    page = open_page(PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    log_in(page, county.username)
    page.goto("/children/")
    page.locator("#f-area").select_option(TOWNSHIP_2)
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(rf"area={TOWNSHIP_2}"))
    expect(page.locator("nav.sw-crumbs")).to_contain_text("云岭镇")


def test_the_village_is_suggested_as_one_types(open_page, county):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, county.username)
    page.goto("/children/new/")
    fill_the_rest(page, "查小测")
    village = page.locator("#id_village")
    expect(village).to_have_attribute("data-area-search", re.compile("levels=village"))
    village.fill("查济")
    option = page.locator(f'#id_village-options option[value="查济村 {VILLAGE_1}"]')
    expect(option).to_have_count(1)
    assert option.text_content() == "查济村 — 泾县 › 桃花潭镇"
    village.fill(option.get_attribute("value"))  # as choosing the suggestion does
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/children/[0-9a-f-]{36}/$"))
    assert Child.objects.get(name="查小测").village_id == VILLAGE_1


def test_a_shared_name_asks_which_village_without_the_script(open_page, county):
    page = open_page(PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    log_in(page, county.username)
    page.goto("/children/new/")
    fill_the_rest(page, "章小测")
    page.locator("#id_village").fill("新村")
    page.get_by_role("button", name="保存").click()
    choices = page.locator("#div_id_village input[type=radio][name=village_pick]")
    expect(choices).to_have_count(2)
    expect(page.locator("#div_id_village .invalid-feedback")).to_be_visible()
    assert not Child.objects.exists()
    page.locator("#div_id_village label", has_text="云岭镇").click()
    fill_the_rest(page, "章小测")  # what the browser kept, typed again to be sure
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/children/[0-9a-f-]{36}/$"))
    assert Child.objects.get(name="章小测").village_id == "341823105209"
