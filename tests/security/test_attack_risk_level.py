"""Issue 14, M6: after registration the risk colour changes only through a guardianship
assessment; a PATCH that changes ``risk_level`` answers 422 naming the field."""

from __future__ import annotations

import pytest
import time_machine

from children.models import Child

from ..factories import make_child

pytestmark = pytest.mark.django_db
NOW = "2026-11-24 10:00 +0800"


def test_a_patch_cannot_lower_the_risk_colour(director_a, supervisor, civil_affairs, api_client):
    with time_machine.travel(NOW, tick=False):
        child = make_child(director_a, name="高风险童", risk_level="high")
        due = Child.objects.get(pk=child.pk).next_home_visit_due
        for user in (director_a, supervisor, civil_affairs):
            response = api_client(user).patch(
                f"/api/v1/children/{child.pk}",
                {"risk_level": "low", "address": "改地址"},
                content_type="application/json",
            )
            assert response.status_code == 422, response.content
            fields = [d["loc"][-1] for d in response.json()["detail"]]
            assert fields == ["risk_level"]
            assert "评估" in response.json()["detail"][0]["msg"]
        stored = Child.objects.get(pk=child.pk)
        # Nothing saved: not the colour, not its cadence, not the other field.
        assert stored.risk_level == "high"
        assert stored.next_home_visit_due == due
        assert stored.address != "改地址"
        # Sending the colour it already has changes nothing and is accepted.
        response = api_client(director_a).patch(
            f"/api/v1/children/{child.pk}",
            {"risk_level": "high", "address": "新地址"},
            content_type="application/json",
        )
        assert response.status_code == 200
        assert response.json()["risk_level"] == "high"


def test_an_assessment_still_changes_it(director_a):
    from datetime import date

    from children.services import assessment_record

    with time_machine.travel(NOW, tick=False):
        child = make_child(director_a, name="评估童", risk_level="high")
        assessment_record(
            user=director_a,
            child=child,
            assessed_on=date(2026, 11, 24),
            guardianship=0,
            safety=1,
            health=0,
            behaviour=0,
        )
        child.refresh_from_db()
        assert child.risk_level == "low"
