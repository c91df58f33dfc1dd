"""Issue 20 point 5: no page lists every village of a user's area. The child list narrows by area
one level at a time (a breadcrumb and the areas just below); forms take a village by name or
12-digit code, looked up on the server, with the places a name fits to choose from; the census
template lists the villages' codes only for a small area."""

from __future__ import annotations

import io
import re

import pytest
from django.conf import settings
from openpyxl import load_workbook

from accounts.models import Area, AuditRecord
from children import views as child_views
from children.imports import VILLAGE_CODES_NOT_LISTED
from children.models import Child

from ..conftest import COUNTY_A, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1, VILLAGE_2, VILLAGE_3, VILLAGE_B
from ..factories import make_child

pytestmark = pytest.mark.django_db

TOWNSHIPS, PER_TOWNSHIP = 15, 20  # 300 villages more in county A


def add_villages(county: str = COUNTY_A, townships: int = TOWNSHIPS, per: int = PER_TOWNSHIP):
    """``townships`` × ``per`` villages under ``county``, in two statements."""
    prefix = county[:6]
    towns = [
        Area(
            code=f"{prefix}{200 + t:03d}000", name=f"示范镇{t}", level="township", parent_id=county
        )
        for t in range(1, townships + 1)
    ]
    Area.objects.bulk_create(towns)
    Area.objects.bulk_create(
        Area(
            code=f"{town.code[:9]}{200 + v:03d}",
            name=f"示范村{t}-{v}",
            level="village",
            parent_id=town.code,
        )
        for t, town in enumerate(towns, start=1)
        for v in range(1, per + 1)
    )
    return towns


@pytest.fixture
def many_villages(areas):
    return add_villages()


@pytest.fixture
def two_new_villages(areas):
    """A 新村 in each township of county A: one name, two places."""
    Area.objects.bulk_create(
        [
            Area(code="341823103209", name="新村", level="village", parent_id=TOWNSHIP_1),
            Area(code="341823105209", name="新村", level="village", parent_id=TOWNSHIP_2),
        ]
    )


def registration(**overrides) -> dict:
    data = {
        "name": "查小雪",
        "gender": "female",
        "birth_date": "2016-05-01",
        "hukou_registered": "",
        "ethnicity": "汉族",
        "school_status": "in_school",
    }
    data.update(overrides)
    return data


def field_block(html: str, name: str) -> str:
    """The crispy block of one field (its label, input, list, errors and help)."""
    start = html.index(f'id="div_id_{name}"')
    return html[start : html.index('<div id="div_id_', start + 1)]


# --- The child list: one level at a time ---------------------------------------------------------


def test_a_county_list_offers_its_townships_not_its_300_villages(
    client_for, civil_affairs, many_villages, django_assert_max_num_queries
):
    client = client_for(civil_affairs)
    client.get("/children/")
    # session, user, the picker (breadcrumb and sub-areas in one), count, page, savepoints …
    with django_assert_max_num_queries(10):
        response = client.get("/children/")
    html = response.content.decode()
    picker = re.search(r'<select[^>]*name="area"[^>]*>(.*?)</select>', html, re.S).group(1)
    offered = re.findall(r'<option value="(\d*)"', picker)
    assert offered == ["", TOWNSHIP_1, TOWNSHIP_2, *(t.code for t in many_villages)]
    assert "示范村" not in html and VILLAGE_1 not in html
    assert "sw-crumbs" not in html.split("</form>")[0]  # at the user's own area: no breadcrumb
    assert len(html) < 60_000


