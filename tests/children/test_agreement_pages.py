"""Care agreement pages: pre-filled form, actions, signed-copy upload checked from the bytes,
scoped download, and the printable PDF."""

import io
from datetime import date

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from children.models import CareAgreement, ParentContact
from children.services import care_agreement_create, family_member_add

from ..factories import make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(director_a):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
        family_member_add(
            user=director_a,
            child=child,
            relation="father",
            name="查建国",
            status="working_away",
            has_guardian_capacity=True,
            away_since=date(2025, 1, 1),
            work_place="浙江省杭州市",
            phone="13812345678",
        )
        family_member_add(
            user=director_a,
            child=child,
            relation="mother",
            name="王芳",
            status="working_away",
            has_guardian_capacity=True,
            away_since=date(2025, 1, 1),
        )
        family_member_add(
            user=director_a,
            child=child,
            relation="grandparent",
            name="查德明",
            status="at_home",
            has_guardian_capacity=True,
            phone="13905631888",
        )
    return child


@pytest.fixture
def agreement(child, director_a):
    return care_agreement_create(
        user=director_a,
        child=child,
        caregiver_name="查德明",
        caregiver_relation="grandparent",
        caregiver_phone="13905631888",
        caregiver_birth_date=date(1958, 4, 2),
        start_date=date(2026, 11, 1),
        end_date=date(2027, 10, 31),
        parent_work_place="浙江省杭州市",
        parent_phone="13812345678",
    )


def png_upload(name="scan.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), (255, 255, 255)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_form_is_prefilled_from_the_family(client_for, child, director_a):
    body = client_for(director_a).get(f"/children/{child.pk}/agreements/new/").content.decode()
    assert 'value="查德明"' in body and 'value="13905631888"' in body
    assert 'value="浙江省杭州市"' in body and 'value="13812345678"' in body


def test_create_through_the_page_and_refuse_a_minor(client_for, child, director_a):
    data = {
        "caregiver_name": "查德明",
        "caregiver_relation": "grandparent",
        "caregiver_phone": "13905631888",
        "caregiver_birth_date": "2010-01-01",
        "start_date": "2026-11-23",
        "end_date": "2027-11-22",
        "parent_work_place": "浙江省杭州市",
        "parent_phone": "13812345678",
        "weekly_contact": "on",
    }
    response = client_for(director_a).post(f"/children/{child.pk}/agreements/new/", data)
    assert response.status_code == 200 and "受托照护人必须年满18周岁" in response.content.decode()
    assert CareAgreement.objects.count() == 0
    data["caregiver_birth_date"] = "1958-04-02"
    response = client_for(director_a).post(f"/children/{child.pk}/agreements/new/", data)
    assert response.status_code == 302
    assert "unsupervised" not in child.__class__.objects.get(pk=child.pk).focus_flags


def test_actions_on_the_agreement_page(client_for, agreement, director_a):
    client = client_for(director_a)
    page = client.get(f"/children/agreements/{agreement.pk}/").content.decode()
    assert "查德明" in page and "有效" in page
    client.post(
        f"/children/agreements/{agreement.pk}/notice/",
        {"channel": "phone", "note": "已电话告知父亲"},
    )
    assert agreement.parent_notices.get().notified_by == director_a
    client.post(f"/children/agreements/{agreement.pk}/caregiver-unable/", {"reason": "祖父住院"})
    agreement.refresh_from_db()
    assert agreement.status == "needs_replacement"
    client.post(f"/children/agreements/{agreement.pk}/terminate/", {"reason": "父亲返乡"})
    agreement.refresh_from_db()
    assert agreement.status == "terminated" and agreement.status_reason == "父亲返乡"


def test_scan_upload_checks_the_bytes_and_download_is_scoped(
    client_for, agreement, director_a, outsider
):
    client = client_for(director_a)
    exe = SimpleUploadedFile(
        "scan.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, content_type="application/pdf"
    )
    response = client.post(
        f"/children/agreements/{agreement.pk}/scan/upload/", {"scan": exe}, follow=True
    )
    assert "只能上传JPG、PNG图片或PDF文件" in response.content.decode()
    agreement.refresh_from_db()
    assert not agreement.scan
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"0" * (10 * 1024 * 1024 + 1))
    response = client.post(
        f"/children/agreements/{agreement.pk}/scan/upload/", {"scan": big}, follow=True
    )
    assert "文件不能超过10MB" in response.content.decode()
    client.post(
        f"/children/agreements/{agreement.pk}/scan/upload/", {"scan": png_upload("签字.exe")}
    )
    agreement.refresh_from_db()
    assert agreement.scan_content_type == "image/png" and agreement.scan.name.endswith(".png")
    download = client.get(f"/children/agreements/{agreement.pk}/scan/")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert client_for(outsider).get(f"/children/agreements/{agreement.pk}/scan/").status_code == 404


def test_printable_pdf(client_for, agreement, director_a):
    response = client_for(director_a).get(f"/children/agreements/{agreement.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-") and len(response.content) > 5000


def test_outsider_404_and_roles_on_every_agreement_page(
    client_for, agreement, child, outsider, director_b, viewer
):
    urls = [
        f"/children/agreements/{agreement.pk}/",
        f"/children/agreements/{agreement.pk}/pdf/",
        f"/children/{child.pk}/agreements/new/",
        f"/children/{child.pk}/parent-contacts/new/",
    ]
    posts = [
        f"/children/agreements/{agreement.pk}/{action}/"
        for action in ("terminate", "caregiver-unable", "notice", "scan/upload")
    ]
    for user in (outsider, director_b):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
        for url in posts:
            assert client.post(url, {"reason": "x", "channel": "phone"}).status_code == 404, url
    assert client_for(viewer).get(f"/children/agreements/{agreement.pk}/").status_code == 200
    for url in posts:
        assert client_for(viewer).post(url, {"reason": "x"}).status_code == 403, url
    assert client_for(viewer).get(f"/children/{child.pk}/agreements/new/").status_code == 403


def test_parent_contact_page(client_for, child, director_a):
    with time_machine.travel("2026-11-25 10:00 +0800", tick=False):
        response = client_for(director_a).post(
            f"/children/{child.pk}/parent-contacts/new/",
            {"contacted_on": "2026-11-24", "channel": "video", "note": "妈妈视频"},
        )
    assert response.status_code == 302
    assert ParentContact.objects.get().channel == "video"
    child.refresh_from_db()
    assert child.last_parent_contact_on == date(2026, 11, 24)


def test_a_parent_contact_on_a_closed_file_is_refused_on_the_page(client_for, child, director_a):
    from children.services import child_close

    child_close(user=director_a, child=child, reason="parents_returned")
    response = client_for(director_a).post(
        f"/children/{child.pk}/parent-contacts/new/",
        {"contacted_on": "2026-11-22", "channel": "phone", "note": "电话"},
    )
    assert response.status_code == 200  # was a 500 (the Conflict was not caught)
    assert "档案已结案" in response.content.decode()
    assert not ParentContact.objects.exists()
