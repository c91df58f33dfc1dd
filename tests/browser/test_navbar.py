"""The navbar menu, the user dropdown and closing an alert: what pages used of Bootstrap's
JavaScript bundle, now a few lines of static/js/app.js (issue 19 point 5). Same behaviour: the
toggles say whether they are open (aria-expanded), Escape or a click elsewhere closes the
dropdown, the keyboard reaches its items."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def test_navbar_menu_opens_and_closes_on_a_phone(open_page, director_a):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, director_a.username)
    toggler, menu = page.locator(".navbar-toggler"), page.locator("#mainnav")
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(menu.get_by_role("link", name="儿童档案")).to_be_hidden()
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    menu.get_by_role("link", name="儿童档案").click()
    expect(page.locator("h1")).to_have_text("儿童档案")
    # A new page starts with the menu closed; a second tap closes an open one.
    expect(toggler).to_have_attribute("aria-expanded", "false")
    toggler.click()
    expect(menu).to_be_visible()
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()


def test_user_dropdown_by_mouse_and_keyboard(open_page, director_a):
    page = open_page(DESKTOP)
    log_in(page, director_a.username)
    toggle = page.locator('[data-bs-toggle="dropdown"]')
    items = page.locator(".dropdown-menu")
    expect(items).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(items.get_by_role("link", name="修改密码")).to_be_visible()
    page.keyboard.press("Escape")
    expect(items).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()

    # The keyboard alone: Enter opens, the arrows move through the items, Enter follows one.
    page.keyboard.press("Enter")
    expect(items).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(items.get_by_role("link", name="修改密码")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.get_by_role("link", name="账号设置")).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/password"))

    # A click elsewhere closes it; so does moving the focus out of it.
    toggle.click()
    expect(items).to_be_visible()
    page.locator("h1").click()
    expect(items).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Space")
    expect(items).to_be_visible()
    page.keyboard.press("Shift+Tab")
    expect(items).to_be_hidden()


def test_an_alert_closes_with_its_button(open_page, supervisor):
    page = open_page(DESKTOP)
    log_in(page, supervisor.username)  # enrols the second factor, and the page says so
    alert = page.locator(".alert-dismissible")
    expect(alert).to_have_count(1)
    alert.locator(".btn-close").click()
    expect(page.locator(".alert-dismissible")).to_have_count(0)
