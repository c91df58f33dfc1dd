"""Issue 20 point 5: passwords stored as Argon2id with the measured parameters; a password stored
before with Django's PBKDF2 still signs in, and is rewritten as Argon2 by that sign-in.

(The rest of the suite hashes with MD5 for speed: config/settings/test.py. Here the production
list applies.)"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from accounts.models import User
from config.settings import base

from ..factories import TEST_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]
ARGON2 = "argon2$argon2id$v=19$m=65536,t=2,p=1$"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS


def test_a_new_password_is_stored_as_argon2id(production_hashers, director_a):
    director_a.set_password("Another@2026")
    director_a.save()
    assert director_a.password.startswith(ARGON2)
    assert check_password("Another@2026", director_a.password)
    assert not check_password("another@2026", director_a.password)


def test_an_older_pbkdf2_password_signs_in_and_is_rewritten_as_argon2(
    production_hashers, client, director_a
):
    User.objects.filter(pk=director_a.pk).update(
        password=make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    )
    assert identify_hasher(User.objects.get(pk=director_a.pk).password).algorithm == (
        "pbkdf2_sha256"
    )
    wrong = client.post("/accounts/login/", {"username": "director_a", "password": "nope"})
    assert wrong.status_code == 200
    assert User.objects.get(pk=director_a.pk).password.startswith("pbkdf2_sha256$")

    response = client.post(
        "/accounts/login/", {"username": "director_a", "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=director_a.pk).password.startswith(ARGON2)
    assert client.get("/children/").status_code == 200
