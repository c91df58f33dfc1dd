import pytest

from ..conftest import COUNTY_A, TOWNSHIP_1, VILLAGE_1, VILLAGE_3, VILLAGE_B


def test_me_with_bearer_token(api_client, director_a):
    response = api_client(director_a).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "username": "director_a",
        "name": "查文静",
        "role": "director",
        "area": {"code": VILLAGE_1, "name": "查济村", "level": "village"},
    }


def test_me_with_session(client_for, supervisor):
    response = client_for(supervisor).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["area"]["level"] == "township"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Token abc", "Bearer "])
def test_no_or_bad_token_is_401(client, db, header):
    headers = {"Authorization": header} if header else {}
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_of_a_deactivated_user_is_401(api_client, director_a):
    api = api_client(director_a)
    director_a.is_active = False
    director_a.save()
    assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("user_fixture", "code", "status"),
    [
        ("director_a", VILLAGE_1, 200),
        ("director_a", TOWNSHIP_1, 404),
        ("director_a", VILLAGE_B, 404),
        ("supervisor", VILLAGE_1, 200),
        ("supervisor", VILLAGE_3, 404),
        ("civil_affairs", VILLAGE_3, 200),
        ("civil_affairs", VILLAGE_B, 404),
        ("viewer", VILLAGE_B, 200),
        ("reporter", VILLAGE_1, 200),
        ("reporter", VILLAGE_3, 404),
        ("outsider", VILLAGE_1, 404),
        ("outsider", "999999999999", 404),
        ("outsider", "not-a-code", 404),
    ],
)
def test_area_detail_is_scoped(request, api_client, user_fixture, code, status):
    user = request.getfixturevalue(user_fixture)
    response = api_client(user).get(f"/api/v1/areas/{code}")
    assert response.status_code == status
    if status == 200:
        assert set(response.json()) >= {"code", "name", "level", "parent_code"}


def test_area_detail_fields(api_client, civil_affairs):
    data = api_client(civil_affairs).get(f"/api/v1/areas/{TOWNSHIP_1}").json()
    assert data == {
        "code": TOWNSHIP_1,
        "name": "桃花潭镇",
        "level": "township",
        "parent_code": COUNTY_A,
    }


def test_openapi_and_docs(client, db, client_for, director_a):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/me" in paths and "/api/v1/areas/{code}" in paths
    assert client_for(director_a).get("/api/v1/docs").status_code == 200
