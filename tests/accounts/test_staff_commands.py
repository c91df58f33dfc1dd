import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken, User

from ..conftest import COUNTY_A, TOWNSHIP_1, VILLAGE_1


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("director", VILLAGE_1),
        ("supervisor", TOWNSHIP_1),
        ("civil_affairs", COUNTY_A),
        ("viewer", TOWNSHIP_1),
        ("reporter", VILLAGE_1),
        ("hotline", COUNTY_A),
        ("police", TOWNSHIP_1),
        ("police", COUNTY_A),
        ("partner", COUNTY_A),
    ],
)
def test_add_staff_at_the_right_level(areas, role, code):
    call_command(
        "add_staff",
        "wang",
        "--role",
        role,
        "--area",
        code,
        "--password",
        "Qingshan-2026",
        "--name",
        "王芳",
        "--phone",
        "13800000000",
        "--email",
        "wang@example.cn",
    )
    user = User.objects.get(username="wang")
    assert (user.role, user.area_id, user.name, user.phone) == (role, code, "王芳", "13800000000")
    assert user.check_password("Qingshan-2026")


@pytest.mark.parametrize(
    ("role", "code", "words"),
    [
        ("director", TOWNSHIP_1, "儿童主任 只能设在村（社区）级"),
        ("supervisor", VILLAGE_1, "儿童督导员 只能设在乡镇级"),
        ("supervisor", COUNTY_A, "must be placed at a township area"),
        ("civil_affairs", TOWNSHIP_1, "县、市、省"),
        ("hotline", TOWNSHIP_1, "12355热线 只能设在县、市、省级"),
        ("police", VILLAGE_1, "must be placed at a township/county area"),
    ],
)
def test_role_at_wrong_level_is_refused(areas, role, code, words):
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "add_staff", "wang", "--role", role, "--area", code, "--password", "Qingshan-2026"
        )
    assert words in str(excinfo.value)
    assert not User.objects.filter(username="wang").exists()


def test_unknown_area_and_role_and_weak_password_are_refused(areas):
    bad = [
        (["--role", "director", "--area", "341823103299"], "不存在"),
        (["--role", "mayor", "--area", VILLAGE_1], "mayor"),
        (["--role", "director"], "--area"),
        (["--role", "director", "--area", VILLAGE_1, "--password", "1234567890123"], "密码"),
        (["--role", "director", "--area", VILLAGE_1, "--password", "short1"], "密码"),
    ]
    for args, words in bad:
        if "--password" not in args:
            args = [*args, "--password", "Qingshan-2026"]
        with pytest.raises(CommandError) as excinfo:
            call_command("add_staff", "wang", *args)
        assert words in str(excinfo.value)
    assert not User.objects.filter(username="wang").exists()


def test_add_staff_twice_updates(areas):
    call_command(
        "add_staff",
        "wang",
        "--role",
        "director",
        "--area",
        VILLAGE_1,
        "--password",
        "Qingshan-2026",
    )
    call_command(
        "add_staff",
        "wang",
        "--role",
        "supervisor",
        "--area",
        TOWNSHIP_1,
        "--password",
        "Qingshan-2027",
    )
    user = User.objects.get(username="wang")
    assert user.role == "supervisor" and user.check_password("Qingshan-2027")


def test_admin_needs_no_area(db):
    call_command("add_staff", "root", "--role", "admin", "--password", "Qingshan-2026")
    user = User.objects.get(username="root")
    assert user.is_superuser and user.is_staff


def test_create_api_token_prints_a_working_token_last(director_a, capsys, client):
    call_command("create_api_token", "director_a")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiToken.objects.filter(key_hash=ApiToken.hash(token)).exists()
    # Only the hash is stored.
    assert not ApiToken.objects.filter(key_hash=token).exists()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["username"] == "director_a"


def test_create_api_token_for_unknown_user(db):
    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody")


def test_a_partner_works_for_an_organisation_of_its_area(areas):
    """add_staff --role partner [--organisation NAME]: the organisation of that name in the area,
    registered if new; two people of one organisation share it; without a name, their own."""
    for username in ("li", "zhao"):
        call_command(
            "add_staff",
            username,
            "--role",
            "partner",
            "--area",
            COUNTY_A,
            "--password",
            "Qingshan-2026",
            "--organisation",
            "青山县阳光社工服务中心",
        )
    li, zhao = User.objects.get(username="li"), User.objects.get(username="zhao")
    assert li.organisation_id == zhao.organisation_id
    assert (li.organisation.name, li.organisation.area_id) == ("青山县阳光社工服务中心", COUNTY_A)
    call_command(
        "add_staff", "sun", "--role", "partner", "--area", COUNTY_A,
        "--password", "Qingshan-2026", "--name", "县医院儿科",
    )  # fmt: skip
    assert User.objects.get(username="sun").organisation.name == "县医院儿科"
    # Moved to another role, the account leaves the organisation.
    call_command(
        "add_staff", "li", "--role", "viewer", "--area", COUNTY_A, "--password", "Qingshan-2026"
    )
    assert User.objects.get(username="li").organisation_id is None
