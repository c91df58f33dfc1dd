"""api.md "Mandatory reports": filing, the stage machine by role, confidentiality, deadlines."""

from datetime import date

import pytest
import time_machine

from reminders.models import Notification
from reminders.services import reminders_sweep
from reporting import rules

from ..factories import make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def child(frozen, director_a):
    return make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))


def file(client, **overrides):
    body = {
        "situation": "living_alone",
        "discovered_at": "2026-11-23T08:30:00+08:00",
        "description": "孩子独自在家，已三天无人照看",
        "reporter_org_type": "school",
        "child_name": "查小雨",
        "location": "查济村3组",
    }
    body.update(overrides)
    return client.post("/api/v1/reports", body, content_type="application/json")


def move(client, report_id, to, **body):
    return client.post(
        f"/api/v1/reports/{report_id}/transitions",
        {"to": to, "note": "", **body},
        content_type="application/json",
    )


def test_full_path_from_filing_to_closing(
    api_client, child, reporter, director_a, supervisor, civil_affairs
):
    report = file(api_client(reporter), child_id=str(child.pk))
    assert report.status_code == 201, report.content
    report_id = report.json()["id"]
    assert report.json()["stage"] == "reported"
    director, sup, county = (
        api_client(director_a),
        api_client(supervisor),
        api_client(civil_affairs),
    )
    assert (
        move(director, report_id, "police_received", police_receipt="泾公受字2026-118").status_code
        == 200
    )
    assert move(director, report_id, "emergency_handled").status_code == 422  # needs an action
    assert (
        move(
            director, report_id, "emergency_handled", actions=["placed_with_relatives"]
        ).status_code
        == 200
    )
    assert move(director, report_id, "assessed", service_plan=["counselling"]).status_code == 403
    assert move(sup, report_id, "assessed").status_code == 422
    assert (
        move(
            sup, report_id, "assessed", service_plan=["guardianship_guidance", "counselling"]
        ).status_code
        == 200
    )
    assert (
        move(sup, report_id, "intervention", intervention_type="warning_letter").status_code == 200
    )
    closed = move(county, report_id, "closed", outcome="resolved", note="监护人已返乡")
    assert closed.status_code == 200 and closed.json()["stage"] == "closed"
    stages = [(t["from_stage"], t["to_stage"]) for t in closed.json()["transitions"]]
    assert stages == [
        ("", "reported"),
        ("reported", "police_received"),
        ("police_received", "emergency_handled"),
        ("emergency_handled", "assessed"),
        ("assessed", "intervention"),
        ("intervention", "closed"),
    ]
    assert move(county, report_id, "assessed").status_code == 409


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("reported", "assessed"),
        ("reported", "emergency_handled"),
        ("reported", "intervention"),
        ("reported", "closed"),
        ("police_received", "assessed"),
        ("emergency_handled", "intervention"),
    ],
)
def test_forbidden_skips_are_409(source, target):
    with pytest.raises(rules.TransitionError):
        rules.find_transition(
            source=source, target=target, role="civil_affairs", outcome="resolved"
        )


@pytest.mark.parametrize("role", ["reporter", "viewer", "director"])
def test_unfounded_only_by_supervisor_or_civil_affairs(role):
    with pytest.raises(rules.TransitionForbidden):
        rules.find_transition(source="reported", target="closed", role=role, outcome="unfounded")
    assert (
        rules.find_transition(
            source="police_received", target="closed", role="supervisor", outcome="unfounded"
        ).requires
        == "note"
    )


def test_unfounded_needs_a_note(api_client, child, director_a, supervisor):
    report_id = file(api_client(director_a), child_id=str(child.pk)).json()["id"]
    assert (
        move(
            api_client(director_a), report_id, "closed", outcome="unfounded", note="误报"
        ).status_code
        == 403
    )
    assert move(api_client(supervisor), report_id, "closed", outcome="unfounded").status_code == 422
    response = move(
        api_client(supervisor), report_id, "closed", outcome="unfounded", note="核实为误报"
    )
    assert response.status_code == 200 and response.json()["outcome"] == "unfounded"


