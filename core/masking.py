"""How an ID number or a phone number looks when it is masked (domain §9). Whether a user sees it
masked is decided in one place: ``accounts.selectors.sees_full_number``."""

from __future__ import annotations

ID_NUMBER, PHONE = "id_number", "phone"


def mask_id_number(value: str) -> str:
    """``341823201001011234`` → ``3418**********1234``."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; a landline ``0563-5123456`` → ``056*****3456``."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask(kind: str, value: str) -> str:
    return mask_id_number(value) if kind == ID_NUMBER else mask_phone(value)
