"""企业微信 (WeCom) application messages to staff, through ``wechatpy.work.WeChatClient``.

The access token (valid two hours, fetched with the corp id and the application's secret) is kept
in the Django cache, so every worker shares one instead of fetching its own; a reply saying it
expired or is invalid (42001, 40014, 40001) fetches a new one and tries once more."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from .base import SendError, Sent

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# The person cannot receive it however often it is tried: no such member, not in the
# application's visible range, a malformed userid.
FINAL_ERRORS = frozenset({40031, 60111, 81013})
# A WeCom text message holds at most 2048 bytes.
MAX_TEXT_BYTES = 2048


class _CacheStorage:
    """wechatpy's session storage on the Django cache (wechatpy.session.SessionStorage)."""

    prefix = "wecom:"

    def get(self, key, default=None):
        return cache.get(self.prefix + key, default)

    def set(self, key, value, ttl=None):
        cache.set(self.prefix + key, value, ttl)

    def delete(self, key):
        cache.delete(self.prefix + key)


def _fit(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_TEXT_BYTES:
        return text
    return data[: MAX_TEXT_BYTES - len("…".encode())].decode(errors="ignore") + "…"


class WeComBackend:
    """Sends text messages as the configured application (``WECOM_AGENT_ID``)."""

    name = "wecom"

    def _client(self):
        from wechatpy.work import WeChatClient

        base = settings.WECOM_API_URL.rstrip("/") + "/"

        class Client(WeChatClient):
            API_BASE_URL = base

            def fetch_access_token(self):
                # wechatpy fixes gettoken at qyapi.weixin.qq.com: use the configured address.
                return self._fetch_access_token(
                    url=f"{base}gettoken",
                    params={"corpid": self.corp_id, "corpsecret": self.secret},
                )

        client = Client(
            settings.WECOM_CORP_ID,
            settings.WECOM_SECRET,
            session=_CacheStorage(),
            timeout=settings.SMS_TIMEOUT_SECONDS,
            auto_retry=False,  # retried once below; wechatpy's own retry never stops
        )
        return client

    def send_text(self, userid: str, content: str) -> Sent:
        """Send ``content`` to the member ``userid``; raise ``SendError`` with WeCom's errcode."""
        from wechatpy.exceptions import WeChatClientException

        client = self._client()
        for attempt in (1, 2):
            try:
                reply = client.message.send_text(settings.WECOM_AGENT_ID, [userid], _fit(content))
            except WeChatClientException as exc:
                code = exc.errcode
                if code in TOKEN_ERRORS and attempt == 1:
                    client.session.delete(client.access_token_key)
                    client.session.delete(client.access_token_expires_at_key)
                    continue
                if code is None:  # HTTP error: wechatpy gives no errcode
                    status = getattr(exc.response, "status_code", "")
                    raise SendError(f"http_{status}", str(exc), retryable=True) from exc
                raise SendError(
                    str(code), exc.errmsg or "", retryable=code not in FINAL_ERRORS
                ) from exc
            except Exception as exc:  # the network, a reply that is not JSON
                raise SendError("network", str(exc), retryable=True) from exc
            # The send "succeeds" for a member outside the application's range: WeCom lists them.
            if userid in (reply.get("invaliduser") or "").split("|"):
                raise SendError(
                    "invaliduser", f"userid {userid} 不在应用可见范围内", retryable=False
                )
            return Sent(str(reply.get("msgid", "")))
        raise AssertionError("unreachable")


def wecom_backend() -> WeComBackend | None:
    """The WeCom channel, or None when no application is configured."""
    if not (settings.WECOM_CORP_ID and settings.WECOM_SECRET and settings.WECOM_AGENT_ID):
        return None
    return WeComBackend()
