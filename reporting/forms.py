"""Forms of the report pages: the filing form's first screen asks only what the law requires."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts import permissions
from accounts.forms import AreaField
from accounts.models import Area
from accounts.permissions import Capability

from . import intake, rules
from .models import OrgType, Situation

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

ACTION_LABELS = {
    "parents_ordered_home": _("Parents ordered home"),
    "placed_with_relatives": _("Placed with relatives"),
    "placed_in_institution": _("Placed in an institution"),
    "medical_care": _("Medical care"),
    "missing_child_search": _("Search for a missing child"),
    "shelter": _("Temporary shelter"),
}
PLAN_LABELS = {
    "guardianship_guidance": _("Guardianship guidance"),
    "medical_care": _("Medical care"),
    "counselling": _("Counselling"),
    "behaviour_correction": _("Behaviour correction"),
    "legal_aid": _("Legal aid"),
    "social_assistance": _("Social assistance"),
}
INTERVENTION_LABELS = {
    "warning_letter": _("Warning letter"),
    "protection_order": _("Personal safety protection order"),
    "family_education_order": _("Family education order"),
    "guardianship_revocation": _("Revocation of guardianship"),
    "temporary_guardianship": _("Temporary guardianship by civil affairs"),
    "long_term_guardianship": _("Long-term guardianship"),
}
OUTCOME_LABELS = {
    "resolved": _("Resolved"),
    "no_intervention_needed": _("No intervention needed"),
    "transferred": _("Transferred"),
    "unfounded": _("Unfounded"),
}


class ReportForm(forms.Form):
    child_name = forms.CharField(label=_("Child's name"), max_length=50)
    # The child's township or village, for a reporter placed above a village (a county hospital):
    # the report goes to that township; left blank, to the reporter's own area (county civil
    # affairs for a county). api.md's ``area_code``.
    area_code = AreaField(
        label=_("Where the child lives"),
        required=False,
        levels=("county", "township", "village"),
        help_text=_(
            "Type the child's township or village if you know it (its name or code): its staff "
            "follow the report up. Left blank, the report goes to your own area."
        ),
    )
    situation = forms.ChoiceField(label=_("What is happening"), choices=Situation.choices)
    discovered_at = forms.DateTimeField(label=_("Discovered at"), widget=DATETIME_WIDGET)
    description = forms.CharField(label=_("What you saw"), widget=forms.Textarea(attrs={"rows": 3}))
    location = forms.CharField(label=_("Place"), max_length=200, required=False)
    reporter_org_type = forms.ChoiceField(
        label=_("Your organisation"), choices=[("", "—"), *OrgType.choices], required=False
    )
    police_notified_at = forms.DateTimeField(
        label=_("Police called at"),
        required=False,
        widget=DATETIME_WIDGET,
        help_text=_("Call 110 at once if you have not."),
    )
    police_receipt = forms.CharField(
        label=_("Police receipt number"), max_length=100, required=False
    )

    def __init__(self, *args, areas: QuerySet[Area] | None = None, **kwargs) -> None:
        """``areas``: the counties, townships and villages the reporter may choose (scoped; none:
        no choice). Looked up by name or code, never listed whole (a province has 20,000)."""
        super().__init__(*args, **kwargs)
        if areas is None or not self.fields["area_code"].set_areas(areas):
            del self.fields["area_code"]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=[(s, s) for s in rules.STAGES])
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    actions = forms.MultipleChoiceField(
        label=_("Emergency actions"),
        choices=list(ACTION_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    service_plan = forms.MultipleChoiceField(
        label=_("Service plan"),
        choices=list(PLAN_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    intervention_type = forms.ChoiceField(
        label=_("Intervention"), choices=[("", "—"), *INTERVENTION_LABELS.items()], required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *OUTCOME_LABELS.items()], required=False
    )
    police_receipt = forms.CharField(
        label=_("Police receipt number"), max_length=100, required=False
    )


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InterventionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Intervention"), choices=list(INTERVENTION_LABELS.items()))
    applied_on = forms.DateField(label=_("Applied on"), required=False, widget=DATE_WIDGET)
    decided_on = forms.DateField(label=_("Decided on"), required=False, widget=DATE_WIDGET)
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DATE_WIDGET)
    placement = forms.CharField(label=_("Placement"), max_length=200, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Photo or document"), help_text=_("JPG, PNG or PDF, at most 10 MB.")
    )


# --- Intake: the 12355 line and the police (reporting.intake) ---------------------------------


class IntakeReportForm(ReportForm):
    """The report form of the 12355 line and the police: their incident number, and the child's
    township or village, required (一门受理: every report lands in a township). The police do
    not call the police, and may record "parent detained, minor children at home"."""

    incident_number = forms.CharField(label=_("Incident number"), max_length=100)
    parent_detained = forms.BooleanField(
        label=_("Parent detained, minor children at home"),
        required=False,
        help_text=_("The child director is asked to check on the children within 24 hours."),
    )

    def __init__(self, *args, user, areas: QuerySet[Area] | None = None, **kwargs) -> None:
        super().__init__(*args, areas=None, **kwargs)
        del self.fields["reporter_org_type"]
        if areas is not None:
            field = AreaField(
                label=_("The child's township or village"),
                required=True,
                levels=intake.INTAKE_LEVELS,
                help_text=_(
                    "The report goes to this township: its supervisor and the village's child "
                    "director follow it up."
                ),
            )
            self.fields["area_code"] = field
            field.set_areas(areas)
        if user.role == intake.POLICE:
            self.fields["incident_number"].label = _("110 incident number")
            del self.fields["police_notified_at"]
            del self.fields["police_receipt"]
        else:
            self.fields["incident_number"].label = _("12355 ticket number")
        if permissions.can(user, Capability.REPORT_DETENTION):
            # With a detained parent the situation may be left to its default.
            self.fields["situation"].required = False
            self.fields["situation"].choices = [("", "—"), *Situation.choices]
            self.fields["situation"].help_text = _(
                "Left blank with a detained parent: guardian unable to care."
            )
        else:
            del self.fields["parent_detained"]

    def clean_incident_number(self) -> str:
        value = self.cleaned_data["incident_number"].strip()
        problem = intake.incident_number_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean(self):
        cleaned = super().clean()
        missing = not cleaned.get("situation") and not cleaned.get("parent_detained")
        if missing and "situation" not in self.errors:
            self.add_error("situation", _("Choose the situation"))
        return cleaned


class DetentionCheckForm(forms.Form):
    """The child director's check on the children of a detained parent."""

    outcome = forms.ChoiceField(
        label=_("What the check found"),
        choices=list(intake.DETENTION_OUTCOMES.items()),
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who cares for the children now, and what they need."),
    )
