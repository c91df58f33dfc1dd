"""Issue 14, M3: formula injection. Free text beginning with =, +, -, @, a tab or a carriage return
stays text in every .xlsx ledger, the bank's payment list and the audit CSV (core/cells.py), each
downloaded through its real page; numbers and dates stay numbers and dates."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from accounts.models import Area, AuditAction, AuditRecord, Role
from benefits import services as benefit_services
from children import services as child_services
from core import cells
from reporting.services import report_file
from visits.services import visit_record

from ..conftest import COUNTY_A, PROVINCE, TOWNSHIP_1, VILLAGE_1, VILLAGE_2, log_in
from ..factories import UserFactory, bring_documents, make_child

pytestmark = pytest.mark.django_db

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = "from=2026-01-01&to=2026-12-31"


def as_stored(text: str) -> str:
    """A workbook's line break is LF: a carriage return comes back as one (cells.cell_value)."""
    return text.replace("\r", "\n")


def workbook(response):
    assert response.status_code == 200, response.content[:300]
    return load_workbook(io.BytesIO(response.content))


def cells_of(book):
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_no_formula(book, expected_texts):
    every = cells_of(book)
    formulas = [(c.coordinate, c.value) for c in every if c.data_type == "f"]
    assert formulas == []
    texts = {c.value for c in every if isinstance(c.value, str)}
    missing = {as_stored(t) for t in expected_texts} - texts
    assert not missing, missing


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def hostile_world(frozen, areas, director_a, supervisor, civil_affairs):
    """One child per payload in village 1, with the payload in every free-text field the ledgers
    carry: the file, a care agreement, a visit, a mandatory report, a benefit and its payee."""
    benefit_services.subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="education_aid",
        month=date(2026, 1, 1),
        amount=Decimal("62.5"),
    )
    children = []
    for number, payload in enumerate(PAYLOADS):
        child = make_child(
            director_a,
            name=payload,
            address=payload,
            school_name=payload,
            grade=payload,
            birth_date=date(2014, 5, 1 + number),
        )
        child_services.care_agreement_create(
            user=director_a,
            child=child,
            caregiver_name=payload,
            caregiver_relation="grandparent",
            caregiver_phone="13905631888",
            caregiver_birth_date=date(1958, 4, 2),
            caregiver_address=payload,
            start_date=date(2026, 3, 1),
            end_date=date(2026, 12, 31),
            parent_work_place=payload,
            parent_phone="13812345678",
        )
        visit_record(
            user=director_a,
            child=child,
            visited_on=date(2026, 11, 20),
            kind="home",
            needs=payload,
            actions_taken=payload,
            follow_up_on=date(2026, 11, 30),
            follow_up_note=payload,
        )
        report_file(
            user=director_a,
            situation="other_harm",
            discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
            description=payload,
            child=child,
            police_receipt=payload,
        )
        application = benefit_services.subsidy_apply(
            user=director_a, child=child, programme="education_aid", note=payload
        )
        bring_documents(director_a, application)
        benefit_services.subsidy_decide(
            user=supervisor, application=application, decision="approve", note=payload
        )
        benefit_services.subsidy_decide(
            user=civil_affairs, application=application, decision="approve", note=payload
        )
        benefit_services.enrolment_set_payee(
            user=civil_affairs,
            enrolment=application.enrolment,
            name=payload,
            account="6217000012345678",
        )
        children.append(child)
    frozen.move_to("2026-12-02 09:00 +0800")  # approved in November: paid from December
    assert benefit_services.entitlements_generate(month=date(2026, 12, 1)) == len(PAYLOADS)
    # Area names and the exporting officer's name reach the indicators and 说明 sheets.
    Area.objects.filter(code=VILLAGE_1).update(name=PAYLOADS[0])
    Area.objects.filter(code=VILLAGE_2).update(name=PAYLOADS[3])
    supervisor.name = "-1+2"
    supervisor.save(update_fields=["name"])
    return children


