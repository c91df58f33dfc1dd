"""Shared fixtures: two villages in one township, their supervisor, the county, an outsider.

County A (341823) has township T1 with villages V1 and V2, and township T2 with village V3.
County B (341824) is somewhere else entirely.
"""

from __future__ import annotations

import os
from datetime import date

import pytest
import time_machine
from django.test import Client

from accounts.models import Area, Role, User
from accounts.services import api_token_create

from .factories import UserFactory, area_chain, make_child

PROVINCE = "340000000000"
CITY = "341800000000"
COUNTY_A = "341823000000"
TOWNSHIP_1 = "341823103000"
VILLAGE_1 = "341823103201"
VILLAGE_2 = "341823103202"
TOWNSHIP_2 = "341823105000"
VILLAGE_3 = "341823105201"
COUNTY_B = "341824000000"
TOWNSHIP_B = "341824100000"
VILLAGE_B = "341824100201"


def pytest_configure(config: pytest.Config) -> None:
    """A bare `pytest` with no DATABASE_URL / REDIS_URL starts the embedded servers that are not
    running, as `make test`'s wrapper does (settings only compute their addresses), exports their
    URLs to the xdist workers and to subprocesses, and stops the servers it started at the end."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return
    import environ
    from django.conf import settings

    from config import embedded

    config.add_cleanup(embedded.start_missing(os.environ))
    # The socket directories, where the servers listen (the URLs carry no host or port).
    database = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    started = database["OPTIONS"], os.environ["REDIS_URL"]
    if started != (settings.DATABASES["default"]["OPTIONS"], settings.REDIS_URL):
        raise pytest.UsageError(f"embedded servers started at {started}, not where settings say")


@pytest.fixture
def areas(db) -> dict[str, Area]:
    names = {
        PROVINCE: "安徽省",
        CITY: "宣城市",
        COUNTY_A: "泾县",
        TOWNSHIP_1: "桃花潭镇",
        VILLAGE_1: "查济村",
        VILLAGE_2: "厚岸村",
        TOWNSHIP_2: "云岭镇",
        VILLAGE_3: "章渡村",
        COUNTY_B: "绩溪县",
        TOWNSHIP_B: "华阳镇",
        VILLAGE_B: "城东村",
    }
    for code in (VILLAGE_1, VILLAGE_2, VILLAGE_3, VILLAGE_B):
        area_chain(code, names)
    return {code: Area.objects.get(code=code) for code in names}


def _user(username: str, role: str, area: Area | None, **extra) -> User:
    return UserFactory(username=username, role=role, area=area, **extra)


@pytest.fixture
def director_a(areas) -> User:
    return _user("director_a", Role.DIRECTOR, areas[VILLAGE_1], name="查文静")


@pytest.fixture
def director_b(areas) -> User:
    return _user("director_b", Role.DIRECTOR, areas[VILLAGE_2], name="王玉兰")


@pytest.fixture
def supervisor(areas) -> User:
    return _user("supervisor", Role.SUPERVISOR, areas[TOWNSHIP_1], name="查丽萍")


@pytest.fixture
def other_supervisor(areas) -> User:
    return _user("other_supervisor", Role.SUPERVISOR, areas[TOWNSHIP_2])


@pytest.fixture
def civil_affairs(areas) -> User:
    return _user("civil_affairs", Role.CIVIL_AFFAIRS, areas[COUNTY_A], name="方晓梅")


@pytest.fixture
def viewer(areas) -> User:
    return _user("viewer", Role.VIEWER, areas[CITY])


@pytest.fixture
def reporter(areas) -> User:
    return _user("reporter", Role.REPORTER, areas[TOWNSHIP_1])


@pytest.fixture
def outsider(areas) -> User:
    """A director in another county: everything in county A is invisible to them."""
    return _user("outsider", Role.DIRECTOR, areas[VILLAGE_B])


@pytest.fixture
def admin_user(areas) -> User:
    return _user("root", Role.ADMIN, None, is_staff=True, is_superuser=True)


@pytest.fixture
def security_officer(areas) -> User:
    """安全管理员 of county A: accounts and lockouts of the county, no child data."""
    return _user("security_a", Role.SECURITY, areas[COUNTY_A], name="安全员")


@pytest.fixture
def auditor(areas) -> User:
    """安全审计员 of county A: the county's audit log, nothing else."""
    return _user("auditor_a", Role.AUDITOR, areas[COUNTY_A], name="审计员")


@pytest.fixture
def clean_session_cache(db):
    """Session epochs and remembered session keys live in Redis, which outlives each test's
    transaction while user ids repeat from one test to the next: forget them after the test."""
    yield
    from django.core.cache import cache

    for pk in User.objects.values_list("pk", flat=True):
        cache.delete_many([f"session_epoch:{pk}", f"session_keys:{pk}"])


def log_in(client: Client, user: User) -> Client:
    """Sign ``user`` in as if past both steps: the password (force_login) and, for a user who
    must give one, the second factor (a confirmed TOTP device recorded by django_otp.login)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.mfa import MFA_NEEDED, mfa_required_for

    client.force_login(user)
    session = client.session
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None and mfa_required_for(user):
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    if device is not None:
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    else:
        session[MFA_NEEDED] = False
    session.save()
    return client


@pytest.fixture
def client_for():
    """client_for(user) → a test client signed in (second factor included where needed)."""

    def make(user: User) -> Client:
        return log_in(Client(), user)

    return make


@pytest.fixture
def api_client():
    """api_client(user) → a client that sends a fresh Bearer token for ``user``."""

    def make(user: User) -> Client:
        token = api_token_create(user=user)
        return Client(headers={"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
def frozen():
    """Freeze time at 2026-11-23 10:00 in Asia/Shanghai; returns the traveller to move it."""
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def child(frozen, director_a):
    return make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
