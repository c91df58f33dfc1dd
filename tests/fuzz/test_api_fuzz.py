"""Schemathesis against /api/v1/openapi.json, in-process through the WSGI app (no network).

A county civil-affairs user with a small real world (a child with family, an agreement, a visit,
an application, a report, a standard) sends generated requests, valid and invalid, to every
operation. The one rule: no answer is a server error. Path ids are half the time real ones, so
the requests reach past the 404 into the services.
"""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application

from ..factories import make_child
from ..hypothesis_profiles import scaled

# Each example is a request through the whole stack, so ordinary runs stay small.
EXAMPLES_PER_OPERATION = scaled(6)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fuzz_world(api_client, director_a, supervisor, civil_affairs) -> dict[str, str]:
    """Real records in county A, made through the API; returns the ids by path parameter name."""
    child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    director = api_client(director_a)

    def post(client, path, body):
        response = client.post(f"/api/v1{path}", body, content_type="application/json")
        assert response.status_code in (200, 201), response.content
        return response.json()

    member = post(
        director,
        f"/children/{child.pk}/family-members",
        {
            "relation": "father",
            "name": "查德",
            "status": "working_away",
            "has_guardian_capacity": True,
            "away_since": "2025-02-01",
        },
    )
    agreement = post(
        director,
        f"/children/{child.pk}/care-agreements",
        {
            "caregiver_name": "查德明",
            "caregiver_relation": "grandparent",
            "caregiver_phone": "13905631888",
            "caregiver_birth_date": "1958-04-02",
            "start_date": date.today().replace(day=1).isoformat(),
            "end_date": date(date.today().year + 1, 12, 31).isoformat(),
            "parent_work_place": "浙江省杭州市",
            "parent_phone": "13812345678",
        },
    )
    post(
        director, f"/children/{child.pk}/visits", {"date": date.today().isoformat(), "kind": "home"}
    )
    application = post(
        director,
        f"/children/{child.pk}/subsidy-applications",
        {"programme": "temporary_assistance", "note": "突发困难"},
    )
    report = post(
        director,
        "/reports",
        {
            "situation": "living_alone",
            "discovered_at": "2026-01-05T08:30:00+08:00",
            "description": "孩子独自在家",
            "child_id": str(child.pk),
        },
    )
    training = post(
        api_client(civil_affairs),
        "/trainings",
        {
            "held_on": date.today().isoformat(),
            "subject": "儿童主任示范培训",
            "hours": 6,
            "organiser": "泾县民政局",
            "attendees": [director_a.username, supervisor.username],
        },
    )
    return {
        "token": "Bearer " + _token(civil_affairs),
        "child_id": str(child.pk),
        "member_id": member["id"],
        "agreement_id": agreement["id"],
        "application_id": application["id"],
        "report_id": report["id"],
        "code": director_a.area_id,
        "username": director_a.username,
        "training_id": training["id"],
    }


def _token(user) -> str:
    from accounts.services import api_token_create

    return api_token_create(user=user)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The real WSGI handler closes the database connection after each request, which would end
    the test's transaction; Django's own test client detaches the same signal handler."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(fuzz_world, wsgi_keeps_the_test_connection):
    config = schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": EXAMPLES_PER_OPERATION},
            # The examples and coverage phases add hundreds of fixed cases per operation; the
            # drills may afford them, an ordinary run may not.
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": EXAMPLES_PER_OPERATION > 6},
            },
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case, data, fuzz_world):
    for name in case.path_parameters or {}:
        if name in fuzz_world and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = fuzz_world[name]
    # Each request is its own transaction in production; here a savepoint stands in for it, so a
    # database error in one example cannot poison the test transaction for all that follow.
    savepoint = transaction.savepoint()
    try:
        # identity: the in-process WSGI client would not undo GZipMiddleware as an HTTP client does.
        headers = {"Authorization": fuzz_world["token"], "Accept-Encoding": "identity"}
        response = case.call(headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
        transaction.savepoint_commit(savepoint)  # released, as atomic() does: no pile-up
    # Only what the project promises: never a 500, and a documented status has its documented
    # shape. Statuses the OpenAPI document does not list (401/403/404/409/422) are not failures.
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


# --- What the fuzzer found, pinned as ordinary tests ---------------------------------------------


def test_stats_without_any_active_child_answers_zeros(api_client, civil_affairs):
    # The dashboard summary has no rows then, and its empty max(as_of) made the answer a 500.
    response = api_client(civil_affairs).get("/api/v1/stats")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["children_total"] == 0 and body["as_of"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "loc"),
    [
        (
            "post",
            "/children",
            {"name": "小明", "village_code": "3418\x00"},
            422,
            ["body", "village_code"],
        ),
        # In a query string or a path: 400 (api.md "Bad requests", config.security).
        ("get", "/children?q=%00", None, 400, ["query", "q"]),
        ("get", "/areas/34%00", None, 400, ["path"]),
    ],
)
def test_values_the_database_cannot_store_are_refused(
    api_client, civil_affairs, method, path, body, status, loc
):
    # NUL characters (PostgreSQL text refuses them) were 500s wherever a string reached a query.
    client = api_client(civil_affairs)
    if method == "get":
        response = client.get(f"/api/v1{path}")
    else:
        payload = {"gender": "male", "birth_date": "2015-06-01", **body}
        response = client.post(f"/api/v1{path}", payload, content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["detail"][0]["loc"] == loc


def test_null_clears_an_optional_family_member_field(api_client, director_a, fuzz_world):
    # A PATCH with "work_place": null reached the NOT NULL column and was a 500.
    response = api_client(director_a).patch(
        f"/api/v1/family-members/{fuzz_world['member_id']}",
        {"work_place": None, "employer": None},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["work_place"] == "" and response.json()["employer"] == ""


@pytest.mark.parametrize("path", ["/children", "/reminders", "/reports", "/subsidy-applications"])
def test_a_page_beyond_any_offset_is_a_422(api_client, civil_affairs, path):
    response = api_client(civil_affairs).get(f"/api/v1{path}?page=95391518225292194742272")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["query", "page"]
