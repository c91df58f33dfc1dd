"""Child file pages: scope (404), roles (403), forms with Chinese errors, audit, query counts."""

import re
from datetime import date

import pytest

from accounts.models import AuditRecord
from children.models import Child, FamilyMember
from children.services import family_member_add

from ..conftest import VILLAGE_1, VILLAGE_2
from ..factories import confirm_categories, make_child, make_id_number


@pytest.fixture
def child(director_a):
    return make_child(
        director_a,
        name="查小雨",
        gender="female",
        birth_date=date(2016, 3, 8),
        id_number=make_id_number("2016-03-08", "female"),
    )


def page_urls(child, member=None):
    urls = [
        f"/children/{child.pk}/",
        f"/children/{child.pk}/edit/basic/",
        f"/children/{child.pk}/edit/school/",
        f"/children/{child.pk}/edit/health/",
        f"/children/{child.pk}/edit/categories/",
        f"/children/{child.pk}/close/",
        f"/children/{child.pk}/family/new/",
        f"/children/{child.pk}/assess/",
    ]
    if member is not None:
        urls.append(f"/children/{child.pk}/family/{member.pk}/")
    return urls


def test_outsider_gets_404_on_every_child_page(
    client_for, child, director_a, outsider, director_b, other_supervisor
):
    member = family_member_add(
        user=director_a,
        child=child,
        relation="father",
        name="父",
        status="at_home",
        has_guardian_capacity=True,
    )
    for user in (outsider, director_b, other_supervisor):
        client = client_for(user)
        for url in page_urls(child, member):
            assert client.get(url).status_code == 404, (user.username, url)
            assert client.post(url, {}).status_code == 404, (user.username, url)


def test_wrong_role_gets_403(client_for, child, viewer, reporter, civil_affairs):
    for url in page_urls(child)[1:]:
        assert client_for(viewer).get(url).status_code == 403, url
    assert client_for(viewer).get(f"/children/{child.pk}/").status_code == 200
    assert client_for(reporter).get(f"/children/{child.pk}/").status_code == 403
    assert client_for(reporter).get("/children/").status_code == 403
    assert client_for(civil_affairs).get(f"/children/{child.pk}/assess/").status_code == 403
    assert client_for(viewer).get("/children/new/").status_code == 403
    assert client_for(viewer).get("/children/import/").status_code == 403


def test_anonymous_is_sent_to_login(client, child):
    for url in ["/children/", "/children/new/", "/children/export.xlsx", *page_urls(child)]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_file_page_is_audited_and_masks_by_role(
    client_for, child, director_a, supervisor, civil_affairs
):
    number = make_id_number("2016-03-08", "female")
    assert number in client_for(director_a).get(f"/children/{child.pk}/").content.decode()
    assert number in client_for(civil_affairs).get(f"/children/{child.pk}/").content.decode()
    body = client_for(supervisor).get(f"/children/{child.pk}/").content.decode()
    assert number not in body and "3418**********" + number[-4:] in body
    records = AuditRecord.objects.filter(object_id=str(child.pk), action="view")
    assert records.count() == 3
    assert set(records.values_list("user__username", flat=True)) == {
        "director_a",
        "supervisor",
        "civil_affairs",
    }
    assert records.first().ip == "127.0.0.1"


def test_create_child_through_the_page(client_for, director_a):
    client = client_for(director_a)
    assert client.get("/children/new/").status_code == 200
    data = {
        "name": "王小明",
        "gender": "male",
        "birth_date": "2014-09-01",
        "id_number": make_id_number("2014-09-01", "male", seq=7),
        "hukou_registered": "on",
        "village": VILLAGE_1,
        "school_status": "in_school",
        "ethnicity": "汉族",
    }
    response = client.post("/children/new/", data)
    assert response.status_code == 302
    child = Child.objects.get(name="王小明")
    assert response.url == f"/children/{child.pk}/"


def test_bad_id_shows_chinese_error_next_to_field_and_saves_nothing(client_for, director_a):
    data = {
        "name": "王小明",
        "gender": "female",
        "birth_date": "2014-09-01",
        "id_number": make_id_number("2014-09-01", "male", seq=7),
        "hukou_registered": "on",
        "village": VILLAGE_1,
        "school_status": "in_school",
    }
    response = client_for(director_a).post("/children/new/", data)
    assert response.status_code == 200
    body = response.content.decode()
    error_block = re.search(r'id="div_id_id_number".*?</div>\s*</div>', body, re.S).group(0)
    assert "性别与填写的性别不一致" in error_block
    assert Child.objects.count() == 0


