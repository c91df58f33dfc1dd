"""Issue 16, point 4: siblings share one set of family members. Linked through the API, a parent
recorded or changed once reaches every sibling's categories, flags and due dates; the links that
cannot hold (another village, two different fathers, a file outside the area) are refused and
change nothing; a sibling who moves away takes a copy of the family along."""

from __future__ import annotations

import json
from datetime import date

import pytest

from children import households
from children.models import CareAgreement, Child, FamilyMember, Household
from children.selectors import timeline_for
from children.services import care_agreement_create, child_close, family_member_add

from ..conftest import VILLAGE_1, VILLAGE_2
from ..factories import add_parents, make_child, make_id_number

pytestmark = pytest.mark.django_db


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def patch(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def brother(frozen, director_a):
    return make_child(director_a, name="查小龙", gender="male", birth_date=date(2014, 5, 2))


def test_linked_siblings_share_members_and_one_change_reaches_both(
    api_client, director_a, child, brother
):
    api = api_client(director_a)
    family_member_add(
        user=director_a, child=child, relation="father", name="查建国", status="at_home"
    )
    family_member_add(
        user=director_a, child=child, relation="mother", name="王芳", status="at_home"
    )
    before = Child.objects.get(pk=brother.pk)
    assert "left_behind" not in before.categories

    linked = post(api, f"/api/v1/children/{child.pk}/siblings", {"child_id": str(brother.pk)})
    assert linked.status_code == 200, linked.content
    household = linked.json()["household_id"]
    assert api.get(f"/api/v1/children/{brother.pk}").json()["household_id"] == household
    # The brother's own (empty) household is gone: one household for the two.
    assert Household.objects.filter(children__in=[child, brother]).distinct().count() == 1

    members = api.get(f"/api/v1/children/{brother.pk}/family-members").json()
    assert sorted(m["name"] for m in members["items"]) == sorted(["王芳", "查建国"])
    assert {m["child_id"] for m in members["items"]} == {str(brother.pk)}

    # The father and mother leave for work, recorded once through the brother's file.
    for member in members["items"]:
        changed = patch(
            api,
            f"/api/v1/family-members/{member['id']}",
            {"status": "working_away", "away_since": "2026-03-01"},
        )
        assert changed.status_code == 200, changed.content
    sister = api.get(f"/api/v1/children/{child.pk}").json()
    brother_now = api.get(f"/api/v1/children/{brother.pk}").json()
    for file in (sister, brother_now):
        assert "left_behind" in file["categories"], file
        assert file["left_behind_reasons"]
    # The mother's serious disability, recorded once, shortens both children's visit interval.
    mother = next(m for m in members["items"] if m["relation"] == "mother")
    patch(api, f"/api/v1/family-members/{mother['id']}", {"has_serious_disability": True})
    both = Child.objects.filter(pk__in=[child.pk, brother.pk])
    assert {c.home_visit_interval_days for c in both} == {30}
    assert before.home_visit_interval_days == 90
    assert all("父母一方重度残疾" in c.schedule_reason for c in both)
    assert len({c.next_home_visit_due for c in both}) == 1
    # A member added through the sister appears on the brother's file.
    grandmother = post(
        api,
        f"/api/v1/children/{child.pk}/family-members",
        {
            "relation": "grandparent",
            "name": "查奶奶",
            "status": "at_home",
            "has_guardian_capacity": True,
        },
    )
    assert grandmother.status_code == 201
    names = [
        m["name"] for m in api.get(f"/api/v1/children/{brother.pk}/family-members").json()["items"]
    ]
    assert "查奶奶" in names
    # The timeline of each says when the families were joined.
    assert any("与兄弟姐妹共用家庭成员" in e.title for e in timeline_for(brother))


def test_linking_again_is_idempotent_and_members_of_one_person_are_kept_once(
    api_client, director_a, child, brother
):
    add_parents(director_a, child, names=("查建国", "王芳"), status="working_away")
    add_parents(
        director_a, brother, names=("查建国", "王芳"), status="working_away", phone="13812345678"
    )
    agreement = care_agreement_create(
        user=director_a,
        child=brother,
        caregiver_name="查奶奶",
        caregiver_relation="grandparent",
        caregiver_phone="13900001111",
        start_date=date(2026, 11, 1),
        end_date=date(2027, 10, 31),
        parent_work_place="浙江省杭州市",
        parent_phone="13812345678",
    )
    api = api_client(director_a)
    url = f"/api/v1/children/{child.pk}/siblings"
    assert post(api, url, {"child_id": str(brother.pk)}).status_code == 200
    assert post(api, url, {"child_id": str(brother.pk)}).status_code == 200
    child.refresh_from_db()
    members = FamilyMember.objects.filter(household_id=child.household_id)
    assert members.count() == 2
    father = members.get(relation="father")
    assert father.phone == "13812345678"  # the kept record took the phone it lacked
    agreement = CareAgreement.objects.get(pk=agreement.pk)
    assert set(agreement.parents.values_list("pk", flat=True)) == set(
        members.values_list("pk", flat=True)
    )


def test_links_that_cannot_hold_change_nothing(
    api_client, director_a, director_b, supervisor, viewer, outsider, child, brother
):
    api = api_client(director_a)
    url = f"/api/v1/children/{child.pk}/siblings"
    add_parents(director_a, child, names=("查建国", "王芳"), status="at_home")
    add_parents(director_a, brother, names=("张三", "王芳"), status="at_home")
    refused = post(api, url, {"child_id": str(brother.pk)})
    assert refused.status_code == 409
    assert refused.json()["code"] == "family_differs" and "父亲" in refused.json()["detail"]
    assert (
        Child.objects.get(pk=brother.pk).household_id != Child.objects.get(pk=child.pk).household_id
    )

    assert post(api, url, {"child_id": str(child.pk)}).status_code == 422
    elsewhere = make_child(director_b, name="厚小花", gender="female", birth_date=date(2017, 1, 1))
    # A file outside the director's village: 404, like any file she may not see.
    assert post(api, url, {"child_id": str(elsewhere.pk)}).status_code == 404
    assert (
        post(
            api, f"/api/v1/children/{elsewhere.pk}/siblings", {"child_id": str(child.pk)}
        ).status_code
        == 404
    )
    assert post(api, url, {"child_id": "not-a-uuid"}).status_code == 404
    # The township supervisor sees both villages: siblings must live in one.
    other_village = post(api_client(supervisor), url, {"child_id": str(elsewhere.pk)})
    assert other_village.status_code == 409
    assert other_village.json()["code"] == "different_village"
    assert post(api_client(viewer), url, {"child_id": str(brother.pk)}).status_code == 403
    assert post(api_client(outsider), url, {"child_id": str(brother.pk)}).status_code == 404
    # A closed file is not linked.
    third = make_child(director_a, name="查小三", birth_date=date(2018, 2, 2))
    child_close(user=director_a, child=third, reason="parents_returned")
    assert post(api, url, {"child_id": str(third.pk)}).status_code == 409


def test_members_stay_editable_while_one_sibling_file_is_open(
    api_client, director_a, child, brother
):
    api = api_client(director_a)
    add_parents(director_a, child, names=("查建国", "王芳"), status="at_home")
    post(api, f"/api/v1/children/{child.pk}/siblings", {"child_id": str(brother.pk)})
    father = FamilyMember.objects.get(household__children=child, relation="father")
    child_close(user=director_a, child=child, reason="parents_returned")
    assert (
        patch(api, f"/api/v1/family-members/{father.pk}", {"phone": "13812345678"}).status_code
        == 200
    )
    brother.refresh_from_db()
    child_close(user=director_a, child=brother, reason="parents_returned")
    assert (
        patch(api, f"/api/v1/family-members/{father.pk}", {"phone": "13812345679"}).status_code
        == 409
    )


def test_a_sibling_who_moves_takes_a_copy_and_the_family_left_behind_is_unchanged(
    api_client, director_a, director_b, child, brother
):
    api = api_client(director_a)
    add_parents(director_a, child, names=("查建国", "王芳"), status="working_away")
    post(api, f"/api/v1/children/{child.pk}/siblings", {"child_id": str(brother.pk)})
    asked = post(
        api,
        f"/api/v1/children/{brother.pk}/transfers",
        {"to_village_code": VILLAGE_2, "reason": "随祖父母搬迁"},
    )
    assert asked.status_code == 201, asked.content
    accepted = post(api_client(director_b), f"/api/v1/transfers/{asked.json()['id']}/accept")
    assert accepted.status_code == 200
    child.refresh_from_db()
    brother.refresh_from_db()
    assert brother.village_id == VILLAGE_2 and brother.household_id != child.household_id
    moved = api_client(director_b).get(f"/api/v1/children/{brother.pk}/family-members").json()
    assert sorted(m["name"] for m in moved["items"]) == sorted(["王芳", "查建国"])
    assert "left_behind" in brother.categories
    # The copy is the moved child's own: a change there does not reach the sister.
    father = next(m for m in moved["items"] if m["relation"] == "father")
    patch(api_client(director_b), f"/api/v1/family-members/{father['id']}", {"status": "at_home"})
    assert FamilyMember.objects.get(household_id=child.household_id, relation="father").status == (
        "working_away"
    )
    # The old village no longer sees the copy.
    assert (
        patch(api, f"/api/v1/family-members/{father['id']}", {"phone": "13812345678"}).status_code
        == 404
    )


def test_leaving_a_household_by_mistake_keeps_a_copy(director_a, child, brother):
    add_parents(director_a, child, names=("查建国", "王芳"), status="at_home")
    households.siblings_link(user=director_a, child=child, other=brother)
    brother.refresh_from_db()
    households.household_leave(user=director_a, child=brother)
    brother.refresh_from_db()
    child.refresh_from_db()
    assert brother.household_id != child.household_id
    assert brother.family_members.count() == 2 and child.family_members.count() == 2
    assert any("不再与兄弟姐妹共用家庭成员" in e.title for e in timeline_for(brother))


def test_census_rows_naming_a_parent_id_join_the_household(director_a, frozen):
    from children.imports import import_children

    from .test_import_export import row, workbook_bytes

    father_id = make_id_number("1985-01-01", "male", seq=7)
    rows = [
        row(
            姓名="查大宝",
            出生日期="2014-01-02",
            身份证号=make_id_number("2014-01-02", "female"),
            父亲身份证号=father_id,
        ),
        row(
            姓名="查二宝",
            出生日期="2016-03-04",
            身份证号=make_id_number("2016-03-04", "female"),
            父亲身份证号=father_id,
            母亲姓名="",
            母亲状况="",
            母亲外出时间="",
        ),
    ]
    report = import_children(source=workbook_bytes(rows), user=director_a)
    assert report.ok, [str(e) for e in report.errors]
    first, second = Child.objects.get(name="查大宝"), Child.objects.get(name="查二宝")
    assert first.household_id == second.household_id
    assert first.family_members.filter(relation="father").count() == 1
    assert second.family_members.filter(relation="mother").count() == 1
    assert "left_behind" in second.categories  # both parents away, the mother from the sister's row
    # A later sheet: a third child of the same father joins the household on file.
    later = [
        row(
            姓名="查三宝",
            出生日期="2019-05-06",
            身份证号=make_id_number("2019-05-06", "female"),
            父亲身份证号=father_id,
            母亲姓名="",
            母亲状况="",
            母亲外出时间="",
        )
    ]
    assert import_children(source=workbook_bytes(later), user=director_a).ok
    assert Child.objects.get(name="查三宝").household_id == first.household_id
    assert first.family_members.count() == 2
    # A bad parent ID number is an error on its row, and nothing is imported.
    bad = [
        row(
            姓名="查四宝",
            出生日期="2020-01-01",
            身份证号=make_id_number("2020-01-01", "female"),
            父亲身份证号="341823198501010000",
        )
    ]
    report = import_children(source=workbook_bytes(bad), user=director_a)
    assert not report.ok and report.errors[0].column == "父亲身份证号"
    assert not Child.objects.filter(name="查四宝").exists()


# --- Pages ------------------------------------------------------------------------------------


def test_registration_offers_to_join_the_family_of_a_parent_on_file(client_for, director_a, child):
    father_id = make_id_number("1985-01-01", "male", seq=9)
    family_member_add(
        user=director_a,
        child=child,
        relation="father",
        name="查建国",
        status="working_away",
        id_number=father_id,
    )
    page = client_for(director_a)
    data = {
        "name": "查小弟",
        "gender": "male",
        "birth_date": "2019-04-05",
        "id_number": make_id_number("2019-04-05", "male", seq=4),
        "village": VILLAGE_1,
        "school_status": "preschool",
        "parent_id_number": father_id,
    }
    asked = page.post("/children/new/", data)
    assert asked.status_code == 200 and not Child.objects.filter(name="查小弟").exists()
    html = asked.content.decode()
    assert "查小雨" in html and 'name="join_household"' in html
    assert page.post("/children/new/", {**data, "join_household": "yes"}).status_code == 302
    brother = Child.objects.get(name="查小弟")
    assert brother.household_id == child.household_id
    assert "查建国" in page.get(f"/children/{brother.pk}/").content.decode()

    # A parent number nobody has in the village: said next to the field, nothing saved.
    other = {
        **data,
        "name": "查小妹",
        "gender": "female",
        "id_number": make_id_number("2020-01-01", "female", seq=5),
        "birth_date": "2020-01-01",
        "parent_id_number": make_id_number("1986-02-02", "female", seq=6),
    }
    refused = page.post("/children/new/", other)
    assert refused.status_code == 200 and "本村没有登记该身份证号" in refused.content.decode()
    # "Keep a family of its own" registers without joining.
    assert (
        page.post(
            "/children/new/", {**other, "parent_id_number": father_id, "join_household": "no"}
        ).status_code
        == 302
    )
    assert Child.objects.get(name="查小妹").household_id != child.household_id


def test_the_child_page_lists_siblings_links_and_leaves(
    client_for, director_a, viewer, child, brother
):
    page = client_for(director_a)
    html = page.get(f"/children/{child.pk}/").content.decode()
    # The file links to the page that finds the village's files by name; it lists none itself.
    assert 'id="siblings"' in html and f'href="/children/{child.pk}/siblings/"' in html
    assert f'value="{brother.pk}"' not in html
    picking = page.get(f"/children/{child.pk}/siblings/").content.decode()
    assert f'value="{brother.pk}"' in picking and f'value="{child.pk}"' not in picking
    assert (
        page.post(f"/children/{child.pk}/siblings/", {"child_id": str(brother.pk)}).status_code
        == 302
    )
    # Linked: no longer offered.
    assert (
        f'value="{brother.pk}"' not in page.get(f"/children/{child.pk}/siblings/").content.decode()
    )
    html = page.get(f"/children/{child.pk}/").content.decode()
    assert f'href="/children/{brother.pk}/"' in html
    # A viewer reads the siblings but has no forms; posting is refused.
    seen = client_for(viewer).get(f"/children/{child.pk}/").content.decode()
    assert "查小龙" in seen and "/siblings/" not in seen
    assert (
        client_for(viewer)
        .post(f"/children/{child.pk}/siblings/", {"child_id": str(brother.pk)})
        .status_code
        == 403
    )
    assert client_for(viewer).get(f"/children/{child.pk}/siblings/").status_code == 403
    # A refusal is a message on the page, never a 500.
    refused = page.post(f"/children/{child.pk}/siblings/", {"child_id": str(child.pk)}, follow=True)
    assert "不能把儿童与自己关联" in refused.content.decode()
    assert page.post(f"/children/{brother.pk}/household/leave/").status_code == 302
    brother.refresh_from_db()
    child.refresh_from_db()
    assert brother.household_id != child.household_id


def test_the_village_is_searched_by_name_never_listed_whole(client_for, director_a, child):
    """A village of hundreds: the page shows a page of its open files and says there are
    more; a name narrows it; files of other villages, closed files and the child itself are
    never offered; hostile text is a search like any other."""
    from children.selectors import SIBLING_CANDIDATES_SHOWN

    for i in range(SIBLING_CANDIDATES_SHOWN + 5):
        make_child(director_a, name=f"村童{i:03d}")
    closed = make_child(director_a, name="村童已结案")
    Child.objects.filter(pk=closed.pk).update(status="closed", closed_on=date(2026, 11, 1))
    page = client_for(director_a)
    url = f"/children/{child.pk}/siblings/"
    everyone = page.get(url).content.decode()
    assert everyone.count('name="child_id"') == SIBLING_CANDIDATES_SHOWN
    assert "符合的档案较多" in everyone
    one = page.get(url, {"name": "村童007"}).content.decode()
    assert one.count('name="child_id"') == 1 and "符合的档案较多" not in one
    assert "村童已结案" not in page.get(url, {"name": "已结案"}).content.decode()
    for hostile in ("%", "_", "=1+1", "'; DROP TABLE children_child; --", "名" * 500):
        answer = page.get(url, {"name": hostile})
        assert answer.status_code == 200
        assert answer.content.decode().count('name="child_id"') == 0


def test_the_sibling_page_is_scoped_like_the_file(
    client_for, director_a, director_b, outsider, child
):
    """Outside the user's area the page and its POST are 404, and a file of another village
    picked by its key is 404 too; a key that is not one is a message on the form, never a 500."""
    elsewhere = make_child(director_b, name="王小川")
    url = f"/children/{child.pk}/siblings/"
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url, {"child_id": str(elsewhere.pk)}).status_code == 404
    page = client_for(director_a)
    assert page.post(url, {"child_id": str(elsewhere.pk)}).status_code == 404
    for hostile in ("not-a-key", "=1+1", ""):
        answer = page.post(url, {"child_id": hostile})
        assert answer.status_code == 200 and "invalid-feedback d-block" in answer.content.decode()
    assert Child.objects.get(pk=elsewhere.pk).household_id != child.household_id
