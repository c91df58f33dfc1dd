"""Issue 21, point 6: referrals of children to organisations (domain §10). A case worker refers
a child of their area from the file or from a report to an organisation that serves the child;
the organisation's staff (role ``partner``) see only the referrals sent to it and answer
(accepted / declined / service given / closed) with a note; an answer not given in time reminds
the referrer. Pages and API, scope (404) and role (403), masking, audit, hostile input, the
reminder at its boundary, a transfer of the child, and the lists' query counts."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import AuditRecord, Role, User
from children.lifecycle import transfer_accept, transfer_request_from_sender
from reminders.models import Notification, NotificationKind
from reminders.services import reminders_sweep
from reporting import referral_rules, referrals
from reporting.models import Referral, ReferralEvent
from reporting.services import report_file

from ..conftest import CITY, COUNTY_A, COUNTY_B, TOWNSHIP_2, VILLAGE_1, VILLAGE_B
from ..factories import make_child, make_id_number, make_organisation, make_partner
from ..security.test_access_matrix import world  # noqa: F401 (the access matrix's world)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIRECTOR_PHONE = "13912345678"
REASON = "孩子近期情绪低落，需要心理辅导"


def zh(message: str) -> str:
    """A message as the (Chinese) page or API says it, once locale/ has it."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


ORGANISATION_REFUSED = "Choose an active organisation that serves the child's county."


@pytest.fixture
def org_a(areas):
    return make_organisation(areas[COUNTY_A], name="泾县阳光社工服务中心")


@pytest.fixture
def org_city(areas):
    return make_organisation(
        areas[CITY], name="宣城市儿童医院", kind="hospital", phone="0563-2020120"
    )


@pytest.fixture
def org_b(areas):
    return make_organisation(
        areas[COUNTY_B], name="绩溪县未成年人保护中心", kind="protection_agency"
    )


@pytest.fixture
def partner_a(org_a):
    return make_partner(org_a, username="partner_a", name="程社工")


@pytest.fixture
def partner_b(org_b):
    return make_partner(org_b, username="partner_b", name="胡社工")


@pytest.fixture
def referrer(director_a):
    User.objects.filter(pk=director_a.pk).update(phone=DIRECTOR_PHONE)
    director_a.refresh_from_db()
    return director_a


def refer(user, child, organisation, reason=REASON, report=None) -> Referral:
    return referrals.referral_create(
        user=user, child=child, organisation=organisation, reason=reason, report=report
    )


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def answer(client, referral_id, status, note="已安排社工跟进"):
    return post(
        client, f"/api/v1/referrals/{referral_id}/answers", {"status": status, "note": note}
    )


# --- The rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("sent", {"accepted", "declined"}),
        ("accepted", {"service_given", "closed"}),
        ("service_given", {"closed"}),
        ("declined", set()),
        ("closed", set()),
        ("withdrawn", set()),
    ],
)
def test_the_answers_that_follow_each_status(status, allowed):
    for answer_code in referral_rules.ANSWERS:
        if answer_code in allowed:
            referral_rules.check_answer(status, answer_code)
        else:
            with pytest.raises(referral_rules.AnswerNotAllowed):
                referral_rules.check_answer(status, answer_code)
    assert set(referral_rules.answers_from(status)) == allowed


def test_only_a_referral_not_yet_answered_is_withdrawn():
    referral_rules.check_withdrawal("sent")
    for status in ("accepted", "declined", "service_given", "closed", "withdrawn"):
        with pytest.raises(referral_rules.AnswerNotAllowed):
            referral_rules.check_withdrawal(status)


def test_the_answer_is_due_three_days_after_and_late_the_day_after():
    due = referral_rules.answer_due(date(2026, 11, 23))
    assert due == date(2026, 11, 26) and referral_rules.ANSWER_DAYS == 3
    assert not referral_rules.is_overdue("sent", due, date(2026, 11, 26))
    assert referral_rules.is_overdue("sent", due, date(2026, 11, 27))
    assert not referral_rules.is_overdue("accepted", due, date(2026, 11, 27))


# --- The whole flow through the API -----------------------------------------------------------


