"""Issue 21, point 6: the registry of organisations children are referred to (domain §10) — kept
by civil affairs (county or above) for their area, read by the case workers who refer: who sees
which (those serving their area, and those registered below it), who changes which, pages and
API, hostile input, the query count of the list, and the administrator's staff form that gives
a partner its organisation."""

from __future__ import annotations

from html import escape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts import organisations
from accounts.models import AuditAction, AuditRecord, Organisation, Role, User

from ..conftest import CITY, COUNTY_A, COUNTY_B, PROVINCE, TOWNSHIP_1, TOWNSHIP_2, VILLAGE_1
from ..factories import UserFactory, make_organisation, make_partner

pytestmark = pytest.mark.django_db


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


@pytest.fixture
def registry(areas) -> dict[str, Organisation]:
    """One organisation at each level around county A, and one in county B."""
    return {
        "province": make_organisation(
            areas[PROVINCE], name="安徽省未成年人保护中心", kind="protection_agency"
        ),
        "city": make_organisation(areas[CITY], name="宣城市儿童医院", kind="hospital"),
        "county": make_organisation(areas[COUNTY_A], name="泾县阳光社工服务中心"),
        "township_2": make_organisation(areas[TOWNSHIP_2], name="云岭镇社工站"),
        "county_b": make_organisation(areas[COUNTY_B], name="绩溪县社工中心"),
    }


def names(queryset) -> set[str]:
    return {o.name for o in queryset}


def listed(response) -> str:
    """The list of organisations of the page (not its messages)."""
    return response.content.decode().split('id="organisations"', 1)[1]


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


# --- Who reads which --------------------------------------------------------------------------


def test_each_reads_those_serving_their_area_and_those_below(
    registry, director_a, supervisor, civil_affairs, viewer, outsider
):
    assert names(organisations.organisations_for(user=director_a)) == {
        "安徽省未成年人保护中心",
        "宣城市儿童医院",
        "泾县阳光社工服务中心",
    }
    assert names(organisations.organisations_for(user=supervisor)) == names(
        organisations.organisations_for(user=director_a)
    )
    assert names(organisations.organisations_for(user=civil_affairs)) == {
        "安徽省未成年人保护中心",
        "宣城市儿童医院",
        "泾县阳光社工服务中心",
        "云岭镇社工站",
    }
    # The city's viewer: the province's, the city's and every county's below.
    assert names(organisations.organisations_for(user=viewer)) == set(names(registry.values()))
    assert names(organisations.organisations_for(user=outsider)) == {
        "安徽省未成年人保护中心",
        "宣城市儿童医院",
        "绩溪县社工中心",
    }


def test_the_roles_without_the_registry_read_nothing(
    registry, client_for, api_client, reporter, security_officer, auditor, admin_user
):
    partner = make_partner(registry["county"])
    for user in (partner, reporter, security_officer, auditor, admin_user):
        assert not organisations.organisations_for(user=user).exists()
        assert client_for(user).get("/organisations/").status_code == 403, user.username
        assert api_client(user).get("/api/v1/organisations").status_code == 403, user.username
        assert (
            api_client(user).get(f"/api/v1/organisations/{registry['county'].pk}").status_code
            == 403
        )


def test_which_organisations_serve_a_child(registry):
    assert names(organisations.organisations_serving(VILLAGE_1)) == {
        "安徽省未成年人保护中心",
        "宣城市儿童医院",
        "泾县阳光社工服务中心",
    }
    Organisation.objects.filter(pk=registry["city"].pk).update(active=False)
    assert "宣城市儿童医院" not in names(organisations.organisations_serving(VILLAGE_1))


# --- Pages ------------------------------------------------------------------------------------


