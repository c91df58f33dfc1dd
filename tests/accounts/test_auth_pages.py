"""Log-in, lock-out, password rules and idle timeout, in Chinese."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from ..factories import TEST_PASSWORD


def login(client: Client, username: str, password: str):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="10.1.2.3"
    )


def test_login_page_is_chinese_by_default(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body
    assert "登录守望" in body and "用户名" in body and "密码" in body


def test_login_and_logout(client, director_a):
    response = login(client, "director_a", TEST_PASSWORD)
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/", follow=True).status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_a_chinese_error(client, director_a):
    response = login(client, "director_a", "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_five_failures_lock_for_fifteen_minutes(client, director_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(5):
            login(client, "director_a", "wrong-password")
        locked = login(client, "director_a", TEST_PASSWORD)
        assert locked.status_code in (403, 429)
        assert "账号已锁定" in locked.content.decode()
        traveller.shift(timedelta(minutes=14))
        assert "账号已锁定" in login(client, "director_a", TEST_PASSWORD).content.decode()
        traveller.shift(timedelta(minutes=1, seconds=1))
        response = login(client, "director_a", TEST_PASSWORD)
        assert response.status_code == 302


def test_four_failures_do_not_lock(client, director_a):
    for _ in range(4):
        login(client, "director_a", "wrong-password")
    assert login(client, "director_a", TEST_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("Abc-12345", "密码长度太短"),
        ("12345678901234", "密码只包含数字"),
        ("password1234", "太常见"),
    ],
)
def test_password_rules(client_for, director_a, new_password, message):
    client = client_for(director_a)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    director_a.refresh_from_db()
    assert director_a.check_password(TEST_PASSWORD)


def test_password_change_succeeds(client_for, director_a):
    client = client_for(director_a)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "Qingshan-2026!",
            "new_password2": "Qingshan-2026!",
        },
        follow=True,
    )
    assert "您的密码已修改" in response.content.decode()
    director_a.refresh_from_db()
    assert director_a.check_password("Qingshan-2026!")


def test_idle_session_ends_after_thirty_minutes(client, director_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert login(client, "director_a", TEST_PASSWORD).status_code == 302
        traveller.shift(timedelta(minutes=29))
        assert client.get("/children/").status_code == 200  # activity pushes expiry forward
        traveller.shift(timedelta(minutes=29))
        assert client.get("/children/").status_code == 200
        traveller.shift(timedelta(minutes=30, seconds=1))
        response = client.get("/children/")
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")
