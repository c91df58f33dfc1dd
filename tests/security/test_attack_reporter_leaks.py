"""Issue 14 L4: a mandatory reporter (a teacher, a doctor) learned a child's name from its id.

A reporter's answers carry only what the reporter typed and the report's progress: no child's
name, ID number or village they did not type, no notes or attachments of the staff who handle
the report, in the API and on the pages alike.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reporting.models import MandatoryReport
from reporting.services import report_attach, report_transition

from ..conftest import VILLAGE_1
from ..factories import make_child, make_id_number

pytestmark = pytest.mark.django_db

CHILD_NAME = "秘密童"
ID_NUMBER = make_id_number("2016-03-08", area="341823", seq=91)
VILLAGE_NAME = "查济村"  # VILLAGE_1 in tests/conftest.py
STAFF_NOTE = "秘密童由外婆接回"


@pytest.fixture
def secret_child(director_a):
    return make_child(director_a, name=CHILD_NAME, birth_date=date(2016, 3, 8), id_number=ID_NUMBER)


def leaks(text: str) -> list[str]:
    return [
        secret for secret in (CHILD_NAME, ID_NUMBER, VILLAGE_NAME, VILLAGE_1, STAFF_NOTE)
        if secret in text
    ]  # fmt: skip


def body(discovered: str = "2026-01-05T08:30:00+08:00", **extra) -> dict:
    return {
        "situation": "living_alone",
        "discovered_at": discovered,
        "description": "放学后一个人在家，没有大人",
        **extra,
    }


def handled_by_staff(report_id, director_a, supervisor, settings, tmp_path):
    """The township handles the report: notes naming the child, and a staff attachment."""
    settings.MEDIA_ROOT = tmp_path
    report = MandatoryReport.objects.get(pk=report_id)
    report = report_transition(
        user=director_a, report=report, to="police_received", note=STAFF_NOTE, police_receipt="1"
    )
    report = report_transition(
        user=director_a,
        report=report,
        to="emergency_handled",
        actions=["placed_with_relatives"],
        note=STAFF_NOTE,
    )
    buffer = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    report_attach(
        user=supervisor, report=report, upload=SimpleUploadedFile("a.png", buffer.getvalue())
    )
    return report


def test_api_reply_to_a_reporter_names_nothing_they_did_not_type(
    api_client, reporter, secret_child, director_a, supervisor, settings, tmp_path
):
    client = api_client(reporter)
    response = client.post(
        "/api/v1/reports",
        body(child_id=str(secret_child.pk)),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    reply = response.json()
    assert leaks(response.content.decode()) == [], reply
    assert reply["child_id"] == str(secret_child.pk)  # what they sent may be echoed
    assert reply["child_name"] == "" and reply["area_code"] is None
    # The file is linked for the staff all the same.
    report = MandatoryReport.objects.get(pk=reply["id"])
    assert report.child_id == secret_child.pk and report.area_id == VILLAGE_1

    handled_by_staff(reply["id"], director_a, supervisor, settings, tmp_path)
    for url in ("/api/v1/reports", f"/api/v1/reports/{reply['id']}"):
        answer = client.get(url)
        assert answer.status_code == 200
        assert leaks(answer.content.decode()) == [], answer.json()
    detail = client.get(f"/api/v1/reports/{reply['id']}").json()
    assert detail["stage"] == "emergency_handled"  # the progress itself is theirs to see
    assert [t["to_stage"] for t in detail["transitions"]][-1] == "emergency_handled"
    # The staff see the file's name and village as before.
    staff = api_client(supervisor).get(f"/api/v1/reports/{reply['id']}").json()
    assert staff["child_name"] == CHILD_NAME and staff["area_code"] == VILLAGE_1


def test_what_the_reporter_typed_is_echoed(api_client, reporter, secret_child):
    response = api_client(reporter).post(
        "/api/v1/reports",
        body(child_id=str(secret_child.pk), child_name="小秘", location="学校门口"),
        content_type="application/json",
    )
    reply = response.json()
    assert reply["child_name"] == "小秘" and reply["location"] == "学校门口"
    assert leaks(response.content.decode()) == []


def test_report_pages_show_a_reporter_nothing_they_did_not_type(
    client_for, reporter, secret_child, director_a, supervisor, settings, tmp_path
):
    client = client_for(reporter)
    form = client.get(f"/reports/new/{secret_child.pk}/")
    assert form.status_code == 200 and leaks(form.content.decode()) == []
    response = client.post(
        f"/reports/new/{secret_child.pk}/",
        {
            "child_name": "小秘",
            "situation": "living_alone",
            "discovered_at": "2026-01-05T08:30",
            "description": "放学后一个人在家",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert leaks(response.content.decode()) == []
    report = MandatoryReport.objects.get()
    assert report.child_id == secret_child.pk

    handled_by_staff(report.pk, director_a, supervisor, settings, tmp_path)
    for url in ("/reports/", "/reports/?show=all", f"/reports/{report.pk}/"):
        page = client.get(url)
        assert page.status_code == 200
        assert leaks(page.content.decode()) == [], url
    detail = client.get(f"/reports/{report.pk}/").content.decode()
    assert "/attachments/" not in detail  # the supervisor's attachment is not theirs
    attachment = report.attachments.get()
    assert client.get(f"/reports/{report.pk}/attachments/{attachment.pk}/").status_code == 404
    # The staff's page is unchanged.
    staff = client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    assert CHILD_NAME in staff and STAFF_NOTE in staff and "/attachments/" in staff


def test_a_file_linked_later_stays_hidden_from_the_reporter(
    client_for, api_client, reporter, supervisor
):
    # Filed with a name only (so in the reporter's township); the supervisor then creates the
    # child's file from the report, with the proper name and village: the reporter sees none.
    filed = api_client(reporter).post(
        "/api/v1/reports", body(child_name="小李"), content_type="application/json"
    )
    report_id = filed.json()["id"]
    number = make_id_number("2015-06-01", area="341823", seq=92)
    response = client_for(supervisor).post(
        f"/children/new/?report={report_id}",
        {
            "name": CHILD_NAME,
            "gender": "male",
            "birth_date": "2015-06-01",
            "id_number": number,
            "village": VILLAGE_1,
            "hukou_registered": "on",
            "school_status": "in_school",
        },
        follow=True,
    )
    assert [status for _url, status in response.redirect_chain] == [307, 302]
    assert MandatoryReport.objects.get(pk=report_id).child_name == CHILD_NAME
    for answer in (
        api_client(reporter).get(f"/api/v1/reports/{report_id}"),
        api_client(reporter).get("/api/v1/reports"),
        client_for(reporter).get(f"/reports/{report_id}/"),
        client_for(reporter).get("/reports/"),
    ):
        text = answer.content.decode()
        assert answer.status_code == 200 and leaks(text) == [] and number not in text
