"""Forms of the out-of-school pages (children.dropout_views): shapes only; the services check the
rest and their refusals are shown next to the fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .dropouts import CONTACT_NOTE_MAX, NOTE_MAX, PLAN_MAX, SOURCE_MAX
from .forms import DATE_WIDGET
from .imports import MAX_IMPORT_BYTES, TOO_LARGE_MESSAGE
from .models import ReturnContactChannel, ReturnOutcome


class DropoutImportForm(forms.Form):
    file = forms.FileField(
        label=_("Out-of-school list (.xlsx)"),
        help_text=_(
            "Columns: name, ID number, birth date, school, grade, status (dropped out, lost "
            "schooling, not enrolled, suspended), and optionally the township (its name or "
            "code). The education department's Chinese headers are read as they are."
        ),
    )
    source = forms.CharField(
        label=_("Source"),
        max_length=SOURCE_MAX,
        help_text=_("Who sent the list and when, e.g. county education bureau, autumn 2026"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(_("Please upload an .xlsx file."))
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(str(TOO_LARGE_MESSAGE))
        return upload


class ReturnContactForm(forms.Form):
    # One page holds the contact, plan and closing forms: each its own element ids.
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "contact_%s")
        super().__init__(*args, **kwargs)

    contacted_on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    with_whom = forms.CharField(
        label=_("With whom"), max_length=100, help_text=_("e.g. the mother, the child, the school")
    )
    channel = forms.ChoiceField(label=_("How"), choices=ReturnContactChannel.choices)
    note = forms.CharField(
        label=_("Note"),
        max_length=CONTACT_NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReturnPlanForm(forms.Form):
    # One page holds the contact, plan and closing forms: each its own element ids.
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "plan_%s")
        super().__init__(*args, **kwargs)

    plan = forms.CharField(
        label=_("Plan"),
        max_length=PLAN_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Who does what, and by when, to bring the child back to school."),
    )


class ReturnCloseForm(forms.Form):
    # One page holds the contact, plan and closing forms: each its own element ids.
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "close_%s")
        super().__init__(*args, **kwargs)

    outcome = forms.ChoiceField(label=_("Outcome"), choices=ReturnOutcome.choices)
    returned_on = forms.DateField(label=_("Back in school on"), widget=DATE_WIDGET, required=False)
    returned_school = forms.CharField(label=_("School"), max_length=100, required=False)
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the outcome is “Other”."),
    )


class RowDismissForm(forms.Form):
    note = forms.CharField(
        label=_("Why nothing more is needed"), max_length=NOTE_MAX, widget=forms.TextInput()
    )


class RowLinkForm(forms.Form):
    child_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    id_number = forms.CharField(
        label=_("Or the ID number of the child's file"), max_length=18, required=False
    )

    def clean(self):
        data = super().clean()
        if not data.get("child_id") and not (data.get("id_number") or "").strip():
            raise ValidationError(_("Choose the child's file, or give its ID number."))
        return data
