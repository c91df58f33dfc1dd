"""Outgoing messages to people (not e-mail, which is Django's): text messages through Alibaba
Cloud or Tencent Cloud SMS, and 企业微信 (WeCom) application messages for staff.

Every channel answers the same way: ``Sent`` (the provider took the message, with its id) or a
``SendError`` carrying the provider's own code and message and whether trying again later may
help. No channel configured means ``None``: nothing here ever pretends a message went out."""

from .base import SendError, Sent, is_mainland_mobile
from .sms import SmsBackend, sms_backend
from .wecom import WeComBackend, wecom_backend

__all__ = [
    "SendError",
    "Sent",
    "SmsBackend",
    "WeComBackend",
    "is_mainland_mobile",
    "sms_backend",
    "wecom_backend",
]
