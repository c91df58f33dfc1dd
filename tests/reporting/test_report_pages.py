"""Report pages: the short filing form, the report page's next steps by role, the queue."""

from datetime import date

import pytest
import time_machine

from reporting.models import MandatoryReport
from reporting.services import report_file

from ..factories import make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(director_a):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        return make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))


@pytest.fixture
def report(child, reporter):
    from django.utils import timezone

    return report_file(
        user=reporter,
        situation="living_alone",
        discovered_at=timezone.now(),
        description="孩子独自在家",
        child=child,
    )


def test_reporter_files_through_the_short_form(client_for, reporter):
    client = client_for(reporter)
    assert "110" in client.get("/reports/new/").content.decode()
    response = client.post(
        "/reports/new/",
        {
            "child_name": "李小花",
            "situation": "domestic_violence",
            "discovered_at": "2026-11-23T08:00",
            "description": "身上多处淤青",
        },
    )
    assert response.status_code == 302
    report = MandatoryReport.objects.get()
    assert report.reporter == reporter and report.area == reporter.area
    page = client.get(response.url).content.decode()
    assert "李小花" in page and "查济" not in page


def test_missing_fields_are_shown_and_nothing_saved(client_for, reporter):
    response = client_for(reporter).post("/reports/new/", {"situation": "living_alone"})
    assert response.status_code == 200 and MandatoryReport.objects.count() == 0


def test_next_steps_by_role(client_for, report, director_a, supervisor, reporter):
    director_page = client_for(director_a).get(f"/reports/{report.pk}/").content.decode()
    assert 'name="to" value="police_received"' in director_page
    assert 'value="closed"' not in director_page
    assert "confidential" in director_page or "保密" in director_page
    supervisor_page = client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    assert (
        'name="to" value="closed"' in supervisor_page and reporter.display_name in supervisor_page
    )
    reporter_page = client_for(reporter).get(f"/reports/{report.pk}/").content.decode()
    assert 'name="to"' not in reporter_page and f"/children/{report.child_id}/" not in reporter_page


def test_moving_through_the_page(client_for, report, director_a):
    client = client_for(director_a)
    client.post(
        f"/reports/{report.pk}/move/", {"to": "police_received", "police_receipt": "泾公受字118"}
    )
    report.refresh_from_db()
    assert report.stage == "police_received" and report.police_receipt == "泾公受字118"
    response = client.post(f"/reports/{report.pk}/move/", {"to": "emergency_handled"}, follow=True)
    assert "此阶段需要填写该项" in response.content.decode()
    response = client.post(f"/reports/{report.pk}/move/", {"to": "assessed"}, follow=True)
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.stage == "police_received"


def test_queue_and_scope(client_for, report, supervisor, outsider, other_supervisor, viewer):
    body = client_for(supervisor).get("/reports/").content.decode()
    assert "查小雨" in body
    assert "查小雨" not in client_for(other_supervisor).get("/reports/").content.decode()
    assert client_for(outsider).get(f"/reports/{report.pk}/").status_code == 404
    assert (
        client_for(outsider)
        .post(f"/reports/{report.pk}/move/", {"to": "police_received"})
        .status_code
        == 404
    )
    assert client_for(viewer).get("/reports/new/").status_code == 403


def test_visit_with_a_safety_concern_offers_the_report(client_for, child, director_a):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        response = client_for(director_a).post(
            f"/visits/new/{child.pk}/",
            {"visited_on": "2026-11-23", "kind": "home", "safety_concern": "true"},
        )
    assert response.status_code == 302 and response.url == f"/reports/new/{child.pk}/"


def _to_intervention(report, director_a, supervisor):
    from reporting.services import report_transition

    report_transition(user=director_a, report=report, to="police_received")
    report_transition(user=director_a, report=report, to="emergency_handled", actions=["shelter"])
    report_transition(user=supervisor, report=report, to="assessed", service_plan=["legal_aid"])
    return report_transition(
        user=supervisor, report=report, to="intervention", intervention_type="protection_order"
    )


def test_attachments_checked_from_bytes_and_scoped(
    client_for, report, reporter, outsider, supervisor
):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    client = client_for(reporter)
    exe = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + b"\x00" * 64, content_type="image/jpeg")
    response = client.post(f"/reports/{report.pk}/attach/", {"file": exe}, follow=True)
    assert "只能上传JPG、PNG图片或PDF文件" in response.content.decode()
    buffer = io.BytesIO()
    Image.new("RGB", (30, 30)).save(buffer, format="JPEG")
    client.post(
        f"/reports/{report.pk}/attach/", {"file": SimpleUploadedFile("x.jpg", buffer.getvalue())}
    )
    attachment = report.attachments.get()
    url = f"/reports/{report.pk}/attachments/{attachment.pk}/"
    assert client_for(supervisor).get(url)["Content-Type"] == "image/jpeg"
    assert client_for(outsider).get(url).status_code == 404


