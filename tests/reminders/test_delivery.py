"""The daily digest (domain §4): open reminders only, grouped by child with an absolute link to
each action, by the channel the person chose (e-mail, text message through the provider's
template, WeCom), each attempt recorded; rows marked sent only when the send succeeded."""

from __future__ import annotations

import socket
import uuid
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation

from accounts.models import Delivery
from reminders.delivery import action_url, digest_send_for, recipients_with_unsent
from reminders.models import Notification
from reminders.services import reminders_sweep
from reminders.tasks import send_digest

from ..core.fake_providers import aliyun_sms, use_aliyun, use_wecom, wecom
from ..factories import make_child

pytestmark = pytest.mark.django_db

DUE = date(2026, 12, 7)  # a child registered 2026-11-23 is due for a visit 14 days later


@pytest.fixture
def two_overdue(child, director_a):
    """Two children of director_a overdue for their visit: two open reminders."""
    other = make_child(director_a, name="查小明", birth_date=date(2015, 5, 1))
    with time_machine.travel(f"{DUE + timedelta(days=1)} 08:00 +0800", tick=False):
        reminders_sweep()
    assert Notification.objects.filter(recipient=director_a).count() == 2
    return child, other


def reach(user, **fields):
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()


def unsent() -> int:
    return Notification.objects.filter(digest_sent_at__isnull=True).count()


def test_email_digest_groups_by_child_and_links_each_action(two_overdue, director_a, settings):
    child, other = two_overdue
    settings.SITE_URL = "https://shouwang.example.cn"
    reach(director_a, email="chaji@example.cn")
    with translation.override("en"):  # the digest is Chinese whatever the caller's language
        assert digest_send_for(recipient_id=director_a.pk) == 2
    assert digest_send_for(recipient_id=director_a.pk) == 0  # nothing twice
    [message] = mail.outbox
    assert message.to == ["chaji@example.cn"] and message.subject == "守望提醒：2 条待办提醒"
    body = message.body
    assert body.index("■ 查小明") < body.index("■ 查小雨")  # one block a child
    assert (
        f"  · 走访逾期（应于 2026-12-07）\n    https://shouwang.example.cn/visits/new/{child.pk}/"
        in body
    )
    assert f"https://shouwang.example.cn/visits/new/{other.pk}/" in body
    assert "全部提醒：https://shouwang.example.cn/visits/reminders/" in body
    delivery = Delivery.objects.get()
    assert (delivery.purpose, delivery.channel, delivery.address) == (
        "digest",
        "email",
        "chaji@example.cn",
    )
    assert (delivery.status, delivery.items, delivery.attempts) == ("sent", 2, 1)
    assert unsent() == 0


def test_only_open_reminders_go_into_the_digest(two_overdue, director_a):
    _, other = two_overdue
    reach(director_a, email="chaji@example.cn")
    Notification.objects.filter(child=other).update(resolved_at=timezone.now())
    assert digest_send_for(recipient_id=director_a.pk) == 1
    assert "查小雨" in mail.outbox[0].body and "查小明" not in mail.outbox[0].body
    # The resolved one is never sent, and nobody is queued a digest for it.
    assert recipients_with_unsent() == []


def test_no_address_for_the_chosen_channel_sends_and_claims_nothing(two_overdue, director_a):
    assert director_a.digest_channel == "email" and not director_a.email
    assert recipients_with_unsent() == [director_a.pk]
    assert digest_send_for(recipient_id=director_a.pk) == 0
    assert not Delivery.objects.exists() and unsent() == 2 and mail.outbox == []


def test_sms_chosen_without_an_sms_channel_sends_nothing(two_overdue, director_a, settings):
    reach(director_a, digest_channel="sms", phone="13900000001", email="chaji@example.cn")
    assert digest_send_for(recipient_id=director_a.pk) == 0
    settings.SMS_BACKEND = "logging"  # development logging is no channel either
    assert digest_send_for(recipient_id=director_a.pk) == 0
    assert not Delivery.objects.exists() and unsent() == 2 and mail.outbox == []


def test_sms_digest_carries_the_count_and_link_through_the_template(
    two_overdue, director_a, settings
):
    reach(director_a, digest_channel="sms", phone="13900000001")
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        assert digest_send_for(recipient_id=director_a.pk) == 2
    assert fake.problems() == []
    assert fake.sent == [
        {
            "phone": "13900000001",
            "sign": "守望",
            "template": "SMS_123",
            "params": {"count": "2", "url": "http://127.0.0.1:8000/visits/reminders/"},
            "biz_id": "000001^0",
        }
    ]
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.provider, delivery.provider_id) == (
        "sms",
        "aliyun",
        "000001^0",
    )
    assert unsent() == 0 and mail.outbox == []


