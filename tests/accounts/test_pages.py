"""Home page per role, navigation, area browser and staff directory, with scope and roles."""

import re

import pytest

from ..conftest import TOWNSHIP_1, VILLAGE_1, VILLAGE_3, VILLAGE_B

ALL_ROLES = [
    "director_a",
    "supervisor",
    "civil_affairs",
    "viewer",
    "reporter",
    "outsider",
    "admin_user",
    "security_officer",
    "auditor",
]


@pytest.mark.parametrize("user_fixture", ALL_ROLES)
def test_home_page_for_every_role(request, client_for, user_fixture):
    user = request.getfixturevalue(user_fixture)
    response = client_for(user).get("/", follow=True)
    assert response.status_code == 200
    assert user.display_name in response.content.decode()


def nav_links(html: str) -> set[str]:
    nav = html.split('id="mainnav"', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r'href="([^"#]+)"', nav))


def test_navigation_fits_the_role(client_for, director_a, supervisor, reporter, admin_user):
    director_nav = nav_links(client_for(director_a).get("/", follow=True).content.decode())
    assert "/areas/" in director_nav and "/staff/" not in director_nav
    assert "/children/" in director_nav and "/audit/" not in director_nav
    assert "/visits/" in director_nav and "/visits/review/" not in director_nav
    supervisor_nav = nav_links(client_for(supervisor).get("/").content.decode())
    assert {"/areas/", "/staff/"} <= supervisor_nav and "/manage/" not in supervisor_nav
    reporter_nav = nav_links(client_for(reporter).get("/").content.decode())
    assert "/areas/" not in reporter_nav and "/staff/" not in reporter_nav
    assert "/children/" not in reporter_nav
    assert "/manage/" in nav_links(client_for(admin_user).get("/").content.decode())


def test_role_home_content(client_for, director_a, supervisor, reporter):
    response = client_for(director_a).get("/")
    assert response.status_code == 302 and response.url == "/visits/"  # the worklist
    supervisor_home = client_for(supervisor).get("/").content.decode()
    assert (
        "查济村" in supervisor_home
        and "厚岸村" in supervisor_home
        and "章渡村" not in supervisor_home
    )
    assert "110" in client_for(reporter).get("/").content.decode()


def test_anonymous_is_sent_to_login(client, db):
    for url in ["/", "/areas/", f"/areas/{VILLAGE_1}/", "/staff/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize(
    ("user_fixture", "code", "status"),
    [
        ("director_a", VILLAGE_1, 200),
        ("director_a", TOWNSHIP_1, 404),
        ("supervisor", VILLAGE_1, 200),
        ("supervisor", VILLAGE_3, 404),
        ("civil_affairs", VILLAGE_3, 200),
        ("outsider", VILLAGE_1, 404),
        ("viewer", VILLAGE_B, 200),
        ("reporter", VILLAGE_1, 403),
    ],
)
def test_area_page_scope_and_role(request, client_for, user_fixture, code, status):
    user = request.getfixturevalue(user_fixture)
    assert client_for(user).get(f"/areas/{code}/").status_code == status


def test_area_page_lists_sub_areas_and_staff(client_for, supervisor, director_a):
    body = client_for(supervisor).get(f"/areas/{TOWNSHIP_1}/").content.decode()
    assert "查济村" in body and "厚岸村" in body and "查丽萍" in body
    body = client_for(supervisor).get(f"/areas/{VILLAGE_1}/").content.decode()
    assert "查文静" in body


@pytest.mark.parametrize(
    ("user_fixture", "status"),
    [
        ("director_a", 403),
        ("reporter", 403),
        ("supervisor", 200),
        ("civil_affairs", 200),
        ("viewer", 200),
    ],
)
def test_staff_directory_roles(request, client_for, user_fixture, status):
    user = request.getfixturevalue(user_fixture)
    assert client_for(user).get("/staff/").status_code == status


def test_staff_directory_is_scoped_and_filterable(client_for, supervisor, director_a, outsider):
    client = client_for(supervisor)
    body = client.get("/staff/").content.decode()
    assert "director_a" in body and "outsider" not in body
    body = client.get("/staff/?role=supervisor").content.decode()
    assert "director_a" not in body and "查丽萍" in body
    body = client.get("/staff/?q=查文").content.decode()
    assert "director_a" in body and "supervisor</span>" not in body


def test_staff_directory_constant_queries(
    client_for, civil_affairs, areas, django_assert_max_num_queries
):
    from accounts.models import Role

    from ..factories import UserFactory

    client = client_for(civil_affairs)
    with django_assert_max_num_queries(9):
        client.get("/staff/")
    for i in range(30):
        UserFactory(username=f"d{i}", role=Role.DIRECTOR, area=areas[VILLAGE_3])
    with django_assert_max_num_queries(9):
        assert client.get("/staff/").status_code == 200


def test_english_switch(client_for, director_a):
    client = client_for(director_a)
    assert "退出登录" in client.get("/children/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    body = client.get("/children/").content.decode()
    assert "Log out" in body and '<html lang="en">' in body


def test_pages_load_nothing_from_other_hosts(client_for, civil_affairs, client, db):
    for body in (
        client_for(civil_affairs).get("/").content.decode(),
        client.get("/accounts/login/").content.decode(),
    ):
        assert not re.search(r'(src|href)="(https?:)?//', body)
        assert "/static/css/site.css" in body


def test_unknown_page_is_a_chinese_404(client_for, director_a):
    response = client_for(director_a).get("/no-such-page/")
    assert response.status_code == 404
    assert "不在您的管辖区域内" in response.content.decode()


def test_chinese_even_when_the_browser_asks_for_english(client_for, director_a):
    client = client_for(director_a)
    body = client.get("/children/", headers={"Accept-Language": "en-US,en;q=0.9"}).content.decode()
    assert "退出登录" in body and '<html lang="zh-hans">' in body