def test_the_picker_goes_down_one_level_with_a_breadcrumb(
    client_for, civil_affairs, director_a, director_b
):
    make_child(director_a, name="查小雨")
    make_child(director_b, name="王大山")
    client = client_for(civil_affairs)
    html = client.get("/children/", {"area": TOWNSHIP_1, "risk": "low"}).content.decode()
    crumbs = re.search(r'<nav class="small sw-crumbs[^"]*"[^>]*>(.*?)</nav>', html, re.S).group(1)
    # Up to the county, keeping the other filters; the township is where the list is.
    assert 'href="?risk=low">泾县</a>' in crumbs and "<strong" in crumbs and "桃花潭镇" in crumbs
    picker = re.search(r'<select[^>]*name="area"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d*)"', picker) == [TOWNSHIP_1, VILLAGE_1, VILLAGE_2]
    assert VILLAGE_3 not in html and "查小雨" in html and "王大山" in html

    html = client.get("/children/", {"area": VILLAGE_1}).content.decode()
    # A village has nothing below it: kept by a hidden input for the form's other filters.
    assert f'<input type="hidden" name="area" value="{VILLAGE_1}">' in html
    assert 'id="f-area"' not in html
    crumbs = re.search(r'<nav class="small sw-crumbs[^"]*"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert f'href="?area={TOWNSHIP_1}">桃花潭镇</a>' in crumbs and "查济村" in crumbs
    assert "查小雨" in html and "王大山" not in html


def test_the_village_parameter_of_older_links_still_filters(client_for, supervisor, director_a):
    make_child(director_a, name="查小雨")
    make_child(director_a, name="外村童", village_code=VILLAGE_1)
    html = client_for(supervisor).get("/children/", {"village": VILLAGE_2}).content.decode()
    assert "查小雨" not in html and "厚岸村" in html
    html = client_for(supervisor).get("/children/", {"village": VILLAGE_1}).content.decode()
    assert "查小雨" in html


@pytest.mark.parametrize(
    ("param", "code"),
    [
        ("area", TOWNSHIP_2),  # the neighbouring township
        ("area", VILLAGE_B),  # another county
        ("village", VILLAGE_3),
        ("area", "341823999999"),  # no such area
        ("area", "nonsense"),
        ("village", "x" * 10_000),
    ],
)
def test_an_area_outside_the_users_is_404(client_for, supervisor, param, code):
    assert client_for(supervisor).get("/children/", {param: code}).status_code == 404


def test_a_nul_character_in_the_area_is_a_bad_request_not_an_error(client_for, supervisor):
    # Refused before any view by the hardening middleware (never reaches the database).
    assert client_for(supervisor).get("/children/", {"area": "34182310\x00201"}).status_code == 400


def test_a_refused_area_of_another_county_is_audited(client_for, supervisor):
    client_for(supervisor).get("/children/", {"area": VILLAGE_B})
    assert AuditRecord.objects.filter(
        user=supervisor, action="denied", detail__reason="outside_area", area_code=VILLAGE_B
    ).exists()


# --- The village field: typed, looked up on the server --------------------------------------------


def test_the_registration_form_of_a_county_lists_no_village(
    client_for, civil_affairs, many_villages, django_assert_max_num_queries
):
    client = client_for(civil_affairs)
    client.get("/children/new/")
    with django_assert_max_num_queries(8):
        html = client.get("/children/new/").content.decode()
    block = field_block(html, "village")
    assert re.search(
        r'<input type="text" name="village"[^>]*data-area-search="[^"]*levels=village', block
    )
    assert "<select" not in block and "<option" not in block
    assert "示范村" not in html and VILLAGE_1 not in html


def test_a_township_supervisor_finds_every_village_in_the_fields_list(client_for, supervisor):
    block = field_block(client_for(supervisor).get("/children/new/").content.decode(), "village")
    assert f'<option value="查济村 {VILLAGE_1}">查济村 — 泾县 › 桃花潭镇</option>' in block
    assert f'value="厚岸村 {VILLAGE_2}"' in block and VILLAGE_3 not in block
    assert "data-area-search" not in block  # all there: nothing to ask


@pytest.mark.parametrize(
    "typed", ["查济", "查济村", VILLAGE_1, f"查济村 {VILLAGE_1}", "桃花潭镇 查济村", " 查济村 "]
)
def test_a_village_typed_by_name_or_code_is_found(client_for, civil_affairs, many_villages, typed):
    response = client_for(civil_affairs).post("/children/new/", registration(village=typed))
    assert response.status_code == 302, response.context["form"].errors
    assert Child.objects.get(name="查小雪").village_id == VILLAGE_1


def test_a_name_of_two_villages_asks_which_one(client_for, civil_affairs, two_new_villages):
    client = client_for(civil_affairs)
    response = client.post("/children/new/", registration(village="新村"))
    assert response.status_code == 200 and not Child.objects.exists()
    assert response.context["form"].has_error("village", "several")
    block = field_block(response.content.decode(), "village")
    picks = re.findall(r'<input[^>]*type="radio" name="village_pick" value="(\d+)"', block)
    assert picks == ["341823103209", "341823105209"]
    assert "泾县 › 桃花潭镇" in block and "泾县 › 云岭镇" in block
    assert "invalid-feedback" in block and "is-invalid" in block
    # The one chosen is the one saved.
    response = client.post(
        "/children/new/", registration(village="新村", village_pick="341823105209")
    )
    assert response.status_code == 302
    assert Child.objects.get().village_id == "341823105209"


def test_the_township_before_the_name_tells_two_villages_apart(
    client_for, civil_affairs, two_new_villages
):
    response = client_for(civil_affairs).post("/children/new/", registration(village="云岭 新村"))
    assert response.status_code == 302
    assert Child.objects.get().village_id == "341823105209"


@pytest.mark.parametrize(
    "typed",
    [
        "查济\x00村",
        "查" * 10_000,
        "=1+1",
        '=HYPERLINK("http://x")',
        "%",
        "_",
        VILLAGE_B,  # another county's code
        "341823103299",  # no such village
        TOWNSHIP_1,  # a township is not a village
    ],
)
def test_hostile_or_wrong_village_text_is_refused_next_to_the_field(
    client_for, civil_affairs, typed
):
    response = client_for(civil_affairs).post("/children/new/", registration(village=typed))
    assert response.status_code == 200
    assert response.context["form"].has_error("village")
    block = field_block(response.content.decode(), "village")
    assert "invalid-feedback" in block and "is-invalid" in block
    assert not Child.objects.exists()


def test_the_messages_read_in_english_under_english(client_for, civil_affairs, two_new_villages):
    from django.utils import translation

    client = client_for(civil_affairs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override(translation.get_language()):
        html = client.post("/children/new/", registration(village="=1+1")).content.decode()
        assert "Nothing in your area is called “=1+1”" in html
        html = client.post("/children/new/", registration(village="新村")).content.decode()
        assert "Several places in your area are called “新村”: choose one." in html
        html = client.post("/children/new/", registration(village="查" * 500)).content.decode()
        assert "at most 100 characters" in html


def test_editing_a_file_keeps_its_village_without_choosing_again(
    client_for, civil_affairs, director_a, two_new_villages
):
    child = make_child(director_a, name="查小雨", village_code=VILLAGE_1)
    client = client_for(civil_affairs)
    form = client.get(f"/children/{child.pk}/edit/basic/").context["form"]
    typed = form["village"].value()
    assert typed == f"查济村 {VILLAGE_1}"
    data = {
        "name": "查小雨",
        "gender": "male",
        "birth_date": "2015-06-01",
        "id_number": form["id_number"].value(),
        "hukou_registered": "on",
        "ethnicity": "汉族",
        "village": typed,
        "version": child.version,
    }
    response = client.post(f"/children/{child.pk}/edit/basic/", data)
    assert response.status_code == 302, response.context["form"].errors
    child.refresh_from_db()
    assert child.village_id == VILLAGE_1


def test_the_transfer_in_form_takes_the_village_by_name(client_for, civil_affairs, many_villages):
    html = client_for(civil_affairs).get("/children/transfers/new/").content.decode()
    assert (
        "示范村" not in html
        and 'name="village"' in html
        and "<select" not in field_block(html, "village")
    )
    response = client_for(civil_affairs).post(
        "/children/transfers/new/",
        {"id_number": "341823201601010011", "village": "=1+1", "reason": "随父母迁入"},
    )
    assert response.status_code == 200 and response.context["form"].has_error("village")


# --- The search behind the field, for the script -------------------------------------------------


def test_the_search_answers_at_most_20_places_of_the_users_area(
    client_for, civil_affairs, outsider, many_villages
):
    client = client_for(civil_affairs)
    found = client.get("/areas/search.json", {"levels": "village", "q": "示范村"}).json()
    assert len(found["results"]) == 20
    found = client.get("/areas/search.json", {"levels": "village", "q": "查济"}).json()
    assert found["results"] == [
        {"code": VILLAGE_1, "value": f"查济村 {VILLAGE_1}", "label": "查济村 — 泾县 › 桃花潭镇"}
    ]
    townships = client.get("/areas/search.json", {"levels": "township", "q": "桃花"}).json()
    assert [r["code"] for r in townships["results"]] == [TOWNSHIP_1]
    # Another county's director finds nothing of county A.
    other = client_for(outsider).get("/areas/search.json", {"levels": "village", "q": "查济"})
    assert other.json()["results"] == []


@pytest.mark.parametrize("q", ["查" * 101, "", "=1+1", "%", "_"])
@pytest.mark.parametrize("levels", ["village", "nonsense", ""])
def test_the_search_is_calm_about_odd_input(client_for, civil_affairs, q, levels):
    response = client_for(civil_affairs).get("/areas/search.json", {"levels": levels, "q": q})
    assert response.status_code == 200 and response.json() == {"results": []}
    nul = client_for(civil_affairs).get("/areas/search.json", {"levels": "village", "q": "\x00"})
    assert nul.status_code == 400  # the hardening middleware's answer, before the view


def test_the_search_needs_a_sign_in(client):
    response = client.get("/areas/search.json", {"levels": "village", "q": "查济"})
    assert response.status_code == 302


# --- The census template -------------------------------------------------------------------------


def test_the_census_template_lists_the_codes_of_a_small_area_only(
    client_for, civil_affairs, many_villages, monkeypatch
):
    client = client_for(civil_affairs)
    book = load_workbook(io.BytesIO(client.get("/children/import/template.xlsx").content))
    codes = [c.value for c in book["村（社区）代码"]["A"]][1:]
    assert len(codes) == 303 and VILLAGE_1 in codes
    monkeypatch.setattr(child_views, "TEMPLATE_VILLAGES", 100)
    book = load_workbook(io.BytesIO(client.get("/children/import/template.xlsx").content))
    assert "村（社区）代码" not in book.sheetnames
    guide = [row[0].value for row in book["填写说明"].iter_rows()]
    assert VILLAGE_CODES_NOT_LISTED in guide
