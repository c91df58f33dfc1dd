"""Issue 21 point 4 in Chromium on a 390 px phone: county civil affairs import the education
department's out-of-school list, the village's director logs a contact and closes the 劝返复学 case
as back in school — every page fits the phone's width, with nothing serious for axe-core
(children.dropout_views)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from children.models import Child, DropoutList, ReturnToSchoolCase

from ..factories import make_child, make_id_number
from .conftest import PHONE, log_in
from .test_accessibility import AXE, SERIOUS, axe_violations, describe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"
    serious = [v for v in axe_violations(page) if v["impact"] in SERIOUS]
    assert not serious, "\n".join(describe("", page.url, v) for v in serious)


def _phone(open_page):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    page.context.add_init_script(path=str(AXE))
    return page


def _sheet(path, rows) -> None:
    workbook = Workbook()
    workbook.active.append(["姓名", "身份证号", "出生日期", "学校", "年级", "状态"])
    for row in rows:
        workbook.active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(buffer.getvalue())


def test_an_out_of_school_list_on_a_phone(
    open_page, shoot, tmp_path, areas, civil_affairs, director_a
):
    number = make_id_number("2012-03-08", "female", seq=55)
    child = make_child(
        director_a, name="手机辍学", birth_date=date(2012, 3, 8), gender="female", id_number=number
    )
    sheet = tmp_path / "list.xlsx"
    _sheet(
        sheet,
        [
            ("手机辍学", number, "", "查济小学", "五年级", "辍学"),
            ("名单无档案的孩子", "", "2012-01-01", "某某中学", "初一", "未入学"),
        ],
    )
    page = _phone(open_page)
    log_in(page, civil_affairs.username)
    page.goto("/children/dropouts/")
    _fits(page)
    page.locator("#id_source").fill("县教育局 2026年秋季")
    page.locator("#id_file").set_input_files(str(sheet))
    shoot(page, "import")
    page.locator("form:has(#id_file) button[type=submit]").click()
    expect(page.locator("[data-count=matched]")).to_have_text("1")
    assert DropoutList.objects.get().unmatched_count == 1
    _fits(page)
    shoot(page, "result")
    page.goto("/children/dropouts/follow-up/")
    expect(page.locator("text=名单无档案的孩子")).to_be_visible()
    _fits(page)
    shoot(page, "follow-up")
    # The village's director follows the case up on their phone.
    director = _phone(open_page)
    log_in(director, director_a.username)
    director.goto("/children/return-to-school/")
    _fits(director)
    director.locator("a", has_text="手机辍学").click()
    _fits(director)
    director.locator("#contact_with_whom").fill("母亲")
    director.locator("#contact_channel").select_option("home_visit")
    director.locator("#contact_note").fill("答应周一送回学校")
    director.locator("form[action$='/contacts/'] button[type=submit]").click()
    expect(director.locator(".alert-success")).to_be_visible()
    expect(director.locator("text=答应周一送回学校")).to_be_visible()
    director.locator("#close_outcome").select_option("returned")
    director.locator("#close_returned_on").fill(date.today().isoformat())
    director.locator("#close_returned_school").fill("查济小学")
    shoot(director, "case")
    director.locator("form[action$='/close/'] button[type=submit]").click()
    expect(director.locator(".alert-success")).to_be_visible()
    _fits(director)
    assert ReturnToSchoolCase.objects.get().outcome == "returned"
    assert Child.objects.get(pk=child.pk).school_status == "in_school"
