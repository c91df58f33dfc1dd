"""api.md "Children", checked through the HTTP API as an outside client would."""

import pytest
import time_machine

from accounts.models import AuditRecord
from children.models import Child

from ..conftest import VILLAGE_1, VILLAGE_2, VILLAGE_3, VILLAGE_B
from ..factories import make_id_number

pytestmark = pytest.mark.django_db


def body(**overrides):
    data = {
        "name": "查小雨",
        "gender": "female",
        "birth_date": "2016-03-08",
        "id_number": make_id_number("2016-03-08", "female"),
        "village_code": VILLAGE_1,
    }
    data.update(overrides)
    return data


def test_create_child(api_client, director_a):
    response = api_client(director_a).post(
        "/api/v1/children", body(), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    child = response.json()
    for key in (
        "id",
        "name",
        "gender",
        "birth_date",
        "age",
        "id_number_masked",
        "village_code",
        "categories",
        "focus_flags",
        "school_status",
        "risk_level",
        "status",
        "left_behind_reasons",
        "created_at",
        "updated_at",
        "version",
    ):
        assert key in child
    assert child["id_number_masked"] == "3418**********" + body()["id_number"][-4:]
    assert child["status"] == "active" and child["risk_level"] == "low"
    assert child["categories"] == [] and child["left_behind_reasons"] == []
    stored = Child.objects.get(pk=child["id"])
    assert body()["id_number"] not in stored.id_number_encrypted  # encrypted at rest


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "341823201603080020"}, "id_number"),  # checksum
        ({"id_number": make_id_number("2016-03-09", "female")}, "id_number"),  # birth date
        ({"id_number": make_id_number("2016-03-08", "male")}, "id_number"),  # gender
        ({"id_number": "12345"}, "id_number"),
        ({"id_number": None}, "id_number"),  # required with hukou
        ({"village_code": "341823103000"}, "village_code"),  # a township
        ({"birth_date": "2099-01-01", "id_number": None, "hukou_registered": False}, "birth_date"),
    ],
)
def test_bad_input_is_422_naming_the_field(api_client, director_a, change, field):
    response = api_client(director_a).post(
        "/api/v1/children", body(**change), content_type="application/json"
    )
    assert response.status_code == 422, response.content
    fields = [d["loc"][-1] for d in response.json()["detail"]]
    assert field in fields
    assert Child.objects.count() == 0


