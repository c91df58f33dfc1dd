"""Issue 17, point 6: arrears (补发). A month missed because its standard or the child's full-time
education record was entered late is written once, by the next ledger run, as back pay, and the
payment list of the month it is written in pays it, marked."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from accounts import outbox
from benefits.models import Enrolment, Entitlement
from benefits.payments import payment_totals, payments_for_user
from benefits.services import (
    education_record_add,
    enrolment_end,
    entitlements_generate,
    subsidy_apply,
    subsidy_decide,
    subsidy_standard_set,
)
from children.services import child_close, children_age_out

from ..conftest import COUNTY_A
from ..factories import make_orphan

pytestmark = pytest.mark.django_db

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
JANUARY, FEBRUARY = date(2027, 1, 1), date(2027, 2, 1)
PAYMENTS = "/children/subsidies/payments/"
EXPORT = "/children/subsidies/payments.xlsx"


def at(day: str, hour: str = "10:00"):
    return time_machine.travel(f"{day} {hour} +0800", tick=False)


def enrolled_orphan(
    director, supervisor, civil_affairs, *, name: str, birth_date: date
) -> Enrolment:
    """An orphan enrolled in the orphans' allowance on today's date (paid from next month)."""
    child = make_orphan(director, name=name, birth_date=birth_date)
    application = subsidy_apply(user=director, child=child, programme="orphan_allowance")
    subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
    return Enrolment.objects.get(application=application)


def set_standard(civil_affairs, month: date, amount: str = "1200") -> None:
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=month,
        amount=Decimal(amount),
    )


def ledger(enrolment: Enrolment) -> list[tuple[date, bool]]:
    """(month, back pay) of each entitlement written for the enrolment, by month."""
    return list(
        Entitlement.objects.filter(enrolment=enrolment)
        .order_by("month")
        .values_list("month", "back_pay")
    )


def run(day: str, month: date) -> int:
    """The nightly job on ``day`` (Asia/Shanghai) for ``month``."""
    with at(day, "01:30"):
        return entitlements_generate(month=month)


@pytest.fixture
def approved_in_october(director_a, supervisor, civil_affairs) -> Enrolment:
    """Approved on 20 October 2026: paid from November; no standard set for the county yet."""
    with at("2026-10-20"):
        return enrolled_orphan(
            director_a, supervisor, civil_affairs, name="孤儿甲", birth_date=date(2014, 5, 1)
        )


def test_a_standard_set_late_is_paid_once_as_back_pay(approved_in_october, civil_affairs):
    enrolment = approved_in_october
    # No standard for November and December: their runs write nothing.
    assert run("2026-11-01", NOVEMBER) == 0
    assert run("2026-12-01", DECEMBER) == 0
    # In January civil affairs enter the standard, in force from November.
    with at("2027-01-05"):
        set_standard(civil_affairs, NOVEMBER)
    assert run("2027-01-06", JANUARY) == 1  # the month's own entitlement
    assert ledger(enrolment) == [(NOVEMBER, True), (DECEMBER, True), (JANUARY, False)]
    assert set(Entitlement.objects.values_list("amount", flat=True)) == {Decimal("1200.00")}
    # Idempotent: the next night of January writes nothing, neither the month nor back pay.
    assert run("2027-01-07", JANUARY) == 0
    assert Entitlement.objects.count() == 3
    # February pays February, and no back pay again.
    assert run("2027-02-01", FEBRUARY) == 1
    assert ledger(enrolment) == [
        (NOVEMBER, True),
        (DECEMBER, True),
        (JANUARY, False),
        (FEBRUARY, False),
    ]
    # The back pay is on January's list (written in January), not on November's or December's,
    # and January's totals count it: every entitlement is on exactly one list.
    lists = {
        month: list(payments_for_user(user=civil_affairs, month=month))
        for month in (NOVEMBER, DECEMBER, JANUARY, FEBRUARY)
    }
    assert [(e.month, e.back_pay) for e in lists[JANUARY]] == [
        (NOVEMBER, True),
        (DECEMBER, True),
        (JANUARY, False),
    ]
    assert lists[NOVEMBER] == [] and lists[DECEMBER] == []
    assert [(e.month, e.back_pay) for e in lists[FEBRUARY]] == [(FEBRUARY, False)]
    totals = payment_totals(payments_for_user(user=civil_affairs, month=JANUARY))
    assert (totals.rows, totals.children, totals.total) == (3, 1, Decimal("3600.00"))
    assert (totals.back_pay_rows, totals.back_pay_total) == (2, Decimal("2400.00"))
    assert [(p.code, p.total) for p in totals.programmes] == [
        ("orphan_allowance", Decimal("3600.00"))
    ]


def test_back_pay_is_only_for_months_the_enrolment_was_in_force(
    approved_in_october, director_a, supervisor, civil_affairs
):
    """The job did not run in November and December although a standard was set all year: the
    January run pays those months back, from the start month on and up to the last month of an
    enrolment ended since, never before."""
    with at("2026-10-20"):
        set_standard(civil_affairs, date(2026, 1, 1))
        ended = enrolled_orphan(
            director_a, supervisor, civil_affairs, name="孤儿乙", birth_date=date(2013, 2, 1)
        )
    with at("2026-11-10"):  # adopted: November is the last month paid
        enrolment_end(user=civil_affairs, enrolment=ended, reason="adopted", note="")
    assert run("2027-01-02", JANUARY) == 1
    assert ledger(approved_in_october) == [(NOVEMBER, True), (DECEMBER, True), (JANUARY, False)]
    assert ledger(ended) == [(NOVEMBER, True)]
    assert not Entitlement.objects.filter(month__lt=NOVEMBER).exists()
    assert run("2027-01-03", JANUARY) == 0
    assert Entitlement.objects.count() == 4


def test_a_closed_file_gets_no_back_pay(approved_in_october, director_a, supervisor, civil_affairs):
    with at("2026-10-20"):
        closed = enrolled_orphan(
            director_a, supervisor, civil_affairs, name="孤儿丙", birth_date=date(2013, 2, 1)
        )
    assert run("2026-11-01", NOVEMBER) == 0
    with at("2026-12-10"):
        child_close(user=director_a, child=closed.child, reason="other", note="迁往外省亲属处")
        outbox.run_inline()  # the benefits end with the month of the closing
    closed.refresh_from_db()
    assert (closed.exit_reason, closed.end_month) == ("file_closed", DECEMBER)
    with at("2027-01-05"):
        set_standard(civil_affairs, NOVEMBER)
    assert run("2027-01-06", JANUARY) == 1
    assert ledger(approved_in_october) == [(NOVEMBER, True), (DECEMBER, True), (JANUARY, False)]
    assert ledger(closed) == []


def test_education_recorded_late_past_18_is_paid_once_as_back_pay(
    director_a, supervisor, civil_affairs
):
    """18 on 15 January 2027: paid to January; the file closes on the birthday. In April the
    director records full-time education for 2027: the benefit and the file re-open, and the
    April run pays February and March back."""
    with at("2026-11-23"):
        enrolment = enrolled_orphan(
            director_a, supervisor, civil_affairs, name="孤儿丁", birth_date=date(2009, 1, 15)
        )
        set_standard(civil_affairs, date(2026, 1, 1))
        outbox.run_inline()
    assert run("2026-12-01", DECEMBER) == 1
    assert run("2027-01-01", JANUARY) == 1
    assert children_age_out(on=date(2027, 1, 15)) == 1
    with at("2027-01-15", "02:00"):
        outbox.run_inline()
    enrolment.refresh_from_db()
    assert (enrolment.exit_reason, enrolment.end_month) == ("turned_18", JANUARY)
    assert run("2027-02-01", FEBRUARY) == 0
    assert run("2027-03-01", date(2027, 3, 1)) == 0
    with at("2027-04-10"):
        education_record_add(user=director_a, child=enrolment.child, year=2027, school="泾县中学")
    enrolment.refresh_from_db()
    assert enrolment.end_month is None and enrolment.child.status == "active"
    april, may = date(2027, 4, 1), date(2027, 5, 1)
    assert run("2027-04-11", april) == 1
    expected = [
        (DECEMBER, False),
        (JANUARY, False),
        (FEBRUARY, True),
        (date(2027, 3, 1), True),
        (april, False),
    ]
    assert ledger(enrolment) == expected
    assert run("2027-04-12", april) == 0
    assert run("2027-05-01", may) == 1
    assert ledger(enrolment) == [*expected, (may, False)]


def test_a_month_missed_in_a_year_of_education_past_18_is_paid_back(
    director_a, supervisor, civil_affairs
):
    """18 in March 2026, in full-time education all 2026. The December run did not happen; the
    January run, with no education recorded for 2027, ends the benefit with December (the last
    month of the education, not the birthday's) and pays December back."""
    with at("2025-11-20"):
        enrolment = enrolled_orphan(
            director_a, supervisor, civil_affairs, name="孤儿戊", birth_date=date(2008, 3, 10)
        )
        set_standard(civil_affairs, date(2025, 1, 1))
        education_record_add(user=director_a, child=enrolment.child, year=2026, school="泾县中学")
    months = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 12)]
    for month in months:
        assert run(f"{month:%Y-%m}-01", month) == 1
    assert run("2027-01-01", JANUARY) == 0
    enrolment.refresh_from_db()
    assert (enrolment.exit_reason, enrolment.end_month) == ("turned_18", DECEMBER)
    assert ledger(enrolment) == [*((m, False) for m in months), (DECEMBER, True)]
    assert run("2027-01-02", JANUARY) == 0
    assert len(ledger(enrolment)) == 13