def test_a_refused_small_form_says_why_instead_of_dropping_the_input(client_for, report, reporter):
    """Posting the attach form with no file (or anything the form refuses) said nothing before:
    now the refusal is a message on the report page, and nothing is saved."""
    response = client_for(reporter).post(f"/reports/{report.pk}/attach/", {}, follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and "alert-danger" in body
    assert not report.attachments.exists()


def test_protection_order_recorded_and_reminded_14_days_before_expiry(
    client_for, report, director_a, supervisor
):
    from reminders.models import Notification
    from reminders.services import reminders_sweep
    from reporting.models import Intervention

    _to_intervention(report, director_a, supervisor)
    client = client_for(supervisor)
    response = client.post(
        f"/reports/{report.pk}/interventions/",
        {
            "kind": "protection_order",
            "applied_on": "2026-11-24",
            "decided_on": "2026-11-25",
            "expires_on": "2027-07-25",
        },
        follow=True,
    )
    assert "有效期不超过6个月" in response.content.decode()
    client.post(
        f"/reports/{report.pk}/interventions/",
        {
            "kind": "protection_order",
            "applied_on": "2026-11-24",
            "decided_on": "2026-11-25",
            "expires_on": "2027-05-25",
        },
    )
    assert Intervention.objects.get().expires_on == date(2027, 5, 25)
    assert (
        client_for(director_a)
        .post(f"/reports/{report.pk}/interventions/", {"kind": "warning_letter"})
        .status_code
        == 403
    )
    with time_machine.travel("2027-05-10 08:00 +0800", tick=False):
        reminders_sweep()
    assert not Notification.objects.filter(due_date=date(2027, 5, 25)).exists()
    with time_machine.travel("2027-05-11 08:00 +0800", tick=False):
        reminders_sweep()
    assert Notification.objects.filter(
        recipient=supervisor,
        kind="report_deadline",
        due_date=date(2027, 5, 25),
        report_id=report.pk,
    ).exists()


def test_a_new_file_created_from_a_report_is_linked(client_for, director_a, reporter):
    from django.utils import timezone

    from children.models import Child

    from ..factories import make_id_number

    report = report_file(
        user=director_a,
        situation="living_alone",
        discovered_at=timezone.now(),
        description="独自居住",
        child_name="李小花",
    )
    client = client_for(director_a)
    assert (
        f"/reports/{report.pk}/child/new/" in client.get(f"/reports/{report.pk}/").content.decode()
    )
    # The address the link had before keeps working, a posted form included (307).
    old = client.get(f"/children/new/?report={report.pk}")
    assert old.status_code == 307 and old["Location"] == f"/reports/{report.pk}/child/new/"
    form = client.get(f"/reports/{report.pk}/child/new/").content.decode()
    assert 'value="李小花"' in form
    response = client.post(
        f"/children/new/?report={report.pk}",
        {
            "name": "李小花",
            "gender": "female",
            "birth_date": "2015-02-02",
            "id_number": make_id_number("2015-02-02", "female", seq=41),
            "hukou_registered": "on",
            "village": director_a.area_id,
            "school_status": "in_school",
            "report": str(report.pk),
        },
        follow=True,
    )
    assert [status for _url, status in response.redirect_chain] == [307, 302]
    report.refresh_from_db()
    child = Child.objects.get(name="李小花")
    assert response.redirect_chain[-1][0] == f"/children/{child.pk}/"
    assert report.child == child and report.area_id == child.village_id
    assert child.next_assessment_due is not None


def test_full_path_through_the_pages(
    client_for, reporter, director_a, supervisor, civil_affairs, child
):
    response = client_for(reporter).post(
        f"/reports/new/{child.pk}/",
        {
            "child_name": "查小雨",
            "situation": "living_alone",
            "discovered_at": "2026-11-23T08:00",
            "description": "孩子独自在家",
        },
    )
    report = MandatoryReport.objects.get()
    assert response.url == f"/reports/{report.pk}/" and report.child == child
    steps = [
        (director_a, {"to": "police_received", "police_receipt": "泾公受字120"}),
        (director_a, {"to": "emergency_handled", "actions": ["placed_with_relatives"]}),
        (supervisor, {"to": "assessed", "service_plan": ["guardianship_guidance"]}),
        (supervisor, {"to": "intervention", "intervention_type": "family_education_order"}),
        (civil_affairs, {"to": "closed", "outcome": "resolved", "note": "父母返乡照料"}),
    ]
    for user, data in steps:
        page = client_for(user).get(f"/reports/{report.pk}/").content.decode()
        assert f'name="to" value="{data["to"]}"' in page
        assert client_for(user).post(f"/reports/{report.pk}/move/", data).status_code == 302
        report.refresh_from_db()
        assert report.stage == data["to"]
    page = client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    assert "已结案" in page and "父母返乡照料" in page and 'name="to"' not in page
