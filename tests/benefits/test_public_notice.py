"""Issue 17, point 5: the 7-day public notice (公示) of 低保 and 特困 is recorded — dates, place,
objections and their handling — and the county's approval waits for its end and for every
objection to be handled (409)."""

from datetime import date

import pytest
import time_machine

from accounts.permissions import Capability, roles_with
from benefits.models import NoticeObjection, PublicNotice, SubsidyApplication
from benefits.services import (
    notice_objection_add,
    subsidy_apply,
    subsidy_decide,
    subsidy_evidence_attach,
    subsidy_resubmit,
)

from ..factories import document, make_child, make_orphan
from .test_subsidies import apply, decide

pytestmark = pytest.mark.django_db

TOWNSHIP_DAY = "2026-11-23 10:00 +0800"  # the township approves on a Monday


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def frozen():
    with time_machine.travel(TOWNSHIP_DAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def low_income(frozen, director_a):
    return make_child(director_a, name="低保娃", birth_date=date(2012, 1, 1))


@pytest.fixture
def noticed(low_income, director_a, supervisor):
    """A 低保 application approved by the township on 2026-11-23: noticed 23–29 November. The
    family's economic check is on file, so only the notice holds up the county."""
    application = subsidy_apply(user=director_a, child=low_income, programme="minimum_living")
    subsidy_evidence_attach(
        user=director_a, application=application, upload=document(), kind="income_check"
    )
    return subsidy_decide(user=supervisor, application=application, decision="approve", note="")


def put(client, path, body):
    return client.put(f"/api/v1{path}", body, content_type="application/json")


def post(client, path, body):
    return client.post(f"/api/v1{path}", body, content_type="application/json")


def _objection(client, application, received_on="2026-11-23", content="村民张某反映其家中有车"):
    return post(
        client,
        f"/subsidy-applications/{application.pk}/objections",
        {"received_on": received_on, "content": content},
    )


def _handle(
    client,
    application,
    objection_id,
    outcome="dismissed",
    handling="经入户核实，车辆已于2025年出售",
):
    return post(
        client,
        f"/subsidy-applications/{application.pk}/objections/{objection_id}/handling",
        {"outcome": outcome, "handling": handling},
    )


def _detail(client, application):
    return client.get(f"/api/v1/subsidy-applications/{application.pk}").json()


# --- Recorded by the township's approval ---------------------------------------------------------


def test_township_approval_records_a_7_day_notice(
    api_client, low_income, director_a, supervisor, civil_affairs
):
    application_id = apply(api_client(director_a), low_income, programme="minimum_living").json()[
        "id"
    ]
    assert not PublicNotice.objects.exists()
    assert decide(api_client(supervisor), application_id).status_code == 200
    notice = PublicNotice.objects.get(application_id=application_id)
    assert (notice.starts_on, notice.ends_on) == (date(2026, 11, 23), date(2026, 11, 29))
    assert (notice.place, notice.recorded_by) == ("village_board", supervisor)
    body = api_client(civil_affairs).get(f"/api/v1/subsidy-applications/{application_id}").json()
    assert body["public_notice"] == {
        "starts_on": "2026-11-23",
        "ends_on": "2026-11-29",
        "place": "village_board",
        "objections": [],
    }
    assert body["notice_ends"] == "2026-11-30"  # the first day the county may approve


def test_no_notice_for_an_orphan_nor_before_the_township(
    api_client, frozen, director_a, supervisor
):
    orphan = make_orphan(director_a, name="孤儿甲", birth_date=date(2014, 5, 1))
    application_id = apply(api_client(director_a), orphan).json()["id"]
    body = api_client(supervisor).get(f"/api/v1/subsidy-applications/{application_id}").json()
    assert body["public_notice"] is None and body["notice_ends"] is None
    # Privacy: an orphan's benefit is never noticed publicly, so no notice can be asked for.
    response = post(
        api_client(supervisor),
        f"/subsidy-applications/{application_id}/decisions",
        {"decision": "approve", "note": "", "notice_place": "online"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "notice_place"]
    assert decide(api_client(supervisor), application_id).status_code == 200
    assert not PublicNotice.objects.exists()


def test_the_township_chooses_the_place_and_a_later_start(
    api_client, low_income, director_a, supervisor
):
    application_id = apply(api_client(director_a), low_income, programme="minimum_living").json()[
        "id"
    ]
    path = f"/subsidy-applications/{application_id}/decisions"
    early = post(
        api_client(supervisor),
        path,
        {"decision": "approve", "note": "", "notice_starts_on": "2026-11-22"},
    )
    assert early.status_code == 422
    assert early.json()["detail"][0]["loc"] == ["body", "notice_starts_on"]
    assert SubsidyApplication.objects.get(pk=application_id).status == "submitted"
    response = post(
        api_client(supervisor),
        path,
        {
            "decision": "approve",
            "note": "",
            "notice_place": "both",
            "notice_starts_on": "2026-11-25",
        },
    )
    assert response.status_code == 200
    notice = PublicNotice.objects.get(application_id=application_id)
    assert (notice.starts_on, notice.ends_on, notice.place) == (
        date(2026, 11, 25),
        date(2026, 12, 1),
        "both",
    )


# --- The county waits for the notice's end ------------------------------------------------------


def test_the_county_approves_from_the_day_after_the_notice(api_client, noticed, civil_affairs):
    assert _detail(api_client(civil_affairs), noticed)["public_notice"]["ends_on"] == "2026-11-29"
    with time_machine.travel("2026-11-29 23:59 +0800", tick=False):  # the notice's last day
        early = decide(api_client(civil_affairs), noticed.pk)
    assert early.status_code == 409
    assert early.json()["detail"] == "公示期未满，2026-11-30起方可审批"
    with time_machine.travel("2026-11-30 00:00 +0800", tick=False):
        assert decide(api_client(civil_affairs), noticed.pk).status_code == 200


def test_a_notice_kept_up_longer_holds_the_county_to_its_new_end(
    api_client, noticed, director_a, civil_affairs
):
    """The county reads the recorded notice, not 7 days from the township's approval."""
    response = put(
        api_client(director_a),
        f"/subsidy-applications/{noticed.pk}/public-notice",
        {"starts_on": "2026-11-24", "ends_on": "2026-12-02", "place": "online"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "starts_on": "2026-11-24",
        "ends_on": "2026-12-02",
        "place": "online",
        "objections": [],
    }
    notice = PublicNotice.objects.get(application=noticed)
    assert (notice.ends_on, notice.place, notice.recorded_by) == (
        date(2026, 12, 2),
        "online",
        director_a,
    )
    with time_machine.travel("2026-12-02 16:00 +0800", tick=False):
        late = decide(api_client(civil_affairs), noticed.pk)
        assert late.status_code == 409 and "2026-12-03起方可审批" in late.json()["detail"]
        row = api_client(civil_affairs).get("/api/v1/subsidy-applications").json()["items"][0]
        assert row["notice_ends"] == "2026-12-03"
    with time_machine.travel("2026-12-03 08:00 +0800", tick=False):
        assert decide(api_client(civil_affairs), noticed.pk).status_code == 200


def test_a_notice_shorter_than_7_days_or_before_the_township_is_refused(
    api_client, noticed, supervisor
):
    path = f"/subsidy-applications/{noticed.pk}/public-notice"
    six_days = put(
        api_client(supervisor),
        path,
        {"starts_on": "2026-11-23", "ends_on": "2026-11-28", "place": "village_board"},
    )
    assert six_days.status_code == 422
    detail = six_days.json()["detail"]
    assert [d["loc"] for d in detail] == [["body", "ends_on"]]
    assert "2026-11-29" in detail[0]["msg"]
    too_early = put(
        api_client(supervisor),
        path,
        {"starts_on": "2026-11-22", "ends_on": "2026-11-30", "place": "village_board"},
    )
    assert too_early.status_code == 422
    assert [d["loc"] for d in too_early.json()["detail"]] == [["body", "starts_on"]]
    bad_place = put(
        api_client(supervisor),
        path,
        {"starts_on": "2026-11-23", "ends_on": "2026-11-29", "place": "newspaper"},
    )
    assert bad_place.status_code == 422
    notice = PublicNotice.objects.get(application=noticed)
    assert (notice.starts_on, notice.ends_on) == (date(2026, 11, 23), date(2026, 11, 29))


def test_correcting_the_notice_by_role_scope_and_state(
    api_client, noticed, director_a, director_b, civil_affairs, viewer, outsider
):
    path = f"/subsidy-applications/{noticed.pk}/public-notice"
    body = {"starts_on": "2026-11-23", "ends_on": "2026-11-30", "place": "both"}
    assert put(api_client(outsider), path, body).status_code == 404
    assert put(api_client(director_b), path, body).status_code == 404  # the next village
    assert put(api_client(civil_affairs), path, body).status_code == 403
    assert put(api_client(viewer), path, body).status_code == 403
    assert put(api_client(director_a), path, body).status_code == 200
    with time_machine.travel("2026-12-01 10:00 +0800", tick=False):
        assert decide(api_client(civil_affairs), noticed.pk).status_code == 200
        assert put(api_client(director_a), path, body).status_code == 409  # approved: closed


# --- Objections -----------------------------------------------------------------------------------


def test_an_unhandled_objection_holds_up_the_county_after_the_notice(
    api_client, noticed, director_a, supervisor, civil_affairs
):
    created = _objection(api_client(director_a), noticed)
    assert created.status_code == 201
    objection = created.json()
    assert objection["received_on"] == "2026-11-23" and objection["outcome"] == ""
    assert objection["handled_on"] is None
    stored = NoticeObjection.objects.get(pk=objection["id"])
    assert stored.content == "村民张某反映其家中有车" and stored.recorded_by == director_a
    with time_machine.travel("2026-12-01 10:00 +0800", tick=False) as later:
        refused = decide(api_client(civil_affairs), noticed.pk)
        assert refused.status_code == 409
        assert "有未处理的公示异议（1条）" in refused.json()["detail"]
        assert "公示期未满" not in refused.json()["detail"]
        handled = _handle(api_client(supervisor), noticed, objection["id"])
        assert handled.status_code == 200
        assert handled.json() == {
            "id": objection["id"],
            "received_on": "2026-11-23",
            "outcome": "dismissed",
            "handled_on": "2026-12-01",
        }
        stored.refresh_from_db()
        assert stored.handling == "经入户核实，车辆已于2025年出售"
        assert stored.handled_by == supervisor
        later.move_to("2026-12-02 10:00 +0800")
        assert decide(api_client(civil_affairs), noticed.pk).json()["status"] == "approved"
    body = _detail(api_client(civil_affairs), noticed)
    assert body["public_notice"]["objections"] == [handled.json()]


def test_both_reasons_are_named_while_the_notice_runs(
    api_client, noticed, supervisor, civil_affairs
):
    _objection(api_client(supervisor), noticed)
    _objection(api_client(civil_affairs), noticed, content="来电反映其子女有稳定收入")
    with time_machine.travel("2026-11-27 10:00 +0800", tick=False):
        refused = decide(api_client(civil_affairs), noticed.pk)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "公示期未满，2026-11-30起方可审批；有未处理的公示异议（2条），处理后方可审批"
    )


def test_an_upheld_objection_is_for_the_county_to_weigh(
    api_client, noticed, director_a, civil_affairs
):
    """Handled is what the rule asks: upheld or dismissed, the county reads it and decides."""
    objection_id = _objection(api_client(director_a), noticed).json()["id"]
    with time_machine.travel("2026-11-30 10:00 +0800", tick=False):
        handled = _handle(
            api_client(civil_affairs), noticed, objection_id, "upheld", "核实有营运车辆一辆"
        )
        assert handled.status_code == 200 and handled.json()["outcome"] == "upheld"
        # Handled once: the record stands.
        again = _handle(api_client(civil_affairs), noticed, objection_id, "dismissed", "改判")
        assert again.status_code == 409
        assert decide(api_client(civil_affairs), noticed.pk).status_code == 200
    assert NoticeObjection.objects.get(pk=objection_id).outcome == "upheld"


def test_objection_input_is_checked(api_client, noticed, director_a, supervisor):
    client = api_client(director_a)
    for received_on, content, field in (
        ("2026-11-23", "   ", "content"),
        ("2026-11-23", "", "content"),
        ("2026-11-23", "异" * 1001, "content"),
        ("2026-11-23", "有\x00空字符", "content"),
        ("2026-11-24", "明天才收到", "received_on"),  # not in the future
        ("2026-11-22", "公示前收到", "received_on"),  # nor before the notice
        ("2026-11-23", "异" * 1000, None),
    ):
        response = _objection(client, noticed, received_on, content)
        if field is None:
            assert response.status_code == 201, (received_on, content)
        else:
            assert response.status_code == 422, (received_on, content)
            assert [d["loc"] for d in response.json()["detail"]] == [["body", field]]
    assert _objection(client, noticed, "2026-11-23", None).status_code == 422
    assert _objection(client, noticed, "23/11/2026", "x").status_code == 422
    with time_machine.travel("2026-11-24 00:00 +0800", tick=False):
        assert _objection(client, noticed, "2026-11-24", "今天收到").status_code == 201
    assert NoticeObjection.objects.count() == 2
    objection_id = NoticeObjection.objects.first().pk
    assert _handle(api_client(supervisor), noticed, objection_id, handling="").status_code == 422
    assert _handle(api_client(supervisor), noticed, objection_id, "maybe").status_code == 422
    assert NoticeObjection.objects.filter(handled_on__isnull=False).count() == 0


def test_objections_by_role_scope_and_state(
    api_client,
    noticed,
    low_income,
    director_a,
    director_b,
    supervisor,
    other_supervisor,
    civil_affairs,
    viewer,
    outsider,
):
    assert _objection(api_client(outsider), noticed).status_code == 404
    assert _objection(api_client(director_b), noticed).status_code == 404
    assert _objection(api_client(viewer), noticed).status_code == 403
    objection_id = _objection(api_client(director_a), noticed).json()["id"]
    assert _handle(api_client(outsider), noticed, objection_id).status_code == 404
    assert _handle(api_client(other_supervisor), noticed, objection_id).status_code == 404
    assert _handle(api_client(director_a), noticed, objection_id).status_code == 403
    assert _handle(api_client(viewer), noticed, objection_id).status_code == 403
    assert _handle(api_client(supervisor), noticed, "not-a-uuid").status_code == 404
    # An objection is reached only through its own application.
    other = subsidy_apply(
        user=director_a,
        child=make_child(director_a, name="特困娃", birth_date=date(2011, 2, 2)),
        programme="extreme_poverty_support",
    )
    assert _handle(api_client(supervisor), other, objection_id).status_code == 404
    # No notice yet (only submitted): nothing to object to.
    assert _objection(api_client(director_a), other).status_code == 409
    assert NoticeObjection.objects.count() == 1
    with time_machine.travel("2026-12-01 10:00 +0800", tick=False):
        assert _handle(api_client(supervisor), noticed, objection_id).status_code == 200
        assert decide(api_client(civil_affairs), noticed.pk).status_code == 200
        assert _objection(api_client(director_a), noticed).status_code == 409


def test_approved_again_after_a_return_gets_a_fresh_notice(
    api_client, noticed, director_a, supervisor, civil_affairs, frozen
):
    _objection(api_client(director_a), noticed)
    frozen.move_to("2026-12-01 10:00 +0800")
    subsidy_decide(
        user=civil_affairs, application=noticed, decision="return", note="请补充收入证明"
    )
    subsidy_resubmit(user=director_a, application=noticed, note="已补充")
    frozen.move_to("2026-12-04 10:00 +0800")
    subsidy_decide(user=supervisor, application=noticed, decision="approve", note="")
    notice = PublicNotice.objects.get(application=noticed)
    assert (notice.starts_on, notice.ends_on) == (date(2026, 12, 4), date(2026, 12, 10))
    assert not notice.objections.exists()
    frozen.move_to("2026-12-10 10:00 +0800")
    assert decide(api_client(civil_affairs), noticed.pk).status_code == 409
    frozen.move_to("2026-12-11 10:00 +0800")
    assert decide(api_client(civil_affairs), noticed.pk).status_code == 200


def test_who_may_do_what_with_a_notice():
    assert roles_with(Capability.BENEFIT_NOTICE) == {"director", "supervisor"}
    assert roles_with(Capability.BENEFIT_OBJECTION_RECORD) == {
        "director",
        "supervisor",
        "civil_affairs",
    }
    assert roles_with(Capability.BENEFIT_OBJECTION_HANDLE) == {"supervisor", "civil_affairs"}


# --- The application page -----------------------------------------------------------------------


def _page(client, application) -> str:
    response = client.get(f"/children/subsidies/{application.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_township_posts_the_notice_from_the_decision_form(
    client_for, low_income, director_a, supervisor
):
    application = subsidy_apply(user=director_a, child=low_income, programme="minimum_living")
    page = _page(client_for(supervisor), application)
    assert 'name="notice_place"' in page and 'name="notice_starts_on"' in page
    client_for(supervisor).post(
        f"/children/subsidies/{application.pk}/decide/",
        {
            "decision": "approve",
            "note": "",
            "notice_place": "online",
            "notice_starts_on": "2026-11-24",
        },
    )
    notice = PublicNotice.objects.get(application=application)
    assert (notice.starts_on, notice.ends_on, notice.place) == (
        date(2026, 11, 24),
        date(2026, 11, 30),
        "online",
    )


def test_the_decision_form_asks_for_a_notice_only_where_one_is_posted(
    client_for, noticed, frozen, director_a, supervisor, civil_affairs
):
    county = _page(client_for(civil_affairs), noticed)
    assert 'name="decision"' in county and 'name="notice_place"' not in county
    assert 'id="public-notice"' in county and "2026-11-23 – 2026-11-29" in county
    orphan = make_orphan(director_a, name="孤儿乙", birth_date=date(2014, 5, 1))
    application = subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance")
    township = _page(client_for(supervisor), application)
    assert 'name="decision"' in township and 'name="notice_place"' not in township
    assert 'id="public-notice"' not in township


def test_objection_recorded_listed_and_handled_on_the_page(
    client_for, noticed, director_a, supervisor, civil_affairs, viewer, outsider
):
    page = _page(client_for(director_a), noticed)
    assert 'id="public-notice"' in page
    assert "2026-11-23 – 2026-11-29" in page and "2026-11-30" in page
    assert f"/children/subsidies/{noticed.pk}/objections/" in page  # the director records
    assert f"/children/subsidies/{noticed.pk}/public-notice/" in page  # and corrects
    response = client_for(director_a).post(
        f"/children/subsidies/{noticed.pk}/objections/",
        {"received_on": "2026-11-23", "content": "邻居李某来电反对"},
        follow=True,
    )
    assert response.status_code == 200
    objection = NoticeObjection.objects.get()
    assert (objection.received_on, objection.recorded_by) == (date(2026, 11, 23), director_a)
    page = response.content.decode()
    assert "邻居李某来电反对" in page and f'id="objection-{objection.pk}"' in page
    handle_url = f"/children/subsidies/{noticed.pk}/objections/{objection.pk}/handling/"
    assert handle_url not in page  # the village does not judge the objection
    assert handle_url in _page(client_for(supervisor), noticed)
    assert handle_url in _page(client_for(civil_affairs), noticed)
    # The viewer sees that there is an objection, not what it says (it names people).
    watched = _page(client_for(viewer), noticed)
    assert f'id="objection-{objection.pk}"' in watched and "邻居李某" not in watched
    assert (
        client_for(outsider).post(handle_url, {"outcome": "upheld", "handling": "x"}).status_code
        == 404
    )
    assert (
        client_for(director_a).post(handle_url, {"outcome": "upheld", "handling": "x"}).status_code
        == 403
    )
    # A handling without its note is refused and nothing changes.
    client_for(supervisor).post(handle_url, {"outcome": "dismissed", "handling": ""})
    objection.refresh_from_db()
    assert objection.handled_on is None
    response = client_for(supervisor).post(
        handle_url, {"outcome": "dismissed", "handling": "经核实，李某与申请人有纠纷"}, follow=True
    )
    objection.refresh_from_db()
    assert (objection.outcome, objection.handled_by) == ("dismissed", supervisor)
    page = response.content.decode()
    assert "经核实，李某与申请人有纠纷" in page and handle_url not in page


def test_a_six_day_notice_is_refused_on_the_page(client_for, noticed, supervisor):
    response = client_for(supervisor).post(
        f"/children/subsidies/{noticed.pk}/public-notice/",
        {"starts_on": "2026-11-23", "ends_on": "2026-11-28", "place": "village_board"},
        follow=True,
    )
    assert "公示期不少于7天" in response.content.decode()
    assert PublicNotice.objects.get(application=noticed).ends_on == date(2026, 11, 29)
    client_for(supervisor).post(
        f"/children/subsidies/{noticed.pk}/public-notice/",
        {"starts_on": "2026-11-23", "ends_on": "2026-12-05", "place": "both"},
    )
    notice = PublicNotice.objects.get(application=noticed)
    assert (notice.ends_on, notice.place) == (date(2026, 12, 5), "both")
    assert "2026-12-06" in _page(client_for(supervisor), noticed)


def test_the_queue_says_when_the_county_may_approve(client_for, noticed, supervisor, civil_affairs):
    notice = PublicNotice.objects.get(application=noticed)
    notice.ends_on = date(2026, 12, 4)
    notice.save()
    page = client_for(civil_affairs).get("/children/subsidies/queue/").content.decode()
    assert "2026-12-05" in page and "2026-11-30" not in page


def test_objections_can_be_added_through_the_service_alone(noticed, director_a):
    """The service is what the page and the API call: an objection on the day, counted."""
    objection = notice_objection_add(
        user=director_a, application=noticed, received_on=date(2026, 11, 23), content=" 当天收到 "
    )
    assert objection.content == "当天收到" and objection.notice.application_id == noticed.pk
