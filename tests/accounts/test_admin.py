"""The Django admin for areas and staff (the demo data: tests/demo)."""

from accounts.models import Role

from ..conftest import TOWNSHIP_1, VILLAGE_1


def test_admin_area_search_and_level_filter(client_for, admin_user):
    client = client_for(admin_user)
    body = client.get("/manage/accounts/area/", {"q": "桃花潭"}).content.decode()
    assert TOWNSHIP_1 in body and "章渡村" not in body
    body = client.get("/manage/accounts/area/", {"q": VILLAGE_1}).content.decode()
    assert "查济村" in body
    body = client.get("/manage/accounts/area/", {"level__exact": "township"}).content.decode()
    assert "桃花潭镇" in body and "查济村" not in body


def test_admin_staff_search_and_role_filter(client_for, admin_user, director_a, supervisor):
    client = client_for(admin_user)
    body = client.get("/manage/accounts/user/", {"q": "director_a"}).content.decode()
    assert "查文静" in body and "查丽萍" not in body
    body = client.get("/manage/accounts/user/", {"role__exact": "supervisor"}).content.decode()
    assert "查丽萍" in body and "查文静" not in body
    body = client.get("/manage/accounts/user/", {"area__level__exact": "village"}).content.decode()
    assert "查文静" in body and "查丽萍" not in body


def test_admin_refuses_a_role_at_the_wrong_level(client_for, admin_user, director_a, areas):
    client = client_for(admin_user)
    url = f"/manage/accounts/user/{director_a.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url,
        {
            "username": "director_a",
            "role": Role.DIRECTOR,
            "area": TOWNSHIP_1,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
        },
    )
    assert response.status_code == 200
    assert "该角色只能设在" in response.content.decode()
    director_a.refresh_from_db()
    assert director_a.area_id == VILLAGE_1


def test_non_staff_cannot_open_the_admin(client_for, civil_affairs):
    response = client_for(civil_affairs).get("/manage/")
    assert response.status_code == 302
    assert client_for(civil_affairs).get("/admin/").status_code == 404


def test_admin_sees_tasks_waiting_in_the_outbox_read_only(client_for, admin_user):
    from accounts import outbox

    waiting = outbox.enqueue("children.recompute_area", "341823000000")
    client = client_for(admin_user)
    body = client.get("/manage/accounts/outboxmessage/", {"sent_at__isempty": "1"}).content.decode()
    assert "children.recompute_area" in body
    detail = client.get(f"/manage/accounts/outboxmessage/{waiting.pk}/change/")
    assert detail.status_code == 200 and "341823000000" in detail.content.decode()
    assert client.post(f"/manage/accounts/outboxmessage/{waiting.pk}/delete/").status_code == 403
