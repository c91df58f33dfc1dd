"""api.md "Subsidies": eligibility with reasons, the two-level review, the 7-day public notice."""

from datetime import date

import pytest
import time_machine
from django.core.management import call_command

from children.services import family_member_add

from ..factories import attach_parent_documents, bring_documents, make_child, make_orphan

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def orphan(frozen, director_a):
    return make_orphan(director_a, name="孤儿甲", birth_date=date(2014, 5, 1))


def apply(client, child, programme="orphan_allowance", note="申请孤儿基本生活费"):
    return client.post(
        f"/api/v1/children/{child.pk}/subsidy-applications",
        {"programme": programme, "note": note},
        content_type="application/json",
    )


def decide(client, application_id, decision="approve", note="材料齐全"):
    return client.post(
        f"/api/v1/subsidy-applications/{application_id}/decisions",
        {"decision": decision, "note": note},
        content_type="application/json",
    )


def test_two_level_review(api_client, orphan, director_a, supervisor, civil_affairs):
    response = apply(api_client(director_a), orphan)
    assert response.status_code == 201 and response.json()["status"] == "submitted"
    application_id = response.json()["id"]
    assert decide(api_client(civil_affairs), application_id).status_code == 409  # township first
    assert decide(api_client(director_a), application_id).status_code == 403
    township = decide(api_client(supervisor), application_id)
    assert township.status_code == 200 and township.json()["status"] == "township_approved"
    assert decide(api_client(supervisor), application_id).status_code == 409
    county = decide(api_client(civil_affairs), application_id)
    assert county.status_code == 200 and county.json()["status"] == "approved"


def test_ineligible_is_422_with_every_reason(api_client, frozen, director_a):
    child = make_child(director_a, name="普通", birth_date=date(2015, 1, 1))
    family_member_add(
        user=director_a,
        child=child,
        relation="father",
        name="父",
        status="at_home",
        has_guardian_capacity=True,
    )
    response = apply(api_client(director_a), child)
    assert response.status_code == 422
    messages = [d["msg"] for d in response.json()["detail"]]
    assert "未登记父母双方情况" in messages
    response = apply(api_client(director_a), child, programme="disability_rehabilitation")
    messages = [d["msg"] for d in response.json()["detail"]]
    assert "康复救助限0至6岁残疾儿童" in messages and "档案中未登记残疾情况" in messages


def test_de_facto_unsupported(api_client, frozen, director_a):
    child = make_child(director_a, name="事实无人抚养", birth_date=date(2013, 1, 1))
    family_member_add(
        user=director_a,
        child=child,
        relation="father",
        name="父",
        status="imprisoned",
        status_since=date(2025, 1, 1),  # in prison for more than 6 months
        has_guardian_capacity=False,
    )
    family_member_add(
        user=director_a,
        child=child,
        relation="mother",
        name="母",
        status="declared_missing",
        has_guardian_capacity=False,
    )
    assert (
        apply(api_client(director_a), child, programme="de_facto_unsupported_allowance").status_code
        == 201
    )
    assert apply(api_client(director_a), child, programme="orphan_allowance").status_code == 422


def test_own_application_cannot_be_decided(api_client, orphan, supervisor):
    application_id = apply(api_client(supervisor), orphan).json()["id"]
    assert decide(api_client(supervisor), application_id).status_code == 403


def test_return_and_reject_need_a_reason(api_client, orphan, director_a, supervisor):
    application_id = apply(api_client(director_a), orphan).json()["id"]
    assert decide(api_client(supervisor), application_id, "return", note="").status_code == 422
    response = decide(api_client(supervisor), application_id, "return", note="请补充死亡证明")
    assert response.json()["status"] == "returned"


def test_public_notice_of_7_days(api_client, frozen, director_a, supervisor, civil_affairs):
    child = make_child(director_a, name="低保", birth_date=date(2012, 1, 1))
    application_id = apply(api_client(director_a), child, programme="minimum_living").json()["id"]
    bring_documents(director_a, application_id)  # the economic check's report
    decide(api_client(supervisor), application_id)
    frozen.move_to("2026-11-29 10:00 +0800")  # day 6 of the notice
    early = decide(api_client(civil_affairs), application_id)
    assert early.status_code == 409 and "2026-11-30" in early.json()["detail"]
    frozen.move_to("2026-11-30 09:00 +0800")
    assert decide(api_client(civil_affairs), application_id).json()["status"] == "approved"


