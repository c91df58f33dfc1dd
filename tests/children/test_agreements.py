"""Care agreements (委托照护) through the API: checks, one active per child, the unsupervised flag,
expiry and the agreement_expiring reminder."""

from datetime import date

import pytest
import time_machine

from children.models import CareAgreement
from children.services import care_agreements_expire, family_member_add
from reminders.models import Notification
from reminders.services import reminders_sweep

from ..factories import make_child, make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def left_behind(frozen, director_a):
    child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    for relation in ("father", "mother"):
        family_member_add(
            user=director_a,
            child=child,
            relation=relation,
            name=relation,
            status="working_away",
            has_guardian_capacity=True,
            away_since=date(2025, 2, 1),
        )
    child.refresh_from_db()
    assert "unsupervised" in child.focus_flags
    return child


def body(**overrides):
    data = {
        "caregiver_name": "查德明",
        "caregiver_relation": "grandparent",
        "caregiver_phone": "13905631888",
        "caregiver_birth_date": "1958-04-02",
        "start_date": "2026-11-01",
        "end_date": "2027-10-31",
        "parent_work_place": "浙江省杭州市",
        "parent_phone": "13812345678",
    }
    data.update(overrides)
    return data


def post(client, child, **overrides):
    return client.post(
        f"/api/v1/children/{child.pk}/care-agreements",
        body(**overrides),
        content_type="application/json",
    )


def test_agreement_lifts_the_unsupervised_flag_and_terminating_restores_it(
    api_client, director_a, left_behind
):
    client = api_client(director_a)
    response = post(client, left_behind)
    assert response.status_code == 201, response.content
    agreement = response.json()
    assert agreement["status"] == "active" and agreement["id"]
    child = client.get(f"/api/v1/children/{left_behind.pk}").json()
    assert "unsupervised" not in child["focus_flags"] and "left_behind" in child["categories"]
    listing = client.get(f"/api/v1/children/{left_behind.pk}/care-agreements").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == agreement["id"]
    # The entrusting parents are linked to the family members working away.
    assert CareAgreement.objects.get().parents.count() == 2
    assert post(client, left_behind).status_code == 409  # one active agreement per child
    response = client.post(
        f"/api/v1/care-agreements/{agreement['id']}/terminate",
        {"reason": "父母返乡"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "terminated"
    assert "unsupervised" in client.get(f"/api/v1/children/{left_behind.pk}").json()["focus_flags"]
    assert (
        client.post(
            f"/api/v1/care-agreements/{agreement['id']}/terminate",
            {"reason": "x"},
            content_type="application/json",
        ).status_code
        == 409
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"caregiver_birth_date": "2008-11-24"}, "caregiver_birth_date"),  # 18 tomorrow
        (
            {
                "caregiver_birth_date": None,
                "caregiver_id_number": make_id_number("2008-11-24", "male"),
            },
            "caregiver_id_number",
        ),
        ({"end_date": "2026-11-01"}, "end_date"),
        ({"end_date": "2026-10-01"}, "end_date"),
        ({"caregiver_declares_record": True}, "caregiver_declares_record"),
        ({"caregiver_phone": "12345"}, "caregiver_phone"),
        ({"parent_phone": "1381234"}, "parent_phone"),
        ({"caregiver_id_number": "341823195804020000"}, "caregiver_id_number"),
    ],
)
def test_checks_are_422_naming_the_field(api_client, director_a, left_behind, overrides, field):
    response = post(api_client(director_a), left_behind, **overrides)
    assert response.status_code == 422, response.content
    assert field in [d["loc"][-1] for d in response.json()["detail"]]
    assert CareAgreement.objects.count() == 0


def test_caregiver_turning_18_today_is_accepted(api_client, director_a, left_behind):
    response = post(
        api_client(director_a),
        left_behind,
        caregiver_birth_date="2008-11-23",
        caregiver_relation="other_relative",
    )
    assert response.status_code == 201


def test_landline_phone_is_accepted(api_client, director_a, left_behind):
    assert (
        post(api_client(director_a), left_behind, caregiver_phone="0563-5021001").status_code == 201
    )


def test_scope_and_roles(api_client, left_behind, outsider, director_b, viewer, director_a):
    for user in (outsider, director_b):
        assert post(api_client(user), left_behind).status_code == 404
        assert (
            api_client(user).get(f"/api/v1/children/{left_behind.pk}/care-agreements").status_code
            == 404
        )
    assert post(api_client(viewer), left_behind).status_code == 403
    agreement = post(api_client(director_a), left_behind).json()
    url = f"/api/v1/care-agreements/{agreement['id']}/terminate"
    assert (
        api_client(outsider).post(url, {"reason": "x"}, content_type="application/json").status_code
        == 404
    )
    assert (
        api_client(viewer).post(url, {"reason": "x"}, content_type="application/json").status_code
        == 403
    )


def test_expiry_by_the_daily_job(api_client, director_a, left_behind, frozen):
    post(api_client(director_a), left_behind, start_date="2026-01-01", end_date="2026-11-30")
    frozen.move_to("2026-11-30 23:00 +0800")
    assert care_agreements_expire() == 0  # still in force on its last day
    frozen.move_to("2026-12-01 01:30 +0800")
    assert care_agreements_expire() == 1
    assert CareAgreement.objects.get().status == "expired"
    left_behind.refresh_from_db()
    assert "unsupervised" in left_behind.focus_flags


