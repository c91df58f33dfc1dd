"""seed_demo's benefits: standards, applications in every state decided by the right people on
children who pass the rules, a ledger, an ended benefit; and a second run adds nothing."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from benefits import rules as subsidy_rules
from benefits import services
from benefits.models import (
    Enrolment,
    Entitlement,
    SubsidyApplication,
    SubsidyDecision,
    SubsidyStandard,
)

pytestmark = pytest.mark.django_db

COUNTY = "341823000000"
PROVINCE = "340000000000"


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (SubsidyStandard, SubsidyApplication, SubsidyDecision, Enrolment, Entitlement)
    )


def test_seed_demo_adds_benefits_in_every_state_once():
    call_command("seed_demo")
    applications = list(
        SubsidyApplication.objects.filter(child__village__code__startswith="341823")
        .select_related("child", "submitted_by")
        .prefetch_related("decisions__by")
    )
    assert {a.status for a in applications} == {
        "submitted",
        "township_approved",
        "approved",
        "rejected",
        "returned",
    }
    today = services.today()
    for application in applications:
        assert application.submitted_by.role == "director"
        assert (
            services.subsidy_eligibility(child=application.child, programme=application.programme)
            == []
        ), application
        submitters = {d.by_id for d in application.decisions.all() if d.decision == "resubmit"}
        submitters.add(application.submitted_by_id)
        for decision in application.decisions.all():
            if decision.from_status == "submitted":
                assert decision.by.role == "supervisor"
                assert decision.by.area_id == application.child.village_id[:9] + "000"
            elif decision.from_status in ("township_approved", "approved"):
                assert decision.by.username == "mz_jingxian"
            if decision.decision in ("approve", "return", "reject"):
                assert decision.by_id not in submitters
            if decision.decision in ("return", "reject"):
                assert decision.note
        assert [d.at for d in application.decisions.all()] == sorted(
            d.at for d in application.decisions.all()
        )
        assert application.submitted_at.date() < today or application.status == "submitted"

    in_notice = [
        a
        for a in applications
        if a.status == "township_approved"
        and subsidy_rules.PROGRAMMES[a.programme].public_notice
        and a.public_notice.starts_on == a.township_approved_on
        and subsidy_rules.county_may_approve_from(a.public_notice.ends_on) > today
    ]
    assert in_notice, "a public-notice application inside its 7-day notice"

    ledger = Entitlement.objects.filter(enrolment__child__village__code__startswith="341823")
    assert ledger.count() >= 5
    assert ledger.filter(enrolment__programme="orphan_allowance").exists()
    ended = Enrolment.objects.exclude(exit_reason__in=("", "one_off")).get()
    assert ended.end_reason and ended.ended_by.username == "mz_jingxian" and ended.ended_on
    assert not ended.entitlements.filter(month__gt=ended.end_month).exists()
    one_off = Enrolment.objects.get(programme="temporary_assistance")
    assert one_off.entitlements.count() == 1

    standards = SubsidyStandard.objects.all()
    monthly = {code for code, p in subsidy_rules.PROGRAMMES.items() if not p.one_off}
    assert set(standards.filter(area_id=PROVINCE).values_list("programme", flat=True)) == monthly
    county_orphan = standards.get(area_id=COUNTY, programme="orphan_allowance")
    assert county_orphan.amount == Decimal("1350.00")
    assert standards.get(area_id=COUNTY, programme="temporary_assistance").amount == 1000

    counts = _counts()
    call_command("seed_demo")
    assert _counts() == counts
