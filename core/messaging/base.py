"""What every channel returns or raises, and the one check of a mainland mobile number."""

from __future__ import annotations

import re
from dataclasses import dataclass

# 中国大陆手机号: 11 digits starting 13–19. Landlines (which children.rules accepts for contact)
# cannot receive a text message.
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def is_mainland_mobile(phone: str) -> bool:
    return bool(_MAINLAND_MOBILE.fullmatch(phone or ""))


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message: its id (Alibaba BizId, Tencent SerialNo, WeCom msgid)."""

    provider_id: str = ""


class SendError(Exception):
    """The provider refused or could not be reached. ``code`` and ``message`` are the provider's
    own (``isv.BUSINESS_LIMIT_CONTROL``, ``LimitExceeded.PhoneNumberDailyLimit``, ``60020`` …);
    ``retryable`` says whether the same message may go through later (a rate limit, the network,
    an expired token) or never will (a number that is not a mobile, a user not in the app)."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = str(code)[:100]
        self.message = str(message)[:500]
        self.retryable = retryable


def retried(
    *, on: tuple[type[BaseException], ...], backoff_max: int, max_retries: int
) -> dict[str, object]:
    """Celery options of a task that sends something: bound, retried on ``on`` with a backoff
    doubling from a minute up to ``backoff_max`` seconds, at most ``max_retries`` times."""
    return {
        "bind": True,
        "autoretry_for": on,
        "retry_backoff": 60,
        "retry_backoff_max": backoff_max,
        "max_retries": max_retries,
    }
