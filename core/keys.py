"""Keys derived from one secret, for development and test settings (production sets its own)."""

from __future__ import annotations

import base64
import hashlib


def derive_key(secret: str, purpose: str) -> str:
    """A Fernet key (32 bytes, URL-safe base64) derived from ``secret`` for ``purpose``.

    The same secret and purpose always give the same key: data encrypted under development or test
    settings stays readable, so this derivation must never change."""
    digest = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()
