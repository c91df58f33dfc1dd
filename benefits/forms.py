"""Forms of the benefit pages. They check shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from children.forms import DATE_WIDGET
from children.models import EvidenceKind

from .models import ExitReason, NoticePlace, ObjectionOutcome
from .rules import PROGRAMMES


def _programme_choices() -> list[tuple[str, str]]:
    return [(code, programme.name) for code, programme in PROGRAMMES.items()]


class SubsidyApplyForm(forms.Form):
    programme = forms.ChoiceField(label=_("Programme"), choices=_programme_choices)
    note = forms.CharField(
        label=_("Situation and evidence"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class SubsidyDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("approve", _("Approve")),
            ("return", _("Return for more evidence")),
            ("reject", _("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to return or reject: the family will be told."),
    )
    # The township's approval of 低保 or 特困 posts the 7-day public notice; the page keeps
    # these two only there (views.application_detail).
    notice_place = forms.ChoiceField(
        label=_("Public notice posted at"),
        choices=NoticePlace.choices,
        initial=NoticePlace.VILLAGE_BOARD,
        required=False,
    )
    notice_starts_on = forms.DateField(
        label=_("Public notice starts on"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Default: the day of approval. The notice lasts 7 days."),
    )


class PublicNoticeForm(forms.Form):
    starts_on = forms.DateField(label=_("Notice starts on"), widget=DATE_WIDGET)
    ends_on = forms.DateField(label=_("Last day of the notice"), widget=DATE_WIDGET)
    place = forms.ChoiceField(label=_("Posted at"), choices=NoticePlace.choices)


class NoticeObjectionForm(forms.Form):
    received_on = forms.DateField(label=_("Received on"), widget=DATE_WIDGET)
    content = forms.CharField(
        label=_("Objection"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Who objected, how, and what they say."),
    )


class ObjectionHandlingForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=ObjectionOutcome.choices, widget=forms.RadioSelect
    )
    handling = forms.CharField(
        label=_("How it was handled"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"), choices=EvidenceKind.choices)
    description = forms.CharField(
        label=_("Document"),
        max_length=100,
        required=False,
        help_text=_("Optional; say what it is when the kind is Other"),
    )
    file = forms.FileField(label=_("File"), help_text=_("JPG, PNG or PDF, at most 10 MB."))


class ResubmitForm(forms.Form):
    note = forms.CharField(
        label=_("What was added"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _exit_choices() -> list[tuple[str, str]]:
    return [(value, label) for value, label in ExitReason.choices if value != ExitReason.ONE_OFF]


class EnrolmentExitForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=_exit_choices)
    on = forms.DateField(label=_("Date of the event"), widget=DATE_WIDGET)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class EnrolmentReviewForm(forms.Form):
    note = forms.CharField(label=_("Review note"), required=False, max_length=2000)


class PayeeForm(forms.Form):
    name = forms.CharField(label=_("Payee"), max_length=50)
    account = forms.CharField(label=_("Bank account"), required=False, max_length=40)


class EducationRecordForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    school = forms.CharField(label=_("School"), max_length=100)
