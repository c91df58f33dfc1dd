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
