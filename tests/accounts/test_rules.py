import pytest

from accounts import rules


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("340000000000", "province", None),
        ("341800000000", "city", "340000000000"),
        ("341823000000", "county", "341800000000"),
        ("341823103000", "township", "341823000000"),
        ("341823103201", "village", "341823103000"),
        ("341823103001", "village", "341823103000"),
        # A city without counties (domain §1): its towns and villages hang under the city.
        ("441900000000", "city", "440000000000"),
        ("441900101000", "township", "441900000000"),
        ("441900101001", "village", "441900101000"),
        ("620200100000", "township", "620200000000"),
    ],
)
def test_level_and_parent_are_derived_from_the_code(code, level, parent):
    assert rules.parse_level(code) == level
    assert rules.parent_code(code) == parent


@pytest.mark.parametrize(
    "code",
    [
        "34182310320",
        "3418231032011",
        "34182310320a",
        "",
        "000000000000",
        "340000000201",
        "340000103000",  # a town under a zero city
        "341800000201",  # a village under a zero township
        "341823000201",
        "34 823103201",
    ],
)
def test_malformed_codes_are_refused(code):
    with pytest.raises(rules.AreaCodeError):
        rules.parse_level(code)


def test_prefix_defines_the_subtree():
    assert rules.prefix("341823103000", "township") == "341823103"
    assert rules.prefix("341800000000", "city") == "3418"
    assert rules.ancestor_codes("341823103201") == [
        "341823103000",
        "341823000000",
        "341800000000",
        "340000000000",
    ]


@pytest.mark.parametrize(
    ("role", "level", "allowed"),
    [
        ("director", "village", True),
        ("director", "township", False),
        ("supervisor", "township", True),
        ("supervisor", "village", False),
        ("supervisor", "county", False),
        ("civil_affairs", "county", True),
        ("civil_affairs", "city", True),
        ("civil_affairs", "province", True),
        ("civil_affairs", "township", False),
        ("viewer", "village", True),
        ("reporter", "township", True),
        ("admin", "province", True),
        ("nobody", "village", False),
    ],
)
def test_role_levels(role, level, allowed):
    assert rules.role_allowed_at(role, level) is allowed