def test_no_hukou_child_without_id_number(api_client, director_a):
    response = api_client(director_a).post(
        "/api/v1/children",
        body(id_number=None, hukou_registered=False),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert "no_hukou" in response.json()["focus_flags"]


def test_lowercase_x_is_accepted(api_client, director_a):
    number = None
    for seq in range(1, 400):
        candidate = make_id_number("2016-03-08", "female", seq=seq)
        if candidate.endswith("X"):
            number = candidate.lower()
            break
    response = api_client(director_a).post(
        "/api/v1/children", body(id_number=number), content_type="application/json"
    )
    assert response.status_code == 201, response.content


def test_duplicate_id_across_counties_is_409_without_details(api_client, director_a, outsider):
    assert (
        api_client(director_a)
        .post("/api/v1/children", body(), content_type="application/json")
        .status_code
        == 201
    )
    response = api_client(outsider).post(
        "/api/v1/children",
        body(name="别名", village_code=VILLAGE_B),
        content_type="application/json",
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert "已有档案，请联系督导员处理" in text
    assert "查小雨" not in text and VILLAGE_1 not in text and "查济" not in text


def test_director_registers_only_in_own_village(api_client, director_a):
    response = api_client(director_a).post(
        "/api/v1/children", body(village_code=VILLAGE_2), content_type="application/json"
    )
    assert response.status_code == 403
    response = api_client(director_a).post(
        "/api/v1/children", body(village_code=VILLAGE_B), content_type="application/json"
    )
    assert response.status_code == 403


def test_supervisor_registers_in_township_and_viewer_cannot(api_client, supervisor, viewer):
    assert (
        api_client(supervisor)
        .post("/api/v1/children", body(village_code=VILLAGE_2), content_type="application/json")
        .status_code
        == 201
    )
    assert (
        api_client(viewer)
        .post(
            "/api/v1/children",
            body(village_code=VILLAGE_1, id_number=make_id_number("2016-03-08", "female", seq=99)),
            content_type="application/json",
        )
        .status_code
        == 403
    )


@pytest.fixture
def child_id(api_client, director_a):
    return (
        api_client(director_a)
        .post("/api/v1/children", body(), content_type="application/json")
        .json()["id"]
    )


@pytest.mark.parametrize(
    ("user_fixture", "status"),
    [
        ("director_a", 200),
        ("director_b", 404),
        ("supervisor", 200),
        ("other_supervisor", 404),
        ("civil_affairs", 200),
        ("viewer", 200),
        ("reporter", 403),
        ("outsider", 404),
    ],
)
def test_read_scope(request, api_client, child_id, user_fixture, status):
    user = request.getfixturevalue(user_fixture)
    assert api_client(user).get(f"/api/v1/children/{child_id}").status_code == status


def test_unknown_and_malformed_ids_are_404(api_client, director_a):
    client = api_client(director_a)
    assert client.get("/api/v1/children/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/api/v1/children/not-a-uuid").status_code == 404


def test_full_id_by_role(api_client, child_id, director_a, supervisor, civil_affairs, viewer):
    number = body()["id_number"]
    assert api_client(director_a).get(f"/api/v1/children/{child_id}").json()["id_number"] == number
    assert (
        api_client(civil_affairs).get(f"/api/v1/children/{child_id}").json()["id_number"] == number
    )
    for user in (supervisor, viewer):
        data = api_client(user).get(f"/api/v1/children/{child_id}").json()
        assert data["id_number"] is None
        assert data["id_number_masked"].startswith("3418**********")


def test_api_reads_are_audited(api_client, child_id, supervisor):
    client = api_client(supervisor)
    client.get(f"/api/v1/children/{child_id}")
    client.get("/api/v1/children")
    records = AuditRecord.objects.filter(user=supervisor, object_id=child_id, action="api_read")
    assert records.count() == 2
    assert records.first().area_code == VILLAGE_1


def test_patch_with_version(api_client, child_id, director_a):
    client = api_client(director_a)
    child = client.get(f"/api/v1/children/{child_id}").json()
    response = client.patch(
        f"/api/v1/children/{child_id}",
        {"version": child["version"], "school_status": "dropped_out"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["version"] == child["version"] + 1
    assert "out_of_school" in response.json()["focus_flags"]
    stale = client.patch(
        f"/api/v1/children/{child_id}",
        {"version": child["version"], "name": "旧版本"},
        content_type="application/json",
    )
    assert stale.status_code == 409
    assert Child.objects.get(pk=child_id).name == "查小雨"


def test_patch_outside_scope_and_wrong_role(api_client, child_id, outsider, viewer):
    assert (
        api_client(outsider)
        .patch(f"/api/v1/children/{child_id}", {"name": "x"}, content_type="application/json")
        .status_code
        == 404
    )
    assert (
        api_client(viewer)
        .patch(f"/api/v1/children/{child_id}", {"name": "x"}, content_type="application/json")
        .status_code
        == 403
    )


def test_close(api_client, child_id, director_a, outsider):
    assert (
        api_client(outsider)
        .post(
            f"/api/v1/children/{child_id}/close",
            {"reason": "moved_away"},
            content_type="application/json",
        )
        .status_code
        == 404
    )
    response = api_client(director_a).post(
        f"/api/v1/children/{child_id}/close",
        {"reason": "moved_away", "note": "随父母迁往杭州"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert (
        api_client(director_a)
        .post(
            f"/api/v1/children/{child_id}/close",
            {"reason": "moved_away"},
            content_type="application/json",
        )
        .status_code
        == 409
    )
    assert api_client(director_a).post(
        f"/api/v1/children/{child_id}/close", {"reason": "bored"}, content_type="application/json"
    ).status_code in (409, 422)


def test_list_filters_and_search(api_client, director_a, supervisor, civil_affairs):
    client = api_client(director_a)
    first = client.post("/api/v1/children", body(), content_type="application/json").json()
    other_number = make_id_number("2012-01-05", "male", seq=55)
    # Registered as an orphan by county civil affairs: the category stands (api.md).
    api_client(civil_affairs).post(
        "/api/v1/children",
        body(
            name="王大山",
            gender="male",
            birth_date="2012-01-05",
            id_number=other_number,
            risk_level="high",
            categories=["orphan"],
        ),
        content_type="application/json",
    )
    sup = api_client(supervisor)
    assert sup.get("/api/v1/children").json()["count"] == 2
    assert [c["name"] for c in sup.get("/api/v1/children?risk=high").json()["items"]] == ["王大山"]
    assert [c["name"] for c in sup.get("/api/v1/children?category=orphan").json()["items"]] == [
        "王大山"
    ]
    assert [c["id"] for c in sup.get("/api/v1/children", {"q": "小雨"}).json()["items"]] == [
        first["id"]
    ]
    assert [
        c["name"] for c in sup.get("/api/v1/children", {"q": other_number[-4:]}).json()["items"]
    ] == ["王大山"]
    assert sup.get(f"/api/v1/children?village={VILLAGE_3}").json()["count"] == 0
    page = sup.get("/api/v1/children?page=2&page_size=1").json()
    assert page["count"] == 2 and len(page["items"]) == 1
    assert sup.get("/api/v1/children?page_size=500").status_code == 422


def test_left_behind_is_never_typed_in(api_client, director_a):
    response = api_client(director_a).post(
        "/api/v1/children",
        body(categories=["left_behind", "single_parent"]),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["categories"] == ["single_parent"]


@time_machine.travel("2026-11-23 10:00 +0800", tick=False)
def test_family_members_make_a_child_left_behind(api_client, director_a, child_id):
    client = api_client(director_a)
    url = f"/api/v1/children/{child_id}/family-members"
    father = client.post(
        url,
        {
            "relation": "father",
            "name": "查建国",
            "status": "working_away",
            "has_guardian_capacity": True,
            "work_place": "浙江省杭州市",
            "away_since": "2026-03-01",
            "phone": "13812345678",
        },
        content_type="application/json",
    )
    assert father.status_code == 201, father.content
    assert father.json()["phone_masked"] == "138****5678"
    assert "left_behind" not in client.get(f"/api/v1/children/{child_id}").json()["categories"]
    mother = client.post(
        url,
        {
            "relation": "mother",
            "name": "王芳",
            "status": "working_away",
            "has_guardian_capacity": True,
            "away_since": "2026-08-25",
        },
        content_type="application/json",
    )
    assert mother.status_code == 201
    child = client.get(f"/api/v1/children/{child_id}").json()
    assert "left_behind" in child["categories"]
    assert child["left_behind_reasons"] == ["父母双方外出务工满3个月"]
    assert "unsupervised" in child["focus_flags"]
    # The mother comes home: no longer left-behind.
    response = client.patch(
        f"/api/v1/family-members/{mother.json()['id']}",
        {"status": "at_home"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert "left_behind" not in response.json()["child"]["categories"]


def test_family_member_scope(api_client, child_id, outsider, viewer, director_a):
    payload = {
        "relation": "father",
        "name": "x",
        "status": "at_home",
        "has_guardian_capacity": True,
    }
    url = f"/api/v1/children/{child_id}/family-members"
    assert (
        api_client(outsider).post(url, payload, content_type="application/json").status_code == 404
    )
    assert api_client(viewer).post(url, payload, content_type="application/json").status_code == 403
    assert api_client(outsider).get(url).status_code == 404
    member = api_client(director_a).post(url, payload, content_type="application/json").json()
    assert (
        api_client(outsider)
        .patch(
            f"/api/v1/family-members/{member['id']}", {"name": "y"}, content_type="application/json"
        )
        .status_code
        == 404
    )
    assert api_client(outsider).delete(f"/api/v1/family-members/{member['id']}").status_code == 404
    assert api_client(director_a).get(url).json()["count"] == 1


def test_closing_a_file_ends_key_child_status(api_client, director_a):
    client = api_client(director_a)
    child = client.post(
        "/api/v1/children", body(risk_level="high"), content_type="application/json"
    ).json()
    assert child["is_key_child"] is True
    closed = client.post(
        f"/api/v1/children/{child['id']}/close",
        {"reason": "turned_18"},
        content_type="application/json",
    ).json()
    assert closed["status"] == "closed" and closed["is_key_child"] is False
    assert (
        client.patch(
            f"/api/v1/children/{child['id']}", {"name": "x"}, content_type="application/json"
        ).status_code
        == 409
    )
