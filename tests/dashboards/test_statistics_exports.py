"""Issue 8 (acceptance 4 and 6b): the statistics exports of an area — 台账 workbooks for a period,
the yearly progress report and the JSON Lines hand-over — against a hand-built fixture: rows,
periods, masking, audit, scope and roles, constant queries."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from accounts.models import Area, AuditAction, AuditRecord, Role
from benefits.services import (
    entitlements_generate,
    subsidy_apply,
    subsidy_decide,
    subsidy_standard_set,
)
from children.models import Child
from children.services import care_agreement_create, care_agreement_terminate
from core.crypto import decrypt
from dashboards import jobs
from dashboards.models import ExportJob, ExportStatus
from dashboards.services import village_stats_refresh
from reporting.services import report_file, report_transition
from visits.services import visit_record

from ..conftest import COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_3, VILLAGE_B
from ..factories import UserFactory, add_parents, confirm_categories, make_child, make_orphan

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = "2026-11-23 10:00 +0800"
CAREGIVER_PHONE = "13905631888"
PARENT_PHONE = "13812345678"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _away(user, child):
    add_parents(
        user,
        child,
        names=(f"{child.name}father", f"{child.name}mother"),
        phone="13700001111",
        status="working_away",
        has_guardian_capacity=True,
        away_since=date(2025, 2, 1),
    )


def _approve(application, supervisor, civil_affairs):
    subsidy_decide(user=supervisor, application=application, decision="approve", note="属实")
    subsidy_decide(user=civil_affairs, application=application, decision="approve", note="同意")


def _agreement(user, child, start, end):
    return care_agreement_create(
        user=user,
        child=child,
        caregiver_name=f"{child.name}祖母",
        caregiver_relation="grandparent",
        caregiver_phone=CAREGIVER_PHONE,
        caregiver_birth_date=date(1958, 4, 2),
        start_date=start,
        end_date=end,
        parent_work_place="浙江省杭州市",
        parent_phone=PARENT_PHONE,
    )


def _month(year, month):
    return date(year, month, 1)


@pytest.fixture
def world(frozen, areas, director_a, director_b, supervisor, civil_affairs, reporter, outsider):
    """County A: township 1 (villages 1 and 2) and township 2 (village 3); county B elsewhere.
    Every number the tests check is counted here by hand."""
    director_c = UserFactory(username="director_c", role=Role.DIRECTOR, area=areas[VILLAGE_3])
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=date(2025, 1, 1),
        amount=Decimal("1000"),
    )
    # 2025: 丙 (village 1, orphan) applies and is approved in October: paid from November 2025.
    frozen.move_to("2025-03-01 10:00 +0800")
    c = make_orphan(director_a, name="丙", birth_date=date(2014, 5, 1), categories=["orphan"])
    a = make_child(director_a, name="甲", birth_date=date(2016, 3, 8))
    _away(director_a, a)
    old = _agreement(director_a, a, date(2025, 3, 1), date(2025, 12, 31))
    frozen.move_to("2025-06-30 10:00 +0800")
    care_agreement_terminate(user=director_a, agreement=old, reason="父母返乡")
    frozen.move_to("2025-10-10 10:00 +0800")
    _approve(
        subsidy_apply(user=director_a, child=c, programme="orphan_allowance"),
        supervisor,
        civil_affairs,
    )
    frozen.move_to("2025-12-20 10:00 +0800")
    visit_record(user=director_a, child=c, visited_on=date(2025, 12, 20), kind="home")
    report_file(
        user=director_a,
        situation="domestic_violence",
        discovered_at=datetime(2025, 12, 19, 9, 0, tzinfo=SHANGHAI),
        description="疑似家暴",
        child=c,
    )
    report_2025 = c.reports.get()
    # 2026
    frozen.move_to("2026-02-03 10:00 +0800")
    report_transition(
        user=supervisor, report=report_2025, to="closed", note="核实不属实", outcome="unfounded"
    )
    frozen.move_to("2026-05-11 10:00 +0800")
    h = make_orphan(director_b, name="辛", birth_date=date(2013, 9, 9), categories=["orphan"])
    _approve(
        subsidy_apply(user=director_b, child=h, programme="orphan_allowance"),
        supervisor,
        civil_affairs,
    )  # paid from June 2026
    frozen.move_to("2026-06-01 10:00 +0800")
    e = make_child(director_c, name="己", birth_date=date(2011, 7, 7))
    visit_record(user=director_c, child=e, visited_on=date(2026, 6, 1), kind="school")
    frozen.move_to("2026-07-01 10:00 +0800")
    report_file(
        user=reporter,
        situation="other_harm",
        discovered_at=datetime(2026, 6, 30, 18, 0, tzinfo=SHANGHAI),
        description="学校发现",
        child_name="无档儿童",
        reporter_org_type="school",
    )
    from reporting.models import MandatoryReport

    unlinked = MandatoryReport.objects.get(child__isnull=True)
    frozen.move_to("2026-07-05 10:00 +0800")
    report_transition(
        user=supervisor, report=unlinked, to="closed", note="已核实", outcome="unfounded"
    )
    frozen.move_to("2026-08-15 10:00 +0800")
    d = make_child(director_b, name="丁", birth_date=date(2012, 6, 6))
    visit_record(user=director_b, child=d, visited_on=date(2026, 8, 15), kind="home")
    frozen.move_to(NOW)
    b = make_child(director_a, name="乙", birth_date=date(2015, 1, 1), risk_level="high")
    _away(director_a, b)
    _agreement(director_a, b, date(2026, 11, 1), date(2027, 10, 31))
    visit_record(user=director_a, child=b, visited_on=date(2026, 11, 23), kind="home")
    visit_record(user=director_a, child=c, visited_on=date(2026, 11, 20), kind="phone")
    report_file(
        user=director_a,
        situation="living_alone",
        discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
        description="独自在家",
        child=a,
    )
    # Elsewhere: nothing of county B may ever show.
    x = make_child(outsider, name="外县儿童", birth_date=date(2014, 1, 1))
    visit_record(user=outsider, child=x, visited_on=date(2026, 11, 1), kind="home")
    for month in [_month(2025, 11), _month(2025, 12)] + [_month(2026, m) for m in range(1, 12)]:
        entitlements_generate(month=month)
    village_stats_refresh()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "h": h, "x": x}


def _sheet(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    # The child ledger is children/exports.py's own workbook, without the 说明 sheet.
    about = dict(book["说明"].iter_rows(values_only=True)) if "说明" in book.sheetnames else {}
    return rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]], about


def _export(client, code, kind, **params):
    query = "&".join(f"{key.rstrip('_')}={value}" for key, value in params.items())
    return client.get(f"/dashboard/{code}/exports/{kind}.xlsx" + (f"?{query}" if query else ""))


def _audits(export):
    return AuditRecord.objects.filter(action=AuditAction.EXPORT, detail__export=export)


# --- The page and access ------------------------------------------------------------------------


def test_exports_page_lists_every_download_with_the_default_period(client_for, world, supervisor):
    response = client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/exports/")
    assert response.status_code == 200
    body = response.content.decode()
    for kind in ("children", "left_behind_register", "difficulty_register", "indicators"):
        assert f"/dashboard/{TOWNSHIP_1}/exports/{kind}.xlsx" in body
    for kind in ("agreements", "visits", "reports", "benefits"):
        assert f"/dashboard/{TOWNSHIP_1}/exports/{kind}.xlsx?from=2026-01-01&amp;to=2026-11-23" in (
            body
        )
    assert f"/dashboard/{TOWNSHIP_1}/progress-report/" in body
    assert 'value="handover"' not in body  # civil affairs only
    assert 'value="2026-01-01"' in body and 'value="2026-11-23"' in body


def test_exports_page_keeps_a_chosen_period_and_offers_the_handover_to_civil_affairs(
    client_for, world, civil_affairs
):
    response = client_for(civil_affairs).get(
        f"/dashboard/{COUNTY_A}/exports/?from=2025-07-01&to=2025-12-31"
    )
    body = response.content.decode()
    assert "visits.xlsx?from=2025-07-01&amp;to=2025-12-31" in body
    assert f'action="/dashboard/{COUNTY_A}/exports/jobs/"' in body
    assert 'name="kind" value="handover"' in body
    bad = client_for(civil_affairs).get(
        f"/dashboard/{COUNTY_A}/exports/?from=2026-12-01&to=2026-01-01"
    )
    assert bad.status_code == 200 and "from=2026-01-01&amp;to=2026-11-23" in bad.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "exports/",
        "exports/children.xlsx",
        "exports/visits.xlsx",
        "exports/indicators.xlsx",
        "progress-report/",
        "handover.jsonl",
    ],
)
def test_scope_and_roles(
    client_for, world, path, outsider, director_a, reporter, supervisor, civil_affairs
):
    assert client_for(outsider).get(f"/dashboard/{COUNTY_A}/{path}").status_code == 404
    assert client_for(supervisor).get(f"/dashboard/{COUNTY_A}/{path}").status_code == 404
    assert client_for(director_a).get(f"/dashboard/{VILLAGE_1}/{path}").status_code == 403
    assert client_for(reporter).get(f"/dashboard/{TOWNSHIP_1}/{path}").status_code == 403
    expected = 403 if path == "handover.jsonl" else 200
    assert client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/{path}").status_code == expected
    # The hand-over's old address sends civil affairs to the page that prepares it.
    old = client_for(civil_affairs).get(f"/dashboard/{TOWNSHIP_1}/handover.jsonl")
    assert old.status_code == 302 and old.url.endswith(
        f"/dashboard/{TOWNSHIP_1}/exports/#handover-heading"
    )


def test_viewer_may_export_the_administrator_may_not(client_for, world, viewer, admin_user):
    assert _export(client_for(viewer), COUNTY_A, "visits").status_code == 200
    assert client_for(viewer).get(f"/dashboard/{COUNTY_A}/handover.jsonl").status_code == 403
    # Issue 14, M1: the system administrator (a superuser) has no case data at all.
    assert _export(client_for(admin_user), COUNTY_A, "visits").status_code == 403
    assert client_for(admin_user).get(f"/dashboard/{COUNTY_A}/handover.jsonl").status_code == 403


def test_unknown_kind_and_bad_period(client_for, world, supervisor):
    client = client_for(supervisor)
    assert _export(client, TOWNSHIP_1, "secrets").status_code == 404
    assert _export(client, TOWNSHIP_1, "visits", from_="2026-13-01").status_code == 400
    assert (
        _export(client, TOWNSHIP_1, "visits", from_="2026-05-01", to="2026-04-01").status_code
        == 400
    )
    assert _export(client, TOWNSHIP_1, "visits", to="9999-12-31").status_code == 400
    assert _export(client, TOWNSHIP_1, "reports", from_="0001-01-01").status_code == 400
    assert not _audits("statistics_visits_xlsx").exists()


def test_dashboard_links_to_the_exports(client_for, world, supervisor, civil_affairs, director_a):
    body = client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/").content.decode()
    assert f"/dashboard/{TOWNSHIP_1}/exports/" in body and "sw-no-print" in body
    assert f"/dashboard/{TOWNSHIP_1}/progress-report/" in body
    assert "handover.jsonl" not in body
    body = client_for(civil_affairs).get(f"/dashboard/{COUNTY_A}/").content.decode()
    assert f"/dashboard/{COUNTY_A}/exports/" in body
    body = client_for(director_a).get(f"/dashboard/{VILLAGE_1}/").content.decode()
    assert "/exports/" not in body


# --- The ledgers --------------------------------------------------------------------------------


def test_children_ledger_reuses_the_child_export(client_for, world, supervisor, civil_affairs):
    headers, rows, _about = _sheet(_export(client_for(supervisor), TOWNSHIP_1, "children"))
    assert headers[0] == "姓名" and "身份证号" in headers
    assert sorted(row["姓名"] for row in rows) == ["丁", "丙", "乙", "甲", "辛"]
    assert all("*" in row["身份证号"] for row in rows)  # a supervisor sees them masked
    assert _audits("children_xlsx").filter(user__username="supervisor").count() == 5
    _headers, rows, _about = _sheet(_export(client_for(civil_affairs), COUNTY_A, "children"))
    assert len(rows) == 6  # 己 of township 2 too; nothing of county B
    by_name = {row["姓名"]: row for row in rows}
    assert by_name["乙"]["身份证号"] == decrypt(world["b"].id_number_encrypted)


def test_agreements_in_force_in_the_period(client_for, world, supervisor, civil_affairs):
    headers, rows, about = _sheet(_export(client_for(supervisor), TOWNSHIP_1, "agreements"))
    assert headers[:3] == ("儿童姓名", "身份证号", "乡镇（街道）")
    assert [row["儿童姓名"] for row in rows] == ["乙"]  # 甲's was terminated in June 2025
    row = rows[0]
    assert row["照护人联系电话"] == "139****1888" and row["父母联系电话"] == "138****5678"
    assert row["与儿童关系"] == "祖父母"  # Chinese labels whatever the screen's language
    assert row["开始日期"].date() == date(2026, 11, 1)
    assert about["统计期间"] == "2026-01-01至2026-11-23" and about["行数"] == 1
    assert _audits("statistics_agreements_xlsx").count() == 1
    _h, rows, _a = _sheet(
        _export(client_for(civil_affairs), COUNTY_A, "agreements", from_="2025-01-01")
    )
    assert sorted(row["儿童姓名"] for row in rows) == ["乙", "甲"]
    row = next(row for row in rows if row["儿童姓名"] == "乙")
    assert row["照护人联系电话"] == CAREGIVER_PHONE  # civil affairs may see it
    assert next(row for row in rows if row["儿童姓名"] == "甲")["协议状态"] == "已终止"
    _h, rows, _a = _sheet(
        _export(
            client_for(civil_affairs), COUNTY_A, "agreements", from_="2025-07-01", to="2025-12-31"
        )
    )
    assert rows == []  # terminated on 30 June 2025, the day before


def test_visits_dated_in_the_period(client_for, world, supervisor, civil_affairs):
    _headers, rows, _about = _sheet(_export(client_for(supervisor), TOWNSHIP_1, "visits"))
    assert [(row["走访日期"].date(), row["儿童姓名"]) for row in rows] == [
        (date(2026, 8, 15), "丁"),
        (date(2026, 11, 20), "丙"),
        (date(2026, 11, 23), "乙"),
    ]
    assert [row["走访方式"] for row in rows] == ["入户走访", "电话联系", "入户走访"]
    assert all("*" in row["身份证号"] for row in rows)
    assert _audits("statistics_visits_xlsx").count() == 3
    _headers, rows, _about = _sheet(
        _export(client_for(civil_affairs), COUNTY_A, "visits", from_="2025-12-01", to="2026-06-30")
    )
    assert [row["儿童姓名"] for row in rows] == ["丙", "己"]
    english = client_for(supervisor)
    english.cookies["django_language"] = "en"
    _headers, rows, _about = _sheet(_export(english, TOWNSHIP_1, "visits"))
    assert rows[0]["走访方式"] == "入户走访"  # a filed ledger is Chinese whatever the screen


def test_reports_filed_in_the_period(client_for, world, supervisor, viewer):
    headers, rows, _about = _sheet(_export(client_for(supervisor), TOWNSHIP_1, "reports"))
    assert [row["儿童姓名"] for row in rows] == ["无档儿童", "甲"]
    assert "报告人" in headers  # supervisors may know who reported
    unlinked, linked = rows
    assert not unlinked["身份证号"] and unlinked["区划代码"] == TOWNSHIP_1
    assert linked["乡镇（街道）"] == "桃花潭镇" and linked["村（社区）/区划"] == "查济村"
    assert linked["报告时间"] == "2026-11-23 10:00"
    details = _audits("statistics_reports_xlsx")
    assert details.filter(object_type="child", object_id=str(world["a"].pk)).count() == 1
    assert details.filter(object_type="mandatory_report").count() == 1
    headers, rows, _about = _sheet(
        _export(client_for(viewer), COUNTY_A, "reports", from_="2025-01-01")
    )
    assert "报告人" not in headers and len(rows) == 3


def test_benefits_with_ledger_totals(client_for, world, supervisor, civil_affairs):
    _headers, rows, _about = _sheet(_export(client_for(supervisor), TOWNSHIP_1, "benefits"))
    assert [row["儿童姓名"] for row in rows] == ["辛"]
    row = rows[0]
    assert row["补贴项目"] == "孤儿基本生活费"
    assert row["起始发放月份"] == "2026-06"
    assert (row["期内发放月数"], row["期内发放金额（元）"]) == (6, 6000)
    assert (row["累计发放月数"], row["累计发放金额（元）"]) == (6, 6000)
    _headers, rows, _about = _sheet(
        _export(client_for(civil_affairs), COUNTY_A, "benefits", from_="2025-01-01")
    )
    by_name = {row["儿童姓名"]: row for row in rows}
    assert (by_name["丙"]["期内发放月数"], by_name["丙"]["期内发放金额（元）"]) == (13, 13000)
    _headers, rows, _about = _sheet(
        _export(
            client_for(civil_affairs), COUNTY_A, "benefits", from_="2025-10-01", to="2025-12-31"
        )
    )
    assert (rows[0]["期内发放月数"], rows[0]["累计发放月数"]) == (2, 13)
    assert rows[0]["身份证号"] == decrypt(world["c"].id_number_encrypted)
    assert _audits("statistics_benefits_xlsx").count() == 1 + 2 + 1


def test_indicator_table_has_every_indicator_per_area_and_a_total(client_for, world, civil_affairs):
    from dashboards.exports import COUNT_HEADERS

    headers, rows, about = _sheet(_export(client_for(civil_affairs), COUNTY_A, "indicators"))
    for header in COUNT_HEADERS.values():
        assert header in headers
    assert "委托照护覆盖率（%）" in headers and "报告·公安已受理" in headers
    assert [row["区划代码"] for row in rows] == [TOWNSHIP_1, TOWNSHIP_2, COUNTY_A]
    township_1, township_2, total = rows
    assert total["区划"] == "泾县（合计）"
    assert (township_1["儿童总数"], township_2["儿童总数"], total["儿童总数"]) == (5, 1, 6)
    assert township_1["孤儿"] == 2 and township_1["留守儿童"] == 2
    assert township_1["红色（高风险）"] == 1
    assert total["未结强制报告"] == 1 and total["报告·已报告"] == 1
    assert "统计时点" in about
    assert not AuditRecord.objects.filter(detail__export__startswith="statistics_ind").exists()


# --- Constant queries -----------------------------------------------------------------------------

LEDGER_QUERIES = {
    "children": 8,
    "agreements": 8,
    "visits": 8,
    "reports": 8,
    "benefits": 8,
    "indicators": 12,
}


def _grow(director, supervisor, civil_affairs, n):
    for index in range(n):
        child = make_orphan(director, name=f"多{index}", birth_date=date(2014, 1, 1))
        _agreement(director, child, date(2026, 11, 1), date(2027, 10, 31))
        visit_record(user=director, child=child, visited_on=date(2026, 11, 20), kind="home")
        report_file(
            user=director,
            situation="living_alone",
            discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
            description="独自在家",
            child=child,
        )
        subsidy_apply(user=director, child=child, programme="orphan_allowance")
    village_stats_refresh()


@pytest.mark.parametrize("kind", list(LEDGER_QUERIES))
def test_ledger_queries_are_constant(
    client_for, django_assert_max_num_queries, frozen, kind, director_a, supervisor, civil_affairs
):
    client = client_for(supervisor)
    _grow(director_a, supervisor, civil_affairs, 1)
    with django_assert_max_num_queries(LEDGER_QUERIES[kind]):
        small = _sheet(_export(client, TOWNSHIP_1, kind))[1]
    _grow(director_a, supervisor, civil_affairs, 8)
    with django_assert_max_num_queries(LEDGER_QUERIES[kind]):
        large = _sheet(_export(client, TOWNSHIP_1, kind))[1]
    if kind != "indicators":
        assert (len(small), len(large)) == (1, 9)


def test_progress_report_and_handover_queries_are_constant(
    client_for, django_assert_max_num_queries, frozen, director_a, supervisor, civil_affairs
):
    county = client_for(civil_affairs)
    _grow(director_a, supervisor, civil_affairs, 1)
    for size in (1, 9):
        with django_assert_max_num_queries(PROGRESS_QUERIES):
            assert county.get(f"/dashboard/{COUNTY_A}/progress-report/").status_code == 200
        job = jobs.export_job_start(
            user=civil_affairs, area=Area.objects.get(code=COUNTY_A), kind="handover"
        )
        with django_assert_max_num_queries(HANDOVER_QUERIES):
            jobs.export_job_run(str(job.pk))
        job.refresh_from_db()
        lines = job.file.open("rb").read().decode().splitlines()
        assert json.loads(lines[-1])["counts"]["child"] == size
        _grow(director_a, supervisor, civil_affairs, 8)


PROGRESS_QUERIES = 18
HANDOVER_QUERIES = 20  # the 15 of the records and their audit, and the job's own


# --- The yearly progress report -------------------------------------------------------------------


def test_progress_report_is_filled_in_from_the_year(client_for, world, civil_affairs):
    response = client_for(civil_affairs).get(f"/dashboard/{COUNTY_A}/progress-report/?year=2026")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.title == "泾县2026年农村留守儿童和困境儿童关爱保护工作进展报告"
    assert report.due == date(2026, 11, 30) and report.end == date(2026, 11, 23)
    # Visits in 2026: home 乙 and 丁, phone 丙, school 己 (the 2025 home visit of 丙 is not).
    assert (report.home_visits, report.children_visited_at_home, report.other_contacts) == (2, 2, 2)
    assert {row.code: row.visits for row in report.visits_by_kind} == {
        "home": 2,
        "phone": 1,
        "video": 0,
        "school": 1,
        "other": 0,
    }
    # Reports: filed 2026 — living_alone (甲) and other_harm; closed 2026 — other_harm and the
    # domestic-violence report filed in 2025.
    assert {(row.code, row.filed, row.closed) for row in report.reports_by_situation} == {
        ("living_alone", 1, 0),
        ("other_harm", 1, 1),
        ("domestic_violence", 0, 1),
    }
    assert report.reports_by_situation[0].label == "脱离监护单独居住生活"
    assert (report.reports_filed, report.reports_closed) == (2, 2)
    # Benefits: 辛 approved in 2026; paid in 2026: 丙 11 months + 辛 6 months at 1000 yuan.
    assert report.benefits_approved == 1 and report.paid_total == Decimal("17000.00")
    body = response.content.decode()
    assert "泾县2026年农村留守儿童和困境儿童关爱保护工作进展报告" in body
    assert "报送截止日期：2026年11月30日" in body
    for heading in ("工作成效", "存在问题", "下步打算", "一、基本情况"):
        assert heading in body
    assert "17,000.00" in body or "17000.00" in body


def test_progress_report_of_a_past_year(client_for, world, supervisor):
    response = client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/progress-report/?year=2025")
    report = response.context["report"]
    assert report.title == "桃花潭镇2025年农村留守儿童和困境儿童关爱保护工作进展报告"
    assert report.end == date(2025, 12, 31)
    assert report.home_visits == 1 and report.other_contacts == 0
    assert (report.reports_filed, report.reports_closed) == (1, 0)
    assert report.benefits_approved == 1 and report.paid_total == Decimal("2000.00")
    # A year not yet begun, or nonsense, falls back to this year.
    for year in ("2099", "abc"):
        response = client_for(supervisor).get(
            f"/dashboard/{TOWNSHIP_1}/progress-report/?year={year}"
        )
        assert response.context["report"].year == 2026


# --- The hand-over --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def _handover(client, code):
    """Ask for the hand-over, let the worker prepare it, and download it: the file's length, row
    count and checksum are the ones the job page shows."""
    started = client.post(f"/dashboard/{code}/exports/jobs/", {"kind": "handover"})
    assert started.status_code == 302
    job = ExportJob.objects.get(requested_by=started.wsgi_request.user)
    assert started.url == f"/dashboard/{code}/exports/jobs/{job.pk}/"
    waiting = client.get(started.url)
    assert 'http-equiv="refresh"' in waiting.content.decode()
    assert client.get(started.url + "file").status_code == 404  # not ready yet
    jobs.export_job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    page = client.get(started.url).content.decode()
    assert job.checksum in page and f'id="job-rows">{job.row_count}<' in page
    assert 'http-equiv="refresh"' not in page
    response = client.get(started.url + "file")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    raw_bytes = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(raw_bytes) == job.size
    assert response["X-Checksum-SHA256"] == hashlib.sha256(raw_bytes).hexdigest() == job.checksum
    raw = raw_bytes.decode()
    records = [json.loads(line) for line in raw.splitlines()]
    assert int(response["X-Row-Count"]) == records[-1]["total"] == job.row_count
    return raw, records


def test_handover_streams_every_record_of_the_area(client_for, world, civil_affairs):
    raw, records = _handover(client_for(civil_affairs), COUNTY_A)
    header, *body, footer = records
    assert header["type"] == "header" and header["area_code"] == COUNTY_A
    assert header["id_numbers"] == "masked" and "generated_at" in header
    assert footer["type"] == "footer"
    counts: dict[str, int] = {}
    for record in body:
        counts[record["type"]] = counts.get(record["type"], 0) + 1
        assert isinstance(record["id"], str)
    assert counts == footer["counts"]
    assert counts == {
        "child": 6,
        "family_member": 8,  # 甲 and 乙: two parents each; 丙 and 辛: two deceased parents
        "care_agreement": 2,
        "visit": 5,
        "report": 3,
        "subsidy_application": 2,
        "enrolment": 2,
        "entitlement": 13 + 6,
    }
    children = {r["name"]: r for r in body if r["type"] == "child"}
    assert "外县儿童" not in children
    assert (
        children["乙"]["village_code"] == VILLAGE_1 and children["乙"]["birth_date"] == "2015-01-01"
    )
    assert children["乙"]["created_at"].endswith("+08:00")
    # No ID number in clear, masked instead; no phone in clear.
    for child in Child.objects.filter(village__code__startswith="341823"):
        number = decrypt(child.id_number_encrypted)
        assert number and number not in raw
        assert children[child.name]["id_number_masked"] == child.id_number_masked
    assert CAREGIVER_PHONE not in raw and PARENT_PHONE not in raw and "13700001111" not in raw
    agreement = next(
        r for r in body if r["type"] == "care_agreement" and r["start_date"] == "2026-11-01"
    )
    assert (
        agreement["caregiver_phone_masked"] == "139****1888" and len(agreement["parent_ids"]) == 2
    )
    entitlement = next(r for r in body if r["type"] == "entitlement")
    assert entitlement["amount"] == "1000.00" and entitlement["month"].endswith("-01")
    visit = next(r for r in body if r["type"] == "visit" and r["kind"] == "school")
    assert visit["date"] == "2026-06-01" and visit["child_id"] == str(world["e"].pk)
    # One audit record per child, written in batches.
    audits = AuditRecord.objects.filter(detail={"export": "handover"})
    assert audits.count() == 6
    assert set(audits.values_list("object_id", flat=True)) == {
        str(pk)
        for pk in Child.objects.filter(village__code__startswith="341823").values_list(
            "pk", flat=True
        )
    }


def test_handover_of_a_township_holds_only_its_records(client_for, world, civil_affairs):
    _raw, records = _handover(client_for(civil_affairs), TOWNSHIP_2)
    footer = records[-1]
    assert footer["counts"]["child"] == 1 and footer["counts"]["visit"] == 1
    assert footer["counts"]["report"] == 0 and footer["total"] == 2
    assert {r["type"] for r in records} == {"header", "child", "visit", "footer"}


def test_handover_outside_and_wrong_role(client_for, world, outsider, supervisor, civil_affairs):
    def start(user, code):
        return client_for(user).post(f"/dashboard/{code}/exports/jobs/", {"kind": "handover"})

    assert client_for(outsider).get(f"/dashboard/{COUNTY_A}/handover.jsonl").status_code == 404
    assert start(outsider, COUNTY_A).status_code == 404
    assert start(civil_affairs, VILLAGE_B).status_code == 404
    assert start(supervisor, TOWNSHIP_1).status_code == 403
    assert start(civil_affairs, COUNTY_A).status_code == 302
    assert client_for(civil_affairs).get(f"/dashboard/{COUNTY_A}/exports/jobs/").status_code == 405
    assert start(civil_affairs, COUNTY_A).status_code == 302
    assert not AuditRecord.objects.filter(detail={"export": "handover"}).exists()
    # A job is its asker's only: another civil affairs officer of the same county gets a 404.
    job = ExportJob.objects.first()
    jobs.export_job_run(str(job.pk))
    colleague = UserFactory(role=Role.CIVIL_AFFAIRS, area=civil_affairs.area)
    page = f"/dashboard/{COUNTY_A}/exports/jobs/{job.pk}/"
    assert client_for(colleague).get(page).status_code == 404
    assert client_for(colleague).get(page + "file").status_code == 404
    assert client_for(outsider).get(page).status_code == 404
    assert (
        client_for(civil_affairs).get(f"/dashboard/{TOWNSHIP_1}/exports/jobs/{job.pk}/").status_code
        == 404
    )
    assert client_for(civil_affairs).get(page + "file").status_code == 200


def test_audit_records_are_written_in_batches(client_for, world, supervisor, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr("dashboards.exports.AUDIT_BATCH", 2)
    with CaptureQueriesContext(connection) as queries:
        _sheet(_export(client_for(supervisor), TOWNSHIP_1, "visits"))
    inserts = [
        q for q in queries.captured_queries if 'INSERT INTO "accounts_auditrecord"' in q["sql"]
    ]
    assert len(inserts) == 2  # three rows: a batch of two, then the rest
    assert _audits("statistics_visits_xlsx").count() == 3


# --- The township registers (登记表, issue 21 point 7) -----------------------------------------


def test_the_left_behind_register_in_its_column_order(client_for, world, civil_affairs, director_a):
    from dashboards.exports import LEFT_BEHIND_COLUMNS

    header, rows, about = _sheet(
        _export(client_for(civil_affairs), COUNTY_A, "left_behind_register")
    )
    assert list(header) == [title for title, _width in LEFT_BEHIND_COLUMNS]
    assert [row["姓名"] for row in rows] == ["乙", "甲"]  # 甲 and 乙: parents away; 丙, 辛: orphans
    assert [row["序号"] for row in rows] == [1, 2]
    b = rows[0]
    assert (b["村（社区）"], b["父亲姓名"], b["父亲状况"], b["母亲姓名"]) == (
        "查济村",
        "乙father",
        "外出务工",
        "乙mother",
    )
    assert (b["委托照护人"], b["照护人联系电话"], b["风险等级"]) == (
        "乙祖母",
        CAREGIVER_PHONE,
        "红（高）",
    )
    assert b["父亲联系电话"] == "13700001111"  # civil affairs see numbers in full
    assert b["身份证号"] == decrypt(world["b"].id_number_encrypted)
    assert b["儿童主任"] == director_a.display_name
    assert b["最近入户走访"] == datetime(2026, 11, 23)
    assert not rows[1]["委托照护人"]  # 甲's agreement was terminated
    assert about["范围"] == "类别含留守儿童的在档儿童"
    assert _audits("statistics_left_behind_register_xlsx").count() == 2


def test_the_difficulty_register_names_category_benefit_and_guardian(client_for, world, supervisor):
    from dashboards.exports import DIFFICULTY_COLUMNS

    header, rows, _about = _sheet(
        _export(client_for(supervisor), TOWNSHIP_1, "difficulty_register")
    )
    assert list(header) == [title for title, _width in DIFFICULTY_COLUMNS]
    by_name = {row["姓名"]: row for row in rows}
    assert set(by_name) == {"丙", "辛"}
    assert by_name["丙"]["困境类型"] == "孤儿"
    assert by_name["丙"]["享受保障"] == "孤儿基本生活费"
    # The supervisor sees numbers masked, as on every other surface.
    assert "*" in by_name["丙"]["身份证号"]
    assert _audits("statistics_difficulty_register_xlsx").count() == 2


def test_a_carer_of_a_child_in_difficulty_is_its_guardian(
    client_for, frozen, civil_affairs, director_a
):
    orphan = make_orphan(director_a, name="庚", birth_date=date(2014, 1, 1), categories=["orphan"])
    confirm_categories(orphan, civil_affairs)
    _agreement(director_a, orphan, date(2026, 11, 1), date(2027, 10, 31))
    _header, rows, _about = _sheet(
        _export(client_for(civil_affairs), COUNTY_A, "difficulty_register")
    )
    row = next(row for row in rows if row["姓名"] == "庚")
    assert (row["监护人（照护人）"], row["联系电话"]) == ("庚祖母", CAREGIVER_PHONE)


def test_a_single_parent_child_is_not_on_the_difficulty_register(
    client_for, frozen, civil_affairs, director_a
):
    """单亲家庭儿童 is a category of its own, not a 困境儿童 subtype (domain §2)."""
    single = make_child(director_a, name="单亲", birth_date=date(2014, 1, 1))
    Child.objects.filter(pk=single.pk).update(categories=["single_parent"])
    both = make_child(director_a, name="单亲重病", birth_date=date(2014, 1, 1))
    Child.objects.filter(pk=both.pk).update(categories=["single_parent", "serious_illness"])
    names = {
        row["姓名"]
        for row in _sheet(_export(client_for(civil_affairs), COUNTY_A, "difficulty_register"))[1]
    }
    assert names == {"单亲重病"}


def test_the_registers_queries_are_constant(
    client_for, django_assert_max_num_queries, frozen, director_a, civil_affairs
):
    client = client_for(civil_affairs)
    for size in (1, 9):
        while Child.objects.count() < size:
            child = make_orphan(
                director_a,
                name=f"多{Child.objects.count()}",
                birth_date=date(2014, 1, 1),
                categories=["orphan"],
            )
            confirm_categories(child, civil_affairs)
            _agreement(director_a, child, date(2026, 11, 1), date(2027, 10, 31))
        with django_assert_max_num_queries(REGISTER_QUERIES):
            rows = _sheet(_export(client, COUNTY_A, "difficulty_register"))[1]
        assert len(rows) == size


REGISTER_QUERIES = 12


def test_the_registers_scope_and_roles(client_for, world, outsider, admin_user):
    for kind in ("left_behind_register", "difficulty_register"):
        assert _export(client_for(outsider), COUNTY_A, kind).status_code == 404
        assert _export(client_for(admin_user), COUNTY_A, kind).status_code in (403, 404)