def test_duplicate_id_on_the_page(client_for, child, supervisor):
    data = {
        "name": "另一个",
        "gender": "female",
        "birth_date": "2016-03-08",
        "id_number": make_id_number("2016-03-08", "female"),
        "hukou_registered": "on",
        "village": VILLAGE_2,
        "school_status": "in_school",
    }
    body = client_for(supervisor).post("/children/new/", data).content.decode()
    # The supervisor's own township: the file is named and linked (one file for life).
    assert "本辖区已有该儿童的档案（查小雨）" in body
    assert f'href="/children/{child.pk}/"' in body[body.index('id="duplicate-file"') :]
    assert Child.objects.count() == 1


def test_a_closed_file_is_offered_for_re_opening_and_one_outside_for_a_transfer(
    client_for, child, director_a, outsider
):
    from children.services import child_close

    child_close(user=director_a, child=child, reason="parents_returned")
    data = {
        "name": "查小雨",
        "gender": "female",
        "birth_date": "2016-03-08",
        "id_number": child_number(child),
        "hukou_registered": "on",
        "village": VILLAGE_1,
        "school_status": "in_school",
    }
    body = client_for(director_a).post("/children/new/", data).content.decode()
    offer = body[body.index('id="duplicate-file"') :]
    assert "已结案，可重新开档" in offer and f"/children/{child.pk}/reopen/" in offer
    data["village"] = outsider.area_id
    body = client_for(outsider).post("/children/new/", data).content.decode()
    offer = body[body.index('id="duplicate-file"') :]
    assert "/children/transfers/new/" in offer
    assert str(child.pk) not in body and "查济村" not in offer
    assert Child.objects.count() == 1


def child_number(child) -> str:
    from core.crypto import decrypt

    return decrypt(child.id_number_encrypted)


def test_director_cannot_pick_another_village(client_for, director_a):
    data = {
        "name": "王小明",
        "gender": "male",
        "birth_date": "2014-09-01",
        "id_number": make_id_number("2014-09-01", "male", seq=7),
        "hukou_registered": "on",
        "village": VILLAGE_2,
        "school_status": "in_school",
    }
    response = client_for(director_a).post("/children/new/", data)
    assert response.status_code == 200  # the village is not among the choices
    assert Child.objects.count() == 0


def test_edit_section_with_stale_version(client_for, child, director_a, supervisor):
    url = f"/children/{child.pk}/edit/school/"
    first = client_for(director_a).post(
        url, {"school_status": "dropped_out", "version": child.version}
    )
    assert first.status_code == 302
    stale = client_for(supervisor).post(
        url, {"school_status": "in_school", "version": child.version}
    )
    assert stale.status_code == 200 and "档案已被他人修改" in stale.content.decode()
    child.refresh_from_db()
    assert child.school_status == "dropped_out" and "out_of_school" in child.focus_flags


@pytest.mark.parametrize("version", [None, "", "abc"])
def test_edit_without_a_valid_version_saves_nothing(client_for, child, director_a, version):
    data = {"school_status": "dropped_out"} | ({} if version is None else {"version": version})
    answer = client_for(director_a).post(f"/children/{child.pk}/edit/school/", data)
    assert answer.status_code == 200 and "档案已被他人修改" in answer.content.decode()
    child.refresh_from_db()
    assert child.school_status == "in_school"


def test_supervisor_edit_keeps_masked_id(client_for, child, supervisor):
    url = f"/children/{child.pk}/edit/basic/"
    page = client_for(supervisor).get(url).content.decode()
    assert child.id_number_masked in page
    response = client_for(supervisor).post(
        url,
        {
            "name": "查小雨",
            "gender": "female",
            "birth_date": "2016-03-08",
            "id_number": child.id_number_masked,
            "hukou_registered": "on",
            "village": VILLAGE_1,
            "address": "查济村3组",
            "ethnicity": "汉族",
            "version": child.version,
        },
    )
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.address == "查济村3组" and child.id_number_masked.endswith(
        make_id_number("2016-03-08", "female")[-4:]
    )