def test_payment_page_and_bank_list_mark_the_back_pay(
    approved_in_october, client_for, civil_affairs
):
    enrolment = approved_in_october
    assert run("2026-12-01", DECEMBER) == 0
    with at("2027-01-05"):
        set_standard(civil_affairs, NOVEMBER, "1000")
    assert run("2027-01-06", JANUARY) == 1
    with at("2027-01-20"):
        client = client_for(civil_affairs)
        client.cookies["django_language"] = "en"  # the source strings, whatever the catalogue
        page = client.get(PAYMENTS, {"month": "2027-01"})
        assert page.status_code == 200
        totals = page.context["totals"]
        assert (totals.rows, totals.children, totals.total) == (3, 1, Decimal("3000.00"))
        assert (totals.back_pay_rows, totals.back_pay_total) == (2, Decimal("2000.00"))
        body = page.content.decode()
        for month in ("2026-11", "2026-12"):
            # once in the phones' list, once in the table
            assert body.count(f"Back pay {month}</span>") == 2
        assert body.count("Back pay 2027-01") == 0
        assert 'id="back-pay-total"' in body
        december = client.get(PAYMENTS, {"month": "2026-12"})
        assert december.context["totals"].rows == 0
        assert "Back pay" not in december.content.decode()
        export = client.get(EXPORT, {"month": "2027-01"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[-1] == "备注"
    month, amount, remark = header.index("月份"), header.index("金额（元）"), header.index("备注")
    assert [(row[month], row[amount], row[remark]) for row in rows] == [
        ("2026-11", 1000, "补发"),
        ("2026-12", 1000, "补发"),
        ("2027-01", 1000, None),
    ]
    assert {row[3] for row in rows} == {enrolment.child.name}
