"""Chinese resident ID numbers (GB 11643): parsing and validation against the birth date and
gender, and their masked form. Pure functions; encryption at rest and the keyed hash that finds
duplicates are core.crypto."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from core.masking import mask_id_number

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FORMAT = re.compile(r"[0-9]{17}[0-9X]")


class IdNumberError(ValueError):
    """The number is not a valid 18-digit ID number, or disagrees with the file."""


@dataclass(frozen=True)
class IdNumber:
    value: str  # normalised: 18 characters, upper-case X
    birth_date: date
    gender: str  # "male" | "female"


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse(raw: str) -> IdNumber:
    """Validate format, date and checksum. Unknown area prefixes are accepted (domain §9)."""
    value = (raw or "").strip().upper()
    # ASCII digits only: str.isdigit() also admits full-width, Arabic-Indic and superscript
    # digits, which would either crash int() or be stored in a form the lookup hash never matches.
    if not _FORMAT.fullmatch(value):
        raise IdNumberError(_("An ID number has 18 characters: 17 digits, then a digit or X"))
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise IdNumberError(_("The date of birth in the ID number is not valid")) from exc
    if birth.year < 1900:
        raise IdNumberError(_("The date of birth in the ID number is not valid"))
    if check_digit(value[:17]) != value[17]:
        raise IdNumberError(_("The ID number's check digit is wrong; check the number"))
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return IdNumber(value=value, birth_date=birth, gender=gender)


def validate_against(raw: str, *, birth_date: date | None, gender: str | None) -> IdNumber:
    """Parse and check that birth date and gender agree with the file."""
    parsed = parse(raw)
    if birth_date is not None and parsed.birth_date != birth_date:
        raise IdNumberError(
            _(
                "The date of birth in the ID number (%(date)s) does not match the date of birth "
                "entered"
            )
            % {"date": f"{parsed.birth_date:%Y-%m-%d}"}
        )
    if gender and parsed.gender != gender:
        raise IdNumberError(_("The gender in the ID number does not match the gender entered"))
    return parsed


# One definition of how a masked number looks (core.masking); whether a user sees it masked is
# decided by accounts.selectors.sees_full_number.
mask = mask_id_number
