"""The SMS channel (pluggable: settings.SMS_BACKEND, a dotted path). Every floor that texts —
parents when a caregiver can no longer care, staff in their daily digest — sends through here."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)
DEFAULT_BACKEND = "core.sms.LoggingSmsBackend"


class SmsBackend(ABC):
    """Interface of an SMS channel. Configure with SMS_BACKEND (dotted path)."""

    @abstractmethod
    def send(self, phone: str, text: str) -> None:
        """Send ``text`` to ``phone``; raise to have the caller retry."""


class LoggingSmsBackend(SmsBackend):
    """Writes the message to the log; for development and for areas without an SMS contract."""

    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone, text)
        LoggingSmsBackend.sent.append((phone, text))


def sms_backend() -> SmsBackend:
    return import_string(getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND))()
