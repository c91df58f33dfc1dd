"""Issue 16, point 6 (first half): a child registered without an ID number is checked against the
files of the same name and birth date in the village and its township, and the user is asked
before a second file is made; only files in the user's area are named."""

from __future__ import annotations

import json
from datetime import date

import pytest

from children.models import Child

from ..conftest import VILLAGE_1, VILLAGE_2, VILLAGE_3

pytestmark = pytest.mark.django_db


def body(village, **extra):
    return {
        "name": "无证童",
        "gender": "male",
        "birth_date": "2017-05-04",
        "hukou_registered": False,
        "village_code": village,
        **extra,
    }


def post(client, data):
    return client.post("/api/v1/children", json.dumps(data), content_type="application/json")


def test_the_same_name_and_birth_date_asks_before_a_second_file(
    api_client, director_a, director_b, other_supervisor, frozen
):
    first = post(api_client(director_a), body(VILLAGE_1))
    assert first.status_code == 201
    # The same village: asked, and the file is named.
    again = post(api_client(director_a), body(VILLAGE_1))
    assert again.status_code == 409
    assert again.json()["code"] == "possible_duplicate"
    assert again.json()["child_ids"] == [first.json()["id"]]
    # The same township, another village outside the asker's area: asked, nothing named.
    nearby = post(api_client(director_b), body(VILLAGE_2))
    assert nearby.status_code == 409 and nearby.json()["child_ids"] == []
    # Confirmed "not the same child": registered.
    confirmed = post(api_client(director_b), body(VILLAGE_2, confirm_possible_duplicate=True))
    assert confirmed.status_code == 201
    # Another township: no question.
    assert post(api_client(other_supervisor), body(VILLAGE_3)).status_code == 201
    assert Child.objects.count() == 3


def test_the_page_asks_and_registers_once_confirmed(client_for, director_a, frozen):
    data = {
        "name": "无证童",
        "gender": "male",
        "birth_date": "2017-05-04",
        "village": VILLAGE_1,
        "school_status": "in_school",
    }
    assert client_for(director_a).post("/children/new/", data).status_code == 302
    page = client_for(director_a).post("/children/new/", data).content.decode()
    offer = page[page.index('id="duplicate-file"') :]
    assert "姓名和出生日期相同" in offer and 'name="confirm_possible_duplicate"' in offer
    assert Child.objects.count() == 1
    response = client_for(director_a).post(
        "/children/new/", {**data, "confirm_possible_duplicate": "on"}
    )
    assert response.status_code == 302 and Child.objects.count() == 2


def test_the_census_import_asks_about_rows_like_a_file_on_record(director_a, frozen):
    from children.imports import import_children
    from children.services import child_create

    from .test_import_export import row, workbook_bytes

    child_create(
        user=director_a,
        name="无证童",
        gender="male",
        birth_date=date(2017, 5, 4),
        hukou_registered=False,
        village_code=VILLAGE_1,
    )
    sheet = [
        row(姓名="无证童", 性别="男", 出生日期="2017-05-04", 身份证号="", 是否登记户籍="否"),
    ]
    report = import_children(source=workbook_bytes(sheet), user=director_a)
    assert not report.ok
    (error,) = report.errors
    assert (
        error.column == "姓名"
        and "无证童（" in error.message
        and "确认不是同一儿童" in error.message
    )
    assert Child.objects.count() == 1
    # Two rows of the sheet alike: the second is asked about.
    twice = [
        row(姓名="新童", 性别="男", 出生日期="2018-01-01", 身份证号="", 是否登记户籍="否"),
        row(姓名="新童", 性别="男", 出生日期="2018-01-01", 身份证号="", 是否登记户籍="否"),
    ]
    report = import_children(source=workbook_bytes(twice), user=director_a)
    assert [e.row for e in report.errors] == [3] and Child.objects.count() == 1
    # Checked and confirmed: imported.
    sheet[0]["确认不是同一儿童"] = "是"
    report = import_children(source=workbook_bytes(sheet), user=director_a)
    assert report.ok, [str(e) for e in report.errors]
    assert Child.objects.filter(name="无证童").count() == 2
