"""Issue 16, point 6 (second half): a supervisor merges two files of one child. One file
survives with the other's visits, agreements, contacts and family; the duplicate's history stays
readable on the survivor; files of two different children (two ID numbers) are never merged."""

from __future__ import annotations

import json
from datetime import date

import pytest

from children.models import Child, ChildMerge, FamilyMember
from children.selectors import timeline_for
from children.services import care_agreement_create, child_create, family_member_add
from visits.models import Visit
from visits.services import visit_record

from ..conftest import VILLAGE_1
from ..factories import make_child, make_id_number

pytestmark = pytest.mark.django_db


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def pair(frozen, director_a):
    """The file of 查小雨 with her ID number, and a second file of her made without one."""
    kept = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    family_member_add(
        user=director_a, child=kept, relation="father", name="查建国", status="at_home"
    )
    duplicate = child_create(
        user=director_a,
        name="查小雨",
        gender="female",
        birth_date=date(2016, 3, 8),
        hukou_registered=False,
        village_code=VILLAGE_1,
        confirm_possible_duplicate=True,
    )
    family_member_add(
        user=director_a,
        child=duplicate,
        relation="father",
        name="查建国",
        status="working_away",
        phone="13812345678",
    )
    family_member_add(
        user=director_a, child=duplicate, relation="mother", name="王芳", status="working_away"
    )
    visit_record(user=director_a, child=duplicate, visited_on=date(2026, 11, 20), kind="home")
    care_agreement_create(
        user=director_a,
        child=duplicate,
        caregiver_name="查奶奶",
        caregiver_relation="grandparent",
        caregiver_phone="13900001111",
        start_date=date(2026, 11, 1),
        end_date=date(2027, 10, 31),
        parent_work_place="浙江省杭州市",
        parent_phone="13812345678",
    )
    return kept, duplicate


def test_a_supervisor_merges_and_one_file_survives_with_everything(
    api_client, director_a, supervisor, pair
):
    kept, duplicate = pair
    url = f"/api/v1/children/{kept.pk}/merge"
    body = {"duplicate_id": str(duplicate.pk), "reason": "同一儿童重复建档"}
    # A director asks; the supervisor merges.
    assert post(api_client(director_a), url, body).status_code == 403
    merged = post(api_client(supervisor), url, body)
    assert merged.status_code == 200, merged.content
    assert merged.json()["id"] == str(kept.pk)
    api = api_client(supervisor)
    assert api.get(f"/api/v1/children/{duplicate.pk}").status_code == 404
    assert not Child.objects.filter(pk=duplicate.pk).exists()

    kept.refresh_from_db()
    assert Visit.objects.filter(child=kept).count() == 1
    assert kept.last_home_visit_on == date(2026, 11, 20)
    assert kept.care_agreements.count() == 1
    # The families join: the father once (the phone taken from the duplicate), the mother added.
    members = FamilyMember.objects.filter(household_id=kept.household_id)
    assert sorted(members.values_list("relation", flat=True)) == ["father", "mother"]
    assert members.get(relation="father").phone == "13812345678"
    record = ChildMerge.objects.get(survivor=kept)
    assert record.duplicate_id == duplicate.pk and record.merged_by == supervisor
    titles = [entry.title for entry in timeline_for(kept)]
    assert any("合并重复档案：查小雨（同一儿童重复建档）" in t for t in titles)
    assert any("已合并的档案" in t for t in titles)  # the duplicate's own history, kept
    # Merging again: the duplicate is gone (404).
    assert post(api, url, body).status_code == 404


def test_the_survivor_takes_the_id_number_it_lacked(api_client, supervisor, pair):
    kept, duplicate = pair
    merged = post(
        api_client(supervisor),
        f"/api/v1/children/{duplicate.pk}/merge",
        {"duplicate_id": str(kept.pk), "reason": "保留无证档案"},
    )
    assert merged.status_code == 200, merged.content
    survivor = Child.objects.get(pk=duplicate.pk)
    assert survivor.id_number_hash == kept.id_number_hash and survivor.hukou_registered
    assert survivor.id_number_masked == kept.id_number_masked


