"""Issue 16.7, record integrity: a mandatory report, its interventions and a guardianship
assessment keep their history (who, when, before → after); the report page shows it to the case
side, with who only for those who may know the reporter."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import Role
from children.models import GuardianshipAssessmentEvent
from children.services import assessment_record
from reporting import selectors
from reporting.models import InterventionEvent, MandatoryReportEvent
from reporting.services import (
    intervention_record,
    report_file,
    report_link_child,
    report_transition,
)

from ..conftest import TOWNSHIP_1
from ..factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher(areas):
    return UserFactory(
        username="teacher", role=Role.REPORTER, area=areas[TOWNSHIP_1], name="王老师"
    )


@pytest.fixture
def report(child, teacher):
    return report_file(
        user=teacher,
        situation="living_alone",
        discovered_at=timezone.now(),
        description="孩子独自在家",
        child=child,
    )


def _to_intervention(report, director_a, supervisor):
    report_transition(user=director_a, report=report, to="police_received")
    report_transition(user=director_a, report=report, to="emergency_handled", actions=["shelter"])
    report_transition(user=supervisor, report=report, to="assessed", service_plan=["legal_aid"])
    return report_transition(
        user=supervisor, report=report, to="intervention", intervention_type="protection_order"
    )


def test_filing_and_a_stage_change_keep_who_and_before_after(report, teacher, director_a):
    filed = MandatoryReportEvent.objects.get(pgh_obj_id=report.pk)
    assert filed.pgh_label == "insert" and filed.pgh_context.metadata["user"] == teacher.pk
    report_transition(
        user=director_a, report=report, to="police_received", police_receipt="泾公受字118"
    )
    moved, created = selectors.report_history(report=report)
    assert (created.title, created.who) == ("提交报告", "王老师")
    assert (moved.title, moved.who) == ("阶段变更", "查文静")
    assert ("阶段", "已报告", "公安已受理") in moved.changes
    assert ("公安受案回执", "—", "泾公受字118") in moved.changes
    assert any(label == "报警时间" and old == "—" for label, old, _ in moved.changes)


def test_the_page_shows_the_history_to_the_case_side(
    client_for, report, teacher, director_a, supervisor
):
    report_transition(user=director_a, report=report, to="police_received")
    page = client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    history = page[page.index("sw-history") :]
    assert "阶段变更" in history and "查文静" in history and "王老师" in history
    # A director may not know who reported: the history leaves every name out for them.
    page = client_for(director_a).get(f"/reports/{report.pk}/").content.decode()
    history = page[page.index("sw-history") :]
    assert "阶段变更" in history and "提交报告" in history
    assert "王老师" not in page and "查文静" not in history
    # The reporter sees the stages, not the staff's changes.
    assert "sw-history" not in client_for(teacher).get(f"/reports/{report.pk}/").content.decode()


def test_an_intervention_keeps_its_history(client_for, report, director_a, supervisor):
    report = _to_intervention(report, director_a, supervisor)
    intervention = intervention_record(
        user=supervisor,
        report=report,
        kind="protection_order",
        applied_on=date(2026, 11, 20),
        decided_on=date(2026, 11, 21),
        expires_on=date(2027, 5, 20),
    )
    event = InterventionEvent.objects.get(pgh_obj_id=intervention.pk)
    assert event.pgh_label == "insert" and event.pgh_context.metadata["user"] == supervisor.pk
    entries = selectors.report_history(report=report)
    recorded = next(e for e in entries if e.kind == "intervention")
    assert recorded.title == "记录干预措施：人身安全保护令" and recorded.who == "查丽萍"
    assert any(new == "2027-05-20" for _, _, new in recorded.changes)
    stages = [e for e in entries if e.title == "阶段变更"]
    assert len(stages) == 4
    assert any(new == "人身安全保护令" for _, _, new in stages[0].changes)
    page = client_for(supervisor).get(f"/reports/{report.pk}/").content.decode()
    assert "记录干预措施：人身安全保护令" in page[page.index("sw-history") :]


def test_linking_the_file_is_in_the_history(areas, teacher, director_a, child):
    report = report_file(
        user=teacher,
        situation="living_alone",
        discovered_at=timezone.now(),
        description="孩子独自在家",
        child_name="小雨",
    )
    report_link_child(user=director_a, report=report, child=child)
    linked = selectors.report_history(report=report)[0]
    assert (linked.title, linked.who) == ("修改报告", "查文静")
    assert ("儿童", "—", "查小雨") in linked.changes
    assert any(old == "小雨" and new == "查小雨" for _, old, new in linked.changes)


def test_an_assessment_keeps_who_made_it(child, director_a):
    assessment = assessment_record(
        user=director_a,
        child=child,
        assessed_on=date(2026, 11, 20),
        guardianship=2,
        safety=1,
        health=0,
        behaviour=0,
        note="祖母年迈",
    )
    event = GuardianshipAssessmentEvent.objects.get(pgh_obj_id=assessment.pk)
    assert event.pgh_label == "insert" and event.pgh_context.metadata["user"] == director_a.pk
    assert (event.result, event.guardianship, event.note) == (assessment.result, 2, "祖母年迈")


def test_outsiders_see_no_report_and_no_history(client_for, report, outsider, viewer):
    assert client_for(outsider).get(f"/reports/{report.pk}/").status_code == 404
    page = client_for(viewer).get(f"/reports/{report.pk}/").content.decode()
    assert "提交报告" in page and "王老师" not in page  # the viewer: case side, no identities
