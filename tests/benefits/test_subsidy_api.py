"""api.md "Subsidies" beyond apply and decide: the scoped application list and detail, resubmission,
evidence, enrolments with their ledger, exits, reviews, full-time education and standards."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from benefits.models import Enrolment, Entitlement, SubsidyApplication
from benefits.services import entitlements_generate, subsidy_apply
from children.services import family_member_update

from ..conftest import COUNTY_A, PROVINCE, TOWNSHIP_1, VILLAGE_1, VILLAGE_2
from ..factories import UserFactory, make_child, make_orphan
from .test_subsidies import apply, decide

pytestmark = pytest.mark.django_db

# A PNG header (1×1 pixel: the type and the pixel count are read from it) and filler.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\x00" * 50
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


def _orphan(director, name: str = "孤儿甲", birth_date: date = date(2014, 5, 1)):
    return make_orphan(director, name=name, birth_date=birth_date)


@pytest.fixture
def orphan(frozen, director_a):
    return _orphan(director_a)


@pytest.fixture
def reporter_t1(areas):
    """A mandatory reporter inside township 1: in scope, but may not read benefits (403)."""
    return UserFactory(username="reporter_t1", role=Role.REPORTER, area=areas[TOWNSHIP_1])


def post(client, path, body=None):
    return client.post(f"/api/v1{path}", body or {}, content_type="application/json")


def get(client, path, **params):
    return client.get(f"/api/v1{path}", params)


def _approved(api_client, child, director, supervisor, civil_affairs, programme="orphan_allowance"):
    application_id = apply(api_client(director), child, programme=programme).json()["id"]
    assert decide(api_client(supervisor), application_id).status_code == 200
    assert decide(api_client(civil_affairs), application_id).status_code == 200
    return Enrolment.objects.get(application_id=application_id)


def _standard(client, month, amount, programme="orphan_allowance", area_code=COUNTY_A):
    return post(
        client,
        "/subsidy-standards",
        {"area_code": area_code, "programme": programme, "month": month, "amount": amount},
    )


# --- Applications ---------------------------------------------------------------------------------


def test_application_list_is_scoped_filtered_and_oldest_first(
    api_client, frozen, director_a, director_b, supervisor, civil_affairs, outsider, reporter_t1
):
    first = apply(api_client(director_a), _orphan(director_a)).json()["id"]
    frozen.shift(60)
    low_income = make_child(director_a, name="低保户", birth_date=date(2012, 1, 1))
    second = apply(api_client(director_a), low_income, programme="minimum_living").json()["id"]
    frozen.shift(60)
    third = apply(api_client(director_b), _orphan(director_b, name="孤儿乙")).json()["id"]
    decide(api_client(supervisor), second)

    body = get(api_client(civil_affairs), "/subsidy-applications").json()
    assert body["count"] == 3 and [a["id"] for a in body["items"]] == [first, second, third]
    row = body["items"][1]
    assert row["status"] == "township_approved" and row["programme"] == "minimum_living"
    assert row["child_name"] == "低保户" and row["submitted_by"] == "director_a"
    assert row["notice_ends"] == "2026-11-30"  # the 7-day public notice
    mine = get(api_client(director_a), "/subsidy-applications").json()
    assert [a["id"] for a in mine["items"]] == [first, second]
    client = api_client(supervisor)
    assert get(client, "/subsidy-applications", status="submitted").json()["count"] == 2
    assert get(client, "/subsidy-applications", programme="minimum_living").json()["count"] == 1
    assert get(client, "/subsidy-applications", area=VILLAGE_2).json()["items"][0]["id"] == third
    page = get(client, "/subsidy-applications", page=2, page_size=1).json()
    assert page["count"] == 3 and [a["id"] for a in page["items"]] == [second]
    assert get(client, "/subsidy-applications", page_size=201).status_code == 422
    assert get(client, "/subsidy-applications", status="paid").status_code == 422

    assert get(api_client(outsider), "/subsidy-applications").json() == {"items": [], "count": 0}
    assert get(api_client(outsider), "/subsidy-applications", area=VILLAGE_1).status_code == 404
    assert get(api_client(reporter_t1), "/subsidy-applications").status_code == 403


def test_application_detail_has_decisions_evidence_and_current_reasons(
    api_client, orphan, director_a, supervisor, outsider, reporter_t1, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    application_id = apply(api_client(director_a), orphan).json()["id"]
    decide(api_client(supervisor), application_id, "return", note="请补充死亡证明")
    upload = SimpleUploadedFile("death.pdf", PDF, content_type="application/pdf")
    api_client(director_a).post(
        f"/api/v1/subsidy-applications/{application_id}/evidence",
        {"file": upload, "description": "父亲死亡证明"},
    )

    body = get(api_client(supervisor), f"/subsidy-applications/{application_id}").json()
    assert body["id"] == application_id and body["status"] == "returned"
    assert body["programme"] == "orphan_allowance" and body["reasons"] == []
    assert [
        (d["decision"], d["from_status"], d["to_status"], d["by"]) for d in body["decisions"]
    ] == [
        ("submit", "", "submitted", "director_a"),
        ("return", "submitted", "returned", "supervisor"),
    ]
    assert body["decisions"][1]["note"] == "请补充死亡证明" and body["decisions"][1]["at"]
    (evidence,) = body["evidence"]
    assert evidence["description"] == "父亲死亡证明"
    assert evidence["content_type"] == "application/pdf" and evidence["uploaded_at"]

    family_member_update(
        user=director_a,
        member=orphan.family_members.get(relation="mother"),
        changes={"status": "at_home", "has_guardian_capacity": True},
    )
    body = get(api_client(supervisor), f"/subsidy-applications/{application_id}").json()
    assert body["reasons"] == ["母亲未死亡或未宣告失踪"]

    assert get(api_client(outsider), f"/subsidy-applications/{application_id}").status_code == 404
    assert get(api_client(supervisor), "/subsidy-applications/not-a-uuid").status_code == 404
    assert (
        get(api_client(reporter_t1), f"/subsidy-applications/{application_id}").status_code == 403
    )


def test_resubmission_then_a_second_township_decision(
    api_client, orphan, director_a, supervisor, civil_affairs, outsider
):
    application_id = apply(api_client(director_a), orphan).json()["id"]
    path = f"/subsidy-applications/{application_id}/resubmit"
    assert post(api_client(director_a), path).status_code == 409  # not returned yet
    decide(api_client(supervisor), application_id, "return", note="请补充死亡证明")

    assert post(api_client(outsider), path).status_code == 404
    assert post(api_client(civil_affairs), path).status_code == 403  # civil affairs do not submit
    response = post(api_client(director_a), path, {"note": "已补充死亡证明"})
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert post(api_client(director_a), path).status_code == 409  # submitted, not returned

    again = decide(api_client(supervisor), application_id)
    assert again.status_code == 200 and again.json()["status"] == "township_approved"
    decisions = get(api_client(supervisor), f"/subsidy-applications/{application_id}").json()[
        "decisions"
    ]
    assert [(d["decision"], d["by"], d["note"]) for d in decisions] == [
        ("submit", "director_a", "申请孤儿基本生活费"),
        ("return", "supervisor", "请补充死亡证明"),
        ("resubmit", "director_a", "已补充死亡证明"),
        ("approve", "supervisor", "材料齐全"),
    ]


def test_the_resubmitter_cannot_decide(
    api_client, orphan, director_a, supervisor, civil_affairs, viewer
):
    application_id = apply(api_client(director_a), orphan).json()["id"]
    decide(api_client(supervisor), application_id)
    decide(api_client(civil_affairs), application_id, "return", note="请补充户籍证明")
    path = f"/subsidy-applications/{application_id}/resubmit"
    assert post(api_client(viewer), path).status_code == 403
    assert post(api_client(supervisor), path).json()["status"] == "submitted"
    assert decide(api_client(supervisor), application_id).status_code == 403


def test_evidence_is_checked_by_its_bytes(
    api_client, orphan, director_a, civil_affairs, viewer, outsider, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    application_id = apply(api_client(director_a), orphan).json()["id"]
    path = f"/api/v1/subsidy-applications/{application_id}/evidence"

    def upload(user, name, content, description="死亡证明"):
        return api_client(user).post(
            path, {"file": SimpleUploadedFile(name, content), "description": description}
        )

    png = upload(director_a, "death.png", PNG)
    assert png.status_code == 201 and png.json()["content_type"] == "image/png"
    pdf = upload(civil_affairs, "court.pdf", PDF, "宣告失踪判决书")
    assert pdf.status_code == 201 and pdf.json()["content_type"] == "application/pdf"
    renamed = upload(director_a, "setup.pdf", EXE)
    assert renamed.status_code == 422
    assert renamed.json()["detail"][0]["loc"] == ["body", "file"]
    assert upload(director_a, "death.png", PNG, description=" ").status_code == 422
    assert api_client(director_a).post(path, {"description": "无文件"}).status_code == 422
    assert upload(viewer, "death.png", PNG).status_code == 403
    assert upload(outsider, "death.png", PNG).status_code == 404
    stored = SubsidyApplication.objects.get(pk=application_id).evidence.all()
    assert [e.content_type for e in stored] == ["image/png", "application/pdf"]
    assert all(
        e.file.name.endswith((".png", ".pdf")) and "death" not in e.file.name for e in stored
    )


# --- Enrolments and the ledger --------------------------------------------------------------------


def test_enrolments_with_their_ledger(
    api_client,
    orphan,
    director_a,
    supervisor,
    civil_affairs,
    outsider,
    reporter_t1,
    django_assert_max_num_queries,
):
    enrolment = _approved(api_client, orphan, director_a, supervisor, civil_affairs)
    _approved(api_client, orphan, director_a, supervisor, civil_affairs, "temporary_assistance")
    _standard(api_client(civil_affairs), "2026-01-01", "1350.00")
    _standard(api_client(civil_affairs), "2026-01-01", "800", "temporary_assistance")
    entitlements_generate(month=date(2026, 12, 1))
    entitlements_generate(month=date(2027, 1, 1))

    client = api_client(director_a)
    # The token and its stamp, the child, the enrolments, their ledgers, one audit INSERT.
    with django_assert_max_num_queries(6):
        body = get(client, f"/children/{orphan.pk}/enrolments").json()
    assert body["count"] == 2
    one_off, item = sorted(body["items"], key=lambda e: e["programme"] == "orphan_allowance")
    assert one_off["exit_reason"] == "one_off"
    assert one_off["entitlements"] == [{"month": "2026-12-01", "amount": "800.00"}]
    assert item["id"] == str(enrolment.pk) and item["programme"] == "orphan_allowance"
    assert item["start_month"] == "2026-12-01" and item["end_month"] is None
    assert item["exit_reason"] == "" and item["end_reason"] == ""
    assert item["next_review_on"] == "2027-05-25"
    assert sorted((e["month"], e["amount"]) for e in item["entitlements"]) == [
        ("2026-12-01", "1350.00"),
        ("2027-01-01", "1350.00"),
    ]
    assert get(api_client(outsider), f"/children/{orphan.pk}/enrolments").status_code == 404
    assert get(api_client(reporter_t1), f"/children/{orphan.pk}/enrolments").status_code == 403


def test_exit_records_reason_who_and_when_and_later_ledger_runs_skip_it(
    api_client, orphan, director_a, supervisor, civil_affairs, outsider, frozen
):
    enrolment = _approved(api_client, orphan, director_a, supervisor, civil_affairs)
    _standard(api_client(civil_affairs), "2026-01-01", "1350.00")
    entitlements_generate(month=date(2026, 12, 1))
    frozen.move_to("2026-12-10 09:00 +0800")
    path = f"/enrolments/{enrolment.pk}/exit"
    body = {"reason": "moved_away", "note": "随亲属迁往江苏省苏州市", "on": "2026-12-08"}
    assert post(api_client(outsider), path, body).status_code == 404
    assert post(api_client(director_a), path, body).status_code == 403  # county decides exits
    assert post(api_client(civil_affairs), path, {"reason": "one_off"}).status_code == 422
    future = post(api_client(civil_affairs), path, {**body, "on": "2026-12-11"})
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "on"]
    assert post(api_client(civil_affairs), path, {"reason": "other"}).status_code == 422

    response = post(api_client(civil_affairs), path, body)
    assert response.status_code == 200
    ended = response.json()
    assert ended["end_month"] == "2026-12-01" and ended["exit_reason"] == "moved_away"
    assert ended["end_reason"] == "随亲属迁往江苏省苏州市"
    assert ended["ended_on"] == "2026-12-08" and ended["ended_by"] == "civil_affairs"
    assert ended["next_review_on"] is None
    assert post(api_client(civil_affairs), path, body).status_code == 409  # already ended

    assert entitlements_generate(month=date(2027, 1, 1)) == 0
    assert entitlements_generate(month=date(2027, 2, 1)) == 0
    assert list(Entitlement.objects.values_list("month", flat=True)) == [date(2026, 12, 1)]
    detail = get(api_client(civil_affairs), f"/subsidy-applications/{enrolment.application_id}")
    exit_decision = detail.json()["decisions"][-1]
    assert (exit_decision["decision"], exit_decision["by"]) == ("exit", "civil_affairs")


def test_review(
    api_client, orphan, director_a, supervisor, civil_affairs, viewer, outsider, frozen
):
    enrolment = _approved(api_client, orphan, director_a, supervisor, civil_affairs)
    frozen.move_to("2027-05-20 09:00 +0800")
    path = f"/enrolments/{enrolment.pk}/review"
    assert post(api_client(outsider), path).status_code == 404
    assert post(api_client(viewer), path).status_code == 403
    response = post(api_client(director_a), path, {"note": "入户核实，仍符合条件"})
    assert response.status_code == 200
    assert response.json()["next_review_on"] == "2027-11-19"  # 183 days on
    enrolment.refresh_from_db()
    assert enrolment.last_reviewed_on == date(2027, 5, 20)
    post(api_client(civil_affairs), f"/enrolments/{enrolment.pk}/exit", {"reason": "adopted"})
    assert post(api_client(director_a), path).status_code == 409


def test_temporary_assistance_is_paid_once(
    api_client, frozen, director_a, supervisor, civil_affairs
):
    child = make_child(director_a, name="临时救助", birth_date=date(2016, 3, 1))
    assert _standard(api_client(civil_affairs), "2026-01-01", "1000", "temporary_assistance")
    enrolment = _approved(
        api_client, child, director_a, supervisor, civil_affairs, "temporary_assistance"
    )
    assert (enrolment.start_month, enrolment.end_month) == (date(2026, 12, 1), date(2026, 12, 1))
    assert enrolment.exit_reason == "one_off"
    for month in range(1, 7):
        entitlements_generate(month=date(2026 + (month + 10) // 12, (month + 10) % 12 + 1, 1))
    assert list(Entitlement.objects.values_list("month", "amount")) == [
        (date(2026, 12, 1), Decimal("1000.00"))
    ]
    exit_path = f"/enrolments/{enrolment.pk}/exit"
    assert post(api_client(civil_affairs), exit_path, {"reason": "moved_away"}).status_code == 409


def test_the_18th_birthday_ends_the_benefit_unless_in_full_time_education(
    api_client, frozen, director_a, supervisor, civil_affairs, viewer, outsider
):
    child = _orphan(director_a, name="将满18岁", birth_date=date(2009, 1, 15))
    enrolment = _approved(api_client, child, director_a, supervisor, civil_affairs)
    _standard(api_client(civil_affairs), "2026-01-01", "1350.00")
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        entitlements_generate(month=month)
    assert list(Entitlement.objects.values_list("month", flat=True)) == [
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    enrolment.refresh_from_db()
    assert enrolment.exit_reason == "turned_18" and enrolment.end_month == date(2027, 1, 1)

    path = f"/children/{child.pk}/education-records"
    record = {"year": 2027, "school": "泾县中学"}
    assert post(api_client(outsider), path, record).status_code == 404
    assert post(api_client(viewer), path, record).status_code == 403
    assert post(api_client(director_a), path, {**record, "year": 2030}).status_code == 422
    assert post(api_client(director_a), path, {**record, "school": ""}).status_code == 422
    response = post(api_client(director_a), path, record)
    assert response.status_code == 201 and response.json()["year"] == 2027
    enrolment.refresh_from_db()
    assert enrolment.end_month is None and enrolment.exit_reason == ""

    entitlements_generate(month=date(2027, 2, 1))
    assert list(Entitlement.objects.values_list("month", flat=True)) == [
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    listed = get(api_client(director_a), f"/children/{child.pk}/enrolments").json()["items"][0]
    assert listed["end_month"] is None and len(listed["entitlements"]) == 3


# --- Standards ------------------------------------------------------------------------------------


def test_a_standard_change_mid_year_changes_that_month_on(
    api_client, orphan, director_a, supervisor, civil_affairs
):
    _approved(api_client, orphan, director_a, supervisor, civil_affairs)
    january = _standard(api_client(civil_affairs), "2027-01-01", "1200")
    assert january.status_code == 201 and january.json()["amount"] == "1200.00"
    july = _standard(api_client(civil_affairs), "2027-07-01", "1350.50")
    assert july.status_code == 201 and july.json()["set_by"] == "civil_affairs"
    for month in (6, 7):
        entitlements_generate(month=date(2027, month, 1))
    # January to May, never run, are written by June's run as back pay (test_arrears.py).
    assert list(Entitlement.objects.filter(back_pay=False).values_list("month", "amount")) == [
        (date(2027, 6, 1), Decimal("1200.00")),
        (date(2027, 7, 1), Decimal("1350.50")),
    ]


def test_standards_are_scoped_and_set_by_civil_affairs_only(
    api_client, frozen, director_a, civil_affairs, viewer, outsider, reporter_t1
):
    provincial = UserFactory(username="prov", role=Role.CIVIL_AFFAIRS, area_id=PROVINCE)
    assert _standard(api_client(provincial), "2026-01-01", "1100", area_code=PROVINCE)
    assert _standard(api_client(civil_affairs), "2026-01-01", "1350").status_code == 201
    replaced = _standard(api_client(civil_affairs), "2026-01-01", "1400")
    assert replaced.status_code == 201  # the same month again replaces the amount

    listed = get(api_client(director_a), "/subsidy-standards").json()  # inherited by the village
    assert [(s["area_code"], s["amount"]) for s in listed["items"]] == [
        (PROVINCE, "1100.00"),
        (COUNTY_A, "1400.00"),
    ]
    assert listed["items"][1]["area_name"] == "泾县" and listed["items"][1]["month"] == "2026-01-01"
    assert get(api_client(viewer), "/subsidy-standards", area=COUNTY_A).json()["count"] == 2
    assert get(api_client(outsider), "/subsidy-standards", area=COUNTY_A).status_code == 404
    assert get(api_client(outsider), "/subsidy-standards").json()["items"][0]["area_code"] == (
        PROVINCE
    )
    assert get(api_client(reporter_t1), "/subsidy-standards").status_code == 403

    assert _standard(api_client(outsider), "2026-01-01", "1").status_code == 404
    assert _standard(
        api_client(director_a), "2026-01-01", "1", area_code=VILLAGE_1
    ).status_code == (403)
    assert _standard(api_client(viewer), "2026-01-01", "1").status_code == 403
    mid_month = _standard(api_client(civil_affairs), "2027-07-15", "1500")
    assert mid_month.status_code == 422 and mid_month.json()["detail"][0]["loc"][-1] == "month"
    assert _standard(api_client(civil_affairs), "2027-07-01", "-1").status_code == 422
    assert (
        _standard(api_client(civil_affairs), "2027-07-01", "1", area_code=TOWNSHIP_1).status_code
        == 422
    )


# --- Query counts ---------------------------------------------------------------------------------


def _temporary_applications(director, count: int) -> None:
    for n in range(count):
        child = make_child(director, name=f"儿童{n}", birth_date=date(2015, 1, 1))
        subsidy_apply(user=director, child=child, programme="temporary_assistance")


@pytest.mark.parametrize("count", [3, 20])
def test_lists_run_a_constant_number_of_queries(
    api_client, frozen, director_a, civil_affairs, django_assert_max_num_queries, count
):
    _temporary_applications(director_a, count)
    _standard(api_client(civil_affairs), "2026-01-01", "1000", "temporary_assistance")
    for month in range(2, 2 + count):
        _standard(api_client(civil_affairs), f"{2026 + month // 12}-{month % 12 + 1:02d}-01", "1")
    client = api_client(civil_affairs)
    # The token and its last-used stamp, the page, the count and one audit INSERT.
    with django_assert_max_num_queries(5):
        body = get(client, "/subsidy-applications", page_size=200).json()
    assert body["count"] == count and len(body["items"]) == count
    with django_assert_max_num_queries(4):
        body = get(client, "/subsidy-standards", page_size=200).json()
    assert body["count"] == count + 1
