"""Issue 17, point 1: family statuses as domain.md §2 — 失联 (lost_contact) and 宣告失踪
(declared_missing) beside 失踪, the date a status began, a parent's serious disability or
illness — through the API, the page and the census import, and what they change."""

from __future__ import annotations

import json
from datetime import date

import pytest

from benefits.services import subsidy_eligibility
from children.models import Child

from ..factories import make_child

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def member(relation, status, **extra):
    return {
        "relation": relation,
        "name": f"{relation}名",
        "status": status,
        "has_guardian_capacity": True,
        **extra,
    }


def test_the_api_records_the_new_statuses_and_facts(api_client, director_a, child):
    api = api_client(director_a)
    url = f"/api/v1/children/{child.pk}/family-members"
    father = post(api, url, member("father", "lost_contact", status_since="2026-03-01"))
    assert father.status_code == 201, father.content
    body = father.json()
    assert body["status"] == "lost_contact" and body["status_since"] == "2026-03-01"
    assert body["has_guardian_capacity"] is False  # lost contact: cannot act as guardian
    mother = post(
        api,
        url,
        member("mother", "working_away", away_since="2026-01-01", has_serious_illness=True),
    )
    assert mother.status_code == 201 and mother.json()["has_serious_illness"] is True
    file = Child.objects.get(pk=child.pk)
    # Left behind: the mother away 3+ months, the father unable to care (lost contact).
    assert "left_behind" in file.categories
    # A parent's serious illness shortens the visit interval like a serious disability.
    assert "父母一方重度残疾或重病" in file.schedule_reason
    # The date a status began is kept only for statuses that count time.
    patched = api.patch(
        f"/api/v1/family-members/{mother.json()['id']}",
        json.dumps({"status_since": "2026-02-02"}),
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["status_since"] is None
    # A date in the future is refused next to its field.
    future = post(api, url, member("grandparent", "imprisoned", status_since="2027-01-01"))
    assert future.status_code == 422 and "status_since" in future.content.decode()
    assert post(api, url, member("other", "abducted")).status_code == 422


def test_six_months_of_lost_contact_makes_de_facto_unsupported(api_client, director_a, frozen):
    child = make_child(director_a, name="查小山", birth_date=date(2015, 6, 1))
    api = api_client(director_a)
    url = f"/api/v1/children/{child.pk}/family-members"
    post(api, url, member("mother", "deceased"))
    father = post(api, url, member("father", "lost_contact", status_since="2026-05-24")).json()
    refusals = subsidy_eligibility(child=child, programme="de_facto_unsupported_allowance")
    assert refusals and "不满6个月（2026-11-24满）" in refusals[0]
    api.patch(
        f"/api/v1/family-members/{father['id']}",
        json.dumps({"status_since": "2026-05-23"}),
        content_type="application/json",
    )
    assert subsidy_eligibility(child=child, programme="de_facto_unsupported_allowance") == []
    # Missing as told by the family is not an orphan; declared missing by a court is.
    assert subsidy_eligibility(child=child, programme="orphan_allowance") == [
        "父亲未死亡或未宣告失踪"
    ]
    api.patch(
        f"/api/v1/family-members/{father['id']}",
        json.dumps({"status": "declared_missing"}),
        content_type="application/json",
    )
    assert subsidy_eligibility(child=child, programme="orphan_allowance") == []


def test_the_family_page_and_the_census_take_the_new_facts(client_for, director_a, child):
    page = client_for(director_a)
    form = page.get(f"/children/{child.pk}/family/new/").content.decode()
    for name in ("status_since", "has_serious_disability", "has_serious_illness"):
        assert f'name="{name}"' in form
    assert 'value="lost_contact"' in form and 'value="declared_missing"' in form
    saved = page.post(
        f"/children/{child.pk}/family/new/",
        {
            "relation": "father",
            "name": "查建国",
            "status": "imprisoned",
            "status_since": "2026-01-05",
            "has_serious_illness": "on",
        },
    )
    assert saved.status_code == 302
    father = child.family_members.get(relation="father")
    assert father.status_since == date(2026, 1, 5) and father.has_serious_illness

    from children.imports import import_children

    from ..factories import make_id_number
    from .test_import_export import row, workbook_bytes

    sheet = [
        row(
            姓名="查小石",
            出生日期="2015-02-02",
            身份证号=make_id_number("2015-02-02", "female", seq=31),
            父亲状况="失联",
            父亲状况开始日期="2026-01-01",
            母亲状况="在家",
            母亲重病="是",
            父亲外出时间="",
            母亲外出时间="",
        )
    ]
    report = import_children(source=workbook_bytes(sheet), user=director_a)
    assert report.ok, [str(e) for e in report.errors]
    imported = Child.objects.get(name="查小石")
    father = imported.family_members.get(relation="father")
    mother = imported.family_members.get(relation="mother")
    assert (father.status, father.status_since) == ("lost_contact", date(2026, 1, 1))
    assert mother.has_serious_illness and not mother.has_serious_disability
    bad = [
        row(
            姓名="查小土",
            出生日期="2015-03-03",
            身份证号=make_id_number("2015-03-03", "female", seq=32),
            父亲状况="被拐",
            母亲重病="也许",
        )
    ]
    report = import_children(source=workbook_bytes(bad), user=director_a)
    assert {e.column for e in report.errors} == {"父亲状况", "母亲重病"}


def test_a_document_proves_a_members_status(client_for, director_a, viewer, outsider, child):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from children.services import family_member_add

    from .test_agreement_pages import png_upload

    father = family_member_add(
        user=director_a, child=child, relation="father", name="查建国", status="deceased"
    )
    page = client_for(director_a)
    url = f"/children/{child.pk}/family/{father.pk}/evidence/"
    assert (
        'enctype="multipart/form-data"'
        in page.get(f"/children/{child.pk}/family/{father.pk}/").content.decode()
    )
    # Not a document: said on the page, nothing stored.
    text = SimpleUploadedFile("note.pdf", b"just words", content_type="application/pdf")
    refused = page.post(url, {"evidence": text, "kind": "death_certificate"}, follow=True)
    assert "只能上传JPG、PNG图片或PDF文件" in refused.content.decode()
    father.refresh_from_db()
    assert not father.evidence
    done = page.post(
        url, {"evidence": png_upload(), "kind": "death_certificate", "evidence_date": "2025-03-01"}
    )
    assert done.status_code == 302
    father.refresh_from_db()
    assert father.evidence and father.evidence_kind == "death_certificate"
    assert father.evidence_date == date(2025, 3, 1)
    assert "死亡证明" in page.get(f"/children/{child.pk}/").content.decode()
    # Read by the staff of the area (audited), never outside it.
    shown = client_for(viewer).get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert shown["Cache-Control"] == "private, no-store"
    assert client_for(outsider).get(url).status_code == 404
    assert (
        client_for(viewer).post(url, {"evidence": png_upload(), "kind": "other"}).status_code == 403
    )
