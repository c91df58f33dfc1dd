"""Demo mandatory reports for seed_demo: at least one in every stage."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from children.models import Child
from reporting import services
from reporting.models import MandatoryReport

# (situation, stage to reach, description)
PLAN = [
    ("living_alone", "reported", "放学后发现孩子独自在家，父母外出务工，家中无大人。"),
    ("domestic_violence", "police_received", "孩子手臂有多处淤青，称被继父打伤。"),
    ("abandonment", "emergency_handled", "祖母住院后孩子连续多日无人照料。"),
    ("accidental_injury", "assessed", "孩子在河边玩耍落水，被村民救起。"),
    ("guardian_incapable", "intervention", "父亲长期酗酒，不履行监护职责。"),
    ("other_harm", "closed", "孩子多日未到校，经核实随亲属外出探亲。"),
]
STEPS = {
    "police_received": {},
    "emergency_handled": {"actions": ["placed_with_relatives"]},
    "assessed": {"service_plan": ["guardianship_guidance", "counselling"]},
    "intervention": {"intervention_type": "warning_letter"},
    "closed": {"outcome": "resolved"},
}
ORDER = ["reported", "police_received", "emergency_handled", "assessed", "intervention", "closed"]


def seed(stdout=None) -> None:
    if MandatoryReport.objects.filter(area__code__startswith="341823").exists():
        return
    reporter = User.objects.filter(username="bg_taohuatan_school").first()
    director = User.objects.filter(username="zr_chaji").first()
    supervisor = User.objects.filter(username="dd_taohuatan").first()
    officer = User.objects.filter(username="mz_jingxian").first()
    children = list(
        Child.objects.filter(village__code__startswith="341823103").order_by("name")[:6]
    )
    if not (reporter and director and supervisor and officer) or len(children) < len(PLAN):
        return
    with transaction.atomic():
        for index, ((situation, stage, description), child) in enumerate(
            zip(PLAN, children, strict=False)
        ):
            report = services.report_file(
                user=reporter if index % 2 == 0 else director,
                situation=situation,
                discovered_at=timezone.now() - timedelta(days=12 - 2 * index, hours=3),
                description=description,
                child=child,
                reporter_org_type="school" if index % 2 == 0 else "village_committee",
            )
            for target in ORDER[1 : ORDER.index(stage) + 1]:
                actor = (
                    director if target in ("police_received", "emergency_handled") else supervisor
                )
                if target == "closed":
                    actor = officer
                report = services.report_transition(
                    user=actor, report=report, to=target, note="", **STEPS[target]
                )
            # Spread the stage ages so the queue shows old and new ones.
            MandatoryReport.objects.filter(pk=report.pk).update(
                stage_changed_at=timezone.now() - timedelta(days=index * 2 + 1)
            )
    if stdout is not None:
        stdout.write(f"演示强制报告 {len(PLAN)} 份 / {len(PLAN)} demo reports\n")