def test_scope(api_client, orphan, director_a, outsider, viewer):
    assert apply(api_client(outsider), orphan).status_code == 404
    assert apply(api_client(viewer), orphan).status_code == 403
    application_id = apply(api_client(director_a), orphan).json()["id"]
    assert decide(api_client(outsider), application_id).status_code == 404


def test_approval_enrols_and_the_ledger_follows_the_standard_in_force(
    api_client, orphan, director_a, supervisor, civil_affairs, frozen
):
    from decimal import Decimal

    from benefits.models import Enrolment, Entitlement
    from benefits.services import entitlements_generate, subsidy_standard_set

    from ..conftest import COUNTY_A, PROVINCE

    application_id = apply(api_client(director_a), orphan).json()["id"]
    decide(api_client(supervisor), application_id)
    decide(api_client(civil_affairs), application_id)
    enrolment = Enrolment.objects.get()
    assert enrolment.start_month == date(2026, 12, 1)
    admin_like = civil_affairs
    # A province-wide standard, then the county's own higher one from January (mid-year change).
    from accounts.models import Role

    from ..factories import UserFactory

    provincial = UserFactory(username="prov", role=Role.CIVIL_AFFAIRS, area_id=PROVINCE)
    subsidy_standard_set(
        user=provincial,
        area_code=PROVINCE,
        programme="orphan_allowance",
        month=date(2026, 1, 1),
        amount=Decimal("1000"),
    )
    subsidy_standard_set(
        user=admin_like,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=date(2027, 1, 1),
        amount=Decimal("1200"),
    )
    assert entitlements_generate(month=date(2026, 11, 1)) == 0  # before the start month
    assert entitlements_generate(month=date(2026, 12, 1)) == 1
    assert entitlements_generate(month=date(2026, 12, 1)) == 0  # idempotent
    assert entitlements_generate(month=date(2027, 1, 1)) == 1
    assert list(Entitlement.objects.values_list("month", "amount")) == [
        (date(2026, 12, 1), Decimal("1000.00")),
        (date(2027, 1, 1), Decimal("1200.00")),
    ]


def test_payment_stops_the_month_after_the_18th_birthday(
    api_client, frozen, director_a, supervisor, civil_affairs
):
    from decimal import Decimal

    from benefits.models import Entitlement
    from benefits.services import entitlements_generate, subsidy_standard_set

    from ..conftest import COUNTY_A

    child = make_child(director_a, name="将满18岁", birth_date=date(2009, 1, 15))
    for relation in ("father", "mother"):
        family_member_add(
            user=director_a,
            child=child,
            relation=relation,
            name=relation,
            status="deceased",
            has_guardian_capacity=False,
        )
    attach_parent_documents(director_a, child)
    application_id = apply(api_client(director_a), child).json()["id"]
    decide(api_client(supervisor), application_id)
    decide(api_client(civil_affairs), application_id)
    subsidy_standard_set(
        user=civil_affairs,
        area_code=COUNTY_A,
        programme="orphan_allowance",
        month=date(2026, 1, 1),
        amount=Decimal("1100"),
    )
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)):
        entitlements_generate(month=month)
    assert list(Entitlement.objects.values_list("month", flat=True)) == [
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]


def _enrolled(api_client, orphan, director_a, supervisor, civil_affairs):
    application_id = apply(api_client(director_a), orphan).json()["id"]
    decide(api_client(supervisor), application_id)
    decide(api_client(civil_affairs), application_id)