def test_merges_that_must_not_happen_change_nothing(
    api_client, director_a, supervisor, other_supervisor, civil_affairs, pair
):
    kept, duplicate = pair
    url = f"/api/v1/children/{kept.pk}/merge"
    other = make_child(
        director_a,
        name="查小雨",
        gender="female",
        birth_date=date(2016, 3, 8),
        id_number=make_id_number("2016-03-08", "female", seq=77),
    )
    two_children = post(api_client(supervisor), url, {"duplicate_id": str(other.pk), "reason": "x"})
    assert two_children.status_code == 409
    assert two_children.json()["code"] == "different_children"
    assert (
        post(api_client(supervisor), url, {"duplicate_id": str(kept.pk), "reason": "x"}).status_code
        == 422
    )
    assert post(api_client(supervisor), url, {"duplicate_id": str(duplicate.pk)}).status_code == 422
    assert post(
        api_client(supervisor), url, {"duplicate_id": str(duplicate.pk), "reason": "a\x00b"}
    ).status_code in (400, 422)
    assert (
        post(
            api_client(other_supervisor), url, {"duplicate_id": str(duplicate.pk), "reason": "x"}
        ).status_code
        == 404
    )
    assert Child.objects.filter(pk__in=[kept.pk, duplicate.pk, other.pk]).count() == 3
    assert Visit.objects.filter(child=duplicate).count() == 1
    # County civil affairs may merge too.
    merged = post(
        api_client(civil_affairs), url, {"duplicate_id": str(duplicate.pk), "reason": "重复"}
    )
    assert merged.status_code == 200


def test_the_page_lists_likely_files_and_merges(client_for, director_a, supervisor, pair):
    kept, duplicate = pair
    page = client_for(supervisor)
    html = page.get(f"/children/{kept.pk}/").content.decode()
    assert f"/children/{kept.pk}/merge/" in html
    assert (
        f"/children/{kept.pk}/merge/"
        not in client_for(director_a).get(f"/children/{kept.pk}/").content.decode()
    )
    form = page.get(f"/children/{kept.pk}/merge/").content.decode()
    assert f'value="{duplicate.pk}"' in form
    missing = page.post(f"/children/{kept.pk}/merge/", {"duplicate_id": str(duplicate.pk)})
    assert missing.status_code == 200 and Child.objects.filter(pk=duplicate.pk).exists()
    done = page.post(
        f"/children/{kept.pk}/merge/", {"duplicate_id": str(duplicate.pk), "reason": "重复建档"}
    )
    assert done.status_code == 302 and not Child.objects.filter(pk=duplicate.pk).exists()
    assert client_for(director_a).get(f"/children/{kept.pk}/merge/").status_code == 403


def test_the_merged_away_files_reminders_go_with_it(api_client, supervisor, pair):
    """No rule selects a removed file, and a second sweep of the day reads only files written
    since the first (reminders.services._CHILD_ROWS): the merge removes the other file's
    reminders with it rather than leaving them to the next day's full sweep."""
    from reminders.models import Notification

    kept, duplicate = pair
    reminder = Notification.objects.create(
        recipient=supervisor,
        kind="visit_overdue",
        rule="visit_overdue",
        child_id=duplicate.pk,
        due_date=date(2026, 11, 1),
        created_on=date(2026, 11, 2),
    )
    merged = post(
        api_client(supervisor),
        f"/api/v1/children/{kept.pk}/merge",
        {"duplicate_id": str(duplicate.pk), "reason": "同一儿童重复建档"},
    )
    assert merged.status_code == 200, merged.content
    assert not Notification.objects.filter(pk=reminder.pk).exists()