def test_refer_then_the_organisation_answers_through_the_api(
    api_client, child, referrer, supervisor, partner_a, org_a
):
    director = api_client(referrer)
    created = post(
        director,
        "/api/v1/referrals",
        {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": REASON},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "sent" and body["reason"] == REASON
    assert body["child_id"] == str(child.pk) and body["answer_due"] == "2026-11-26"
    assert body["organisation"] == {"id": str(org_a.pk), "name": org_a.name, "kind": "social_work"}
    assert body["referred_by"] == {"name": "查文静", "phone": DIRECTOR_PHONE}
    assert body["next_answers"] == ["accepted", "declined"] and not body["overdue"]
    referral_id = body["id"]
    # The reason is a case note: encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM reporting_referral WHERE id = %s", [referral_id])
        assert REASON not in cursor.fetchone()[0]

    organisation = api_client(partner_a)
    listed = organisation.get("/api/v1/referrals").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == referral_id
    seen = organisation.get(f"/api/v1/referrals/{referral_id}").json()
    # The child's name, gender, age and village, the reason, who to call back: nothing else.
    assert seen["child"] == {
        "name": "查小雨",
        "gender": "female",
        "age": 10,
        "village_name": "查济村",
    }
    assert seen["child_id"] is None and seen["report_id"] is None
    assert seen["referred_by"]["phone"] == DIRECTOR_PHONE
    text = json.dumps(seen, ensure_ascii=False)
    assert "2016-03-08" not in text and VILLAGE_1 not in text

    for status in ("accepted", "service_given", "closed"):
        response = answer(organisation, referral_id, status, note=f"{status} 备注")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    history = api_client(supervisor).get(f"/api/v1/referrals/{referral_id}").json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in history] == [
        ("", "sent"),
        ("sent", "accepted"),
        ("accepted", "service_given"),
        ("service_given", "closed"),
    ]
    assert history[1]["by"] == "程社工" and history[1]["note"] == "accepted 备注"
    assert ReferralEvent.objects.filter(referral_id=referral_id).count() == 4


def test_declined_ends_it_and_accepted_may_close_at_once(
    api_client, child, referrer, partner_a, org_a, org_city
):
    first = refer(referrer, child, org_a)
    second = refer(referrer, child, org_city)
    organisation = api_client(partner_a)
    assert (
        answer(organisation, first.pk, "declined", "本中心暂无名额").json()["status"] == "declined"
    )
    assert answer(organisation, first.pk, "accepted").status_code == 409
    city_partner = make_partner(org_city, username="partner_city")
    city = api_client(city_partner)
    assert answer(city, second.pk, "accepted").status_code == 200
    assert answer(city, second.pk, "closed", "已转诊完毕").json()["status"] == "closed"


@pytest.mark.parametrize(
    ("steps", "wrong"),
    [
        ((), "service_given"),
        ((), "closed"),
        (("accepted",), "accepted"),
        (("accepted",), "declined"),
        (("accepted", "service_given"), "service_given"),
        (("accepted", "closed"), "closed"),
        (("declined",), "closed"),
    ],
)
def test_an_answer_that_does_not_follow_is_409(
    api_client, child, referrer, partner_a, org_a, steps, wrong
):
    referral = refer(referrer, child, org_a)
    organisation = api_client(partner_a)
    for status in steps:
        assert answer(organisation, referral.pk, status).status_code == 200
    response = answer(organisation, referral.pk, wrong)
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_transition"
    assert ReferralEvent.objects.filter(referral=referral).count() == 1 + len(steps)


def test_an_answer_needs_a_note(api_client, child, referrer, partner_a, org_a):
    referral = refer(referrer, child, org_a)
    response = answer(api_client(partner_a), referral.pk, "accepted", note="  ")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "note"]
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_only_the_organisations_staff_answer(
    api_client, child, referrer, supervisor, civil_affairs, viewer, org_a
):
    referral = refer(referrer, child, org_a)
    for user in (referrer, supervisor, civil_affairs, viewer):
        assert answer(api_client(user), referral.pk, "accepted").status_code == 403, user
    referral.refresh_from_db()
    assert referral.status == "sent"


