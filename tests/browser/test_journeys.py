"""Issue 9 point 9: three journeys through the real pages in Chromium, in Chinese.

1. A director on a phone registers a child, records both parents working away (the child becomes
   留守儿童), records a care agreement and a home visit, and sees the worklist move on.
2. A supervisor on a desktop reads the statistics and returns a director's visit with a comment.
3. County civil affairs approve a township-approved orphan allowance; the child is enrolled.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from benefits.models import Enrolment
from benefits.services import subsidy_apply, subsidy_decide
from children.models import Child
from children.services import today
from visits.services import visit_record

from ..conftest import VILLAGE_1
from ..factories import make_child, make_orphan
from .conftest import DESKTOP, PHONE, log_in

# The live server answers from its own thread and its own connection: the journeys need data
# committed, so a transactional database (live_server asks for it anyway; stated here for readers).
journey = pytest.mark.django_db(transaction=True)
# One Chromium (the package-scoped `browser` fixture) for all the journeys: `make test` keeps them
# on one xdist worker (--dist loadgroup); each worker has its own live server and database anyway.
pytestmark = pytest.mark.xdist_group("browser")

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(area: str, birth: date, sequence: int, *, male: bool) -> str:
    """A valid 18-digit number by GB 11643, computed here rather than with children.idcard so the
    page is checked against the standard, not against itself. The sequence's last digit is odd
    for a boy and even for a girl."""
    order = f"{sequence:02d}{(1 if male else 2)}"
    first17 = f"{area}{birth:%Y%m%d}{order}"
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def test_id_number_helper_matches_the_standard():
    # The worked example of GB 11643-1999 (appendix): 11010519491231002X.
    assert id_number("110105", date(1949, 12, 31), 0, male=False) == "11010519491231002X"


@journey
def test_director_registers_a_left_behind_child_on_a_phone(open_page, shoot, director_a):
    page = open_page(PHONE, is_mobile=True, has_touch=True)
    log_in(page, director_a.username)
    # A director lands on the worklist; nothing to visit yet.
    expect(page).to_have_url(re.compile(r"/visits/$"))
    expect(page.locator("h1")).to_have_text("走访任务")
    shoot(page, "worklist-empty")

    # 1. Register the child through the new-file form.
    birth = date(2016, 3, 15)
    number = id_number("341823", birth, 31, male=True)
    page.goto("/children/")
    page.get_by_role("link", name="新建档案").click()
    expect(page.locator("h1")).to_have_text("新建儿童档案")
    page.locator("#id_name").fill("查小宇")
    page.locator("input[name=gender][value=male]").check()
    page.locator("#id_birth_date").fill(birth.isoformat())
    page.locator("#id_id_number").fill(number)
    # The director has one village: it is chosen already, and not asked (issue 19).
    expect(page.locator("select#id_village")).to_have_count(0)
    expect(page.locator("input[type=hidden][name=village]")).to_have_value(VILLAGE_1)
    page.locator("#id_address").fill("查济村二组12号")
    shoot(page, "child-form")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("h1")).to_have_text("查小宇")
    expect(page.locator(".alert-success")).to_contain_text("查小宇")
    child = Child.objects.get(name="查小宇")
    assert page.url.endswith(f"/children/{child.pk}/")
    assert "left_behind" not in child.categories
    expect(page.get_by_text("留守儿童", exact=True)).to_have_count(0)

    # 2. Both parents working away for four months: the child becomes 留守儿童.
    away_since = today() - timedelta(days=120)
    parents = (
        ("father", "查建国", "13805631234", "浙江省杭州市"),
        ("mother", "汪丽", "13905635678", "江苏省苏州市"),
    )
    for relation, name, phone, work_place in parents:
        page.get_by_role("link", name="添加家庭成员").first.click()
        page.locator("#id_relation").select_option(relation)
        page.locator("#id_name").fill(name)
        page.locator("#id_status").select_option("working_away")
        expect(page.locator("#id_has_guardian_capacity")).to_be_checked()
        page.locator("#id_phone").fill(phone)
        page.locator("#id_work_place").fill(work_place)
        page.locator("#id_away_since").fill(away_since.isoformat())
        if relation == "father":
            shoot(page, "family-form")
        page.get_by_role("button", name="保存").click()
        expect(page.locator("h1")).to_have_text("查小宇")
        expect(page.locator(".alert-success")).to_have_text(re.compile("已保存"))
    # The badges under the name (children/_badges.html): the first block after the heading.
    badges = page.locator("main > div.mb-3").first.locator(".badge")
    expect(badges.filter(has_text=re.compile("^留守儿童$"))).to_have_count(1)
    expect(page.get_by_text("认定为留守儿童的原因")).to_contain_text("父母双方外出务工满")
    # No care agreement yet: unsupervised, and the file says what is missing.
    expect(badges.filter(has_text="无人监护")).to_have_count(1)
    expect(page.get_by_text("尚无委托照护协议")).to_be_visible()
    shoot(page, "left-behind")

    # 3. A care agreement, pre-filled from the family, with the grandmother as caregiver.
    page.locator(f"a[href='/children/{child.pk}/agreements/new/']").click()
    expect(page.locator("h1")).to_have_text("新建委托照护协议")
    expect(page.locator("#id_parent_work_place")).to_have_value("浙江省杭州市")
    expect(page.locator("#id_parent_phone")).to_have_value("13805631234")
    expect(page.locator("#id_parent_departure_date")).to_have_value(away_since.isoformat())
    expect(page.locator("#id_start_date")).to_have_value(today().isoformat())
    page.locator("#id_caregiver_name").fill("查桂英")
    page.locator("#id_caregiver_relation").select_option("grandparent")
    page.locator("#id_caregiver_phone").fill("13705639876")
    page.locator("#id_caregiver_birth_date").fill("1958-08-20")
    page.locator("#id_caregiver_address").fill("查济村二组12号")
    shoot(page, "agreement-form")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_have_text(re.compile("委托照护协议已登记"))
    page.get_by_role("link", name="查小宇").first.click()
    expect(page.locator("h1")).to_have_text("查小宇")
    expect(page.get_by_text(re.compile("查桂英（祖父母）"))).to_be_visible()
    expect(badges.filter(has_text="无人监护")).to_have_count(0)
    expect(badges.filter(has_text=re.compile("^留守儿童$"))).to_have_count(1)

    # Before the visit: on the worklist among the never visited, due 14 days after registration.
    page.goto("/visits/")
    never = page.locator("section#never_visited")
    first_due = (today() + timedelta(days=14)).strftime("%m-%d")
    expect(never.locator(".list-group-item", has_text="查小宇")).to_contain_text(first_due)

    # 4. A home visit through the visit form, with its toggle buttons.
    page.goto(f"/children/{child.pk}/")
    page.get_by_role("link", name="记录走访").first.click()
    expect(page.locator("#id_visited_on")).to_have_value(today().isoformat())
    expect(page.locator("#id_kind_0")).to_be_checked()  # 入户走访, the default
    for toggle in ("id_seen_0", "id_seen_2", "id_guardian_present_1", "id_caregiver_capable_1"):
        page.locator(f"label[for={toggle}]").click()
        expect(page.locator(f"#{toggle}")).to_be_checked()
    page.locator("label[for=id_in_school_1]").click()
    page.locator("label[for=id_safety_concern_2]").click()  # 否: no detour to a report
    page.locator("#id_notes").fill("奶奶照顾周到，孩子按时上学。")
    shoot(page, "visit-form")
    page.get_by_role("button", name="保存走访").click()

    # 5. Back on the worklist: no longer never visited; the next home visit is months away.
    expect(page).to_have_url(re.compile(r"/visits/$"))
    child.refresh_from_db()
    assert child.last_home_visit_on == today()
    assert child.next_home_visit_due > today() + timedelta(days=14)
    expect(page.locator(".alert-success")).to_contain_text(
        f"下次入户走访 {child.next_home_visit_due:%Y-%m-%d} 前完成"
    )
    expect(never.get_by_text("查小宇")).to_have_count(0)
    expect(page.locator("#overdue, #due_soon").get_by_text("查小宇")).to_have_count(0)
    shoot(page, "worklist-after-visit")
    page.goto(f"/children/{child.pk}/")
    schedule = page.locator("section.card", has_text="走访计划")
    expect(schedule).to_contain_text("按期")
    expect(schedule).to_contain_text(f"{child.next_home_visit_due:%Y-%m-%d}")
    shoot(page, "child-file-after-visit")


@pytest.fixture
def visit_to_review(director_a):
    child = make_child(director_a, name="汪小雨", gender="female", birth_date=date(2017, 9, 1))
    return visit_record(
        user=director_a, child=child, visited_on=today(), kind="home", notes="家中无人，改日再访"
    )


@journey
def test_supervisor_reads_statistics_and_returns_a_visit(
    open_page, shoot, supervisor, visit_to_review
):
    page = open_page(DESKTOP)
    log_in(page, supervisor.username)

    # The statistics of the township: one child, visited at home today.
    page.locator("nav a[href='/dashboard/']").click()
    expect(page.locator("h1")).to_contain_text("桃花潭镇统计")
    children = page.locator(".sw-stat", has_text="儿童人数")
    expect(children.locator(".sw-num")).to_have_text("1")
    expect(page.locator(".sw-stat", has_text="从未入户").locator(".sw-num")).to_have_text("0")
    expect(page.get_by_role("list", name="各类别儿童人数")).to_be_visible()
    shoot(page, "dashboard")

    # The review queue holds the director's visit; return it with a comment.
    page.locator("nav a[href='/visits/review/']").click()
    expect(page.locator("h1")).to_have_text("待审核走访")
    page.locator(".list-group-item", has_text="汪小雨").click()
    expect(page).to_have_url(re.compile(rf"/visits/{visit_to_review.pk}/$"))
    shoot(page, "visit-to-review")
    page.locator("#id_comment").fill("请补充监护人联系方式并在一周内再次入户。")
    page.get_by_role("button", name="退回儿童主任").click()
    expect(page.locator(".alert-success")).to_have_text(re.compile("审核已保存"))
    expect(page.get_by_text("暂无待审核走访。")).to_be_visible()
    shoot(page, "review-queue-after")

    page.goto(f"/visits/{visit_to_review.pk}/")
    expect(page.locator("main .badge", has_text="已退回")).to_be_visible()
    expect(page.locator("main")).to_contain_text("请补充监护人联系方式并在一周内再次入户。")
    expect(page.get_by_role("button", name="退回儿童主任")).to_have_count(0)
    shoot(page, "visit-returned")
    visit_to_review.refresh_from_db()
    assert visit_to_review.review_status == "returned"
    assert visit_to_review.reviewed_by == supervisor


@pytest.fixture
def township_approved(director_a, supervisor):
    orphan = make_orphan(
        director_a, parent_names=("查大山", "王秀"), name="查小禾", birth_date=date(2014, 5, 1)
    )
    application = subsidy_apply(
        user=director_a, child=orphan, programme="orphan_allowance", note="父母均已去世"
    )
    return subsidy_decide(user=supervisor, application=application, decision="approve", note="属实")


@journey
def test_civil_affairs_approves_an_orphan_allowance(
    open_page, shoot, civil_affairs, township_approved
):
    application = township_approved
    page = open_page(DESKTOP)
    log_in(page, civil_affairs.username)

    page.goto(f"/children/subsidies/{application.pk}/")
    expect(page.locator("h1")).to_have_text("孤儿基本生活费")
    status = page.locator("h1 ~ .badge")  # benefits/_application_status.html beside the title
    expect(status).to_have_text("乡镇已初审")
    decision = page.locator("section.card", has_text="提交审核意见")
    decision.locator("input[name=decision][value=approve]").check()
    decision.locator("textarea[name=note]").fill("材料齐全，同意纳入。")
    shoot(page, "decision-form")
    decision.get_by_role("button", name="提交审核意见").click()

    # The decision says what was decided, for whom and from when (issue 17, point 7).
    expect(page.locator(".alert-success")).to_have_text(
        re.compile(r"已审批：查小禾 孤儿基本生活费，\d{4}-\d{2}起发放")
    )
    expect(status).to_have_text("已审批")
    expect(page.get_by_text("提交审核意见")).to_have_count(0)
    application.refresh_from_db()
    assert application.status == "approved"
    enrolment = Enrolment.objects.get(application=application)
    this_month = today().replace(day=1)
    assert enrolment.start_month == (this_month + timedelta(days=31)).replace(day=1)
    expect(page.locator("dl")).to_contain_text(f"{enrolment.start_month:%Y-%m}起发放")
    shoot(page, "approved")

    # The child's benefits page lists the enrolment, paid from the month after approval.
    page.get_by_role("link", name=re.compile("查小禾")).first.click()
    expect(page.locator("h1")).to_contain_text("补贴")
    enrolled = page.locator(".list-group-item", has_text="孤儿基本生活费").first
    expect(enrolled).to_contain_text("享受中")
    expect(enrolled).to_contain_text(f"发放起始 {enrolment.start_month:%Y-%m}")
    shoot(page, "benefits")
