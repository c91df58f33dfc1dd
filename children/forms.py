"""Forms of the child file pages. They check shapes; the services check the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.forms import AreaField
from core.forms import phone_field

from .imports import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from .models import (
    MANUAL_CATEGORIES,
    AssessmentScore,
    CaregiverRelation,
    Category,
    CloseReason,
    ContactChannel,
    DisabilityType,
    EvidenceKind,
    Gender,
    MemberStatus,
    Relation,
    SchoolStatus,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "basic": (
        _("Basic information"),
        (
            "name",
            "gender",
            "birth_date",
            "id_number",
            "hukou_registered",
            "hukou_place",
            "ethnicity",
            "village",
            "address",
        ),
    ),
    "school": (_("School"), ("school_name", "grade", "school_status")),
    "health": (
        _("Health"),
        ("illness", "disability_type", "disability_grade", "psych_concern", "psych_note"),
    ),
    "categories": (_("Categories and notes"), ("categories", "notes")),
}


class ChildForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, widget=forms.RadioSelect)
    birth_date = forms.DateField(label=_("Birth date"), widget=DATE_WIDGET)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=18,
        required=False,
        help_text=_("18 digits; may be empty only for a child with no hukou."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    hukou_registered = forms.BooleanField(label=_("Hukou registered"), required=False, initial=True)
    hukou_place = forms.CharField(label=_("Hukou place"), max_length=200, required=False)
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=20, required=False, initial="汉族")
    village = AreaField(label=_("Village"))
    # Shown only when a child without an ID number looks like one on file (the page asks).
    confirm_possible_duplicate = forms.BooleanField(
        label=_("Not the same child: register anyway"), required=False
    )
    # Registration only: siblings on file in the village are found by a parent's ID number.
    parent_id_number = forms.CharField(
        label=_("Father's or mother's ID number"),
        max_length=18,
        required=False,
        help_text=_("When a brother or sister is on file: the family members are shared."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    join_household = forms.TypedChoiceField(
        label=_("Brothers and sisters on file"),
        choices=[
            ("yes", _("Join their family (share the family members)")),
            ("no", _("Keep a family of its own")),
        ],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    school_name = forms.CharField(label=_("School"), max_length=100, required=False)
    grade = forms.CharField(label=_("Grade"), max_length=30, required=False)
    school_status = forms.ChoiceField(
        label=_("School status"), choices=SchoolStatus.choices, initial=SchoolStatus.IN_SCHOOL
    )
    illness = forms.CharField(label=_("Illness"), max_length=200, required=False)
    disability_type = forms.ChoiceField(
        label=_("Disability type"), choices=[("", "—"), *DisabilityType.choices], required=False
    )
    disability_grade = forms.TypedChoiceField(
        label=_("Disability grade"),
        choices=[
            ("", "—"),
            ("1", _("Grade 1")),
            ("2", _("Grade 2")),
            ("3", _("Grade 3")),
            ("4", _("Grade 4")),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )
    psych_concern = forms.BooleanField(
        label=_("Psychological or behavioural concern"), required=False
    )
    psych_note = forms.CharField(label=_("Concern note"), max_length=500, required=False)
    categories = forms.MultipleChoiceField(
        label=_("Categories"),
        choices=[(c, Category(c).label) for c in MANUAL_CATEGORIES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "Left-behind status is worked out from the family members, never ticked. Orphan, de"
            " facto unsupported and HIV-affected wait for confirmation by county civil affairs."
        ),
    )
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, villages, section: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Required whenever the hukou is registered (most children): marked as required.
        self.fields["id_number"].label = format_html(
            '{}<span class="asteriskField">*</span>', _("ID number")
        )
        if section is not None:
            keep = set(SECTIONS[section][1])
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]
        if "village" in self.fields:
            self.fields["village"].set_areas(villages)

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        if "village" in data:
            data["village_code"] = data.pop("village").code
        if "disability_type" in data and data["disability_type"] is None:
            data["disability_type"] = ""
        if not data.get("parent_id_number"):
            data.pop("parent_id_number", None)
            data.pop("join_household", None)
        return data


class FamilyMemberForm(forms.Form):
    relation = forms.ChoiceField(label=_("Relation"), choices=Relation.choices)
    name = forms.CharField(label=_("Name"), max_length=50)
    status = forms.ChoiceField(label=_("Status"), choices=MemberStatus.choices)
    has_guardian_capacity = forms.BooleanField(
        label=_("Able to act as guardian"), required=False, initial=True
    )
    phone = phone_field(_("Phone"), required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=18, required=False)
    work_place = forms.CharField(
        label=_("Work place"),
        max_length=100,
        required=False,
        help_text=_("Province and city, e.g. Hangzhou, Zhejiang"),
    )
    employer = forms.CharField(label=_("Employer"), max_length=100, required=False)
    away_since = forms.DateField(label=_("Away since"), required=False, widget=DATE_WIDGET)
    status_since = forms.DateField(
        label=_("Status since"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("For imprisonment, compulsory rehab or lost contact: the day it began."),
    )
    has_serious_disability = forms.BooleanField(label=_("Serious disability"), required=False)
    has_serious_illness = forms.BooleanField(label=_("Seriously ill"), required=False)


class MemberEvidenceForm(forms.Form):
    """The document proving a family member's status (a photo or a PDF)."""

    evidence = forms.FileField(label=_("Document (JPG, PNG or PDF, at most 10 MB)"))
    kind = forms.ChoiceField(label=_("Kind of document"), choices=EvidenceKind.choices)
    evidence_date = forms.DateField(label=_("Evidence date"), required=False, widget=DATE_WIDGET)


class CloseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=CloseReason.choices)
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


SCORE_CHOICES = [(s.value, s.label) for s in AssessmentScore]


class AssessmentForm(forms.Form):
    assessed_on = forms.DateField(label=_("Assessment date"), widget=DATE_WIDGET)
    guardianship = forms.TypedChoiceField(
        label=_("Guardianship"), choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    safety = forms.TypedChoiceField(
        label=_("Safety"), choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    health = forms.TypedChoiceField(
        label=_("Health"), choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    behaviour = forms.TypedChoiceField(
        label=_("Behaviour"), choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Census spreadsheet (.xlsx)"))
    update = forms.BooleanField(
        label=_("Update (yearly census)"),
        required=False,
        help_text=_(
            "Rows whose ID number is on a file in your area update that file (changed fields "
            "only; empty cells change nothing; family members are added, never removed). "
            "Other rows are registered as new children."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".xlsx"):
            raise ValidationError(_("Please upload the .xlsx template."))
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(
                _(
                    "The file is larger than %(mb)s MB. Split it into files of at most "
                    "%(rows)s rows and import them one by one."
                )
                % {"mb": MAX_IMPORT_BYTES // (1024 * 1024), "rows": MAX_IMPORT_ROWS}
            )
        return upload


class CareAgreementForm(forms.Form):
    caregiver_name = forms.CharField(label=_("Caregiver"), max_length=50)
    caregiver_relation = forms.ChoiceField(
        label=_("Caregiver's relation"), choices=CaregiverRelation.choices
    )
    caregiver_phone = phone_field(_("Caregiver's phone"))
    caregiver_id_number = forms.CharField(
        label=_("Caregiver's ID number"), max_length=18, required=False
    )
    caregiver_birth_date = forms.DateField(
        label=_("Caregiver's birth date"), required=False, widget=DATE_WIDGET
    )
    caregiver_health = forms.CharField(
        label=_("Caregiver's health"), max_length=200, required=False
    )
    caregiver_address = forms.CharField(
        label=_("Caregiver's address"), max_length=200, required=False
    )
    caregiver_declares_record = forms.BooleanField(
        label=_("The caregiver has a record of abuse, violence, drugs, gambling or heavy drinking"),
        required=False,
    )
    start_date = forms.DateField(label=_("Start date"), widget=DATE_WIDGET)
    end_date = forms.DateField(label=_("End date"), widget=DATE_WIDGET)
    parent_work_place = forms.CharField(label=_("Parent's work place"), max_length=100)
    parent_employer = forms.CharField(label=_("Parent's employer"), max_length=100, required=False)
    parent_phone = phone_field(_("Parent's phone"))
    parent_departure_date = forms.DateField(
        label=_("Departure date"), required=False, widget=DATE_WIDGET
    )
    duties = forms.CharField(
        label=_("Duties"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    weekly_contact = forms.BooleanField(
        label=_("The parents will contact the child every week"), required=False, initial=True
    )
    signed_on = forms.DateField(label=_("Signed on"), required=False, widget=DATE_WIDGET)
    filed_on = forms.DateField(
        label=_("Filed with the village committee on"), required=False, widget=DATE_WIDGET
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ParentNoticeForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("How the parents were told"), choices=ContactChannel.choices
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class ParentNoticeCalledForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class ScanForm(forms.Form):
    scan = forms.FileField(label=_("Signed copy"), help_text=_("JPG, PNG or PDF, at most 10 MB."))


class ParentContactForm(forms.Form):
    contacted_on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    channel = forms.ChoiceField(label=_("How"), choices=ContactChannel.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    # The offline capture protocol (core.capture), as on the visit form.
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    base = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    force = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def contact_values(self) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("client_id", "base", "force")
        }


# --- The file's life: re-open, transfers (children.lifecycle) ---------------------------------


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for re-opening"),
        max_length=200,
        help_text=_("For example: the parents went back to work away."),
    )
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TransferOutForm(forms.Form):
    to_village_code = forms.CharField(
        label=_("Code of the new village"),
        min_length=12,
        max_length=12,
        help_text=_("The 12-digit area code of the village or community the child moved to."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TransferInForm(forms.Form):
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=18,
        help_text=_("The child's 18-digit ID number; the file is found by it."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    village = AreaField(label=_("Village"))
    reason = forms.CharField(label=_("Reason"), max_length=200)
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, villages, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].set_areas(villages)

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        data["to_village_code"] = data.pop("village").code
        return data


class SiblingForm(forms.Form):
    """Link a brother or sister already on file in the village (the page lists the files)."""

    child_id = forms.UUIDField(label=_("Brother or sister"))


class CategoryDecisionForm(forms.Form):
    """County civil affairs confirm or reject a category waiting for them (待民政确认)."""

    category = forms.CharField(max_length=30)
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("confirm", _("Confirm")), ("reject", _("Do not confirm"))],
    )
    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class EmptyForm(forms.Form):
    """A POST action with nothing to fill in (a button)."""


class MergeForm(forms.Form):
    """Merge a duplicate file of the same child into this one (the page lists likely files)."""

    duplicate_id = forms.UUIDField(label=_("The other file of this child"))
    reason = forms.CharField(
        label=_("Reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2})
    )