def test_a_parent_regaining_capacity_raises_a_review_not_a_silent_stop(
    api_client, orphan, director_a, supervisor, civil_affairs
):
    from accounts import outbox
    from benefits.models import Enrolment
    from children.services import family_member_update
    from reminders.models import Notification

    _enrolled(api_client, orphan, director_a, supervisor, civil_affairs)
    mother = orphan.family_members.get(relation="mother")
    family_member_update(
        user=director_a, member=mother, changes={"status": "at_home", "has_guardian_capacity": True}
    )
    outbox.run_inline()  # the child file queued benefits' recheck
    enrolment = Enrolment.objects.get()
    assert enrolment.end_month is None  # still paid until the review decides
    assert enrolment.next_review_on == date(2026, 11, 23)  # due now, not in six months
    assert enrolment.review_reason == "家庭情况变化，需复核：孤儿基本生活费"
    call_command("send_reminders")
    review = Notification.objects.get(kind="subsidy_review")
    assert review.recipient == director_a and review.child == orphan
    assert review.due_date == date(2026, 11, 23)
    assert review.detail == "家庭情况变化，需复核：孤儿基本生活费"  # the sweep carries the why


def test_closing_the_file_ends_the_benefit(
    api_client, orphan, director_a, supervisor, civil_affairs
):
    from accounts import outbox
    from benefits.models import Enrolment

    _enrolled(api_client, orphan, director_a, supervisor, civil_affairs)
    api_client(director_a).post(
        f"/api/v1/children/{orphan.pk}/close",
        {"reason": "moved_away"},
        content_type="application/json",
    )
    assert Enrolment.objects.get().end_month is None  # ended by benefits' task, after the commit
    outbox.run_inline()
    enrolment = Enrolment.objects.get()
    assert enrolment.end_month == date(2026, 11, 1) and "迁出" in enrolment.end_reason
    assert (enrolment.exit_reason, enrolment.ended_by) == ("moved_away", director_a)


