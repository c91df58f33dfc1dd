"""Absolute session lifetime (12 hours) and administrators ending a user's sessions."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

import accounts.session_limits  # noqa: F401  (connects the sign-in receiver before force_login)
from accounts.services import user_sessions_end

from ..factories import TEST_PASSWORD

pytestmark = pytest.mark.usefixtures("clean_session_cache")
END = "/staff/end-sessions/"


def login(client: Client, username: str):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.1.2.4",
    )


def signed_in(client: Client) -> bool:
    return client.get("/children/").status_code == 200


def test_busy_session_ends_after_twelve_hours(client, director_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert login(client, "director_a").status_code == 302
        # Activity every 10 minutes keeps the idle timeout away for 11 h 59 min...
        for _ in range(71):
            traveller.shift(timedelta(minutes=10))
            assert signed_in(client)
        traveller.shift(timedelta(minutes=9))  # 11:59
        assert signed_in(client)
        traveller.shift(timedelta(minutes=2))  # 12:01
        response = client.get("/children/", follow=True)
        assert response.redirect_chain[0][1] == 302
        assert response.redirect_chain[0][0].startswith("/accounts/login/?next=/children/")
        assert response.resolver_match.url_name == "login"
        messages = [str(m) for m in response.context["messages"]]
        assert len(messages) == 1
        # ...and signed out for good: the next page is refused too.
        assert not signed_in(client)


def test_session_api_gets_401_after_twelve_hours(client_for, director_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = client_for(director_a)
        assert client.get("/api/v1/children").status_code == 200
        for _ in range(73):
            traveller.shift(timedelta(minutes=10))
            client.get("/api/v1/children")
        assert client.get("/api/v1/children").status_code == 401


def test_bearer_tokens_are_not_affected(api_client, director_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = api_client(director_a)
        traveller.shift(timedelta(hours=13))
        assert client.get("/api/v1/children").status_code == 200


def test_ending_sessions_signs_out_every_client_of_that_user_only(
    client_for, director_a, director_b, admin_user
):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        phone, laptop, colleague = Client(), Client(), Client()
        assert login(phone, "director_a").status_code == 302
        assert login(laptop, "director_a").status_code == 302
        assert login(colleague, "director_b").status_code == 302
        assert all(signed_in(c) for c in (phone, laptop, colleague))
        traveller.shift(timedelta(minutes=1))

        assert user_sessions_end(by=admin_user, user=director_a) == 2

        assert not signed_in(phone)
        assert not signed_in(laptop)
        assert signed_in(colleague)
        traveller.shift(timedelta(minutes=1))
        # Signing in again afterwards works.
        assert login(phone, "director_a").status_code == 302
        assert signed_in(phone)


def test_epoch_ends_sessions_not_remembered(client_for, director_a, admin_user):
    """A session whose row survived (e.g. its key was not remembered) still ends at the epoch."""
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = client_for(director_a)
        assert signed_in(client)
        cache.delete(f"session_keys:{director_a.pk}")
        traveller.shift(timedelta(minutes=1))
        assert user_sessions_end(by=admin_user, user=director_a) == 0
        assert Session.objects.filter(session_key=client.session.session_key).exists()
        assert not signed_in(client)


def test_staff_list_button_for_admins(client_for, director_a, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        victim = client_for(director_a)
        admin = client_for(admin_user)
        page = admin.get("/staff/").content.decode()
        assert 'action="/staff/end-sessions/"' in page
        assert f'name="user" value="{director_a.pk}"' in page
        traveller.shift(timedelta(minutes=1))
        response = admin.post(END, {"user": director_a.pk}, follow=True)
        assert response.redirect_chain == [("/staff/", 302)]
        assert len(list(response.context["messages"])) == 1
        assert not signed_in(victim)
        assert admin.get("/staff/").status_code == 200


def test_only_admins_may_end_sessions(client_for, civil_affairs, director_a, admin_user):
    victim = client_for(director_a)
    civil = client_for(civil_affairs)
    assert END not in civil.get("/staff/").content.decode()
    assert civil.post(END, {"user": director_a.pk}).status_code == 403
    assert signed_in(victim)
    with pytest.raises(PermissionDenied):
        user_sessions_end(by=civil_affairs, user=director_a)
    admin = client_for(admin_user)
    assert admin.post(END, {"user": 999999}).status_code == 404
    assert admin.post(END, {"user": "x"}).status_code == 404
    assert admin.post(END).status_code == 404
    assert admin.get(END).status_code == 405
    assert signed_in(victim)


def test_admin_action_ends_sessions(client_for, director_a, director_b, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        victim, bystander = client_for(director_a), client_for(director_b)
        traveller.shift(timedelta(minutes=1))
        admin = client_for(admin_user)
        response = admin.post(
            "/manage/accounts/user/",
            {"action": "end_sessions", "_selected_action": [director_a.pk]},
        )
        assert response.status_code == 302
        assert not signed_in(victim)
        assert signed_in(bystander)
        assert admin.get("/manage/").status_code == 200


def test_ending_sessions_is_audited_and_a_broken_cache_does_not_lock_anyone_out(
    client_for, director_a, admin_user, monkeypatch
):
    from django.core.cache import cache

    from accounts.models import AuditRecord
    from accounts.services import user_sessions_end

    client = client_for(director_a)
    user_sessions_end(by=admin_user, user=director_a)
    record = AuditRecord.objects.get(action="sessions_ended")
    assert record.object_id == "director_a" and record.user == admin_user

    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    fresh = client_for(director_a)
    monkeypatch.setattr(cache, "get", broken)
    assert fresh.get("/visits/").status_code == 200
    assert client.get("/visits/").status_code in (200, 302)


def test_the_session_row_is_written_at_most_once_a_minute(client, director_a):
    """Not on every request (the idle time is kept to within that minute)."""
    from django.contrib.sessions.models import Session

    def expiry():
        return Session.objects.get(pk=client.session.session_key).expire_date

    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert login(client, "director_a").status_code == 302
        traveller.shift(timedelta(seconds=10))
        assert signed_in(client)  # the first page records whether a second factor is owed
        first = expiry()
        for _ in range(4):
            traveller.shift(timedelta(seconds=10))
            assert signed_in(client)
        assert expiry() == first  # four more requests within the minute: no write
        traveller.shift(timedelta(seconds=11))  # 61 s after the sign-in
        assert signed_in(client)
        assert expiry() == first + timedelta(seconds=51)
        # Idle for 29 min 59 s after the last recorded request: still signed in; 30 min: not.
        traveller.shift(timedelta(minutes=29, seconds=59))
        assert signed_in(client)
        traveller.shift(timedelta(minutes=30))
        response = client.get("/children/", follow=True)
        assert response.resolver_match.url_name == "login"
        assert "30分钟" in response.content.decode() or "30 minutes" in response.content.decode()


def test_the_request_carries_the_signed_in_user_itself(client_for, director_a):
    """Once the session is checked, request.user is the user (no lazy wrapper whose every
    attribute costs three calls); an anonymous request keeps Django's."""
    from accounts.models import User

    response = client_for(director_a).get("/children/")
    assert type(response.wsgi_request.user) is User
    assert response.wsgi_request.user.pk == director_a.pk
    anonymous = Client().get("/children/")
    assert anonymous.status_code == 302
    assert not anonymous.wsgi_request.user.is_authenticated
