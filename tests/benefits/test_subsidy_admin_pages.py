"""County civil affairs' benefit pages: the standards page (own area and inherited standards) and
the monthly payment list with the bank's .xlsx (scoped, full IDs and accounts, audited)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.models import AuditAction, AuditRecord, Role
from benefits import services
from benefits.models import Enrolment, SubsidyStandard
from benefits.services import entitlements_generate, subsidy_standard_set
from core import crypto

from ..conftest import COUNTY_A, COUNTY_B, PROVINCE, VILLAGE_1, VILLAGE_3, VILLAGE_B
from ..factories import UserFactory, bring_documents, make_child, make_id_number, make_orphan

pytestmark = pytest.mark.django_db

STANDARDS = "/children/subsidies/standards/"
PAYMENTS = "/children/subsidies/payments/"
EXPORT = "/children/subsidies/payments.xlsx"
DECEMBER = date(2026, 12, 1)
ACCOUNT = "6217000012345678"
HEADERS = [
    "序号",
    "乡镇（街道）",
    "村（社区）",
    "儿童姓名",
    "身份证号",
    "补贴项目",
    "月份",
    "金额（元）",
    "收款人",
    "银行账号",
    "备注",
]


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def provincial(areas):
    return UserFactory(username="province_ca", role=Role.CIVIL_AFFAIRS, area=areas[PROVINCE])


@pytest.fixture
def civil_affairs_b(areas):
    """Civil affairs of another county: county A's payments do not exist for them."""
    return UserFactory(username="civil_affairs_b", role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_B])


def apply(client, child, programme):
    return client.post(
        f"/api/v1/children/{child.pk}/subsidy-applications",
        {"programme": programme, "note": "申请"},
        content_type="application/json",
    )


def decide(client, application_id):
    return client.post(
        f"/api/v1/subsidy-applications/{application_id}/decisions",
        {"decision": "approve", "note": "材料齐全"},
        content_type="application/json",
    )


def enrol_via_api(api_client, child, programme, *, submitter, township, county) -> Enrolment:
    application_id = apply(api_client(submitter), child, programme).json()["id"]
    bring_documents(submitter, application_id)
    assert decide(api_client(township), application_id).json()["status"] == "township_approved"
    assert decide(api_client(county), application_id).json()["status"] == "approved"
    return Enrolment.objects.get(application_id=application_id)


def enrol(child, programme, *, submitter, township, county) -> Enrolment:
    """The same flow through the services, for the bulk of the query-count test."""
    application = services.subsidy_apply(user=submitter, child=child, programme=programme)
    bring_documents(submitter, application)
    services.subsidy_decide(user=township, application=application, decision="approve", note="")
    services.subsidy_decide(user=county, application=application, decision="approve", note="")
    return Enrolment.objects.get(application=application)


def set_standard(user, area_code, programme, month, amount):
    return subsidy_standard_set(
        user=user, area_code=area_code, programme=programme, month=month, amount=Decimal(amount)
    )


def in_force(response, programme):
    """The amount in force on the standards page for a programme, with whether it is inherited."""
    group = next(p for p in response.context["programmes"] if p.programme.code == programme)
    if group.in_force is None:
        return None
    return group.in_force.standard.amount, group.in_force.inherited


def workbook_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# --- Standards page ---------------------------------------------------------------------------


