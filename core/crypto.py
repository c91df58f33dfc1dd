"""Encryption at rest (Fernet, with key rotation) and the keyed hash that finds a value without
storing it (domain §9). ID numbers, case notes and payee accounts are stored as tokens; the keys
come from settings (FIELD_ENCRYPTION_KEYS, ID_HASH_KEY), derived from SECRET_KEY outside
production (core.keys)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    # The first key encrypts; all keys decrypt, so keys can be rotated.
    return MultiFernet([Fernet(key) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


def decrypt_or_none(value: str) -> str | None:
    """The plaintext of a token any key opens, else None (legacy plaintext, or a lost key)."""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except (InvalidToken, UnicodeError):
        return None


def looks_like_token(value: str) -> bool:
    """Shaped like a Fernet token: URL-safe base64 of version byte 0x80, a timestamp, an IV,
    at least one AES block and an HMAC. Plain case notes never are."""
    if len(value) < 100 or not value.startswith("gAAAAA"):
        return False
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except ValueError:
        return False
    return len(raw) >= 73 and (len(raw) - 57) % 16 == 0


def lookup_hash(value: str) -> str:
    """Keyed hash for exact lookup and duplicate detection, without storing the number."""
    key = settings.ID_HASH_KEY.encode()
    return hmac.new(key, value.upper().encode(), hashlib.sha256).hexdigest()