def test_the_viewer_writes_nothing(api_client, child, referrer, viewer, org_a):
    referral = refer(referrer, child, org_a)
    client = api_client(viewer)
    assert client.get(f"/api/v1/referrals/{referral.pk}").status_code == 200
    body = {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": REASON}
    assert post(client, "/api/v1/referrals", body).status_code == 403
    assert (
        post(client, f"/api/v1/referrals/{referral.pk}/withdraw", {"note": "x"}).status_code == 403
    )
    assert Referral.objects.count() == 1 and ReferralEvent.objects.count() == 1


# --- Scope -----------------------------------------------------------------------------------


def test_a_partner_sees_only_its_organisations_referrals(
    api_client, client_for, child, referrer, partner_a, partner_b, org_a, org_b, outsider, areas
):
    mine = refer(referrer, child, org_a)
    other_child = make_child(outsider, name="胡小明", birth_date=date(2015, 6, 1))
    theirs = refer(outsider, other_child, org_b)
    b = api_client(partner_b)
    assert b.get(f"/api/v1/referrals/{mine.pk}").status_code == 404
    assert answer(b, mine.pk, "accepted").status_code == 404
    assert [r["id"] for r in b.get("/api/v1/referrals").json()["items"]] == [str(theirs.pk)]
    page = client_for(partner_b)
    assert page.get(f"/reports/referrals/{mine.pk}/").status_code == 404
    assert (
        page.post(
            f"/reports/referrals/{mine.pk}/answer/", {"status": "accepted", "note": "x"}
        ).status_code
        == 404
    )
    listing = page.get("/reports/referrals/").content.decode()
    assert "胡小明" in listing and "查小雨" not in listing
    # A second member of organisation A sees the same as the first.
    colleague = make_partner(org_a, username="partner_a2")
    assert api_client(colleague).get(f"/api/v1/referrals/{mine.pk}").status_code == 200


def test_outsiders_get_404_and_the_reporter_403(
    api_client, client_for, child, referrer, outsider, other_supervisor, reporter, org_a
):
    referral = refer(referrer, child, org_a)
    for user in (outsider, other_supervisor):
        assert api_client(user).get(f"/api/v1/referrals/{referral.pk}").status_code == 404
        assert client_for(user).get(f"/reports/referrals/{referral.pk}/").status_code == 404
        assert api_client(user).get("/api/v1/referrals").json()["count"] == 0
    # In the area, but a reporter reads no referrals.
    assert api_client(reporter).get(f"/api/v1/referrals/{referral.pk}").status_code == 403
    assert client_for(reporter).get("/reports/referrals/").status_code == 403


def test_a_child_outside_the_referrers_area_is_404(api_client, child, director_b, org_a):
    response = post(
        api_client(director_b),
        "/api/v1/referrals",
        {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": REASON},
    )
    assert response.status_code == 404 and not Referral.objects.exists()


def test_an_organisation_that_does_not_serve_the_child_is_refused(
    api_client, client_for, child, referrer, org_a, org_b, org_city, areas
):
    client = api_client(referrer)
    township_2 = make_organisation(areas[TOWNSHIP_2], name="云岭镇社工站")
    inactive = make_organisation(areas[COUNTY_A], name="已停用机构", active=False)
    for organisation in (org_b.pk, township_2.pk, inactive.pk, 999999, "abc"):
        response = post(
            client,
            "/api/v1/referrals",
            {"child_id": str(child.pk), "organisation_id": str(organisation), "reason": REASON},
        )
        assert response.status_code == 422, organisation
        (problem,) = response.json()["detail"]
        assert problem["loc"] == ["body", "organisation_id"]
        assert problem["msg"] == zh(ORGANISATION_REFUSED)
    assert not Referral.objects.exists()
    # The city's hospital serves its counties' children.
    response = post(
        client,
        "/api/v1/referrals",
        {"child_id": str(child.pk), "organisation_id": org_city.pk, "reason": REASON},
    )
    assert response.status_code == 201
    # The page offers only those that serve the child, and refuses another next to the field.
    page = client_for(referrer)
    form = page.get(f"/reports/referrals/new/{child.pk}/").content.decode()
    assert org_a.name in form and org_city.name in form
    assert org_b.name not in form and township_2.name not in form and inactive.name not in form
    refused = page.post(
        f"/reports/referrals/new/{child.pk}/", {"organisation_id": org_b.pk, "reason": REASON}
    )
    assert refused.status_code == 200 and Referral.objects.count() == 1


def test_one_open_referral_of_a_child_to_an_organisation(
    api_client, child, referrer, partner_a, org_a
):
    refer(referrer, child, org_a)
    body = {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": REASON}
    response = post(api_client(referrer), "/api/v1/referrals", body)
    assert response.status_code == 409 and response.json()["code"] == "referral_open"
    first = Referral.objects.get()
    answer(api_client(partner_a), first.pk, "declined", "暂无名额")
    assert post(api_client(referrer), "/api/v1/referrals", body).status_code == 201


def test_a_closed_file_is_not_referred(api_client, child, referrer, org_a):
    from children.models import Child

    Child.objects.filter(pk=child.pk).update(status="closed", closed_on=date(2026, 11, 20))
    response = post(
        api_client(referrer),
        "/api/v1/referrals",
        {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": REASON},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "child_id"]


# --- From a report ----------------------------------------------------------------------------


def _report(user, child, **extra):
    return report_file(
        user=user,
        situation="guardian_incapable",
        discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
        description="祖母卧病，无人照料",
        child=child,
        **extra,
    )


def test_refer_from_a_report(api_client, client_for, child, referrer, supervisor, partner_a, org_a):
    report = _report(referrer, child)
    page = client_for(referrer)
    detail = page.get(f"/reports/{report.pk}/").content.decode()
    assert f"/reports/{report.pk}/refer/" in detail
    form = page.get(f"/reports/{report.pk}/refer/")
    assert form.status_code == 200 and org_a.name in form.content.decode()
    response = page.post(
        f"/reports/{report.pk}/refer/", {"organisation_id": org_a.pk, "reason": REASON}
    )
    referral = Referral.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/reports/referrals/{referral.pk}/"
    )
    assert referral.report_id == report.pk and referral.child_id == child.pk
    # The case workers open the report from the referral; the organisation never sees it.
    assert api_client(supervisor).get(f"/api/v1/referrals/{referral.pk}").json()[
        "report_id"
    ] == str(report.pk)
    assert api_client(partner_a).get(f"/api/v1/referrals/{referral.pk}").json()["report_id"] is None
    assert (
        f"/reports/{report.pk}/"
        not in client_for(partner_a).get(f"/reports/referrals/{referral.pk}/").content.decode()
    )


def test_a_report_of_another_child_is_refused(
    api_client, child, referrer, org_a, director_b, outsider
):
    other = make_child(referrer, name="查小山", birth_date=date(2014, 1, 1))
    report = _report(referrer, other)
    body = {
        "child_id": str(child.pk),
        "report_id": str(report.pk),
        "organisation_id": str(org_a.pk),
        "reason": REASON,
    }
    response = post(api_client(referrer), "/api/v1/referrals", body)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "body",
        "report_id",
    ]
    # A report outside the user's area: 404, as the report itself would be.
    elsewhere = make_child(outsider, name="胡小明", birth_date=date(2015, 6, 1))
    foreign = _report(outsider, elsewhere)
    response = post(
        api_client(referrer), "/api/v1/referrals", {**body, "report_id": str(foreign.pk)}
    )
    assert response.status_code == 404 and not Referral.objects.exists()


def test_a_report_without_a_file_asks_for_the_file_first(client_for, frozen, referrer, org_a):
    report = report_file(
        user=referrer,
        situation="living_alone",
        discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
        description="独自在家",
        child_name="无档案儿童",
    )
    response = client_for(referrer).get(f"/reports/{report.pk}/refer/")
    assert response.status_code == 302 and response["Location"] == f"/reports/{report.pk}/"


# --- Pages ------------------------------------------------------------------------------------


def test_refer_and_answer_through_the_pages(
    client_for, child, referrer, partner_a, org_a, supervisor
):
    director = client_for(referrer)
    file_page = director.get(f"/children/{child.pk}/").content.decode()
    assert f"/reports/referrals/new/{child.pk}/" in file_page
    response = director.post(
        f"/reports/referrals/new/{child.pk}/", {"organisation_id": org_a.pk, "reason": REASON}
    )
    referral = Referral.objects.get()
    assert response.status_code == 302
    page = director.get(f"/reports/referrals/{referral.pk}/").content.decode()
    assert REASON in page and 'id="withdraw-form"' in page and 'id="answer-form"' not in page
    assert "/reports/referrals/" in director.get("/reports/referrals/").content.decode()

    organisation = client_for(partner_a)
    # The partner's first page is its referrals; the menu has nothing else.
    assert organisation.get("/")["Location"] == "/reports/referrals/"
    listing = organisation.get("/reports/referrals/").content.decode()
    assert "查小雨" in listing and org_a.name in listing
    nav = listing.split('id="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert set(re.findall(r'href="(/[^"#]*)"', nav)) - {
        "/accounts/password/",
        "/accounts/security/",
        "/visits/reminders/",
    } == {"/reports/referrals/"}
    detail = organisation.get(f"/reports/referrals/{referral.pk}/").content.decode()
    assert 'id="answer-form"' in detail and 'id="withdraw-form"' not in detail
    assert f"/children/{child.pk}/" not in detail and f'href="tel:{DIRECTOR_PHONE}"' in detail
    assert "2016-03-08" not in detail
    response = organisation.post(
        f"/reports/referrals/{referral.pk}/answer/", {"status": "accepted", "note": "已联系家长"}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"
    # An answer that does not follow is said on the page, nothing changes.
    organisation.post(
        f"/reports/referrals/{referral.pk}/answer/", {"status": "declined", "note": "x"}
    )
    referral.refresh_from_db()
    assert referral.status == "accepted"
    again = organisation.get(f"/reports/referrals/{referral.pk}/").content.decode()
    assert escape(zh("This answer does not follow the referral's current status.")) in again
    # Case workers may not answer through the page either.
    assert (
        client_for(supervisor)
        .post(f"/reports/referrals/{referral.pk}/answer/", {"status": "closed", "note": "x"})
        .status_code
        == 403
    )


def test_the_referrer_withdraws_before_the_answer(
    client_for, api_client, child, referrer, partner_a, org_a, supervisor
):
    referral = refer(referrer, child, org_a)
    assert (
        post(
            api_client(partner_a), f"/api/v1/referrals/{referral.pk}/withdraw", {"note": "x"}
        ).status_code
        == 403
    )
    director = client_for(referrer)
    director.post(f"/reports/referrals/{referral.pk}/withdraw/", {"note": ""})
    referral.refresh_from_db()
    assert referral.status == "sent"  # a reason is needed
    director.post(f"/reports/referrals/{referral.pk}/withdraw/", {"note": "家长已自行就医"})
    referral.refresh_from_db()
    assert referral.status == "withdrawn"
    assert answer(api_client(partner_a), referral.pk, "accepted").status_code == 409
    second = refer(referrer, child, org_a)
    answer(api_client(partner_a), second.pk, "accepted")
    response = post(
        api_client(supervisor), f"/api/v1/referrals/{second.pk}/withdraw", {"note": "x"}
    )
    assert response.status_code == 409


def test_the_list_filters_by_status_overdue_and_child(
    client_for, api_client, child, referrer, partner_a, org_a, org_city
):
    other = make_child(referrer, name="查小山", birth_date=date(2014, 1, 1))
    late = refer(referrer, other, org_a)
    Referral.objects.filter(pk=late.pk).update(answer_due=date(2026, 11, 20))
    answered = refer(referrer, child, org_city)
    Referral.objects.filter(pk=answered.pk).update(status="closed")
    client = client_for(referrer)
    open_page = client.get("/reports/referrals/").content.decode()
    assert "查小山" in open_page and "宣城市儿童医院" not in open_page
    assert zh("No answer in time") in open_page
    all_page = client.get("/reports/referrals/?status=all").content.decode()
    assert "宣城市儿童医院" in all_page
    overdue = client.get("/reports/referrals/?overdue=1").content.decode()
    assert "查小山" in overdue
    by_child = client.get(f"/reports/referrals/?status=all&child={child.pk}").content.decode()
    assert "宣城市儿童医院" in by_child and "查小山" not in by_child
    assert client.get("/reports/referrals/?child=not-a-uuid&status=nonsense").status_code == 200
    api = api_client(referrer)
    assert api.get("/api/v1/referrals?overdue=true").json()["count"] == 1
    assert api.get("/api/v1/referrals?status=closed").json()["count"] == 1
    assert api.get(f"/api/v1/referrals?child_id={child.pk}").json()["count"] == 1
    assert api.get("/api/v1/referrals?status=bogus").status_code == 422
    assert api.get(f"/api/v1/referrals/{late.pk}").json()["overdue"] is True


# --- Masking and audit ------------------------------------------------------------------------


def test_the_referrers_phone_in_full_to_the_organisation_masked_as_staff_phones(
    api_client, child, referrer, supervisor, civil_affairs, viewer, partner_a, org_a
):
    referral = refer(referrer, child, org_a)
    phones = {
        who: api_client(user).get(f"/api/v1/referrals/{referral.pk}").json()["referred_by"]["phone"]
        for who, user in {
            "partner": partner_a,
            "civil_affairs": civil_affairs,
            "supervisor": supervisor,
            "viewer": viewer,
        }.items()
    }
    assert phones == {
        "partner": DIRECTOR_PHONE,
        "civil_affairs": DIRECTOR_PHONE,
        "supervisor": "139****5678",
        "viewer": "139****5678",
    }


def test_every_view_of_a_referral_is_audited(
    api_client, client_for, child, referrer, partner_a, org_a
):
    referral = refer(referrer, child, org_a)
    client_for(partner_a).get(f"/reports/referrals/{referral.pk}/")
    viewed = AuditRecord.objects.filter(username="partner_a", action="view", object_type="child")
    assert [(r.object_id, r.area_code, r.detail) for r in viewed] == [
        (str(child.pk), VILLAGE_1, {"referral": str(referral.pk)})
    ]
    api = api_client(partner_a)
    api.get(f"/api/v1/referrals/{referral.pk}")
    api.get("/api/v1/referrals")
    read = AuditRecord.objects.filter(username="partner_a", action="api_read", object_type="child")
    assert read.count() == 2 and {r.object_id for r in read} == {str(child.pk)}


# --- Hostile input ----------------------------------------------------------------------------


def test_nul_and_huge_reasons_are_refused_next_to_the_field(
    api_client, client_for, child, referrer, partner_a, org_a
):
    client = api_client(referrer)
    for reason, problem in (
        ("需要\x00辅导", zh("must not contain a NUL character")),
        ("长" * 2001, None),
        ("", None),
    ):
        response = post(
            client,
            "/api/v1/referrals",
            {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": reason},
        )
        assert response.status_code == 422, reason[:10]
        locations = [d["loc"][-1] for d in response.json()["detail"]]
        assert "reason" in locations
        if problem:
            assert problem in [d["msg"] for d in response.json()["detail"]]
    page = client_for(referrer).post(
        f"/reports/referrals/new/{child.pk}/",
        {"organisation_id": org_a.pk, "reason": "需要\x00辅导"},
    )
    assert page.status_code == 200
    assert zh("must not contain a NUL character") in page.content.decode()
    assert not Referral.objects.exists()
    referral = refer(referrer, child, org_a)
    response = answer(api_client(partner_a), referral.pk, "accepted", note="好\x00的")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "note"]
    # Not an id: 404, never a 500.
    assert client.get("/api/v1/referrals/not-a-uuid").status_code == 404
    assert client_for(referrer).get(f"/reports/referrals/new/{child.pk}/?x=%00").status_code in (
        200,
        400,
    )


# --- The reminder -----------------------------------------------------------------------------


def _open_reminders(user):
    return list(
        Notification.objects.filter(
            recipient=user, kind=NotificationKind.REFERRAL_ANSWER_DUE, resolved_at__isnull=True
        )
    )


def _sweep(day: str) -> None:
    with time_machine.travel(f"{day} 08:00 +0800", tick=False):
        reminders_sweep()


def test_the_referrer_is_reminded_the_day_after_the_deadline_until_the_answer(
    client_for, api_client, child, referrer, supervisor, partner_a, org_a
):
    referral = refer(referrer, child, org_a)  # 2026-11-23 10:00: answer due by 11-26
    _sweep("2026-11-26")
    assert _open_reminders(referrer) == []
    _sweep("2026-11-27")
    (reminder,) = _open_reminders(referrer)
    assert reminder.child_id == child.pk and reminder.due_date == date(2026, 11, 26)
    assert reminder.detail == f"转介至{org_a.name}逾期未答复" and reminder.report_id is None
    assert _open_reminders(supervisor) == [] and _open_reminders(partner_a) == []
    _sweep("2026-11-28")  # the next day: nothing new
    assert Notification.objects.filter(kind=NotificationKind.REFERRAL_ANSWER_DUE).count() == 1
    with time_machine.travel("2026-11-28 09:00 +0800", tick=False):
        client = client_for(referrer)
        client.cookies["django_language"] = "en"
        inbox = client.get("/visits/reminders/").content.decode()
    assert "Referral not answered" in inbox and f"Not answered in time by {org_a.name}" in inbox
    assert "/reports/referrals/?overdue=1" in inbox
    # The organisation answers: resolved at once, not at the next sweep.
    with time_machine.travel("2026-11-28 10:00 +0800", tick=False):
        assert answer(api_client(partner_a), referral.pk, "declined", "暂无名额").status_code == 200
    assert _open_reminders(referrer) == []
    _sweep("2026-11-29")
    assert _open_reminders(referrer) == []


def test_a_withdrawn_referral_stops_the_reminder(client_for, child, referrer, org_a):
    referral = refer(referrer, child, org_a)
    _sweep("2026-11-27")
    assert len(_open_reminders(referrer)) == 1
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        referrals.referral_withdraw(user=referrer, referral=referral, note="家长已自行就医")
    assert _open_reminders(referrer) == []


# --- A transfer of the child ------------------------------------------------------------------


def test_the_referral_follows_the_file_when_the_child_moves(
    api_client, client_for, child, referrer, outsider, partner_a, org_a, areas
):
    """The file is transferred with everything on it (domain §2): the new village's side sees
    the referral and may withdraw it, the old side no longer does (404) and is no longer
    reminded; the organisation keeps it and answers."""
    referral = refer(referrer, child, org_a)
    with time_machine.travel("2026-11-24 10:00 +0800", tick=False):
        transfer = transfer_request_from_sender(
            user=referrer, child=child, to_village_code=VILLAGE_B, reason="随父母迁居"
        )
        transfer_accept(user=outsider, transfer=transfer)
    assert api_client(referrer).get(f"/api/v1/referrals/{referral.pk}").status_code == 404
    assert api_client(referrer).get("/api/v1/referrals").json()["count"] == 0
    new_side = api_client(outsider)
    seen = new_side.get(f"/api/v1/referrals/{referral.pk}").json()
    assert seen["child"]["village_name"] == "城东村" and seen["organisation"]["name"] == org_a.name
    assert (
        api_client(partner_a)
        .get(f"/api/v1/referrals/{referral.pk}")
        .json()["child"]["village_name"]
        == "城东村"
    )
    _sweep("2026-11-27")
    assert Notification.objects.filter(kind=NotificationKind.REFERRAL_ANSWER_DUE).count() == 0
    # The organisation answers as before; the new side may no longer withdraw it then.
    assert answer(api_client(partner_a), referral.pk, "accepted").status_code == 200
    assert (
        post(new_side, f"/api/v1/referrals/{referral.pk}/withdraw", {"note": "x"}).status_code
        == 409
    )
    # A new referral from the new county must go to an organisation that serves it.
    response = post(
        new_side,
        "/api/v1/referrals",
        {"child_id": str(child.pk), "organisation_id": str(org_a.pk), "reason": REASON},
    )
    assert response.status_code == 422


# --- Query counts -----------------------------------------------------------------------------


def test_the_lists_take_the_same_queries_whatever_their_length(
    client_for, api_client, child, referrer, partner_a, org_a, org_city
):
    def queries(client, url) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    refer(referrer, child, org_a)
    director_page, partner_page = client_for(referrer), client_for(partner_a)
    director_api, partner_api = api_client(referrer), api_client(partner_a)
    director_api.get("/api/v1/referrals")  # the tokens' first use is written once
    partner_api.get("/api/v1/referrals")
    before = [
        queries(director_page, "/reports/referrals/"),
        queries(partner_page, "/reports/referrals/"),
        queries(director_api, "/api/v1/referrals"),
        queries(partner_api, "/api/v1/referrals"),
    ]
    for n in range(9):
        other = make_child(
            referrer,
            name=f"查童{n}",
            birth_date=date(2014, 1, 1 + n),
            id_number=make_id_number(f"2014-01-0{1 + n}", seq=40 + n),
        )
        refer(referrer, other, org_a)
        refer(referrer, other, org_city)
    after = [
        queries(director_page, "/reports/referrals/"),
        queries(partner_page, "/reports/referrals/"),
        queries(director_api, "/api/v1/referrals"),
        queries(partner_api, "/api/v1/referrals"),
    ]
    assert after == before
    assert api_client(partner_a).get("/api/v1/referrals").json()["count"] == 10


# --- The partner's account --------------------------------------------------------------------


def test_add_staff_attaches_a_partner_to_its_organisation(areas, org_a):
    from django.core.management import call_command

    call_command(
        "add_staff", "sg1", "--role", "partner", "--area", COUNTY_A,
        "--password", "Shegong@2026x", "--organisation", org_a.name,
    )  # fmt: skip
    assert User.objects.get(username="sg1").organisation_id == org_a.pk
    call_command(
        "add_staff", "sg2", "--role", "partner", "--area", CITY,
        "--password", "Shegong@2026x", "--organisation", "宣城市新机构",
    )  # fmt: skip
    created = User.objects.get(username="sg2").organisation
    assert created.name == "宣城市新机构" and created.area_id == CITY


def test_a_partner_without_an_organisation_is_refused(areas):
    from django.core.exceptions import ValidationError

    user = User(username="loose", role=Role.PARTNER, area=areas[COUNTY_A])
    with pytest.raises(ValidationError) as refused:
        user.full_clean(exclude=["password"])
    assert "organisation" in refused.value.message_dict


def test_a_partner_holds_no_case_data_capability(partner_a):
    from accounts.permissions import capabilities_of

    assert {c.split(".")[0] for c in capabilities_of(partner_a)} == {"referral"}


def test_a_partner_moved_to_another_organisation_no_longer_sees_the_first_ones(
    api_client, child, referrer, partner_a, org_a, org_city
):
    """A partner moved to another organisation (the administrator changes it) sees that one's
    referrals from then on, and no longer the first's."""
    referral = refer(referrer, child, org_a)
    User.objects.filter(pk=partner_a.pk).update(organisation=org_city)
    partner_a.refresh_from_db()
    assert api_client(partner_a).get(f"/api/v1/referrals/{referral.pk}").status_code == 404


def test_an_inactive_partner_account_is_refused(api_client, child, referrer, org_a, partner_a):
    refer(referrer, child, org_a)
    client = api_client(partner_a)
    User.objects.filter(pk=partner_a.pk).update(is_active=False)
    assert client.get("/api/v1/referrals").status_code == 401


def test_the_organisation_of_another_county_serves_none_of_its_neighbours(areas, org_b, child):
    assert (
        not referrals.registry.organisations_serving(child.village_id).filter(pk=org_b.pk).exists()
    )
    county_b_child_village = VILLAGE_B
    assert (
        referrals.registry.organisations_serving(county_b_child_village)
        .filter(pk=org_b.pk)
        .exists()
    )


# --- The partner walks every page and every API route ---------------------------------------

# What a partner may open besides its referrals: its own account, its (empty) reminders, the
# pages with no records. Each answers without any child's data (checked below).
PARTNER_OWN_PAGES = {
    "home",  # → its referrals
    "login",
    "logout",
    "set_language",
    "healthz",
    "service_worker",
    "web_manifest",
    "offline",
    "password_change",
    "password_change_done",
    "account_security",
    "mfa_verify",
    "mfa_enrol",
    "reminders:inbox",
    "reminders:read",
    "area_search",  # the place fields' search: empty without AREA_READ (asserted below)
    "api:openapi-json",
    "api:openapi-view",
}
PARTNER_REFERRAL_PAGES = {"reporting:referrals", "reporting:referral"}
PARTNER_OWN_API = {("get", "/api/v1/me"), ("get", "/api/v1/reminders")}
PARTNER_REFERRAL_API = {("get", "/api/v1/referrals"), ("get", "/api/v1/referrals/{referral_id}")}


def test_a_partner_sees_nothing_but_its_referrals(world, frozen):  # noqa: F811
    """Every route the URL resolver knows and every operation of the OpenAPI document,
    requested by the organisation's staff: only its referrals answer with data; every other
    page and endpoint refuses (403/404/405) or shows nothing of any child (its own account,
    its reminders)."""
    from django.test import Client

    from accounts.models import Organisation
    from accounts.services import api_token_create
    from config.api import api

    from ..conftest import log_in
    from ..security.test_access_matrix import (
        _PARAMETER,
        API_META_ROUTES,
        CHOICE_PARAMETERS,
        api_operations,
        minimal_body,
        walk,
    )

    def value(name: str, converter: str = "uuid") -> str:
        """The world's object for a parameter; one no record has for a parameter the access
        matrix has not mapped yet (a route being written elsewhere must still refuse)."""
        if name in world.values:
            return world.values[name]
        if name in CHOICE_PARAMETERS:
            return CHOICE_PARAMETERS[name]()
        return {"int": "1", "str": "x"}.get(converter, "00000000-0000-4000-8000-000000000000")

    def build(route) -> str:
        return "/" + _PARAMETER.sub(
            lambda m: value(m["name"], route.converters[m["name"]]), route.route
        )

    organisation = Organisation.objects.get(name="矩阵社工中心")
    partner = make_partner(organisation, username="partner_matrix")
    markers = (*world.markers, "矩阵转介理由")
    failures: list[str] = []

    def leaks(response) -> list[str]:
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        return [m for m in markers if m in body]

    page_client = log_in(Client(), partner)
    routes = [r for r in walk() if not r.api or r.route.removeprefix("api/v1/") in API_META_ROUTES]
    assert len(routes) > 40
    answered_with_data = set()
    for route in routes:
        url = build(route)
        for method in ("GET", "POST"):
            try:
                response = getattr(page_client, method.lower())(url)
            except Exception as exc:  # a crash is a finding
                failures.append(f"{method} {url}: raised {exc!r}")
                continue
            if "_auth_user_id" not in page_client.session:
                log_in(page_client, partner)
            status = response.status_code
            if status >= 500:
                failures.append(f"{method} {url}: {status}")
            elif route.name in PARTNER_REFERRAL_PAGES:
                if method == "GET" and status == 200 and leaks(response):
                    answered_with_data.add(route.name)
            elif status < 300:
                if route.name not in PARTNER_OWN_PAGES:
                    failures.append(f"{method} {url} ({route.name}): {status}, expected 403/404")
                elif found := leaks(response):
                    failures.append(f"{method} {url}: shows {found}")
            elif status in (301, 302):
                target = response["Location"]
                if route.name not in PARTNER_OWN_PAGES and not target.startswith(
                    ("/accounts/login/", "/reports/referrals/")
                ):
                    failures.append(f"{method} {url}: redirected to {target}")
    assert answered_with_data == PARTNER_REFERRAL_PAGES, answered_with_data
    places = page_client.get("/areas/search.json", {"levels": "village", "q": "查济"})
    assert places.json() == {"results": []}

    document = api.get_openapi_schema()
    components = document.get("components", {}).get("schemas", {})
    api_client = Client(headers={"Authorization": f"Bearer {api_token_create(user=partner)}"})
    api_with_data = set()
    for method, path, _parameters in api_operations():
        url = re.sub(r"\{(\w+)\}", lambda m: value(m[1]), path)
        body, multipart = minimal_body(document["paths"][path][method], components)
        if method == "get":
            response = api_client.get(url)
        elif multipart:
            response = api_client.post(url, body)
        else:
            response = getattr(api_client, method)(url, body or {}, content_type="application/json")
        status = response.status_code
        if status >= 500:
            failures.append(f"{method.upper()} {url}: {status}")
        elif (method, path) in PARTNER_REFERRAL_API:
            if status == 200 and leaks(response):
                api_with_data.add((method, path))
        elif status < 300 and ((method, path) not in PARTNER_OWN_API or leaks(response)):
            failures.append(f"{method.upper()} {url}: {status} {response.content[:200]!r}")
    assert api_with_data == PARTNER_REFERRAL_API, api_with_data
    # Its answer changed nothing without a note; nothing else was written.
    assert Referral.objects.get().status == "sent"
    assert not failures, "\n".join(failures)