def test_standard_set_through_the_page_and_inheritance_shown(
    client_for, frozen, provincial, civil_affairs
):
    province_page = client_for(provincial).post(
        STANDARDS, {"programme": "orphan_allowance", "month": "2026-01", "amount": "1000"}
    )
    assert province_page.status_code == 302
    page = client_for(civil_affairs).get(STANDARDS)
    assert page.status_code == 200
    assert in_force(page, "orphan_allowance") == (Decimal("1000.00"), True)
    assert in_force(page, "minimum_living") is None
    body = page.content.decode()
    assert "孤儿基本生活费" in body and "安徽省" in body

    # The county's own standard overrides the province's from its month on.
    response = client_for(civil_affairs).post(
        STANDARDS, {"programme": "orphan_allowance", "month": "2026-11", "amount": "1200.50"}
    )
    assert response.status_code == 302 and response["Location"] == STANDARDS
    standard = SubsidyStandard.objects.get(area_id=COUNTY_A)
    assert (standard.programme, standard.effective_month, standard.amount, standard.set_by) == (
        "orphan_allowance",
        date(2026, 11, 1),
        Decimal("1200.50"),
        civil_affairs,
    )
    # A later standard is listed as scheduled and does not yet replace the one in force.
    client_for(civil_affairs).post(
        STANDARDS, {"programme": "orphan_allowance", "month": "2027-01", "amount": "1300"}
    )
    page = client_for(civil_affairs).get(STANDARDS)
    assert in_force(page, "orphan_allowance") == (Decimal("1200.50"), False)
    group = next(p for p in page.context["programmes"] if p.programme.code == "orphan_allowance")
    assert [
        (r.standard.effective_month, r.inherited, r.in_force, r.scheduled) for r in group.rows
    ] == [
        (date(2027, 1, 1), False, False, True),
        (date(2026, 11, 1), False, True, False),
        (date(2026, 1, 1), True, False, False),
    ]
    # The same month again changes the standard rather than adding one.
    client_for(civil_affairs).post(
        STANDARDS, {"programme": "orphan_allowance", "month": "2026-11", "amount": "1250"}
    )
    assert SubsidyStandard.objects.filter(area_id=COUNTY_A).count() == 2
    page = client_for(civil_affairs).get(STANDARDS)
    assert in_force(page, "orphan_allowance") == (Decimal("1250.00"), False)
    # The province still sees only its own standard: a county's override is not theirs.
    page = client_for(provincial).get(STANDARDS)
    assert in_force(page, "orphan_allowance") == (Decimal("1000.00"), False)