def test_agreement_expiring_reminder_30_days_before(api_client, director_a, left_behind, frozen):
    post(api_client(director_a), left_behind, end_date="2027-01-31")
    frozen.move_to("2026-12-31 08:00 +0800")  # 31 days before
    reminders_sweep()
    assert not Notification.objects.filter(kind="agreement_expiring").exists()
    frozen.move_to("2027-01-01 08:00 +0800")  # 30 days before
    reminders_sweep()
    reminders_sweep()
    reminder = Notification.objects.get(kind="agreement_expiring")
    assert reminder.recipient == director_a and reminder.due_date == date(2027, 1, 31)


def test_visit_finding_caregiver_unable_flags_the_agreement_and_texts_the_parents(
    api_client, director_a, supervisor, left_behind, frozen
):
    from accounts import outbox
    from children.models import ParentNotice

    client = api_client(director_a)
    agreement = post(client, left_behind).json()
    outbox.run_inline()  # what the fixtures queued (benefits' rechecks after family changes)
    response = client.post(
        f"/api/v1/children/{left_behind.pk}/visits",
        {"date": "2026-11-23", "kind": "home", "findings": {"caregiver_capable": False}},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert outbox.run_inline() == 1  # telling the parents went through the outbox
    flagged = CareAgreement.objects.get(pk=agreement["id"])
    assert flagged.status == "needs_replacement" and flagged.replacement_due == date(2026, 12, 7)
    assert "unsupervised" in client.get(f"/api/v1/children/{left_behind.pk}").json()["focus_flags"]
    # No SMS channel is configured here: nothing claims a text was sent; the director phones
    # (tests/children/test_parent_notice.py texts them through a provider).
    notice = ParentNotice.objects.get()
    assert (notice.status, notice.channel, notice.phone) == ("pending_call", "phone", "13812345678")
    assert notice.automatic and notice.notified_by is None and notice.delivery is None
    # 14 days later with no new agreement, the supervisor is told (once).
    frozen.move_to("2026-12-07 08:00 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(
        recipient=supervisor, due_date=date(2026, 12, 7)
    ).exists()
    frozen.move_to("2026-12-08 08:00 +0800")
    reminders_sweep()
    reminders_sweep()
    assert (
        Notification.objects.filter(
            recipient=supervisor, kind="escalation", due_date=date(2026, 12, 7)
        ).count()
        == 1
    )


def test_a_new_agreement_replaces_the_flagged_one(
    api_client, director_a, supervisor, left_behind, frozen
):
    client = api_client(director_a)
    old = post(client, left_behind).json()
    response = client.post(
        f"/api/v1/care-agreements/{old['id']}/caregiver-unable",
        {"reason": "祖父住院"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "needs_replacement"
    new = post(
        client,
        left_behind,
        caregiver_name="王秀兰",
        caregiver_birth_date="1970-01-01",
        caregiver_relation="other_relative",
    )
    assert new.status_code == 201
    assert CareAgreement.objects.get(pk=old["id"]).status == "terminated"
    assert (
        "unsupervised" not in client.get(f"/api/v1/children/{left_behind.pk}").json()["focus_flags"]
    )
    frozen.move_to("2026-12-20 08:00 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(recipient=supervisor).exists()


def test_parent_contact_flag_after_14_days(api_client, director_a, left_behind, frozen, client_for):
    client = api_client(director_a)
    child = client.get(f"/api/v1/children/{left_behind.pk}").json()
    assert child["parent_contact_overdue"] is False
    frozen.move_to("2026-12-07 10:00 +0800")  # 14 days after registration: not yet
    assert (
        client.get(f"/api/v1/children/{left_behind.pk}").json()["parent_contact_overdue"] is False
    )
    frozen.move_to("2026-12-08 10:00 +0800")
    assert client.get(f"/api/v1/children/{left_behind.pk}").json()["parent_contact_overdue"] is True
    page = client_for(director_a).get("/children/?flag=parent_contact_overdue").content.decode()
    assert "查小雨" in page and "父母未联系" in page
    response = client.post(
        f"/api/v1/children/{left_behind.pk}/parent-contacts",
        {"date": "2026-12-06", "channel": "video", "note": "妈妈视频通话"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert (
        client.get(f"/api/v1/children/{left_behind.pk}").json()["parent_contact_overdue"] is False
    )
    bad = client.post(
        f"/api/v1/children/{left_behind.pk}/parent-contacts",
        {"date": "2026-12-09", "channel": "phone"},
        content_type="application/json",
    )
    assert bad.status_code == 422


def test_parent_contacts_scope(api_client, left_behind, outsider, viewer):
    url = f"/api/v1/children/{left_behind.pk}/parent-contacts"
    payload = {"date": "2026-11-20", "channel": "phone"}
    assert (
        api_client(outsider).post(url, payload, content_type="application/json").status_code == 404
    )
    assert api_client(viewer).post(url, payload, content_type="application/json").status_code == 403


def test_township_overview_counts_unsupervised_children(
    api_client, client_for, director_a, supervisor, left_behind
):
    page = client_for(supervisor).get("/visits/township/").content.decode()
    assert "?village=341823103201&flag=unsupervised" in page
    post(api_client(director_a), left_behind)
    page = client_for(supervisor).get("/visits/township/").content.decode()
    assert "flag=unsupervised" not in page