def test_six_monthly_review_reminder(
    api_client, orphan, director_a, supervisor, civil_affairs, frozen
):
    from reminders.models import Notification
    from reminders.services import reminders_sweep

    _enrolled(api_client, orphan, director_a, supervisor, civil_affairs)  # review due 2027-05-25
    frozen.move_to("2027-05-17 08:00 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(kind="subsidy_review").exists()
    frozen.move_to("2027-05-18 08:00 +0800")
    reminders_sweep()
    assert Notification.objects.get(kind="subsidy_review").due_date == date(2027, 5, 25)


def test_pages_apply_queue_and_decide(
    client_for, orphan, director_a, supervisor, civil_affairs, outsider
):
    from benefits.models import SubsidyApplication
    from benefits.rules import add_working_days

    page = client_for(director_a).get(f"/children/{orphan.pk}/subsidies/").content.decode()
    assert "孤儿基本生活费" in page and "康复救助限0至6岁残疾儿童" in page
    client_for(director_a).post(
        f"/children/{orphan.pk}/subsidies/apply/", {"programme": "orphan_allowance"}
    )
    application = SubsidyApplication.objects.get()
    queue = client_for(supervisor).get("/children/subsidies/queue/").content.decode()
    assert "孤儿甲" in queue and "2026-12-07" in queue  # 10 working days after 2026-11-23
    assert add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday → Monday
    assert (
        "孤儿甲" not in client_for(civil_affairs).get("/children/subsidies/queue/").content.decode()
    )
    client_for(supervisor).post(
        f"/children/subsidies/{application.pk}/decide/", {"decision": "approve"}
    )
    application.refresh_from_db()
    assert application.status == "township_approved"
    assert client_for(outsider).get(f"/children/{orphan.pk}/subsidies/").status_code == 404
    assert (
        client_for(outsider)
        .post(f"/children/subsidies/{application.pk}/decide/", {"decision": "approve"})
        .status_code
        == 404
    )
    assert client_for(director_a).get("/children/subsidies/queue/").status_code == 403


EXPECTED = {
    # (role fixture, status) → HTTP status for approve / return / reject
    ("director_a", "submitted"): 403,
    ("director_a", "township_approved"): 403,
    ("viewer", "submitted"): 403,
    ("viewer", "township_approved"): 403,
    ("reporter", "submitted"): 403,
    ("reporter", "township_approved"): 403,
    ("supervisor", "submitted"): 200,
    ("supervisor", "township_approved"): 409,
    ("civil_affairs", "submitted"): 409,
    ("civil_affairs", "township_approved"): 200,
    ("other_supervisor", "submitted"): 404,  # another township of the same county
    ("outsider", "submitted"): 404,
}


@pytest.mark.parametrize("decision", ["approve", "return", "reject"])
@pytest.mark.parametrize(("role", "status"), list(EXPECTED))
def test_every_decision_by_every_role(
    request, api_client, orphan, director_a, supervisor, role, status, decision
):
    from benefits.models import SubsidyApplication, SubsidyDecision

    application_id = apply(api_client(director_a), orphan).json()["id"]
    if status == "township_approved":
        decide(api_client(supervisor), application_id)
    before = SubsidyDecision.objects.count()
    user = request.getfixturevalue(role)
    response = decide(api_client(user), application_id, decision, note="理由")
    assert response.status_code == EXPECTED[(role, status)]
    application = SubsidyApplication.objects.get(pk=application_id)
    if response.status_code == 200:
        expected = {
            "approve": "township_approved" if status == "submitted" else "approved",
            "return": "returned",
            "reject": "rejected",
        }[decision]
        assert application.status == expected == response.json()["status"]
        recorded = SubsidyDecision.objects.latest("id")
        assert (recorded.by, recorded.decision, recorded.note) == (user, decision, "理由")
        assert (recorded.from_status, recorded.to_status) == (status, expected)
    else:
        assert application.status == status
        assert SubsidyDecision.objects.count() == before


def test_public_notice_boundary_to_the_minute(
    api_client, frozen, director_a, supervisor, civil_affairs
):
    child = make_child(director_a, name="特困", birth_date=date(2012, 1, 1))
    application_id = apply(
        api_client(director_a), child, programme="extreme_poverty_support"
    ).json()["id"]
    bring_documents(director_a, application_id)  # the economic check's report
    decide(api_client(supervisor), application_id)  # 2026-11-23
    frozen.move_to("2026-11-29 23:59 +0800")  # the last minute of day 6
    response = decide(api_client(civil_affairs), application_id)
    assert response.status_code == 409 and "2026-11-30起方可审批" in response.json()["detail"]
    frozen.move_to("2026-11-30 00:00 +0800")
    assert decide(api_client(civil_affairs), application_id).status_code == 200


def test_programmes_without_notice_are_approved_at_once(
    api_client, orphan, director_a, supervisor, civil_affairs
):
    application_id = apply(api_client(director_a), orphan).json()["id"]
    decide(api_client(supervisor), application_id)
    assert decide(api_client(civil_affairs), application_id).json()["status"] == "approved"


@pytest.mark.parametrize(
    ("birth", "last_paid"),
    [
        (date(2008, 2, 29), date(2026, 3, 1)),  # 18 on 1 March 2026: March is paid
        (date(2008, 3, 31), date(2026, 3, 1)),  # the 18th-birthday month is paid, not after
    ],
)
def test_the_ledger_pays_to_the_month_of_the_18th_birthday_as_the_rule_says(
    director_a, supervisor, civil_affairs, birth, last_paid
):
    """Issue 17, point 2: the ledger SQL and rules.payable_in agree (a child born on 29 February
    was paid one month less: PostgreSQL puts 18 years on at 28 February)."""
    from decimal import Decimal

    from benefits import rules
    from benefits.models import Entitlement
    from benefits.services import (
        entitlements_generate,
        subsidy_apply,
        subsidy_decide,
        subsidy_standard_set,
    )

    from ..conftest import COUNTY_A

    with time_machine.travel("2025-12-10 10:00 +0800", tick=False):
        child = make_orphan(director_a, name="闰日童", birth_date=birth)
        application = subsidy_apply(user=director_a, child=child, programme="orphan_allowance")
        subsidy_decide(user=supervisor, application=application, decision="approve", note="")
        subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
        subsidy_standard_set(
            user=civil_affairs,
            area_code=COUNTY_A,
            programme="orphan_allowance",
            month=date(2026, 1, 1),
            amount=Decimal("1200"),
        )
    months = [date(2026, m, 1) for m in (1, 2, 3, 4, 5)]
    for month in months:
        entitlements_generate(month=month)
    paid = sorted(Entitlement.objects.values_list("month", flat=True))
    assert paid == [m for m in months if m <= last_paid]
    assert paid == [m for m in months if rules.payable_in(birth_date=birth, month=m)]