def test_reporter_sees_only_own_reports_and_no_identities(
    api_client, areas, reporter, supervisor, director_a, child
):
    from accounts.models import Role

    from ..factories import UserFactory

    other = UserFactory(username="clinic", role=Role.REPORTER, area=reporter.area)
    mine = file(api_client(reporter), child_id=str(child.pk)).json()
    theirs = file(api_client(other)).json()
    listing = api_client(reporter).get("/api/v1/reports").json()
    assert [r["id"] for r in listing["items"]] == [mine["id"]]
    assert api_client(reporter).get(f"/api/v1/reports/{theirs['id']}").status_code == 404
    assert move(api_client(reporter), mine["id"], "police_received").status_code == 403
    assert (
        api_client(supervisor).get(f"/api/v1/reports/{mine['id']}").json()["reporter"]
        == reporter.display_name
    )
    assert api_client(director_a).get(f"/api/v1/reports/{mine['id']}").json()["reporter"] is None


def test_scope(api_client, child, director_a, outsider, viewer, other_supervisor):
    report_id = file(api_client(director_a), child_id=str(child.pk)).json()["id"]
    for user in (outsider, other_supervisor):
        assert api_client(user).get(f"/api/v1/reports/{report_id}").status_code == 404
        assert move(api_client(user), report_id, "police_received").status_code == 404
    assert api_client(viewer).get(f"/api/v1/reports/{report_id}").status_code == 200
    assert move(api_client(viewer), report_id, "police_received").status_code == 403
    assert file(api_client(outsider), child_id=str(child.pk)).status_code == 404
    assert file(api_client(viewer)).status_code == 403
    assert api_client(director_a).get("/api/v1/reports?stage=reported").json()["count"] == 1
    assert api_client(director_a).get("/api/v1/reports?stage=closed").json()["count"] == 0


def test_bad_input_is_422(api_client, director_a):
    assert file(api_client(director_a), situation="unknown").status_code == 422
    assert (
        file(api_client(director_a), discovered_at="2027-01-01T00:00:00+08:00").status_code == 422
    )
    assert file(api_client(director_a), child_name="", child_id=None).status_code == 422


