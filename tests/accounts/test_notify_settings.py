"""账号设置: a person chooses how their daily digest reaches them (e-mail, text message, WeCom)
and gives the address it needs; bad input is refused next to its field in Chinese and saves
nothing; their recent digests are listed with how each went."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Delivery, User

pytestmark = pytest.mark.django_db

PAGE = "/accounts/security/"


def form(**overrides):
    data = {"digest_channel": "email", "email": "", "phone": "", "wecom_userid": ""}
    data.update(overrides)
    return data


def stored(user) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (user.digest_channel, user.email, user.phone, user.wecom_userid)


def test_page_shows_the_choice_and_the_state(client_for, director_a):
    page = client_for(director_a).get(PAGE).content.decode()
    assert 'name="digest_channel"' in page and 'name="wecom_userid"' in page
    context = client_for(director_a).get(PAGE).context
    assert context["notify_form"].initial["digest_channel"] == "email"
    assert context["digest_route"] is None  # no e-mail yet: the page says it is not sent


def test_saving_an_email_turns_the_digest_on(client_for, director_a):
    client = client_for(director_a)
    response = client.post(PAGE, form(email="chaji@example.cn"))
    assert response.status_code == 302
    assert stored(director_a) == ("email", "chaji@example.cn", "", "")
    assert client.get(PAGE).context["digest_route"] == ("email", "chaji@example.cn")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (form(phone="0563-5012345"), "phone", "请填写11位中国大陆手机号"),
        (form(phone="12345678901"), "phone", "请填写11位中国大陆手机号"),
        (form(wecom_userid="zhang\x00san"), "wecom_userid", "空字符"),
        (form(wecom_userid="张三"), "wecom_userid", "企业微信账号只能由字母、数字"),
        (form(digest_channel="sms", phone="13900000001"), "digest_channel", "尚未开通短信通道"),
        (
            form(digest_channel="wecom", wecom_userid="zhangsan"),
            "digest_channel",
            "尚未接入企业微信",
        ),
        (form(email=""), "email", "请填写电子邮箱"),
        (form(digest_channel="fax"), "digest_channel", "fax"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_saves_nothing(
    client_for, director_a, data, field, message
):
    director_a.phone = "13900000009"
    director_a.save()
    before = stored(director_a)
    response = client_for(director_a).post(PAGE, data)
    assert response.status_code == 400
    errors = response.context["notify_form"].errors
    assert field in errors and any(message in e for e in errors[field]), errors
    assert stored(director_a) == before


def test_sms_and_wecom_once_configured(client_for, director_a, settings):
    settings.SMS_BACKEND = "aliyun"  # configured (the key and templates are not used here)
    client = client_for(director_a)
    assert client.post(PAGE, form(digest_channel="sms", phone="13900000001")).status_code == 302
    assert stored(director_a) == ("sms", "", "13900000001", "")
    settings.WECOM_CORP_ID, settings.WECOM_SECRET, settings.WECOM_AGENT_ID = "ww1", "s", "1"
    response = client.post(PAGE, form(digest_channel="wecom", wecom_userid="Zha.XiaoHong@jx"))
    assert response.status_code == 302
    assert stored(director_a) == ("wecom", "", "", "Zha.XiaoHong@jx")


def test_recent_digests_with_their_status(client_for, director_a, director_b):
    now = timezone.now()
    Delivery.objects.create(
        purpose="digest",
        channel="sms",
        recipient=director_a,
        address="13900000001",
        items=3,
        status="retrying",
        attempts=2,
        error_code="isv.BUSINESS_LIMIT_CONTROL",
        error_message="触发小时级流控Permits:5",
        last_attempt_at=now,
    )
    Delivery.objects.create(
        purpose="digest",
        channel="email",
        recipient=director_b,
        address="b@example.cn",
        items=1,
        status="failed",
        error_code="SECRET-OF-B",
    )
    page = client_for(director_a).get(PAGE).content.decode()
    assert "isv.BUSINESS_LIMIT_CONTROL" in page and "触发小时级流控Permits:5" in page
    assert "SECRET-OF-B" not in page  # one's own digests only


def test_sign_in_required(client):
    assert client.get(PAGE).status_code == 302
    assert client.post(PAGE, form(email="x@example.cn")).status_code == 302
