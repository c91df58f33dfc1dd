"""core.messaging: the SMS (Alibaba Cloud, Tencent Cloud) and WeCom channels against local fake
providers that check the signature, the token and the template parameters as documented, and
answer with the providers' own errors."""

from __future__ import annotations

import socket

import pytest

from core.messaging import SendError, Sent, is_mainland_mobile, sms_backend, wecom_backend

from .fake_providers import (
    Fake,
    aliyun_sms,
    tencent_sms,
    use_aliyun,
    use_tencent,
    use_wecom,
    wecom,
    wecom_expire_tokens,
)

PARAMS = {"count": "3", "url": "http://127.0.0.1:8000/visits/reminders/"}


def test_no_channel_unless_configured(settings):
    assert settings.SMS_BACKEND == "" and sms_backend() is None
    assert wecom_backend() is None
    settings.SMS_BACKEND = "logging"
    backend = sms_backend()
    assert backend.name == "logging" and backend.delivers is False  # never "sent to a phone"


def test_mainland_mobile_only():
    assert is_mainland_mobile("13812345678")
    for bad in ("0563-5012345", "12812345678", "1381234567", "+8613812345678", "138 1234 5678"):
        assert not is_mainland_mobile(bad)


def test_aliyun_sends_the_template_signed_acs3(settings):
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        result = sms_backend().send("13812345678", "digest", PARAMS)
    assert fake.problems() == []  # the server recomputed the ACS3-HMAC-SHA256 signature
    assert result == Sent("000001^0")
    assert fake.sent == [
        {
            "phone": "13812345678",
            "sign": "守望",
            "template": "SMS_123",
            "params": PARAMS,
            "biz_id": "000001^0",
        }
    ]
    request = fake.seen[0]
    assert request.method == "POST" and request.headers["x-acs-action"] == "SendSms"
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI5t")


def test_aliyun_wrong_secret_is_refused_by_the_signature_check(settings):
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        settings.ALIYUN_SMS_ACCESS_KEY_SECRET = "not-the-secret"
        with pytest.raises(SendError) as refused:
            sms_backend().send("13812345678", "digest", PARAMS)
    assert refused.value.code == "SignatureDoesNotMatch" and refused.value.retryable
    assert fake.problems() == ["SignatureDoesNotMatch"] and fake.sent == []


@pytest.mark.parametrize(
    ("code", "retryable"),
    [("isv.BUSINESS_LIMIT_CONTROL", True), ("isv.MOBILE_NUMBER_ILLEGAL", False)],
)
def test_aliyun_business_refusals_carry_the_code(settings, code, retryable):
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        fake.refuse["13812345678"] = (code, "触发小时级流控Permits:5")
        with pytest.raises(SendError) as refused:
            sms_backend().send("13812345678", "parent_notice", {"child": "查小雨"})
    assert (refused.value.code, refused.value.retryable) == (code, retryable)
    assert refused.value.message == "触发小时级流控Permits:5"


def test_tencent_sends_numbered_parameters_signed_tc3(settings):
    with tencent_sms() as fake:
        use_tencent(settings, fake)
        result = sms_backend().send("13812345678", "digest", PARAMS)
    assert fake.problems() == []  # TC3-HMAC-SHA256 recomputed by the server
    assert result == Sent("2645:0000000001")
    assert fake.sent == [
        {
            "phone": "13812345678",
            "app": "1400000001",
            "sign": "守望",
            "template": "1100001",
            "params": ["3", "http://127.0.0.1:8000/visits/reminders/"],  # {1} {2}
            "serial": "2645:0000000001",
        }
    ]


def test_tencent_wrong_key_and_per_number_codes(settings):
    with tencent_sms() as fake:
        use_tencent(settings, fake)
        settings.TENCENT_SMS_SECRET_KEY = "wrong"
        with pytest.raises(SendError) as refused:
            sms_backend().send("13812345678", "digest", PARAMS)
        assert refused.value.code == "AuthFailure.SignatureFailure" and refused.value.retryable
        use_tencent(settings, fake)
        fake.refuse["13812345678"] = (
            "LimitExceeded.PhoneNumberDailyLimit",
            "单个手机号日下发短信条数超过设定的上限",
        )
        fake.refuse["13900000000"] = ("LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内超限")
        with pytest.raises(SendError) as daily:
            sms_backend().send("13812345678", "digest", PARAMS)
        with pytest.raises(SendError) as thirty:
            sms_backend().send("13900000000", "digest", PARAMS)
    assert daily.value.code == "LimitExceeded.PhoneNumberDailyLimit" and not daily.value.retryable
    assert thirty.value.retryable and fake.sent == []


