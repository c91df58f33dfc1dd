"""Benefit pages (issue 7 §6): apply from the file with the live check, the application page with
evidence and decisions, resubmission, exits and reviews, full-time education, scope everywhere."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accounts import outbox
from accounts.models import AuditRecord
from benefits.models import (
    ApplicationStatus,
    EducationRecord,
    Enrolment,
    Entitlement,
    SubsidyApplication,
    SubsidyEvidence,
)
from benefits.services import (
    entitlements_generate,
    subsidy_apply,
    subsidy_decide,
    subsidy_standard_set,
)
from children.services import child_close
from core import crypto

from ..conftest import COUNTY_A
from ..factories import bring_documents, make_orphan

pytestmark = pytest.mark.django_db

QUEUE_QUERIES = 10
BENEFITS_QUERIES = 20
# A PNG header (1×1 pixel: the type and the pixel count are read from it) and filler.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\x00" * 50
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


def _orphan(director, name="孤儿乙", birth_date=date(2014, 5, 1)):
    return make_orphan(director, parent_names=("张大", "李二"), name=name, birth_date=birth_date)


@pytest.fixture
def orphan(frozen, director_a):
    return _orphan(director_a)


@pytest.fixture
def submitted(orphan, director_a):
    return subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance", note="材料")


def _enrol(child, director, supervisor, civil_affairs, programme="orphan_allowance"):
    application = subsidy_apply(user=director, child=child, programme=programme)
    bring_documents(director, application)
    subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
    return Enrolment.objects.get(application=application)


def test_benefits_page_prefills_and_explains(client_for, orphan, director_a):
    response = client_for(director_a).get(f"/children/{orphan.pk}/subsidies/")
    page = response.content.decode()
    assert response.status_code == 200
    # Pre-filled: the first programme the child qualifies for, and the parents' situation.
    assert '<option value="orphan_allowance" selected>' in page
    note = page[page.index('name="note"') : page.index("</textarea>")]
    assert "张大" in note and "李二" in note
    # Every programme with its reasons and what evidence would change them.
    assert "康复救助限0至6岁残疾儿童" in page and "7周岁以上可申请医疗救助或临时救助" in page
    assert AuditRecord.objects.filter(object_id=str(orphan.pk), action="view").exists()


def test_live_check_of_one_programme(client_for, orphan, director_a, outsider):
    client = client_for(director_a)
    eligible = client.get(f"/children/{orphan.pk}/subsidies/check/?programme=orphan_allowance")
    assert eligible.status_code == 200 and "alert-success" in eligible.content.decode()
    refused = client.get(
        f"/children/{orphan.pk}/subsidies/check/?programme=disability_rehabilitation"
    )
    assert "alert-success" not in refused.content.decode()
    refused = client.get(f"/children/{orphan.pk}/subsidies/check/?programme=hiv_affected_allowance")
    assert "未认定为艾滋病病毒感染儿童" in refused.content.decode()
    assert "疾控机构证明" in refused.content.decode()  # the evidence that would change it
    outside = client_for(outsider).get(
        f"/children/{orphan.pk}/subsidies/check/?programme=orphan_allowance"
    )
    assert outside.status_code == 404


def test_live_check_shows_the_standard_in_force(client_for, orphan, director_a, civil_affairs):
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=date(2026, 1, 1),
        amount=Decimal("1350"),
    )
    page = client_for(director_a).get(
        f"/children/{orphan.pk}/subsidies/check/?programme=orphan_allowance"
    )
    assert "1350.00" in page.content.decode()


def test_ineligible_application_from_the_page_saves_nothing(client_for, orphan, director_a):
    response = client_for(director_a).post(
        f"/children/{orphan.pk}/subsidies/apply/",
        {"programme": "disability_rehabilitation", "note": ""},
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'invalid-feedback d-block">康复救助限0至6岁残疾儿童' in page
    assert not SubsidyApplication.objects.exists()


def test_apply_from_the_page(client_for, orphan, director_a):
    response = client_for(director_a).post(
        f"/children/{orphan.pk}/subsidies/apply/",
        {"programme": "orphan_allowance", "note": "父母双亡"},
    )
    application = SubsidyApplication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/children/subsidies/{application.pk}/"
    assert application.note == "父母双亡" and application.submitted_by == director_a


def test_application_page_decision_form_by_role(
    client_for, submitted, director_a, supervisor, civil_affairs, viewer, outsider
):
    url = f"/children/subsidies/{submitted.pk}/"
    assert "Record the decision" not in client_for(director_a).get(url).content.decode()
    assert 'name="decision"' not in client_for(director_a).get(url).content.decode()
    assert 'name="decision"' in client_for(supervisor).get(url).content.decode()
    assert 'name="decision"' not in client_for(civil_affairs).get(url).content.decode()
    assert client_for(viewer).get(url).status_code == 200
    assert client_for(outsider).get(url).status_code == 404


def test_decide_on_the_page_needs_a_reason_to_return(client_for, submitted, supervisor):
    url = f"/children/subsidies/{submitted.pk}/decide/"
    client_for(supervisor).post(url, {"decision": "return", "note": ""})
    submitted.refresh_from_db()
    assert submitted.status == ApplicationStatus.SUBMITTED
    client_for(supervisor).post(url, {"decision": "return", "note": "请补充死亡证明"})
    submitted.refresh_from_db()
    assert submitted.status == ApplicationStatus.RETURNED
    decision = submitted.decisions.last()
    assert (decision.by, decision.note, decision.decision) == (
        supervisor,
        "请补充死亡证明",
        "return",
    )


def test_returned_application_is_resubmitted_and_decided_again(
    client_for, api_client, submitted, director_a, supervisor, civil_affairs
):
    subsidy_decide(user=supervisor, application=submitted, decision="return", note="缺死亡证明")
    page = client_for(director_a).get(f"/children/subsidies/{submitted.pk}/").content.decode()
    assert "resubmit" in page and "缺死亡证明" in page
    # The file's page sends the director to the returned application, not to a new one.
    benefits = client_for(director_a).get(f"/children/{submitted.child_id}/subsidies/")
    assert '<option value="orphan_allowance" selected>' not in benefits.content.decode()
    assert "退回补充材料" in benefits.content.decode()
    client_for(director_a).post(
        f"/children/subsidies/{submitted.pk}/resubmit/", {"note": "已补充死亡证明"}
    )
    submitted.refresh_from_db()
    assert submitted.status == ApplicationStatus.SUBMITTED
    assert submitted.decisions.last().decision == "resubmit"
    # A second resubmission of an application under review is a conflict.
    client_for(director_a).post(f"/children/subsidies/{submitted.pk}/resubmit/", {"note": ""})
    assert submitted.decisions.filter(decision="resubmit").count() == 1
    subsidy_decide(user=supervisor, application=submitted, decision="approve", note="")
    subsidy_decide(user=civil_affairs, application=submitted, decision="approve", note="")
    submitted.refresh_from_db()
    assert submitted.status == ApplicationStatus.APPROVED


def test_whoever_resubmits_may_not_decide(
    api_client, frozen, director_a, supervisor, civil_affairs, other_supervisor
):
    child = _orphan(director_a, name="退回再交")
    application = subsidy_apply(user=director_a, child=child, programme="orphan_allowance")
    subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    subsidy_decide(user=civil_affairs, application=application, decision="return", note="补材料")
    from benefits.services import subsidy_resubmit

    subsidy_resubmit(user=supervisor, application=application, note="已补")
    response = api_client(supervisor).post(
        f"/api/v1/subsidy-applications/{application.pk}/decisions",
        {"decision": "approve", "note": ""},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_evidence_upload_checks_the_bytes(client_for, submitted, director_a, outsider, supervisor):
    url = f"/children/subsidies/{submitted.pk}/evidence/"
    client_for(director_a).post(
        url,
        {
            "kind": "death_certificate",
            "description": "死亡证明",
            "file": SimpleUploadedFile("death.png", PNG, "image/png"),
        },
    )
    evidence = SubsidyEvidence.objects.get()
    assert evidence.content_type == "image/png" and evidence.uploaded_by == director_a
    # A program renamed to .pdf is refused and nothing is stored.
    response = client_for(director_a).post(
        url,
        {
            "kind": "other",
            "description": "伪装",
            "file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00", "application/pdf"),
        },
        follow=True,
    )
    assert "只能上传JPG、PNG图片或PDF文件" in response.content.decode()
    assert SubsidyEvidence.objects.count() == 1
    # Served only in scope, audited, never cached.
    served = client_for(supervisor).get(f"/children/subsidies/evidence/{evidence.pk}/")
    assert served.status_code == 200 and served["Cache-Control"] == "private, no-store"
    assert b"".join(served.streaming_content) == PNG
    assert AuditRecord.objects.filter(object_type="subsidy_evidence").count() == 1
    assert (
        client_for(outsider).get(f"/children/subsidies/evidence/{evidence.pk}/").status_code == 404
    )
    assert client_for(outsider).post(url, {"description": "x"}).status_code == 404


def test_no_evidence_after_the_decision(submitted, director_a, supervisor, civil_affairs):
    from benefits.services import subsidy_evidence_attach
    from children.services import Conflict

    subsidy_decide(user=supervisor, application=submitted, decision="approve", note="")
    subsidy_decide(user=civil_affairs, application=submitted, decision="approve", note="")
    with pytest.raises(Conflict):
        subsidy_evidence_attach(
            user=director_a,
            application=submitted,
            upload=SimpleUploadedFile("a.pdf", PDF),
            description="迟到的材料",
        )


def test_exit_from_the_page_records_reason_who_and_when(
    client_for, orphan, director_a, supervisor, civil_affairs, outsider, frozen
):
    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs)
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=date(2026, 1, 1),
        amount=Decimal("1350"),
    )
    frozen.move_to("2027-02-10 10:00 +0800")
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        entitlements_generate(month=month)
    url = f"/children/subsidies/enrolments/{enrolment.pk}/exit/"
    assert (
        client_for(director_a).post(url, {"reason": "adopted", "on": "2027-01-20"}).status_code
        == 403
    )
    assert (
        client_for(outsider).post(url, {"reason": "adopted", "on": "2027-01-20"}).status_code == 404
    )
    client_for(civil_affairs).post(url, {"reason": "adopted", "on": "2027-01-20", "note": "被收养"})
    enrolment.refresh_from_db()
    assert (enrolment.exit_reason, enrolment.end_month, enrolment.ended_by, enrolment.ended_on) == (
        "adopted",
        date(2027, 1, 1),
        civil_affairs,
        date(2027, 1, 20),
    )
    assert enrolment.end_reason == "被收养"
    # Paid up to the month of the adoption; February was never due.
    assert list(Entitlement.objects.values_list("month", flat=True)) == [
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert entitlements_generate(month=date(2027, 3, 1)) == 0
    assert enrolment.application.decisions.last().decision == "exit"
    # Stopping twice is refused.
    client_for(civil_affairs).post(url, {"reason": "moved_away", "on": "2027-02-01"})
    enrolment.refresh_from_db()
    assert enrolment.exit_reason == "adopted"


def test_exit_reason_other_needs_a_note(client_for, orphan, director_a, supervisor, civil_affairs):
    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs)
    client_for(civil_affairs).post(
        f"/children/subsidies/enrolments/{enrolment.pk}/exit/",
        {"reason": "other", "on": "2026-11-23"},
    )
    enrolment.refresh_from_db()
    assert enrolment.end_month is None


def test_review_moves_the_next_review(
    client_for, orphan, director_a, supervisor, civil_affairs, frozen
):
    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs)
    frozen.move_to("2027-05-20 10:00 +0800")
    client_for(director_a).post(
        f"/children/subsidies/enrolments/{enrolment.pk}/review/", {"note": "仍符合"}
    )
    enrolment.refresh_from_db()
    assert enrolment.last_reviewed_on == date(2027, 5, 20)
    assert enrolment.next_review_on == date(2027, 11, 19)


def test_payee_account_is_encrypted_and_masked(
    client_for, orphan, director_a, supervisor, civil_affairs
):

    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs)
    client_for(civil_affairs).post(
        f"/children/subsidies/enrolments/{enrolment.pk}/payee/",
        {"name": "祖母", "account": "6217001234567890123"},
    )
    enrolment.refresh_from_db()
    assert enrolment.payee_account_masked == "6217 **** 0123"
    assert "6217001234567890123" not in enrolment.payee_account_encrypted
    assert crypto.decrypt(enrolment.payee_account_encrypted) == "6217001234567890123"
    page = client_for(director_a).get(f"/children/{orphan.pk}/subsidies/").content.decode()
    assert "6217 **** 0123" in page and "6217001234567890123" not in page


def test_closing_the_file_as_deceased_records_the_exit(
    orphan, director_a, supervisor, civil_affairs
):
    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs)
    child_close(user=director_a, child=orphan, reason="deceased")
    outbox.run_inline()  # benefits.child_closed
    enrolment.refresh_from_db()
    assert (enrolment.exit_reason, enrolment.end_month) == ("deceased", date(2026, 11, 1))
    assert enrolment.end_reason == "档案结案：已故" and enrolment.ended_by == director_a
    assert outbox.run_inline() == 0


def test_one_off_temporary_assistance(orphan, director_a, supervisor, civil_affairs):
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="temporary_assistance",
        month=date(2026, 1, 1),
        amount=Decimal("1000"),
    )
    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs, "temporary_assistance")
    assert (enrolment.start_month, enrolment.end_month) == (date(2026, 12, 1), date(2026, 12, 1))
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2026, 12, 1)):
        entitlements_generate(month=month)
    assert list(Entitlement.objects.values_list("month", "amount")) == [
        (date(2026, 12, 1), Decimal("1000.00"))
    ]


def test_turning_18_ends_the_benefit_unless_in_full_time_education(
    client_for, frozen, director_a, supervisor, civil_affairs
):
    child = _orphan(director_a, name="将满18", birth_date=date(2009, 1, 15))
    enrolment = _enrol(child, director_a, supervisor, civil_affairs)
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=date(2026, 1, 1),
        amount=Decimal("1350"),
    )
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        entitlements_generate(month=month)
    enrolment.refresh_from_db()
    assert (enrolment.exit_reason, enrolment.end_month) == ("turned_18", date(2027, 1, 1))
    assert Entitlement.objects.count() == 2
    # Full-time education recorded for 2027 on the page: the benefit resumes.
    frozen.move_to("2027-02-05 10:00 +0800")
    client_for(director_a).post(
        f"/children/{child.pk}/subsidies/education/", {"year": 2027, "school": "泾县中学"}
    )
    assert EducationRecord.objects.get().school == "泾县中学"
    enrolment.refresh_from_db()
    assert enrolment.end_month is None
    assert entitlements_generate(month=date(2027, 2, 1)) == 1
    # 2028 has no record: stopped again, from January 2028.
    entitlements_generate(month=date(2028, 1, 1))
    enrolment.refresh_from_db()
    assert enrolment.exit_reason == "turned_18"
    assert Entitlement.objects.filter(month=date(2028, 1, 1)).count() == 0


def test_queue_oldest_first_with_deadlines(client_for, frozen, director_a, supervisor, viewer):
    first = _orphan(director_a, name="先交")
    subsidy_apply(user=director_a, child=first, programme="orphan_allowance")
    frozen.move_to("2026-11-25 10:00 +0800")
    second = _orphan(director_a, name="后交")
    subsidy_apply(user=director_a, child=second, programme="orphan_allowance")
    frozen.move_to("2026-12-09 10:00 +0800")
    page = client_for(supervisor).get("/children/subsidies/queue/").content.decode()
    assert page.index("先交") < page.index("后交")
    assert "2026-12-07" in page and "text-bg-danger" in page  # the first is late
    assert client_for(viewer).get("/children/subsidies/queue/").status_code == 403


def test_benefit_pages_run_a_constant_number_of_queries(
    client_for, django_assert_max_num_queries, frozen, director_a, supervisor, civil_affairs
):
    child = _orphan(director_a, name="查询")
    client, queue = client_for(director_a), client_for(supervisor)
    # The same bound with one benefit and with three (each with applications and a ledger).
    for programme in ("orphan_allowance", "temporary_assistance", "education_aid"):
        _enrol(child, director_a, supervisor, civil_affairs, programme)
        entitlements_generate(month=date(2026, 12, 1))
        with django_assert_max_num_queries(BENEFITS_QUERIES):
            assert client.get(f"/children/{child.pk}/subsidies/").status_code == 200
    subsidy_apply(
        user=director_a, child=_orphan(director_a, name="排队"), programme="orphan_allowance"
    )
    with django_assert_max_num_queries(QUEUE_QUERIES):
        assert queue.get("/children/subsidies/queue/").status_code == 200
    for index in range(8):
        subsidy_apply(
            user=director_a,
            child=_orphan(director_a, name=f"排队{index}"),
            programme="orphan_allowance",
        )
    with django_assert_max_num_queries(QUEUE_QUERIES):
        assert queue.get("/children/subsidies/queue/").status_code == 200


def test_child_file_shows_benefits_and_their_timeline(
    client_for, orphan, director_a, supervisor, civil_affairs
):
    _enrol(orphan, director_a, supervisor, civil_affairs)
    page = client_for(director_a).get(f"/children/{orphan.pk}/").content.decode()
    assert "孤儿基本生活费" in page and "2026-12" in page
    history = client_for(director_a).get(f"/children/{orphan.pk}/history/").content.decode()
    assert "县级审批通过，纳入保障" in history and "乡镇初审通过" in history


def test_programmes_already_paid_or_under_review_are_not_offered_again(
    client_for, orphan, director_a, supervisor, civil_affairs
):
    _enrol(orphan, director_a, supervisor, civil_affairs)  # orphan allowance in force
    subsidy_apply(user=director_a, child=orphan, programme="minimum_living")  # under review
    page = client_for(director_a).get(f"/children/{orphan.pk}/subsidies/").content.decode()
    assert '<option value="orphan_allowance" selected>' not in page
    assert '<option value="minimum_living" selected>' not in page
    # Income-tested programmes are never pre-selected (issue 17): nothing else is left here.
    assert '<option value="extreme_poverty_support" selected>' not in page
    assert "?programme=orphan_allowance#apply" not in page
    assert "?programme=minimum_living#apply" not in page
    response = client_for(director_a).post(
        f"/children/{orphan.pk}/subsidies/apply/", {"programme": "orphan_allowance"}
    )
    assert response.status_code == 422 and "该儿童已纳入该补贴项目" in response.content.decode()


def test_enrolment_actions_by_role(
    client_for, orphan, director_a, supervisor, civil_affairs, viewer, outsider
):
    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs)
    review = f"/children/subsidies/enrolments/{enrolment.pk}/review/"
    assert client_for(viewer).post(review).status_code == 403
    assert client_for(outsider).post(review).status_code == 404
    assert (
        client_for(director_a)
        .post(f"/children/subsidies/enrolments/{enrolment.pk}/payee/", {"name": "祖母"})
        .status_code
        == 403
    )
    assert (
        client_for(civil_affairs)
        .post(f"/children/subsidies/enrolments/{enrolment.pk}/nope/")
        .status_code
        == 404
    )


def test_education_year_is_checked(client_for, frozen, director_a):
    child = _orphan(director_a, name="读书", birth_date=date(2009, 3, 1))
    response = client_for(director_a).post(
        f"/children/{child.pk}/subsidies/education/", {"year": 2030, "school": "大学"}, follow=True
    )
    assert "年份应在2025至2027之间" in response.content.decode()
    assert not EducationRecord.objects.exists()


def test_a_file_change_that_breaks_the_rule_raises_a_review(
    orphan, director_a, supervisor, civil_affairs
):
    from benefits.services import enrolment_review
    from children.services import child_update
    from reminders.models import Notification

    enrolment = _enrol(orphan, director_a, supervisor, civil_affairs, "education_aid")
    child_update(user=director_a, child=orphan, changes={"grade": "五年级"})
    outbox.run_inline()
    enrolment.refresh_from_db()
    assert (enrolment.next_review_on, enrolment.review_reason) == (date(2027, 5, 25), "")
    call_command("send_reminders")
    assert not Notification.objects.filter(kind="subsidy_review").exists()
    child_update(user=director_a, child=orphan, changes={"school_status": "dropped_out"})
    outbox.run_inline()
    enrolment.refresh_from_db()
    assert enrolment.end_month is None  # paid until civil affairs decide
    assert enrolment.next_review_on == date(2026, 11, 23)
    assert enrolment.review_reason.startswith("家庭情况变化，需复核：")
    call_command("send_reminders")
    review = Notification.objects.get(kind="subsidy_review")
    assert review.recipient == director_a and review.child == orphan
    # "Reviewed: still eligible" is refused while the rule is broken; once it holds again, the
    # review clears the reason and the next one is six months away.
    child_update(user=director_a, child=orphan, changes={"school_status": "in_school"})
    enrolment_review(user=director_a, enrolment=enrolment)
    enrolment.refresh_from_db()
    assert (enrolment.next_review_on, enrolment.review_reason) == (date(2027, 5, 25), "")


def test_review_deadlines_and_interval_follow_the_area_policy(
    client_for, frozen, director_a, supervisor, civil_affairs
):
    from accounts.models import AreaPolicy

    AreaPolicy.objects.create(
        area_id=COUNTY_A,
        subsidy_township_working_days=5,
        subsidy_county_working_days=3,
        subsidy_review_days=90,
    )
    child = _orphan(director_a, name="按政策")
    application = subsidy_apply(user=director_a, child=child, programme="orphan_allowance")
    queue = client_for(supervisor).get("/children/subsidies/queue/").content.decode()
    assert "2026-11-30" in queue  # 5 working days after Monday 2026-11-23
    subsidy_decide(user=supervisor, application=application, decision="approve", note="")
    page = client_for(civil_affairs).get(f"/children/subsidies/{application.pk}/").content.decode()
    assert "2026-11-26" in page  # 3 working days for the county
    subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
    assert Enrolment.objects.get().next_review_on == date(2027, 2, 21)  # 90 days


def test_no_approval_once_the_file_is_closed(submitted, director_a, supervisor):
    from children.services import Conflict

    child_close(user=director_a, child=submitted.child, reason="moved_away")
    with pytest.raises(Conflict):
        subsidy_decide(user=supervisor, application=submitted, decision="approve", note="")
    subsidy_decide(user=supervisor, application=submitted, decision="reject", note="已迁出")
    submitted.refresh_from_db()
    assert submitted.status == ApplicationStatus.REJECTED


def test_income_tested_programmes_are_never_said_to_be_met(
    client_for, api_client, frozen, director_a
):
    """Issue 17, point 2: 低保, 特困 and 临时救助 depend on income the file cannot judge: the page
    says a household economic check is needed and what to bring, never 符合; an application is
    still accepted; a child with a working father and a mother at home is not pre-selected."""
    from ..factories import add_parents, make_child

    child = add_parents(
        director_a,
        make_child(director_a, name="查小林", birth_date=date(2016, 4, 4)),
        status="at_home",
    )
    client = client_for(director_a)
    page = client.get(f"/children/{child.pk}/subsidies/").content.decode()
    assert '<option value="minimum_living" selected>' not in page
    assert "需核对经济状况" in page
    for code in ("minimum_living", "extreme_poverty_support", "temporary_assistance"):
        check = client.get(f"/children/{child.pk}/subsidies/check/?programme={code}")
        html = check.content.decode()
        assert "需经民政部门家庭经济状况核对" in html and "家庭经济状况核对授权书" in html
        assert "alert-success" not in html and "符合" not in html, code
    applied = api_client(director_a).post(
        f"/api/v1/children/{child.pk}/subsidy-applications",
        {"programme": "minimum_living"},
        content_type="application/json",
    )
    assert applied.status_code == 201 and applied.json()["status"] == "submitted"


def test_each_decision_says_what_was_decided_for_whom(
    client_for, submitted, supervisor, civil_affairs
):
    """Issue 17, point 7: 「已审批：王晨曦 教育资助，2027-01起发放」, not a bare 已保存."""
    url = f"/children/subsidies/{submitted.pk}/decide/"
    township = client_for(supervisor).post(url, {"decision": "approve", "note": ""}, follow=True)
    assert "乡镇初审通过：孤儿乙 孤儿基本生活费，报县级民政部门审批" in township.content.decode()
    county = client_for(civil_affairs).post(url, {"decision": "approve", "note": ""}, follow=True)
    assert "已审批：孤儿乙 孤儿基本生活费，2026-12起发放" in county.content.decode()
    # (The page's scripts carry their own texts in a <template>; the messages are what is shown.)
    shown = [str(message) for message in county.context["messages"]]
    assert not any("已保存" in message for message in shown)
