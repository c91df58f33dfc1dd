"""Demo visit history for seed_demo: every director's worklist has overdue, due-soon and ok
children, some never visited, and supervisors have patrol visits and visits to review."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from children.models import Child
from children.services import children_recompute_derived, today
from visits.models import ReviewStatus, Visit
from visits.services import children_refresh_last_visits

from .accounts import COUNTY_CODE

NOTES = [
    "孩子在家写作业，祖父母照看良好。",
    "与孩子谈心，情绪稳定，学习成绩中等。",
    "检查家中用电安全，提醒暑期防溺水。",
    "电话联系外出务工的父母，告知孩子近况。",
    "孩子反映在校被同学欺负，已联系班主任。",
    "祖母身体不好，照护能力下降，需持续关注。",
]


def seed(stdout=None) -> None:
    children = list(
        Child.objects.filter(village__code__startswith=COUNTY_CODE[:6], status="active").order_by(
            "pk"
        )
    )
    if not children or Visit.objects.filter(child__in=children).exists():
        return
    rng = random.Random(42)
    on = today()
    directors = {
        u.area_id: u
        for u in User.objects.filter(role=Role.DIRECTOR, area__code__startswith="341823")
    }
    supervisors = {
        u.area_id: u
        for u in User.objects.filter(role=Role.SUPERVISOR, area__code__startswith="341823")
    }
    visits: list[Visit] = []
    recent: list = []
    with transaction.atomic():
        # Registered over the past two years; a few just now, so they are "never visited".
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE children_child SET created_at = now() - (100 + (random() * 600)::int) * "
                "interval '1 day' WHERE id = ANY(%s)",
                [[c.pk for c in children]],
            )
        for child in children:
            director = directors.get(child.village_id)
            if director is None:
                continue
            roll = rng.random()
            if roll < 0.08:
                recent.append(child.pk)
                continue
            interval = child.home_visit_interval_days or 90
            if roll < 0.33:  # overdue
                last = on - timedelta(days=interval + rng.randint(1, 45))
            elif roll < 0.50:  # due within 7 days
                last = on - timedelta(days=max(interval - rng.randint(0, 7), 1))
            else:  # on schedule
                last = on - timedelta(days=rng.randint(0, max(interval - 9, 0)))
            day = last
            for _ in range(rng.randint(1, 4)):  # earlier home visits and phone calls
                visits.append(_visit(rng, child, director, day, "home"))
                if rng.random() < 0.6:
                    visits.append(
                        _visit(
                            rng, child, director, day + timedelta(days=rng.randint(3, 20)), "phone"
                        )
                    )
                day -= timedelta(days=interval)
            supervisor = supervisors.get(child.village_id[:9] + "000")
            if child.is_key_child and supervisor and rng.random() < 0.5:
                visits.append(
                    _visit(rng, child, supervisor, on - timedelta(days=rng.randint(0, 40)), "home")
                )
        visits = [v for v in visits if v.visited_on <= on]
        Visit.objects.bulk_create(visits, batch_size=1000)
        Child.objects.filter(pk__in=recent).update(created_at=timezone.now() - timedelta(days=3))
        # Recompute with the back-dated registrations, then set the last visits.
        children_recompute_derived([c.pk for c in children])
        children_refresh_last_visits([c.pk for c in children])
    if stdout is not None:
        stdout.write(f"演示走访 {len(visits)} 次 / {len(visits)} demo visits\n")


def _visit(
    rng: random.Random, child: Child, user: User, day, kind: str, reviewer: User | None = None
) -> Visit:
    review = rng.choices(
        [ReviewStatus.REVIEWED, ReviewStatus.PENDING, ReviewStatus.RETURNED], [0.6, 0.35, 0.05]
    )[0]
    return Visit(
        child=child,
        visited_on=day,
        kind=kind,
        visitor=user,
        visitor_role=user.role,
        seen=["child", "caregiver"] if kind == "home" else ["parent"],
        guardian_present=rng.random() < 0.8 if kind == "home" else None,
        caregiver_capable=rng.random() < 0.9 if kind == "home" else None,
        in_school=True if kind == "home" else None,
        safety_concern=rng.random() < 0.05,
        notes=rng.choice(NOTES),
        review_status=review if user.role == Role.DIRECTOR else ReviewStatus.REVIEWED,
        reviewed_by=reviewer if review != ReviewStatus.PENDING else None,
        reviewed_at=timezone.now() if review != ReviewStatus.PENDING else None,
        review_comment="请补充孩子在校情况。" if review == ReviewStatus.RETURNED else "",
    )
