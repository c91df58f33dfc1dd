"""Forms of the visit pages: a short first screen, details folded away."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MAX_AMENDMENT_LENGTH, PersonSeen, SafetyHazard, VisitKind
from .services import VISIT_ESSENTIALS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("", _("Not noted")), ("true", _("Yes")), ("false", _("No"))]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _yes_no(label, choices=YES_NO) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=choices,
        coerce=lambda v: v == "true",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


def _notes(label) -> forms.CharField:
    """An optional note of a few lines."""
    return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": 2}), required=False)


def _ticks(label, choices) -> forms.MultipleChoiceField:
    """Any of ``choices``, ticked, or none."""
    return forms.MultipleChoiceField(
        label=label, choices=choices, widget=forms.CheckboxSelectMultiple, required=False
    )


class VisitForm(forms.Form):
    # First screen: what a routine visit needs.
    visited_on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    kind = forms.ChoiceField(label=_("Kind"), choices=VisitKind.choices, widget=forms.RadioSelect)
    seen = _ticks(_("Who was seen"), PersonSeen.choices)
    guardian_present = _yes_no(_("Guardian present"))
    caregiver_capable = _yes_no(_("Caregiver able to care"))
    in_school = _yes_no(_("Attending school"))
    safety_concern = _yes_no(_("Safety concern"))
    notes = _notes(_("What you found"))
    # Folded details.
    safety_hazards = _ticks(_("Safety hazards"), SafetyHazard.choices)
    family_situation = _notes(_("Family situation"))
    health = _notes(_("Physical and mental health"))
    needs = _notes(_("Needs"))
    actions_taken = _notes(_("Actions taken"))
    follow_up_on = forms.DateField(label=_("Follow up on"), widget=DATE_WIDGET, required=False)
    follow_up_note = forms.CharField(label=_("Follow-up"), max_length=500, required=False)
    photos = MultipleImageField(
        label=_("Photos (at most 5)"), required=False, help_text=_("Images only.")
    )
    # The offline capture protocol (core.capture): the phone's id of a new visit, and the
    # version of the child's file (a new visit) or of the visit (a correction) it was typed on.
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    base = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    force = forms.BooleanField(required=False, widget=forms.HiddenInput)
    CAPTURE_FIELDS = ("client_id", "base", "force")

    FIRST_SCREEN = (*VISIT_ESSENTIALS, "notes")

    def first_screen(self):
        return [self[name] for name in self.FIRST_SCREEN]

    def details(self):
        hidden = (*self.FIRST_SCREEN, *self.CAPTURE_FIELDS)
        return [self[name] for name in self.fields if name not in hidden]

    def capture_fields(self):
        return [self[name] for name in self.CAPTURE_FIELDS]

    def visit_values(self) -> dict:
        data = dict(self.cleaned_data)
        for name in ("photos", *self.CAPTURE_FIELDS):
            data.pop(name, None)
        return data


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("reviewed", _("Mark reviewed")), ("returned", _("Return to the director"))]
    )
    comment = forms.CharField(
        label=_("Comment for the director"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


UNCHANGED_YES_NO = [("", _("Unchanged")), ("true", _("Yes")), ("false", _("No"))]


def _correction(label) -> forms.TypedChoiceField:
    return _yes_no(label, UNCHANGED_YES_NO)


class AmendmentForm(forms.Form):
    """补充说明 to a reviewed visit: the text, and the findings it corrects (blank: unchanged)."""

    text = forms.CharField(
        label=_("Amendment"),
        max_length=MAX_AMENDMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the record lacked or got wrong. The visit goes back to review."),
    )
    safety_concern = _correction(_("Safety concern"))
    guardian_present = _correction(_("Guardian present"))
    caregiver_capable = _correction(_("Caregiver able to care"))
    in_school = _correction(_("Attending school"))
    needs = _notes(_("Needs"))
    actions_taken = _notes(_("Actions taken"))
    follow_up_on = forms.DateField(label=_("Follow up on"), widget=DATE_WIDGET, required=False)
    follow_up_note = forms.CharField(label=_("Follow-up"), max_length=500, required=False)

    def corrections(self) -> dict:
        """The findings the person changed (a blank field leaves the visit's value as it is)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "text" and value not in (None, "")
        }
