"""Validators with messages our translation covers: passwords, and the short labels staff type."""

from django.contrib.auth.password_validation import MinimumLengthValidator as BaseMinimumLength
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy, ngettext

from core.cells import is_formula_like


class MinimumLengthValidator(BaseMinimumLength):
    # Django 5.2 changed this message and its zh_Hans catalogue has not caught up.
    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}


def validate_plain_text(value: str) -> None:
    """A short label typed by staff (a training's subject, a qualification): no NUL character
    (PostgreSQL cannot store one) and nothing a spreadsheet would run as a formula when the
    roster is copied into one (core.cells: =, +, -, @, a tab or a line break first)."""
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise ValidationError(
            gettext_lazy("must not contain a NUL character"), code="null_characters"
        )
    if is_formula_like(value):
        raise ValidationError(
            gettext_lazy(
                "Must not begin with =, +, - or @: a spreadsheet would run it as a formula."
            ),
            code="formula",
        )