def test_page_shows_the_standard_the_ledger_pays(
    api_client, client_for, frozen, provincial, director_a, supervisor, civil_affairs
):
    child = make_orphan(director_a, name="孤儿甲", birth_date=date(2014, 5, 1))
    enrol_via_api(
        api_client,
        child,
        "orphan_allowance",
        submitter=director_a,
        township=supervisor,
        county=civil_affairs,
    )
    set_standard(provincial, PROVINCE, "orphan_allowance", date(2026, 1, 1), "1000")
    set_standard(civil_affairs, COUNTY_A, "orphan_allowance", DECEMBER, "1150")
    frozen.move_to("2026-12-02 09:00 +0800")
    entitlements_generate(month=DECEMBER)
    page = client_for(civil_affairs).get(STANDARDS)
    paid = Enrolment.objects.get().entitlements.get(month=DECEMBER).amount
    assert in_force(page, "orphan_allowance") == (paid, False) == (Decimal("1150.00"), False)


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"amount": "-5"}, "amount", "标准不能为负数"),
        ({"amount": "20000000"}, "amount", "标准过大，请核对"),
        ({"amount": "abc"}, "amount", "输入一个数字。"),
        ({"amount": ""}, "amount", "这个字段是必填项。"),
        ({"month": "2026-13"}, "month", "输入一个有效的日期。"),
    ],
)
def test_bad_input_shows_the_chinese_message_and_saves_nothing(
    client_for, frozen, civil_affairs, posted, field, message
):
    data = {"programme": "orphan_allowance", "month": "2026-12", "amount": "1000", **posted}
    response = client_for(civil_affairs).post(STANDARDS, data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    # crispy renders the message under its own field
    assert f'id="error_1_id_{field}"' in response.content.decode()
    assert message in response.content.decode()
    assert not SubsidyStandard.objects.exists()


def test_standards_page_roles(
    client_for, frozen, director_a, supervisor, viewer, outsider, admin_user
):
    data = {"programme": "orphan_allowance", "month": "2026-12", "amount": "1000"}
    for user in (director_a, supervisor, viewer, outsider):
        assert client_for(user).get(STANDARDS).status_code == 403
        assert client_for(user).post(STANDARDS, data).status_code == 403
    assert not SubsidyStandard.objects.exists()
    # A superuser is the system administrator: benefits are money and case data, not theirs.
    assert client_for(admin_user).get(STANDARDS).status_code == 403
    assert client_for(admin_user).post(STANDARDS, data).status_code == 403
    assert not SubsidyStandard.objects.exists()


# --- Monthly payment list ---------------------------------------------------------------------


@pytest.fixture
def december_ledger(
    api_client,
    frozen,
    areas,
    provincial,
    director_a,
    supervisor,
    other_supervisor,
    civil_affairs,
    civil_affairs_b,
):
    """Two children of county A: an orphan in V1 (also in education aid, with a payee account) and
    a child in V3 with education aid only; one child in county B. December's ledger written."""
    orphan = make_orphan(
        director_a,
        name="孤儿甲",
        birth_date=date(2014, 5, 1),
        id_number=make_id_number("2014-05-01", area="341823", seq=31),
    )
    director_3 = UserFactory(username="director_3", role=Role.DIRECTOR, area=areas[VILLAGE_3])
    pupil = make_child(director_3, name="章小雨", birth_date=date(2016, 3, 9), gender="female")
    orphan_allowance = enrol_via_api(
        api_client,
        orphan,
        "orphan_allowance",
        submitter=director_a,
        township=supervisor,
        county=civil_affairs,
    )
    enrol_via_api(
        api_client,
        orphan,
        "education_aid",
        submitter=director_a,
        township=supervisor,
        county=civil_affairs,
    )
    enrol_via_api(
        api_client,
        pupil,
        "education_aid",
        submitter=director_3,
        township=other_supervisor,
        county=civil_affairs,
    )
    services.enrolment_set_payee(
        user=civil_affairs,
        enrolment=orphan_allowance,
        name="查大山",
        account="6217 0000 1234 5678",  # spaces as typed from the bank card
    )
    director_b = UserFactory(username="director_vb", role=Role.DIRECTOR, area=areas[VILLAGE_B])
    supervisor_b = UserFactory(
        username="supervisor_b", role=Role.SUPERVISOR, area=areas[VILLAGE_B].parent
    )
    elsewhere = make_child(director_b, name="城东娃")
    enrol(
        elsewhere,
        "education_aid",
        submitter=director_b,
        township=supervisor_b,
        county=civil_affairs_b,
    )
    set_standard(provincial, PROVINCE, "orphan_allowance", date(2026, 1, 1), "1000")
    set_standard(provincial, PROVINCE, "education_aid", date(2026, 1, 1), "62.5")
    set_standard(civil_affairs, COUNTY_A, "orphan_allowance", DECEMBER, "1200")
    frozen.move_to("2026-12-02 09:00 +0800")
    assert entitlements_generate(month=DECEMBER) == 4
    return {"orphan": orphan, "pupil": pupil, "elsewhere": elsewhere}


def test_payment_list_totals_and_rows(client_for, december_ledger, frozen, civil_affairs):
    # No month given: the current month in Asia/Shanghai, which starts 8 hours before UTC's.
    frozen.move_to("2026-11-30 23:59 +0800")
    assert client_for(civil_affairs).get(PAYMENTS).context["month"] == date(2026, 11, 1)
    frozen.move_to("2026-12-01 00:01 +0800")
    response = client_for(civil_affairs).get(PAYMENTS)
    assert response.status_code == 200
    assert response.context["month"] == DECEMBER
    totals = response.context["totals"]
    assert (totals.rows, totals.children, totals.total) == (3, 2, Decimal("1325.00"))
    assert totals.without_account == 2
    assert [(p.code, p.children, p.total) for p in totals.programmes] == [
        ("orphan_allowance", 1, Decimal("1200.00")),
        ("education_aid", 2, Decimal("125.00")),
    ]
    body = response.content.decode()
    assert "桃花潭镇" in body and "云岭镇" in body and "章小雨" in body
    assert "6217 **** 5678" in body and ACCOUNT not in body
    assert "城东娃" not in body
    november = client_for(civil_affairs).get(PAYMENTS, {"month": "2026-11"})
    assert november.context["totals"].rows == 0


def test_xlsx_has_the_rows_full_ids_and_accounts_and_is_audited(
    client_for, december_ledger, civil_affairs
):
    response = client_for(civil_affairs).get(EXPORT, {"month": "2026-12"})
    assert 'filename="subsidy-payments-202612.xlsx"' in response["Content-Disposition"]
    rows = workbook_rows(response)
    assert rows[0] == HEADERS
    orphan_id = make_id_number("2014-05-01", area="341823", seq=31)
    pupil_id = crypto.decrypt(december_ledger["pupil"].id_number_encrypted)
    orphan, aid = "孤儿基本生活费", "教育资助（两免一补）"
    assert [row[-1] for row in rows[1:]] == [None, None, None]  # 备注: no back pay
    assert [row[:-1] for row in rows[1:]] == [
        [1, "桃花潭镇", "查济村", "孤儿甲", orphan_id, orphan, "2026-12", 1200, "查大山", ACCOUNT],
        [2, "桃花潭镇", "查济村", "孤儿甲", orphan_id, aid, "2026-12", 62.5, None, None],
        [3, "云岭镇", "章渡村", "章小雨", pupil_id, aid, "2026-12", 62.5, None, None],
    ]
    audit = AuditRecord.objects.filter(action=AuditAction.EXPORT, object_type="child")
    assert audit.count() == 3
    assert sorted(audit.values_list("object_id", "area_code")) == sorted(
        [
            (str(december_ledger["orphan"].pk), VILLAGE_1),
            (str(december_ledger["orphan"].pk), VILLAGE_1),
            (str(december_ledger["pupil"].pk), VILLAGE_3),
        ]
    )
    assert {r.user_id for r in audit} == {civil_affairs.pk}
    assert {r.detail["month"] for r in audit} == {"2026-12"}


def test_no_payment_list_for_a_superuser(client_for, december_ledger, admin_user):
    """Issue 14, M1: the superuser once acted as county civil affairs everywhere."""
    client = client_for(admin_user)
    assert client.get(PAYMENTS, {"month": "2026-12"}).status_code == 403
    response = client.get(EXPORT, {"month": "2026-12"})
    assert response.status_code == 403
    assert not AuditRecord.objects.filter(action=AuditAction.EXPORT).exists()


def test_payment_pages_are_for_civil_affairs_only(
    client_for, december_ledger, director_a, supervisor, viewer, outsider
):
    for user in (director_a, supervisor, viewer, outsider):
        assert client_for(user).get(PAYMENTS, {"month": "2026-12"}).status_code == 403
        assert client_for(user).get(EXPORT, {"month": "2026-12"}).status_code == 403
    assert not AuditRecord.objects.filter(action=AuditAction.EXPORT).exists()


def test_civil_affairs_of_another_county_see_none_of_county_a(
    client_for, december_ledger, civil_affairs_b
):
    response = client_for(civil_affairs_b).get(PAYMENTS, {"month": "2026-12"})
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals.rows, totals.children, totals.total) == (1, 1, Decimal("62.50"))
    body = response.content.decode()
    assert "城东娃" in body
    assert "孤儿甲" not in body and "章小雨" not in body and "桃花潭镇" not in body
    rows = workbook_rows(client_for(civil_affairs_b).get(EXPORT, {"month": "2026-12"}))
    assert [row[3] for row in rows[1:]] == ["城东娃"]
    assert not any("孤儿甲" in str(cell) for row in rows for cell in row)
    audit = AuditRecord.objects.filter(action=AuditAction.EXPORT)
    assert list(audit.values_list("object_id", flat=True)) == [str(december_ledger["elsewhere"].pk)]
    # Standards: the shared province's are inherited, county A's own are not shown.
    standards = client_for(civil_affairs_b).get(STANDARDS)
    assert in_force(standards, "orphan_allowance") == (Decimal("1000.00"), True)


