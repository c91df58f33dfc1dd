"""The one scoping mechanism: each role sees exactly its subtree; outside is 404, wrong role 403."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts import permissions, selectors
from accounts.models import Area, User
from accounts.permissions import Capability

from ..conftest import (
    CITY,
    COUNTY_A,
    COUNTY_B,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
    VILLAGE_B,
)


def visible_codes(user):
    return set(selectors.areas_for_user(user=user).values_list("code", flat=True))


def test_director_sees_only_their_village(director_a):
    assert visible_codes(director_a) == {VILLAGE_1}


def test_supervisor_sees_the_township(supervisor):
    assert visible_codes(supervisor) == {TOWNSHIP_1, VILLAGE_1, VILLAGE_2}


def test_civil_affairs_sees_the_county(civil_affairs):
    assert visible_codes(civil_affairs) == {
        COUNTY_A,
        TOWNSHIP_1,
        VILLAGE_1,
        VILLAGE_2,
        TOWNSHIP_2,
        VILLAGE_3,
    }


def test_viewer_at_city_sees_both_counties(viewer):
    codes = visible_codes(viewer)
    assert {CITY, COUNTY_A, COUNTY_B, VILLAGE_B, VILLAGE_3} <= codes
    assert "340000000000" not in codes


def test_reporter_sees_their_township_areas_only(reporter):
    assert visible_codes(reporter) == {TOWNSHIP_1, VILLAGE_1, VILLAGE_2}


def test_outsider_sees_nothing_of_county_a(outsider):
    assert visible_codes(outsider) == {VILLAGE_B}
    with pytest.raises(Http404):
        selectors.area_for_user_or_404(user=outsider, code=VILLAGE_1)


def test_inactive_or_arealess_users_see_nothing(director_a, db):
    director_a.is_active = False
    assert visible_codes(director_a) == set()
    nobody = User(username="x", role="viewer")
    assert visible_codes(nobody) == set()


def test_superuser_without_area_sees_all(admin_user):
    assert visible_codes(admin_user) == set(Area.objects.values_list("code", flat=True))


def test_get_in_scope_or_404_hides_existence(supervisor, outsider):
    queryset = User.objects.all()
    with pytest.raises(Http404):
        selectors.get_in_scope_or_404(
            queryset, user=supervisor, area_field="area__code", username="outsider"
        )
    with pytest.raises(Http404):
        selectors.get_in_scope_or_404(
            queryset, user=supervisor, area_field="area__code", username="does-not-exist"
        )
    assert (
        selectors.get_in_scope_or_404(
            queryset, user=supervisor, area_field="area__code", username="supervisor"
        )
        == supervisor
    )


def test_staff_directory_is_scoped(supervisor, director_a, director_b, other_supervisor, outsider):
    names = set(selectors.staff_for_user(user=supervisor).values_list("username", flat=True))
    assert names == {"supervisor", "director_a", "director_b"}


def test_require_a_capability(director_a, civil_affairs, admin_user):
    permissions.require(civil_affairs, Capability.BENEFIT_PAY)
    # A superuser is the system administrator: no case role (issue 14, M1).
    with pytest.raises(PermissionDenied):
        permissions.require(admin_user, Capability.BENEFIT_PAY)
    permissions.require(admin_user, Capability.SYSTEM_ADMIN)
    with pytest.raises(PermissionDenied):
        permissions.require(director_a, Capability.VISIT_REVIEW)


def test_scope_query_is_an_indexable_range(civil_affairs):
    sql = str(selectors.areas_for_user(user=civil_affairs).query)
    assert "BETWEEN 341823000000 AND 341823999999" in sql
