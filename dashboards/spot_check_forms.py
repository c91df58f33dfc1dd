"""Forms of the yearly spot check's pages (dashboards.spot_check_views). They check the shape of
what is typed; the services (dashboards.spot_checks) decide, and their refusals are shown next to
the same fields."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_WIDGET, plain_text_field
from core import clock

from . import spot_check_rules as rules
from . import spot_checks
from .models import SpotCheckAnswer, SpotCheckSizeUnit, SpotCheckStrata


def _nul_checked(field: forms.CharField) -> forms.CharField:
    """Our own message for a NUL character (Django's says something else in Chinese)."""
    field.validators = [
        v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
    ]
    field.validators.append(_refuse_nul)
    return field


def _refuse_nul(value: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise forms.ValidationError(_("must not contain a NUL character"), code="null_characters")


class SpotCheckForm(forms.Form):
    """A new draw (spot_checks.spot_check_draw)."""

    area = forms.ChoiceField(label=_("Area"))
    year = forms.IntegerField(label=_("Year"), min_value=spot_checks.FIRST_YEAR)
    strata = forms.ChoiceField(
        label=_("Strata"),
        choices=SpotCheckStrata.choices,
        initial=SpotCheckStrata.TOWNSHIP,
        widget=forms.RadioSelect,
        help_text=_(
            "The sample is shared among the strata in proportion to their number of files."
        ),
    )
    size_value = forms.IntegerField(label=_("Sample size"), min_value=1, initial=10)
    size_unit = forms.ChoiceField(
        label=_("Counted in"), choices=SpotCheckSizeUnit.choices, initial=SpotCheckSizeUnit.PERCENT
    )
    seed = forms.CharField(
        label=_("Seed"),
        required=False,
        max_length=19,
        help_text=_(
            "Leave empty for a random seed, or type a whole number chosen in public (for example "
            "the digits of a lottery draw). It is recorded so that anyone can redo the draw."
        ),
    )

    def __init__(self, *args, areas=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.areas = {area.code: area for area in areas}
        self.fields["area"].choices = [
            (area.code, f"{area.name} ({area.get_level_display()})") for area in areas
        ]
        this_year = clock.today().year
        year = self.fields["year"]
        year.max_value, year.initial = this_year, this_year
        year.validators.append(MaxValueValidator(this_year))
        year.widget.attrs["max"] = this_year
        _nul_checked(self.fields["seed"])

    def clean_seed(self) -> str:
        seed = self.cleaned_data["seed"].strip()
        if seed and not (seed.isascii() and seed.isdigit() and int(seed) <= rules.MAX_SEED):
            raise forms.ValidationError(
                _("The seed is a whole number from 0 to %(max)s.") % {"max": rules.MAX_SEED}
            )
        return seed

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "area": self.areas[data["area"]],
            "year": data["year"],
            "strata": data["strata"],
            "size_value": data["size_value"],
            "size_unit": data["size_unit"],
            "seed": data["seed"] or None,
        }


class FindingsForm(forms.Form):
    """What a sampled file shows (spot_checks.spot_check_findings_record)."""

    file_complete = forms.ChoiceField(
        label=_("The file is complete"), choices=SpotCheckAnswer.choices, widget=forms.RadioSelect
    )
    visits_real = forms.ChoiceField(
        label=_("The visits are real"), choices=SpotCheckAnswer.choices, widget=forms.RadioSelect
    )
    benefits_right = forms.ChoiceField(
        label=_("The benefits are right"),
        choices=SpotCheckAnswer.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=spot_checks.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _nul_checked(self.fields["note"])


class CorrectionForm(forms.Form):
    """A correction asked of a sampled file (spot_checks.spot_check_correction_add)."""

    description = plain_text_field(_("What to correct"), max_length=spot_checks.DESCRIPTION_MAX)
    due_on = forms.DateField(label=_("Due on"), widget=DATE_WIDGET)


class CorrectionDoneForm(forms.Form):
    """A correction marked done (spot_checks.spot_check_correction_done)."""

    note = plain_text_field(
        _("What was done"), max_length=spot_checks.CORRECTION_NOTE_MAX, required=False
    )
