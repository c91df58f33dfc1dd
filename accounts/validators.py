"""Password validators with messages our translation covers."""

from django.contrib.auth.password_validation import MinimumLengthValidator as BaseMinimumLength
from django.utils.translation import ngettext


class MinimumLengthValidator(BaseMinimumLength):
    # Django 5.2 changed this message and its zh_Hans catalogue has not caught up.
    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