def test_police_deadline_after_24_hours(api_client, director_a, supervisor, civil_affairs, frozen):
    report_id = file(api_client(director_a)).json()["id"]
    frozen.move_to("2026-11-24 09:59 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(kind="report_deadline").exists()
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    reminders_sweep()
    deadlines = Notification.objects.filter(kind="report_deadline", report_id=report_id)
    assert [(n.recipient.username, n.due_date) for n in deadlines] == [
        ("supervisor", date(2026, 11, 24))
    ]
    frozen.move_to("2026-12-02 10:01 +0800")  # still reported: a week past the stage limit
    reminders_sweep()
    assert deadlines.filter(recipient=civil_affairs).count() == 1


def test_assessment_deadline_7_days_after_police_received(
    api_client, director_a, supervisor, frozen
):
    report_id = file(api_client(director_a), police_notified_at="2026-11-23T09:00:00+08:00").json()[
        "id"
    ]
    move(api_client(director_a), report_id, "police_received")
    move(api_client(director_a), report_id, "emergency_handled", actions=["medical_care"])
    frozen.move_to("2026-11-30 09:59 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(
        kind="report_deadline", due_date=date(2026, 11, 30)
    ).exists()
    frozen.move_to("2026-11-30 10:01 +0800")
    reminders_sweep()
    assert Notification.objects.filter(
        kind="report_deadline", recipient=supervisor, due_date=date(2026, 11, 30)
    ).exists()


def test_a_report_makes_the_assessment_due_at_once(api_client, child, director_a):
    file(api_client(director_a), child_id=str(child.pk))
    child.refresh_from_db()
    assert child.next_assessment_due == date(2026, 11, 23)


def test_danger_found_on_a_visit_without_a_report_tells_the_supervisor(
    api_client, child, director_a, supervisor, frozen
):
    visit = {"date": "2026-11-23", "kind": "home", "findings": {"safety_concern": True}}
    api_client(director_a).post(
        f"/api/v1/children/{child.pk}/visits", visit, content_type="application/json"
    )
    frozen.move_to("2026-11-24 09:59 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(recipient=supervisor, kind="report_deadline").exists()
    frozen.move_to("2026-11-24 10:01 +0800")
    reminders_sweep()
    reminders_sweep()
    told = Notification.objects.filter(recipient=supervisor, kind="report_deadline", child=child)
    assert told.count() == 1 and told.get().due_date == date(2026, 11, 24)


def test_a_report_after_the_visit_means_no_warning(
    api_client, child, director_a, supervisor, frozen
):
    visit = {"date": "2026-11-23", "kind": "home", "findings": {"safety_concern": True}}
    api_client(director_a).post(
        f"/api/v1/children/{child.pk}/visits", visit, content_type="application/json"
    )
    file(
        api_client(director_a),
        child_id=str(child.pk),
        police_notified_at="2026-11-23T09:00:00+08:00",
    )
    frozen.move_to("2026-11-25 10:00 +0800")
    reminders_sweep()
    assert not Notification.objects.filter(
        recipient=supervisor, child=child, report_id=None
    ).exists()


def test_area_policy_sets_the_assessment_deadline(api_client, director_a, supervisor, frozen):
    from accounts.models import AreaPolicy

    from ..conftest import COUNTY_A

    AreaPolicy.objects.create(area_id=COUNTY_A, report_assessment_days=3)
    report_id = file(api_client(director_a), police_notified_at="2026-11-23T09:00:00+08:00").json()[
        "id"
    ]
    move(api_client(director_a), report_id, "police_received")
    move(api_client(director_a), report_id, "emergency_handled", actions=["medical_care"])
    frozen.move_to("2026-11-26 10:01 +0800")
    reminders_sweep()
    assert Notification.objects.filter(
        kind="report_deadline", recipient=supervisor, due_date=date(2026, 11, 26)
    ).exists()


# The table of domain §6, written out: (from, to) → roles allowed.
ALLOWED = {
    ("reported", "police_received"): {"director", "supervisor", "civil_affairs"},
    ("police_received", "emergency_handled"): {"director", "supervisor", "civil_affairs"},
    ("emergency_handled", "assessed"): {"supervisor", "civil_affairs"},
    ("assessed", "intervention"): {"supervisor", "civil_affairs"},
    ("assessed", "closed"): {"supervisor", "civil_affairs"},
    ("intervention", "closed"): {"supervisor", "civil_affairs"},
}
ROLES = ["reporter", "viewer", "director", "supervisor", "civil_affairs"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("source", rules.STAGES)
@pytest.mark.parametrize("target", rules.STAGES)
def test_every_transition_for_every_role(source, target, role):
    allowed_roles = ALLOWED.get((source, target))
    if source == "closed" or allowed_roles is None:
        with pytest.raises(rules.TransitionError):
            rules.find_transition(source=source, target=target, role=role, outcome="resolved")
    elif role in allowed_roles:
        assert rules.find_transition(source=source, target=target, role=role, outcome="resolved")
    else:
        with pytest.raises(rules.TransitionForbidden):
            rules.find_transition(source=source, target=target, role=role, outcome="resolved")


def test_police_receipt_with_the_time_the_police_were_told(api_client, child, supervisor):
    """Found by the API fuzzer: a datetime in the transition's data answered 500."""
    from reporting.models import ReportTransition

    client = api_client(supervisor)
    report_id = file(client, child_id=str(child.pk)).json()["id"]
    response = move(
        client,
        report_id,
        "police_received",
        police_notified_at="2026-11-23T09:00:00+08:00",
        police_receipt="泾公受字2026-119",
    )
    assert response.status_code == 200, response.content
    transition = ReportTransition.objects.get(report_id=report_id, to_stage="police_received")
    assert transition.data["police_notified_at"].startswith("2026-11-23T")