def test_family_member_page_makes_child_left_behind_and_timeline_says_so(
    client_for, child, director_a
):
    client = client_for(director_a)
    for relation, name in (("father", "查建国"), ("mother", "王芳")):
        response = client.post(
            f"/children/{child.pk}/family/new/",
            {
                "relation": relation,
                "name": name,
                "status": "working_away",
                "has_guardian_capacity": "on",
                "away_since": "2024-02-01",
                "work_place": "浙江省杭州市",
            },
        )
        assert response.status_code == 302
    body = client.get(f"/children/{child.pk}/").content.decode()
    assert "父母双方外出务工满3个月" in body
    body = client.get(f"/children/{child.pk}/history/").content.decode()
    assert "添加家庭成员：父亲 查建国" in body
    assert "类别" in body and "留守儿童" in body  # the change of category on the timeline
    assert "查文静" in body  # who made the change


def test_family_member_delete(client_for, child, director_a):
    member = family_member_add(
        user=director_a,
        child=child,
        relation="mother",
        name="王芳",
        status="at_home",
        has_guardian_capacity=True,
    )
    response = client_for(director_a).post(
        f"/children/{child.pk}/family/{member.pk}/", {"delete": "1"}
    )
    assert response.status_code == 302
    assert not FamilyMember.objects.filter(pk=member.pk).exists()
    assert (
        "删除家庭成员：母亲 王芳"
        in client_for(director_a).get(f"/children/{child.pk}/history/").content.decode()
    )


def test_close_with_reason(client_for, child, director_a):
    client = client_for(director_a)
    response = client.post(f"/children/{child.pk}/close/", {"reason": "other", "note": ""})
    assert "请说明" in response.content.decode()
    response = client.post(
        f"/children/{child.pk}/close/", {"reason": "moved_away", "note": "随父母迁往杭州"}
    )
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.status == "closed" and child.closed_reason == "moved_away"
    assert "查小雨" not in client.get("/children/").content.decode()
    assert "查小雨" in client.get("/children/?status=closed").content.decode()


def test_assessment_sets_colour_and_warns_on_red(client_for, child, director_a):
    response = client_for(director_a).post(
        f"/children/{child.pk}/assess/",
        {
            "assessed_on": "2026-01-10",
            "guardianship": "3",
            "safety": "1",
            "health": "0",
            "behaviour": "0",
        },
        follow=True,
    )
    body = response.content.decode()
    assert "110" in body and "强制报告" in body
    assert response.redirect_chain[-1][0] == f"/reports/new/{child.pk}/"
    child.refresh_from_db()
    assert child.risk_level == "high" and child.is_key_child
    assert str(child.next_assessment_due) == "2026-07-09"


def test_list_search_and_filters(client_for, director_a, supervisor, civil_affairs):
    a = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    confirm_categories(
        make_child(director_a, name="王大山", risk_level="high", categories=["orphan"]),
        civil_affairs,
    )
    make_child(director_a, name="李娟", school_status="dropped_out", birth_date=date(2012, 1, 1))
    client = client_for(supervisor)
    body = client.get("/children/", {"q": "小雨"}).content.decode()
    assert "查小雨" in body and "王大山" not in body
    body = client.get("/children/", {"q": a.id_number_last4}).content.decode()
    assert "查小雨" in body and "王大山" not in body
    body = client.get("/children/", {"risk": "high"}).content.decode()
    assert "王大山" in body and "查小雨" not in body
    body = client.get("/children/", {"category": "orphan"}).content.decode()
    assert "王大山" in body and "李娟" not in body
    body = client.get("/children/", {"flag": "out_of_school"}).content.decode()
    assert "李娟" in body and "王大山" not in body
    body = client.get(
        "/children/", {"school_status": "dropped_out", "village": VILLAGE_1}
    ).content.decode()
    assert "李娟" in body and "查小雨" not in body
    body = client.get("/children/", {"key": "1"}).content.decode()
    assert "王大山" in body and "李娟" in body and "查小雨" not in body


@pytest.mark.parametrize("rows", [5, 50])
def test_list_page_runs_constant_queries(
    client_for, director_a, supervisor, rows, django_assert_max_num_queries
):
    for i in range(rows):
        make_child(director_a, name=f"儿童{i:02d}", categories=["orphan"] if i % 2 else [])
    client = client_for(supervisor)
    client.get("/children/")  # warm the session
    # session, user, user's area, villages for the filter, count, page, savepoints
    with django_assert_max_num_queries(10):
        response = client.get("/children/")
    assert response.status_code == 200
    assert response.content.decode().count('class="list-group-item list-group-item-action') == min(
        rows, 30
    )


def test_list_is_scoped(client_for, director_a, outsider, director_b):
    make_child(director_a, name="查小雨")
    assert "查小雨" not in client_for(outsider).get("/children/").content.decode()
    assert "查小雨" not in client_for(director_b).get("/children/").content.decode()
