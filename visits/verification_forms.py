"""Forms of the quarterly verification pages: one child's confirmation, a re-opening."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from children.models import SchoolStatus

from .models import MAX_CHANGES_LENGTH, MAX_REOPEN_REASON_LENGTH, BenefitsReceived


def _as_on_file(label, yes, no) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=[("true", yes), ("false", no)],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )


class VerificationItemForm(forms.Form):
    family_ok = _as_on_file(_("Family situation"), _("As on file"), _("Changed"))
    guardianship_ok = _as_on_file(
        _("Guardianship"), _("A guardian or caregiver looks after the child"), _("Not in place")
    )
    schooling_ok = _as_on_file(_("Schooling"), _("As on file"), _("Changed"))
    school_status = forms.ChoiceField(
        label=_("School status on file"),
        choices=SchoolStatus.choices,
        help_text=_("Choose another status to correct the file."),
    )
    benefits_received = forms.ChoiceField(
        label=_("Benefits"), choices=BenefitsReceived.choices, widget=forms.RadioSelect
    )
    changes_found = forms.CharField(
        label=_("Changes found"),
        required=False,
        max_length=MAX_CHANGES_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What changed and what was done. Needed when anything is not as on file."),
    )
    # The file's version when the page was opened: a school status changed meanwhile is not
    # overwritten (children.services.child_update).
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why re-open it"),
        max_length=MAX_REOPEN_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
