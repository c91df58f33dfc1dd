"""Issue 20 point 5 on the report form: a reporter placed above a village (a county hospital, a
province's) types the child's township or village by name or code; the form never lists every
place of the area, finds the one meant, asks which when a name fits several, and refuses hostile
text next to the field, filing nothing."""

from __future__ import annotations

import re

import pytest

from accounts.models import Area, Role
from reporting.models import MandatoryReport

from ..children.test_area_picker import add_villages, field_block
from ..conftest import COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_B
from ..factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def hospital(areas):
    """县医院: a reporter placed at the county."""
    return UserFactory(username="county_hospital", role=Role.REPORTER, area=areas[COUNTY_A])


@pytest.fixture
def many_villages(areas):
    return add_villages()


def post_form(client, **overrides):
    body = {
        "child_name": "李小花",
        "situation": "living_alone",
        "discovered_at": "2026-11-23T08:00",
        "description": "孩子独自来院就诊，称家中无大人",
    }
    body.update(overrides)
    return client.post("/reports/new/", body)


def test_the_form_of_a_county_with_300_villages_lists_none(
    client_for, hospital, many_villages, django_assert_max_num_queries
):
    client = client_for(hospital)
    client.get("/reports/new/")
    with django_assert_max_num_queries(8):
        html = client.get("/reports/new/").content.decode()
    block = field_block(html, "area_code")
    levels = "levels=county%2Ctownship%2Cvillage"
    assert re.search(
        rf'<input type="text" name="area_code"[^>]*data-area-search="[^"]*{levels}', block
    )
    assert "<option" not in block and "示范村" not in html


@pytest.mark.parametrize(
    ("typed", "area"),
    [("查济", VILLAGE_1), ("桃花潭镇", TOWNSHIP_1), (TOWNSHIP_2, TOWNSHIP_2), ("示范村7-3", None)],
)
def test_a_place_typed_by_name_or_code_takes_the_report(
    client_for, hospital, many_villages, frozen, typed, area
):
    response = post_form(client_for(hospital), area_code=typed)
    assert response.status_code == 302, response.context["form"].errors
    expected = area or Area.objects.get(name="示范村7-3").code
    assert MandatoryReport.objects.get().area_id == expected


def test_a_name_of_two_places_asks_which_one(client_for, hospital, frozen):
    Area.objects.bulk_create(
        [
            Area(code="341823103209", name="新村", level="village", parent_id=TOWNSHIP_1),
            Area(code="341823105209", name="新村", level="village", parent_id=TOWNSHIP_2),
        ]
    )
    client = client_for(hospital)
    response = post_form(client, area_code="新村")
    assert response.status_code == 200 and not MandatoryReport.objects.exists()
    block = field_block(response.content.decode(), "area_code")
    assert re.findall(r'name="area_code_pick" value="(\d+)"', block) == [
        "341823103209",
        "341823105209",
    ]
    assert post_form(client, area_code="新村", area_code_pick="341823103209").status_code == 302
    assert MandatoryReport.objects.get().area_id == "341823103209"


@pytest.mark.parametrize(
    "typed", ["查济\x00村", "查" * 10_000, "=1+1", "+cmd|' /C calc'!A0", "城东村", COUNTY_A]
)
def test_hostile_or_unknown_text_is_refused_next_to_the_field(client_for, hospital, typed):
    # 城东村 is another county's; the county itself is the reporter's own area, not a choice.
    response = post_form(client_for(hospital), area_code=typed)
    assert response.status_code == 200
    assert response.context["form"].has_error("area_code")
    block = field_block(response.content.decode(), "area_code")
    assert "invalid-feedback" in block and "is-invalid" in block
    assert not MandatoryReport.objects.exists()


def test_a_code_of_another_county_is_still_404(client_for, hospital):
    assert post_form(client_for(hospital), area_code=VILLAGE_B).status_code == 404
    assert not MandatoryReport.objects.exists()