def test_cell_writer_keeps_text_as_text_and_values_as_values():
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    moment = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
    row = cells.xlsx_row(sheet, [*PAYLOADS, 7, Decimal("1.50"), date(2026, 1, 2), moment, None])
    sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    read = load_workbook(io.BytesIO(buffer.getvalue())).active[1]
    assert [c.data_type for c in read[: len(PAYLOADS)]] == ["s"] * len(PAYLOADS)
    assert [c.value for c in read[: len(PAYLOADS)]] == [as_stored(p) for p in PAYLOADS]
    assert all(c.quotePrefix for c in read[: len(PAYLOADS)])
    number, amount, day, at = read[len(PAYLOADS) : len(PAYLOADS) + 4]
    assert (number.value, number.data_type) == (7, "n")
    assert amount.data_type == "n" and amount.value == 1.5
    assert day.is_date and day.value == datetime(2026, 1, 2)
    assert at.is_date and at.value == datetime(2026, 11, 23, 10, 0)  # local time, no zone
    assert cells.csv_row([*PAYLOADS, "plain", 3, None]) == [
        *["'" + p for p in PAYLOADS],
        "plain",
        "3",
        "",
    ]


def test_child_list_export_keeps_names_as_text(client_for, hostile_world, director_a):
    book = workbook(client_for(director_a).get("/children/export.xlsx"))
    assert_no_formula(book, PAYLOADS)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    first = sheet[2]
    assert first[header.index("出生日期")].is_date
    assert first[header.index("年龄")].data_type == "n"


@pytest.mark.parametrize("kind", ["children", "agreements", "visits", "reports", "benefits"])
def test_statistics_ledgers_keep_free_text_as_text(client_for, hostile_world, supervisor, kind):
    response = client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/exports/{kind}.xlsx?{PERIOD}")
    book = workbook(response)
    assert book.active.max_row == 1 + len(PAYLOADS)
    # Every ledger but the child list (the list page's own export) has a 说明 sheet naming who.
    officer = [] if kind == "children" else ["-1+2（supervisor）"]
    assert_no_formula(book, [*PAYLOADS, *officer])


def test_indicators_ledger_keeps_area_names_as_text(client_for, hostile_world, supervisor):
    response = client_for(supervisor).get(f"/dashboard/{TOWNSHIP_1}/exports/indicators.xlsx")
    book = workbook(response)
    assert_no_formula(book, [PAYLOADS[0], PAYLOADS[3], "-1+2（supervisor）"])
    totals = [c for c in book.active[2] if c.data_type == "n"]
    assert totals, "the counts stay numbers"


def test_payment_list_keeps_names_and_payees_as_text(client_for, hostile_world, civil_affairs):
    response = client_for(civil_affairs).get("/children/subsidies/payments.xlsx?month=2026-12")
    book = workbook(response)
    assert_no_formula(book, PAYLOADS)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    amounts = [row[header.index("金额（元）")] for row in sheet.iter_rows(min_row=2)]
    assert len(amounts) == len(PAYLOADS)
    assert all(c.data_type == "n" and c.value == 62.5 for c in amounts)


def test_import_template_keeps_village_names_as_text(client_for, areas, director_a):
    Area.objects.filter(code=VILLAGE_1).update(name=PAYLOADS[0])
    book = workbook(client_for(director_a).get("/children/import/template.xlsx"))
    assert_no_formula(book, [PAYLOADS[0]])


def test_audit_csv_quotes_usernames_of_failed_sign_ins(areas):
    """An anonymous visitor types a formula as the username; the auditor's CSV shows it as text."""
    auditor = UserFactory(username="auditor_p", role=Role.AUDITOR, area=areas[PROVINCE])
    for number, payload in enumerate(PAYLOADS):
        Client(REMOTE_ADDR=f"203.0.113.{number + 1}").post(
            "/accounts/login/", {"username": payload, "password": "wrong-password-1"}
        )
    tried = list(
        AuditRecord.objects.filter(action=AuditAction.LOGIN_FAILED).values_list(
            "username", "object_id"
        )
    )
    assert len(tried) == len(PAYLOADS)
    response = log_in(Client(), auditor).get("/audit/export.csv?action=login_failed")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    records = [row[header.index("记录")] for row in body]
    assert len(records) == len(PAYLOADS)
    for field in (value for row in body for value in row):
        assert not cells.is_formula_like(field), field
    stripped = {p.strip() for p in PAYLOADS}  # the sign-in form trims what is typed
    assert {r[1:] for r in records} == stripped and all(r.startswith("'") for r in records)