def test_civil_affairs_add_edit_and_deactivate_through_the_pages(
    client_for, registry, civil_affairs, director_a
):
    client = client_for(civil_affairs)
    listing = client.get("/organisations/").content.decode()
    assert "泾县阳光社工服务中心" in listing and "/organisations/new/" in listing
    county = registry["county"]
    # Their own county's may be changed; the city's and the province's are kept above them.
    assert f"/organisations/{county.pk}/edit/" in listing
    assert f"/organisations/{registry['city'].pk}/edit/" not in listing
    # The service number is a public contact: shown in full, to be called.
    assert 'href="tel:0563-5123456"' in listing

    response = client.post(
        "/organisations/new/",
        {
            "name": "泾县人民医院",
            "kind": "hospital",
            "services": "儿科、心理门诊",
            "contact_name": "王医生",
            "phone": "0563-5012345",
            "address": "泾县泾川镇",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/organisations/"
    hospital = Organisation.objects.get(name="泾县人民医院")
    assert hospital.area_id == COUNTY_A and hospital.active and hospital.kind == "hospital"

    edit = f"/organisations/{hospital.pk}/edit/"
    assert client.get(edit).status_code == 200
    response = client.post(
        edit,
        {"name": "泾县人民医院", "kind": "hospital", "services": "儿科", "phone": "0563-5012345"},
    )
    assert response.status_code == 302
    hospital.refresh_from_db()
    assert not hospital.active and hospital.services == "儿科" and hospital.contact_name == ""
    # Each change audited, with what it was and what it became (civil affairs' area's record).
    changes = AuditRecord.objects.filter(
        action=AuditAction.ORGANISATION_CHANGED, object_id=str(hospital.pk)
    ).order_by("id")
    assert [(r.user, r.area_code) for r in changes] == [(civil_affairs, COUNTY_A)] * 2
    assert changes[0].detail["after"]["name"] == "泾县人民医院" and not changes[0].detail["before"]
    assert changes[1].detail["before"] == {
        "services": "儿科、心理门诊",
        "contact_name": "王医生",
        "address": "泾县泾川镇",
        "active": True,
    }
    assert changes[1].detail["after"]["active"] is False
    # Saved again unchanged: nothing more to audit.
    client.post(
        edit,
        {"name": "泾县人民医院", "kind": "hospital", "services": "儿科", "phone": "0563-5012345"},
    )
    assert changes.count() == 2
    # Inactive: out of the list (unless asked for), out of the choices of a referral.
    assert "泾县人民医院" not in listed(client.get("/organisations/"))
    assert "泾县人民医院" in listed(client.get("/organisations/?inactive=1"))
    assert hospital not in organisations.organisations_serving(VILLAGE_1)
    # A director reads the registry, and changes nothing.
    director = client_for(director_a)
    page = director.get("/organisations/").content.decode()
    assert (
        "泾县阳光社工服务中心" in page
        and "/organisations/new/" not in page
        and "/edit/" not in page
    )
    assert director.get("/organisations/new/").status_code == 403
    assert director.post(edit, {"name": "x", "kind": "other"}).status_code == 403


def test_edit_scope_outsider_404_above_403_viewer_403(
    client_for, registry, civil_affairs, viewer, outsider, areas
):
    county_b_officer = UserFactory(
        username="civil_b", role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_B]
    )
    county = registry["county"]
    assert client_for(outsider).get(f"/organisations/{county.pk}/edit/").status_code == 404
    assert client_for(county_b_officer).get(f"/organisations/{county.pk}/edit/").status_code == 404
    # The city's organisation: county civil affairs read it but it is the city's to change.
    assert (
        client_for(civil_affairs).get(f"/organisations/{registry['city'].pk}/edit/").status_code
        == 403
    )
    assert client_for(viewer).get(f"/organisations/{county.pk}/edit/").status_code == 403
    assert client_for(civil_affairs).get("/organisations/999999/edit/").status_code == 404
    city_officer = UserFactory(username="civil_city", role=Role.CIVIL_AFFAIRS, area=areas[CITY])
    assert client_for(city_officer).get(f"/organisations/{county.pk}/edit/").status_code == 200


def test_a_city_registers_at_a_county_below_it(client_for, areas, registry):
    city_officer = UserFactory(username="civil_city", role=Role.CIVIL_AFFAIRS, area=areas[CITY])
    client = client_for(city_officer)
    response = client.post(
        "/organisations/new/", {"name": "泾县妇幼保健院", "kind": "hospital", "area_code": COUNTY_A}
    )
    assert response.status_code == 302
    assert Organisation.objects.get(name="泾县妇幼保健院").area_id == COUNTY_A
    # A township is no place to register at; another city's county is outside the area.
    refused = client.post(
        "/organisations/new/", {"name": "镇社工站", "kind": "social_work", "area_code": TOWNSHIP_1}
    )
    assert refused.status_code == 200 and not Organisation.objects.filter(name="镇社工站").exists()


def test_hostile_input_is_refused_next_to_the_field(client_for, registry, civil_affairs):
    client = client_for(civil_affairs)
    formula = zh("Must not begin with =, +, - or @: a spreadsheet would run it as a formula.")
    for field, value, message in (
        ("name", "阳光\x00社工", zh("must not contain a NUL character")),
        ("name", "=cmd|' /C calc'!A0", formula),
        ("contact_name", "@SUM(1+1)", formula),
        ("phone", "call me maybe", zh("Enter a phone number: digits, with - or + if needed.")),
        ("services", "心理\x00辅导", zh("must not contain a NUL character")),
    ):
        body = {"name": "新机构", "kind": "social_work", field: value}
        response = client.post("/organisations/new/", body)
        assert response.status_code == 200, field
        assert escape(message) in response.content.decode(), field
    assert not Organisation.objects.filter(area_id=COUNTY_A, name__startswith="新").exists()
    # A name taken in the county: said next to the name, nothing saved.
    response = client.post(
        "/organisations/new/", {"name": "泾县阳光社工服务中心", "kind": "social_work"}
    )
    assert response.status_code == 200
    assert escape(zh("An organisation of this name is already registered in this area.")) in (
        response.content.decode()
    )
    assert Organisation.objects.filter(name="泾县阳光社工服务中心").count() == 1


def test_the_list_takes_the_same_queries_whatever_its_length(client_for, registry, civil_affairs):
    client = client_for(civil_affairs)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/organisations/").status_code == 200
        return len(captured)

    few = queries()
    for n in range(20):
        make_organisation(COUNTY_A, name=f"机构{n}")
    assert queries() == few


# --- API --------------------------------------------------------------------------------------


def test_the_api_lists_creates_reads_changes_and_deactivates(
    api_client, registry, civil_affairs, director_a, child
):
    officer = api_client(civil_affairs)
    listed = officer.get("/api/v1/organisations").json()
    assert listed["count"] == 4
    item = next(i for i in listed["items"] if i["name"] == "泾县阳光社工服务中心")
    assert item == {
        "id": str(registry["county"].pk),
        "name": "泾县阳光社工服务中心",
        "kind": "social_work",
        "services": "心理辅导、家庭教育指导",
        "contact_name": "程晓燕",
        "phone": "0563-5123456",
        "address": "泾县泾川镇",
        "area_code": COUNTY_A,
        "area_name": "泾县",
        "active": True,
    }
    created = post(
        officer,
        "/api/v1/organisations",
        {"name": "泾县人民医院", "kind": "hospital", "phone": "0563-5012345"},
    )
    assert created.status_code == 201, created.content
    new_id = created.json()["id"]
    assert created.json()["area_code"] == COUNTY_A and created.json()["active"] is True
    assert post(officer, "/api/v1/organisations", {"name": "泾县人民医院"}).status_code == 409
    assert officer.get(f"/api/v1/organisations/{new_id}").json()["name"] == "泾县人民医院"
    changed = patch(
        officer, f"/api/v1/organisations/{new_id}", {"active": False, "services": "儿科"}
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert officer.get("/api/v1/organisations?active=false").json()["count"] == 1
    assert officer.get("/api/v1/organisations?q=医院").json()["count"] == 2
    # Those that serve a child of village 1, active only: for the referral form of a client.
    serving = api_client(director_a).get(f"/api/v1/organisations?child_id={child.pk}").json()
    assert {i["name"] for i in serving["items"]} == {
        "安徽省未成年人保护中心",
        "宣城市儿童医院",
        "泾县阳光社工服务中心",
    }


def test_the_api_refuses_by_scope_role_and_body(
    api_client, registry, civil_affairs, director_a, viewer, outsider, child
):
    county = registry["county"]
    assert api_client(outsider).get(f"/api/v1/organisations/{county.pk}").status_code == 404
    assert api_client(outsider).get(f"/api/v1/organisations?child_id={child.pk}").status_code == 404
    for user in (director_a, viewer):
        client = api_client(user)
        assert client.get(f"/api/v1/organisations/{county.pk}").status_code == 200
        assert post(client, "/api/v1/organisations", {"name": "x"}).status_code == 403
        assert (
            patch(client, f"/api/v1/organisations/{county.pk}", {"active": False}).status_code
            == 403
        )
    officer = api_client(civil_affairs)
    assert (
        patch(officer, f"/api/v1/organisations/{registry['city'].pk}", {"name": "y"}).status_code
        == 403
    )
    assert officer.get("/api/v1/organisations/not-a-number").status_code == 404
    assert officer.get("/api/v1/organisations/99999999999999999999999").status_code == 404
    outside = post(officer, "/api/v1/organisations", {"name": "外县机构", "area_code": COUNTY_B})
    assert outside.status_code == 404
    township = post(officer, "/api/v1/organisations", {"name": "镇社工站", "area_code": TOWNSHIP_1})
    assert township.status_code == 422 and township.json()["detail"][0]["loc"] == [
        "body",
        "area_code",
    ]
    nul = post(officer, "/api/v1/organisations", {"name": "阳光\x00社工"})
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"] == ["body", "name"]
    formula = post(officer, "/api/v1/organisations", {"name": "=1+1"})
    assert formula.status_code == 422
    too_long = post(officer, "/api/v1/organisations", {"name": "长" * 101})
    assert too_long.status_code == 422
    county.refresh_from_db()
    assert county.active and Organisation.objects.count() == 5


# --- The partner's account in the administrator's staff form ---------------------------------


def _account_body(**extra) -> dict:
    return {
        "username": "sg_admin",
        "name": "机构社工",
        "role": Role.PARTNER,
        "area": COUNTY_A,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
        **extra,
    }


def test_the_administrator_gives_a_partner_its_organisation(client_for, admin_user, registry):
    partner = make_partner(registry["county"], username="sg_admin")
    client = client_for(admin_user)
    url = f"/manage/accounts/user/{partner.pk}/change/"
    page = client.get(url).content.decode()
    # The choices name each organisation with its area.
    assert "宣城市儿童医院 · 宣城市" in page and 'name="organisation"' in page
    response = client.post(url, _account_body(organisation=registry["city"].pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    partner.refresh_from_db()
    assert partner.organisation_id == registry["city"].pk
    # Without one, a partner's account is refused next to the field.
    response = client.post(url, _account_body(organisation=""))
    assert response.status_code == 200
    assert escape(zh("A referral organisation's staff need an organisation.")) in (
        response.content.decode()
    )
    partner.refresh_from_db()
    assert partner.organisation_id == registry["city"].pk
    # Another role keeps no organisation.
    response = client.post(url, _account_body(role=Role.VIEWER, organisation=registry["city"].pk))
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.role == Role.VIEWER and partner.organisation_id is None
    assert User.objects.filter(organisation__isnull=False).count() == 0
