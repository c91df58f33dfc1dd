"""api.md "Visits", "schedule" and "Reminders" through HTTP."""

from datetime import date

import pytest

from children.services import assessment_record

from ..factories import make_child

pytestmark = pytest.mark.django_db


def post_visit(client, child, **body):
    payload = {"date": "2026-11-20", "kind": "home"}
    payload.update(body)
    return client.post(
        f"/api/v1/children/{child.pk}/visits", payload, content_type="application/json"
    )


def test_schedule_of_a_new_child(api_client, child, director_a):
    schedule = api_client(director_a).get(f"/api/v1/children/{child.pk}/schedule").json()
    assert schedule["status"] == "never_visited"
    assert schedule["next_home_visit_due"] == "2026-12-07"  # 14 days after registration
    assert schedule["home_visit_interval_days"] == 90
    assert set(schedule) >= {
        "next_contact_due",
        "next_home_visit_due",
        "home_visit_interval_days",
        "status",
    }


def test_home_visit_moves_the_due_date(api_client, child, director_a):
    client = api_client(director_a)
    response = post_visit(
        client,
        child,
        notes="祖母照看良好",
        findings={
            "guardian_present": True,
            "caregiver_capable": True,
            "in_school": True,
            "safety_concern": False,
            "needs": "学习用品",
        },
    )
    assert response.status_code == 201, response.content
    visit = response.json()
    assert visit["kind"] == "home" and visit["findings"]["needs"] == "学习用品"
    schedule = client.get(f"/api/v1/children/{child.pk}/schedule").json()
    assert schedule["next_home_visit_due"] == "2027-02-18"  # 2026-11-20 + 90
    assert schedule["next_contact_due"] == "2026-12-20"  # + 30
    assert schedule["status"] == "ok"
    listing = client.get(f"/api/v1/children/{child.pk}/visits").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == visit["id"]


def test_phone_call_counts_as_contact_only(api_client, child, director_a):
    client = api_client(director_a)
    post_visit(client, child, kind="phone")
    schedule = client.get(f"/api/v1/children/{child.pk}/schedule").json()
    assert schedule["status"] == "never_visited"
    assert schedule["next_home_visit_due"] == "2026-12-07"


def test_risk_change_shortens_the_interval(api_client, child, director_a):
    client = api_client(director_a)
    post_visit(client, child)
    # The colour changes through a guardianship assessment only (issue 14, M6).
    assessment_record(
        user=director_a,
        child=child,
        assessed_on=date(2026, 11, 20),
        guardianship=3,
        safety=0,
        health=0,
        behaviour=0,
    )
    schedule = client.get(f"/api/v1/children/{child.pk}/schedule").json()
    assert schedule["home_visit_interval_days"] == 7
    assert schedule["next_home_visit_due"] == "2026-11-27"
    assert schedule["status"] == "due_soon"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": "2026-11-24"}, "date"),
        ({"date": "2016-03-07"}, "date"),
        ({"kind": "letter"}, "kind"),
    ],
)
def test_future_or_pre_birth_visit_is_422(api_client, child, director_a, body, field):
    response = post_visit(api_client(director_a), child, **body)
    assert response.status_code == 422
    assert field in [d["loc"][-1] for d in response.json()["detail"]]


def test_visit_scope_and_roles(
    api_client, child, outsider, director_b, viewer, reporter, supervisor
):
    for user in (outsider, director_b):
        assert post_visit(api_client(user), child).status_code == 404
        assert api_client(user).get(f"/api/v1/children/{child.pk}/visits").status_code == 404
        assert api_client(user).get(f"/api/v1/children/{child.pk}/schedule").status_code == 404
    assert post_visit(api_client(viewer), child).status_code == 403
    assert post_visit(api_client(reporter), child).status_code == 403
    assert api_client(reporter).get(f"/api/v1/children/{child.pk}/schedule").status_code == 403
    assert post_visit(api_client(supervisor), child).status_code == 201


def test_children_list_filter_by_visit_status(api_client, frozen, director_a):
    visited = make_child(director_a, name="已走访", birth_date=date(2015, 1, 1))
    make_child(director_a, name="未走访", birth_date=date(2015, 1, 2))
    client = api_client(director_a)
    post_visit(client, visited)

    def names(status):
        return [
            c["name"] for c in client.get(f"/api/v1/children?visit_status={status}").json()["items"]
        ]

    assert names("never_visited") == ["未走访"]
    assert names("ok") == ["已走访"]
    assert names("overdue") == []
    frozen.move_to("2026-12-08 09:00 +0800")
    assert names("overdue") == ["未走访"]


def test_reminders_endpoint_lists_own_only(api_client, child, director_a, director_b, frozen):
    from reminders.services import reminders_sweep

    frozen.move_to("2026-12-08 09:00 +0800")
    reminders_sweep()
    mine = api_client(director_a).get("/api/v1/reminders").json()
    assert mine["count"] == 1
    item = mine["items"][0]
    assert item == {
        "id": item["id"],
        "kind": "visit_overdue",
        "child_id": str(child.pk),
        "report_id": None,
        "due_date": "2026-12-07",
        "created_on": "2026-12-08",
        "read": False,
        "resolved_at": None,
    }
    assert api_client(director_b).get("/api/v1/reminders").json()["count"] == 0