# --- Query counts -----------------------------------------------------------------------------


def _add_enrolled(count, *, first, director_a, director_b, supervisor, civil_affairs):
    for number in range(first, first + count):
        director = director_a if number % 2 else director_b
        child = make_child(director, name=f"儿童{number:02d}", birth_date=date(2014, 1, 1))
        enrolment = enrol(
            child, "education_aid", submitter=director, township=supervisor, county=civil_affairs
        )
        if number % 3 == 0:
            services.enrolment_set_payee(
                user=civil_affairs, enrolment=enrolment, name="家长", account="6217000012340000"
            )
    entitlements_generate(month=DECEMBER)


# Measured: session, user, area, notifications and the session save are per request; the rest
# are the page's own (standards: 2; payments: totals 2, count 1, rows 1; export: rows 1, audit 1).
MAX_QUERIES = {STANDARDS: 9, PAYMENTS: 11, EXPORT: 7}


def test_query_count_does_not_grow_with_the_rows(
    client_for,
    django_assert_max_num_queries,
    frozen,
    provincial,
    director_a,
    director_b,
    supervisor,
    civil_affairs,
):
    from django.db import connection

    set_standard(provincial, PROVINCE, "education_aid", date(2026, 1, 1), "62.5")
    people = {
        "director_a": director_a,
        "director_b": director_b,
        "supervisor": supervisor,
        "civil_affairs": civil_affairs,
    }
    client = client_for(civil_affairs)
    measured = {}
    for first, count in ((0, 3), (3, 27)):
        _add_enrolled(count, first=first, **people)
        total = first + count
        measured[total] = {}
        for path in (STANDARDS, PAYMENTS, EXPORT):
            with (
                django_assert_max_num_queries(MAX_QUERIES[path]),
                CaptureQueriesContext(connection) as queries,
            ):
                response = client.get(path, {"month": "2026-12"})
            assert response.status_code == 200
            measured[total][path] = len(queries)
        assert len(workbook_rows(response)) == total + 1
        assert client.get(PAYMENTS, {"month": "2026-12"}).context["totals"].rows == total
    print(f"queries per page with 3 and 30 children: {measured}")
    assert measured[3] == measured[30]
