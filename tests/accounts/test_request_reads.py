"""What every request reads — its session, its user with the area, an API token with its user —
written out as statements (accounts.session_store, accounts.auth): the same answers as Django's
querysets gave, in one query each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.auth import AreaModelBackend, live_token, user_with_area
from accounts.models import ApiToken
from accounts.services import api_token_create
from accounts.session_store import SessionStore

pytestmark = pytest.mark.django_db


def test_the_session_is_read_by_one_statement_and_is_djangos_own():
    store = SessionStore()
    store["colour"] = "红"
    store.create()
    again = SessionStore(session_key=store.session_key)
    with CaptureQueriesContext(connection) as read:
        assert again["colour"] == "红"
    assert len(read) == 1
    assert "django_session" in read[0]["sql"]
    # Written by Django's own code, in Django's table.
    assert Session.objects.get(session_key=store.session_key).get_decoded() == {"colour": "红"}


def test_an_expired_or_unknown_session_is_empty_and_forgotten():
    store = SessionStore()
    store["a"] = 1
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(session_key=store.session_key)
    assert expired.load() == {}
    assert expired.session_key is None
    unknown = SessionStore(session_key="x" * 32)
    assert unknown.load() == {}
    assert unknown.session_key is None
    # A key too short to be valid is never looked up.
    with CaptureQueriesContext(connection) as read:
        assert SessionStore(session_key="short").load() == {}
    assert len(read) == 0


def test_the_users_area_comes_with_the_user(director_a):
    with CaptureQueriesContext(connection) as read:
        user = AreaModelBackend().get_user(director_a.pk)
        assert user == director_a
        assert user.area.name == director_a.area.name
        assert user.role == director_a.role and user.password == director_a.password
    assert len(read) == 1
    assert user_with_area(10**9) is None
    assert user_with_area("not a number") is None


def test_a_deactivated_user_has_no_session_user(director_a):
    director_a.is_active = False
    director_a.save()
    assert AreaModelBackend().get_user(director_a.pk) is None


def test_a_user_without_an_area(admin_user):
    user = AreaModelBackend().get_user(admin_user.pk)
    with CaptureQueriesContext(connection) as read:
        assert user.area is None
    assert len(read) == 0


def test_a_live_token_comes_with_its_user_and_area(director_a):
    raw = api_token_create(user=director_a)
    now = timezone.now()
    with CaptureQueriesContext(connection) as read:
        token = live_token(raw, now)
        assert token.user == director_a and token.user.area.code == director_a.area_id
        assert token.key_hash == ApiToken.hash(raw)
    assert len(read) == 1


def test_a_revoked_expired_or_orphaned_token_is_not_live(director_a):
    now = timezone.now()
    revoked, expired, inactive = (api_token_create(user=director_a) for _ in range(3))
    ApiToken.objects.filter(key_hash=ApiToken.hash(revoked)).update(revoked_at=now)
    ApiToken.objects.filter(key_hash=ApiToken.hash(expired)).update(expires_at=now)
    assert live_token(revoked, now) is None
    assert live_token(expired, now) is None
    assert live_token(inactive, now) is not None
    director_a.is_active = False
    director_a.save()
    assert live_token(inactive, now) is None
    assert live_token("never issued", now) is None


def test_an_expired_token_is_401(client, director_a):
    raw = api_token_create(user=director_a)
    ApiToken.objects.filter(key_hash=ApiToken.hash(raw)).update(expires_at=timezone.now())
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
