"""The inbox and the bell: the bell counts open reminders; marking one read keeps it open until
the work is recorded (issue 18, point 4)."""

from datetime import date

import pytest

from reminders.models import Notification
from reminders.services import reminders_sweep
from visits.services import visit_record

pytestmark = pytest.mark.django_db


def test_inbox_badge_and_mark_read(client_for, child, director_a, frozen):
    frozen.move_to("2026-12-08 09:00 +0800")
    reminders_sweep()
    client = client_for(director_a)
    body = client.get("/visits/reminders/").content.decode()
    assert 'id="unread-count">1<' in body and "走访逾期" in body and "查小雨" in body
    notification = Notification.objects.get()
    client.post("/visits/reminders/read/", {"id": [str(notification.pk), "not-a-uuid"]})
    notification.refresh_from_db()
    assert notification.read_at is not None
    # Read is not done: the bell still counts it.
    assert 'id="unread-count">1<' in client.get("/visits/reminders/").content.decode()
    visit_record(user=director_a, child=child, visited_on=date(2026, 12, 8), kind="home")
    body = client.get("/visits/reminders/").content.decode()
    assert 'id="unread-count"' not in body and "查小雨" not in body
    assert "查小雨" in client.get("/visits/reminders/?status=resolved").content.decode()
