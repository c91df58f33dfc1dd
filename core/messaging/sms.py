"""Text messages (短信). Chinese providers send only approved templates under an approved
signature: each message names its template (``digest``, ``parent_notice``), whose provider code
is in ``settings.SMS_TEMPLATES`` and whose signature is ``settings.SMS_SIGN_NAME``; the caller
gives the template's named parameters, in the order a Tencent template numbers them ({1}, {2} …).

``settings.SMS_BACKEND``: empty (no SMS channel: the default), ``aliyun``, ``tencent``,
``logging`` (development only: writes to the log and sends nothing) or a dotted path."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from .base import SendError, Sent

logger = logging.getLogger(__name__)

BACKENDS = {
    "aliyun": "core.messaging.sms.AliyunSmsBackend",
    "tencent": "core.messaging.sms.TencentSmsBackend",
    "logging": "core.messaging.sms.LoggingSmsBackend",
}

# Provider codes that will fail the same way however often the message is tried again: the number,
# the content or the day's limit of that number. Anything else (rate limits, the network, a wrong
# key or an IP not yet allowed, which an administrator fixes) is worth another try later.
ALIYUN_FINAL_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.MOBILE_COUNT_OVER_LIMIT",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.DAY_LIMIT_CONTROL",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
    }
)
TENCENT_FINAL_CODES = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.DailyLimit",
        "FailedOperation.ContainSensitiveWord",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.PhoneNumberOnBlacklist",
        "InvalidParameterValue.TemplateParameterFormatError",
        "InvalidParameterValue.TemplateParameterLengthLimit",
        "UnsupportedOperation.UnsupportedRegion",
    }
)


class SmsBackend(ABC):
    """An SMS channel."""

    name: str = ""
    # Whether a message given to this backend reaches a phone: a parent is recorded as told by text
    # message only through one that does.
    delivers: bool = True

    @abstractmethod
    def send(self, phone: str, template: str, params: dict[str, str]) -> Sent:
        """Send template ``template`` with ``params`` to the mainland mobile ``phone``; raise
        ``SendError`` when the provider refuses or cannot be reached."""

    @staticmethod
    def template_code(template: str) -> str:
        code = settings.SMS_TEMPLATES.get(template, "")
        if not code:
            raise SendError(
                "template_not_configured", f"SMS_TEMPLATES 中没有 {template}", retryable=True
            )
        return code


class LoggingSmsBackend(SmsBackend):
    """Development only: writes the message to the log. Nothing reaches a phone, so nothing sent
    through it counts as a parent told."""

    name = "logging"
    delivers = False

    def send(self, phone: str, template: str, params: dict[str, str]) -> Sent:
        logger.info("SMS (not sent: logging backend) to %s, %s: %s", phone, template, params)
        return Sent()


def _split_endpoint(url: str) -> tuple[str, str]:
    """``https://dysmsapi.aliyuncs.com`` → ("https", "dysmsapi.aliyuncs.com")."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return parts.scheme, parts.netloc


class AliyunSmsBackend(SmsBackend):
    """阿里云短信服务 SendSms (API 2017-05-25), signed ACS3-HMAC-SHA256 by the official SDK."""

    name = "aliyun"

    def _client(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        scheme, host = _split_endpoint(settings.ALIYUN_SMS_ENDPOINT)
        return Client(
            Config(
                access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
                access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
                endpoint=host,
                protocol=scheme,
                connect_timeout=settings.SMS_TIMEOUT_SECONDS * 1000,
                read_timeout=settings.SMS_TIMEOUT_SECONDS * 1000,
            )
        )

    def send(self, phone: str, template: str, params: dict[str, str]) -> Sent:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

        request = SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.SMS_SIGN_NAME,
            template_code=self.template_code(template),
            template_param=json.dumps(params, ensure_ascii=False),
        )
        # HTTP 4xx/5xx: signature, key, throttling … (exc.code is the provider's Code).
        with _request_errors(AlibabaCloudException):
            body = self._client().send_sms(request).body
        if body.code != "OK":
            # Business refusals come as HTTP 200 with a Code other than OK.
            raise _refused(body.code, body.message, ALIYUN_FINAL_CODES)
        return Sent(body.biz_id or "")


class TencentSmsBackend(SmsBackend):
    """腾讯云短信 SendSms (API 2021-01-11), signed TC3-HMAC-SHA256 by the official SDK."""

    name = "tencent"

    def _client(self):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        scheme, host = _split_endpoint(settings.TENCENT_SMS_ENDPOINT)
        http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=settings.SMS_TIMEOUT_SECONDS)
        return sms_client.SmsClient(
            credential.Credential(settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY),
            settings.TENCENT_SMS_REGION,
            ClientProfile(httpProfile=http),
        )

    def send(self, phone: str, template: str, params: dict[str, str]) -> Sent:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.SMS_SIGN_NAME
        request.TemplateId = self.template_code(template)
        # Tencent templates number their parameters: the values in the caller's order.
        request.TemplateParamSet = [str(value) for value in params.values()]
        # The request as a whole failed (AuthFailure.SignatureFailure, the network …).
        with _request_errors(TencentCloudSDKException):
            response = self._client().SendSms(request)
        statuses = response.SendStatusSet or []
        if not statuses:
            raise SendError("empty_reply", "SendStatusSet is empty", retryable=True)
        status = statuses[0]
        if status.Code != "Ok":
            raise _refused(status.Code, status.Message, TENCENT_FINAL_CODES)
        return Sent(status.SerialNo or "")


@contextmanager
def _request_errors(sdk_error: type[Exception]) -> Iterator[None]:
    """The provider refused the request as a whole (the SDK's ``sdk_error``, with the provider's
    code and message) or it never arrived (the network, a reply that is not the API's): worth
    another try later."""
    try:
        yield
    except sdk_error as exc:
        code, message = getattr(exc, "code", None), getattr(exc, "message", None)
        raise SendError(code or "error", message or "", retryable=True) from exc
    except Exception as exc:
        raise SendError("network", str(exc), retryable=True) from exc


def _refused(code: str | None, message: str | None, final_codes: frozenset[str]) -> SendError:
    """The provider took the request but refused the message: final for ``final_codes``."""
    return SendError(code or "error", message or "", retryable=code not in final_codes)


def sms_backend() -> SmsBackend | None:
    """The configured SMS channel, or None when there is none (``SMS_BACKEND`` empty)."""
    name = settings.SMS_BACKEND
    if not name:
        return None
    return import_string(BACKENDS.get(name, name))()