def test_sms_provider_unreachable_is_a_retryable_network_error(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    use_aliyun(settings, Fake(url=f"http://127.0.0.1:{port}"))
    with pytest.raises(SendError) as refused:
        sms_backend().send("13812345678", "digest", PARAMS)
    assert refused.value.code == "network" and refused.value.retryable


def test_wecom_token_is_fetched_once_and_renewed_when_expired(settings):
    with wecom() as fake:
        use_wecom(settings, fake)
        first = wecom_backend().send_text("zhangsan", "守望今日有 3 条待办提醒")
        second = wecom_backend().send_text("zhangsan", "第二条")
        assert fake.token_calls == 1  # shared through the cache, not fetched per message
        wecom_expire_tokens(fake)  # WeCom now answers 42001
        third = wecom_backend().send_text("zhangsan", "第三条")
        assert fake.token_calls == 2
        fake.tokens.clear()  # and 40014 for a token it does not know
        fourth = wecom_backend().send_text("zhangsan", "第四条")
        assert fake.token_calls == 3
    assert [first, second, third, fourth] == [
        Sent("msg-1"),
        Sent("msg-2"),
        Sent("msg-3"),
        Sent("msg-4"),
    ]
    assert [s["content"] for s in fake.sent] == [
        "守望今日有 3 条待办提醒",
        "第二条",
        "第三条",
        "第四条",
    ]
    assert [s.problem for s in fake.seen if s.problem] == ["42001", "40014"]
    sends = [s for s in fake.seen if s.path.endswith("/message/send")]
    assert all(s.query["access_token"].startswith("token-") for s in sends)


@pytest.mark.parametrize(
    ("userid", "refusal", "code", "retryable"),
    [
        ("nobody", (60111, "invalid userid"), "60111", False),
        ("outside", ("invaliduser", ""), "invaliduser", False),
        ("zhangsan", None, "60020", True),
    ],
)
def test_wecom_errors(settings, userid, refusal, code, retryable):
    with wecom() as fake:
        use_wecom(settings, fake)
        if refusal:
            fake.refuse[userid] = refusal
        else:
            fake.blocked_ip = True  # the server's IP is not among the app's trusted IPs
        with pytest.raises(SendError) as refused:
            wecom_backend().send_text(userid, "守望")
    assert (refused.value.code, refused.value.retryable) == (code, retryable)
    assert fake.sent == []


def test_wecom_wrong_secret(settings):
    with wecom() as fake:
        use_wecom(settings, fake)
        settings.WECOM_SECRET = "wrong-secret-0000"
        with pytest.raises(SendError) as refused:
            wecom_backend().send_text("zhangsan", "守望")
    assert refused.value.code == "40001" and fake.sent == []


def test_wecom_text_is_cut_to_2048_bytes(settings):
    with wecom() as fake:
        use_wecom(settings, fake)
        wecom_backend().send_text("zhangsan", "提醒" * 1000)
    content = fake.sent[0]["content"]
    assert len(content.encode()) <= 2048 and content.endswith("…")


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"SMS_BACKEND": "aliyun"}, "SMS_BACKEND=aliyun needs ALIYUN_SMS_ACCESS_KEY_ID"),
        ({"SMS_BACKEND": "tencent", "SMS_SIGN_NAME": "守望"}, "SMS_TEMPLATES[digest]"),
        ({"WECOM_CORP_ID": "ww1"}, "WECOM_CORP_ID, WECOM_AGENT_ID and WECOM_SECRET go together"),
    ],
)
def test_a_half_configured_channel_fails_at_start_up(env, refusal):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
    )
    assert result.returncode != 0 and refusal in result.stderr
