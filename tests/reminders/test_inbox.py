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


def test_marking_read_takes_only_its_own_keys_and_never_fails_on_others(
    client_for, child, director_a, supervisor, frozen
):
    """Keys are bigints: a UUID, text, a NUL byte or a number past 2^63 matches nothing (no 500),
    and another person's key marks nothing of theirs."""
    frozen.move_to("2026-12-24 09:00 +0800")  # overdue, and escalated to the supervisor
    reminders_sweep()
    mine = Notification.objects.get(recipient=director_a, kind="visit_overdue")
    theirs = Notification.objects.get(recipient=supervisor)
    client = client_for(director_a)
    hostile = ["9" * 30, "-1", "1e3", "a\x00b", "１２", "00000000-0000-0000-0000-000000000000"]
    response = client.post("/visits/reminders/read/", {"id": [*hostile, str(theirs.pk)]})
    assert response.status_code == 302
    assert not Notification.objects.filter(read_at__isnull=False).exists()
    client.post("/visits/reminders/read/", {"id": [str(mine.pk)]})
    assert list(Notification.objects.filter(read_at__isnull=False)) == [mine]
    items = client_for(director_a).get("/api/v1/reminders").json()["items"]
    assert [item["id"] for item in items] == [str(mine.pk)]


def test_the_api_list_is_one_round_trip_without_the_childs_file(
    api_client, child, director_a, supervisor, frozen
):
    """GET /api/v1/reminders: a page and its count sent together, each a kept statement of the
    reminder's own columns (no join to the child's file, no case note decrypted); the pages
    are those of reminders_for, in its order, whatever the status."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reminders.selectors import reminders_for

    frozen.move_to("2026-12-24 09:00 +0800")  # overdue, and escalated to the supervisor
    reminders_sweep()
    visit_record(user=director_a, child=child, visited_on=date(2026, 12, 24), kind="home")
    frozen.move_to("2027-03-30 09:00 +0800")
    reminders_sweep()
    api = api_client(director_a)
    assert Notification.objects.filter(recipient=director_a).count() >= 2
    for status in (None, "open", "resolved"):
        expected = list(reminders_for(user=director_a, status=status))
        for page_size in (1, 50):
            pages = []
            for page in (1, 2, 3):
                query = {
                    "page": page,
                    "page_size": page_size,
                    **({"status": status} if status else {}),
                }
                with CaptureQueriesContext(connection) as queries:
                    answer = api.get("/api/v1/reminders", query)
                assert answer.status_code == 200
                listed = [q["sql"] for q in queries if "visits_notification" in q["sql"]]
                assert len(listed) == 1 and listed[0].count("/* prepared */") == 2
                assert '"children_child"' not in listed[0]
                assert answer.json()["count"] == len(expected)
                pages += answer.json()["items"]
            shown = pages[: len(expected)]
            assert [item["id"] for item in shown] == [str(n.pk) for n in expected][: len(shown)]
    first = api.get("/api/v1/reminders").json()["items"][0]
    stored = Notification.objects.get(pk=first["id"])
    assert first["kind"] == stored.kind and first["child_id"] == str(stored.child_id)
    assert first["read"] is (stored.read_at is not None)
