"""Local stand-ins for the message providers: real HTTP servers on 127.0.0.1 (http.server in a
thread) that check each request the way the provider documents it — Alibaba Cloud's
ACS3-HMAC-SHA256 signature, Tencent Cloud's TC3-HMAC-SHA256, WeCom's access_token — and answer
as the provider does, including its error replies. Tests point the SDKs at them through the
settings (ALIYUN_SMS_ENDPOINT, TENCENT_SMS_ENDPOINT, WECOM_API_URL).

Each server keeps what it accepted (``sent``) and every request it saw (``seen``), and takes the
error a number or a user should get (``refuse``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    problem: str = ""  # why the provider refused it ("" when the request itself was right)


@dataclass
class Fake:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    # phone number or userid → (code, message) the provider answers for it
    refuse: dict[str, tuple] = field(default_factory=dict)
    # WeCom only
    tokens: set[str] = field(default_factory=set)
    token_calls: int = 0
    expired: set[str] = field(default_factory=set)
    blocked_ip: bool = False

    def problems(self) -> list[str]:
        return [s.problem for s in self.seen if s.problem]


@contextmanager
def _serve(fake: Fake, respond, content_type: str = "application/json") -> Iterator[Fake]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            fake.seen.append(seen)
            status, reply = respond(fake, seen)
            data = json.dumps(reply, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- Alibaba Cloud SMS (dysmsapi 2017-05-25, RPC style, V3 signature) -------------------------

ALIYUN_KEY_ID = "LTAI5tFakeKeyId"
ALIYUN_KEY_SECRET = "fake-secret-0123456789"
_ALIYUN_AUTH = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<ak>[^,]+),SignedHeaders=(?P<signed>[^,]+),"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_ALIYUN_REQUIRED_HEADERS = {
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
}


def _rfc3986(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature_problem(seen: Seen, secret: str = ALIYUN_KEY_SECRET) -> str:
    """Recompute the V3 signature as the documentation describes it (canonical request, its
    SHA-256, HMAC-SHA256 with the AccessKey secret); "" when it matches."""
    match = _ALIYUN_AUTH.match(seen.headers.get("authorization", ""))
    if not match:
        return "no ACS3-HMAC-SHA256 Authorization"
    if match["ak"] != ALIYUN_KEY_ID:
        return "InvalidAccessKeyId.NotFound"
    signed = match["signed"].split(";")
    if signed != sorted(signed) or not set(signed) >= _ALIYUN_REQUIRED_HEADERS:
        return f"signed headers {signed}"
    payload_hash = hashlib.sha256(seen.body).hexdigest()
    if seen.headers.get("x-acs-content-sha256") != payload_hash:
        return "x-acs-content-sha256 is not the body's hash"
    query = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(seen.query.items()))
    headers = "".join(f"{name}:{seen.headers.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join(
        [seen.method, seen.path or "/", query, headers, ";".join(signed), payload_hash]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return "" if hmac.compare_digest(expected, match["signature"]) else "SignatureDoesNotMatch"


def _aliyun_respond(fake: Fake, seen: Seen) -> tuple[int, dict]:
    request_id = str(uuid.uuid4()).upper()
    problem = aliyun_signature_problem(seen)
    if not problem and (
        seen.headers.get("x-acs-action") != "SendSms"
        or seen.headers.get("x-acs-version") != "2017-05-25"
    ):
        problem = "not SendSms 2017-05-25"
    if problem:
        seen.problem = problem
        code = (
            "InvalidAccessKeyId.NotFound" if "AccessKeyId" in problem else "SignatureDoesNotMatch"
        )
        return 400, {"RequestId": request_id, "Code": code, "Message": problem}
    phone = seen.query.get("PhoneNumbers", "")
    if phone in fake.refuse:
        code, message = fake.refuse[phone]
        return 200, {"RequestId": request_id, "Code": code, "Message": message}
    try:
        params = json.loads(seen.query.get("TemplateParam", ""))
    except ValueError:
        return 200, {"RequestId": request_id, "Code": "isv.INVALID_JSON_PARAM", "Message": "JSON"}
    biz_id = f"{len(fake.sent) + 1:06d}^0"
    fake.sent.append(
        {
            "phone": phone,
            "sign": seen.query.get("SignName"),
            "template": seen.query.get("TemplateCode"),
            "params": params,
            "biz_id": biz_id,
        }
    )
    return 200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "BizId": biz_id}


@contextmanager
def aliyun_sms() -> Iterator[Fake]:
    with _serve(Fake(), _aliyun_respond, "application/json;charset=utf-8") as fake:
        yield fake


# --- Tencent Cloud SMS (2021-01-11, TC3-HMAC-SHA256) --------------------------------------------

TENCENT_SECRET_ID = "AKIDfakeSecretId0000"
TENCENT_SECRET_KEY = "fakeSecretKey0000000000000000000"
_TENCENT_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tencent_signature_problem(seen: Seen, secret: str = TENCENT_SECRET_KEY) -> str:
    """Recompute TC3-HMAC-SHA256 as documented (canonical request; string to sign with the
    timestamp and credential scope; the key derived date → service → tc3_request)."""
    match = _TENCENT_AUTH.match(seen.headers.get("authorization", ""))
    if not match:
        return "no TC3-HMAC-SHA256 Authorization"
    if match["id"] != TENCENT_SECRET_ID:
        return "AuthFailure.SecretIdNotFound"
    timestamp = seen.headers.get("x-tc-timestamp", "")
    day = datetime.fromtimestamp(int(timestamp or 0), UTC).strftime("%Y-%m-%d")
    if match["date"] != day or match["service"] != "sms":
        return "credential scope"
    signed = match["signed"].split(";")
    headers = "".join(f"{name}:{seen.headers.get(name, '').strip().lower()}\n" for name in signed)
    canonical = "\n".join(
        [
            seen.method,
            seen.path or "/",
            "",
            headers,
            ";".join(signed),
            hashlib.sha256(seen.body).hexdigest(),
        ]
    )
    scope = f"{day}/sms/tc3_request"
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret}".encode(), day), "sms"), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        "" if hmac.compare_digest(expected, match["signature"]) else "AuthFailure.SignatureFailure"
    )


def _tencent_respond(fake: Fake, seen: Seen) -> tuple[int, dict]:
    request_id = str(uuid.uuid4())
    problem = tencent_signature_problem(seen)
    if not problem and (
        seen.headers.get("x-tc-action") != "SendSms"
        or seen.headers.get("x-tc-version") != "2021-01-11"
    ):
        problem = "not SendSms 2021-01-11"
    if problem:
        seen.problem = problem
        code = problem if problem.startswith("AuthFailure") else "AuthFailure.SignatureFailure"
        return 200, {
            "Response": {"Error": {"Code": code, "Message": problem}, "RequestId": request_id}
        }
    request = json.loads(seen.body)
    statuses = []
    for number in request["PhoneNumberSet"]:
        phone = number.removeprefix("+86")
        code, message = fake.refuse.get(phone, ("Ok", "send success"))
        serial = f"2645:{len(fake.sent) + 1:010d}" if code == "Ok" else ""
        if code == "Ok":
            fake.sent.append(
                {
                    "phone": phone,
                    "app": request.get("SmsSdkAppId"),
                    "sign": request.get("SignName"),
                    "template": request.get("TemplateId"),
                    "params": request.get("TemplateParamSet"),
                    "serial": serial,
                }
            )
        statuses.append(
            {
                "SerialNo": serial,
                "PhoneNumber": number,
                "Fee": 1 if code == "Ok" else 0,
                "SessionContext": "",
                "Code": code,
                "Message": message,
                "IsoCode": "CN",
            }
        )
    return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}


@contextmanager
def tencent_sms() -> Iterator[Fake]:
    with _serve(Fake(), _tencent_respond) as fake:
        yield fake


# --- WeCom (企业微信) application messages --------------------------------------------------

WECOM_CORP_ID = "wwfakecorp0001"
WECOM_SECRET = "fake-app-secret-0123456789"
WECOM_AGENT_ID = "1000002"


def _wecom_respond(fake: Fake, seen: Seen) -> tuple[int, dict]:
    if fake.blocked_ip:
        seen.problem = "60020"
        return 200, {
            "errcode": 60020,
            "errmsg": "not allow to access from your ip, from ip: 127.0.0.1",
        }
    if seen.path == "/cgi-bin/gettoken":
        fake.token_calls += 1
        if (
            seen.query.get("corpid") != WECOM_CORP_ID
            or seen.query.get("corpsecret") != WECOM_SECRET
        ):
            seen.problem = "40001"
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        token = f"token-{uuid.uuid4().hex}"
        fake.tokens.add(token)
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
    if seen.path != "/cgi-bin/message/send" or seen.method != "POST":
        seen.problem = "path"
        return 404, {"errcode": 404, "errmsg": "not found"}
    token = seen.query.get("access_token", "")
    if token in fake.expired:
        seen.problem = "42001"
        return 200, {"errcode": 42001, "errmsg": "access_token expired"}
    if token not in fake.tokens:
        seen.problem = "40014"
        return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
    message = json.loads(seen.body)
    userid = message.get("touser", "")
    if str(message.get("agentid")) != WECOM_AGENT_ID or message.get("msgtype") != "text":
        seen.problem = "message"
        return 200, {"errcode": 40056, "errmsg": "invalid agentid"}
    if userid in fake.refuse:
        code, errmsg = fake.refuse[userid]
        if code == "invaliduser":  # accepted, but the member is outside the app's range
            return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": userid, "msgid": ""}
        return 200, {"errcode": code, "errmsg": errmsg}
    msgid = f"msg-{len(fake.sent) + 1}"
    fake.sent.append({"userid": userid, "content": message["text"]["content"], "msgid": msgid})
    return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}


@contextmanager
def wecom() -> Iterator[Fake]:
    with _serve(Fake(), _wecom_respond) as fake:
        yield fake


def wecom_expire_tokens(fake: Fake) -> None:
    """Every token handed out so far has expired (WeCom answers 42001 for it)."""
    fake.expired |= fake.tokens


# --- pytest-django settings for each ------------------------------------------------------------


def use_aliyun(settings, fake: Fake) -> None:
    settings.SMS_BACKEND = "aliyun"
    settings.ALIYUN_SMS_ACCESS_KEY_ID = ALIYUN_KEY_ID
    settings.ALIYUN_SMS_ACCESS_KEY_SECRET = ALIYUN_KEY_SECRET
    settings.ALIYUN_SMS_ENDPOINT = fake.url
    settings.SMS_SIGN_NAME = "守望"
    settings.SMS_TEMPLATES = {"digest": "SMS_123", "parent_notice": "SMS_456"}
    settings.SMS_TIMEOUT_SECONDS = 5


def use_tencent(settings, fake: Fake) -> None:
    settings.SMS_BACKEND = "tencent"
    settings.TENCENT_SMS_SECRET_ID = TENCENT_SECRET_ID
    settings.TENCENT_SMS_SECRET_KEY = TENCENT_SECRET_KEY
    settings.TENCENT_SMS_SDK_APP_ID = "1400000001"
    settings.TENCENT_SMS_REGION = "ap-guangzhou"
    settings.TENCENT_SMS_ENDPOINT = fake.url
    settings.SMS_SIGN_NAME = "守望"
    settings.SMS_TEMPLATES = {"digest": "1100001", "parent_notice": "1100002"}
    settings.SMS_TIMEOUT_SECONDS = 5


def use_wecom(settings, fake: Fake) -> None:
    settings.WECOM_CORP_ID = WECOM_CORP_ID
    settings.WECOM_SECRET = WECOM_SECRET
    settings.WECOM_AGENT_ID = WECOM_AGENT_ID
    settings.WECOM_API_URL = f"{fake.url}/cgi-bin/"
    settings.SMS_TIMEOUT_SECONDS = 5
    # A token of an earlier test's server is not this one's (it would only cost one 40014).
    from django.core.cache import cache

    cache.delete_many(
        [
            f"wecom:{WECOM_CORP_ID}_{WECOM_SECRET[:10]}_access_token",
            f"wecom:{WECOM_CORP_ID}_access_token_expires_at",
        ]
    )