def test_wecom_digest_is_the_grouped_list(two_overdue, director_a, settings):
    child, _ = two_overdue
    reach(director_a, digest_channel="wecom", wecom_userid="ZhaXiaoHong")
    with wecom() as fake:
        use_wecom(settings, fake)
        assert digest_send_for(recipient_id=director_a.pk) == 2
    [sent] = fake.sent
    assert sent["userid"] == "ZhaXiaoHong" and "■ 查小雨" in sent["content"]
    assert f"http://127.0.0.1:8000/visits/new/{child.pk}/" in sent["content"]
    assert Delivery.objects.get().provider_id == "msg-1" and unsent() == 0


def test_a_failed_send_is_recorded_and_its_retry_is_another_attempt(
    two_overdue, director_a, settings
):
    reach(director_a, digest_channel="sms", phone="13900000001")
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        fake.refuse["13900000001"] = ("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
        with pytest.raises(Exception, match="BUSINESS_LIMIT_CONTROL"):
            digest_send_for(recipient_id=director_a.pk)
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert (delivery.error_code, delivery.error_message) == (
            "isv.BUSINESS_LIMIT_CONTROL",
            "触发小时级流控Permits:5",
        )
        assert unsent() == 2  # not marked sent
        del fake.refuse["13900000001"]
        assert digest_send_for(recipient_id=director_a.pk) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error_code) == ("sent", 2, "")
    assert [a["code"] for a in delivery.attempt_log] == ["isv.BUSINESS_LIMIT_CONTROL", ""]
    assert Delivery.objects.count() == 1 and unsent() == 0


def test_a_refusal_no_retry_can_cure_is_failed_at_once(two_overdue, director_a, settings):
    reach(director_a, digest_channel="sms", phone="13900000001")
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        fake.refuse["13900000001"] = ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        assert digest_send_for(recipient_id=director_a.pk) == 0  # no exception: nothing to retry
        assert digest_send_for(recipient_id=director_a.pk) == 0  # tomorrow: a new message
    assert [(d.status, d.error_code) for d in Delivery.objects.all()] == [
        ("failed", "isv.MOBILE_NUMBER_ILLEGAL")
    ] * 2
    assert unsent() == 2


def test_celery_task_retries_and_records_every_attempt(two_overdue, director_a, settings):
    """send_digest autoretries (eagerly here: every retry at once); the last attempt is recorded
    as failed and ends the task."""
    reach(director_a, digest_channel="wecom", wecom_userid="ZhaXiaoHong")
    with wecom() as fake:
        use_wecom(settings, fake)
        fake.blocked_ip = True  # 60020: the server's IP is not among the app's trusted IPs
        result = send_digest.apply(args=[director_a.pk])
    assert result.successful() and result.result == 0
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error_code) == ("failed", "60020")
    assert delivery.attempts == send_digest.max_retries + 1 == len(delivery.attempt_log)
    assert unsent() == 2


def test_email_server_down_is_a_retryable_failure(two_overdue, director_a, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    reach(director_a, email="chaji@example.cn")
    with pytest.raises(Exception, match="ConnectionRefused"):
        digest_send_for(recipient_id=director_a.pk)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.error_code) == ("retrying", "ConnectionRefusedError")
    assert unsent() == 2


@pytest.mark.parametrize(
    ("kind", "rule", "with_report", "path"),
    [
        ("visit_overdue", "visit_overdue", False, "/visits/new/{child}/"),
        ("escalation", "escalation_county", False, "/visits/new/{child}/"),
        ("escalation", "escalation_agreement", False, "/children/{child}/"),
        ("contact_overdue", "contact_overdue", False, "/visits/new/{child}/"),
        ("patrol_due", "patrol_due", False, "/visits/new/{child}/"),
        ("report_deadline", "report_police", True, "/reports/{report}/"),
        ("agreement_expiring", "agreement_expiring", False, "/children/{child}/"),
    ],
)
def test_each_reminder_links_to_its_action(kind, rule, with_report, path):
    child_id, report_id = uuid.uuid4(), uuid.uuid4()
    row = Notification(kind=kind, rule=rule, child_id=child_id)
    if with_report:
        row.report_id = report_id
    assert action_url(row) == "http://127.0.0.1:8000" + path.format(
        child=child_id, report=report_id
    )
