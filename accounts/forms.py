"""Forms for the auth pages and the roster, and the field every form uses to choose a place of the
user's area (``AreaField``: by name or code, never a drop-down of every village)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from core.forms import phone_field

from . import rules, selectors
from .models import Area
from .validators import validate_plain_text


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "Wrong username or password. After 5 failed attempts the account is locked for "
            "15 minutes."
        ),
        "inactive": _("This account is disabled."),
    }


class TotpCodeForm(forms.Form):
    """The 6-digit code of an authenticator app (spaces and a middle dash are forgiven)."""

    token = forms.CharField(
        label=_("6-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "class": "sw-otp-input",
            }
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split()).replace("-", "")
        if not (token.isascii() and token.isdigit() and len(token) == 6):
            raise forms.ValidationError(_("Enter the 6 digits shown in your authenticator app."))
        return token


class EnrolmentForm(TotpCodeForm):
    """Enrolment of a privileged account: the one-time code from the security officer first."""

    enrolment_code = forms.CharField(
        label=_("Enrolment code from the security officer"),
        max_length=20,
        help_text=_("12 letters and digits, like ABCD-EFGH-JKLM. Valid for 72 hours, once."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    field_order = ["enrolment_code", "token"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["token"].widget.attrs.pop("autofocus", None)
        self.fields["enrolment_code"].widget.attrs["autofocus"] = True


class SystemAccountForm(forms.Form):
    """The security officer's form for an administrator, security officer or auditor account:
    a username that exists is changed, a new one created (like add_staff)."""

    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"))
    area = forms.CharField(
        label=_("Area code"),
        max_length=12,
        required=False,
        help_text=_("12 digits. Leave empty only for a system administrator of the whole system."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    name = forms.CharField(label=_("Full name"), max_length=50, required=False)
    phone = phone_field(_("Phone"), required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        help_text=_("Required for a new account; for an existing one, only to set a new password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    is_active = forms.BooleanField(label=_("Account in use"), required=False, initial=True)

    def __init__(self, *args, **kwargs) -> None:
        from .models import Role
        from .rules import PRIVILEGED_ROLES

        super().__init__(*args, **kwargs)
        choices = [(value, label) for value, label in Role.choices if value in PRIVILEGED_ROLES]
        self.fields["role"].choices = choices


class AreaPolicyForm(forms.Form):
    """Every *default* number of an area; empty means "as the area above"."""

    def __init__(self, *args, inherited: dict[str, int], **kwargs) -> None:
        from .models import AreaPolicy
        from .services import POLICY_DEFAULTS

        super().__init__(*args, **kwargs)
        for name in POLICY_DEFAULTS:
            model_field = AreaPolicy._meta.get_field(name)
            self.fields[name] = forms.IntegerField(
                label=model_field.verbose_name,
                required=False,
                min_value=1,
                max_value=3650,
                widget=forms.NumberInput(attrs={"placeholder": inherited[name]}),
                help_text=_("Empty: %(value)s, as the area above.") % {"value": inherited[name]},
            )


class NotifySettingsForm(forms.Form):
    """A person's own choice of how the daily digest reaches them, and its addresses (账号设置)."""

    digest_channel = forms.ChoiceField(label=_("Send my daily digest by"), widget=forms.RadioSelect)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        required=False,
        help_text=_("11 digits, mainland China."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    wecom_userid = forms.CharField(
        label=_("WeCom user ID"),
        max_length=64,
        required=False,
        help_text=_("Your member account (UserID) in the organisation's WeCom."),
    )

    def __init__(self, *args, **kwargs) -> None:
        from .models import DigestChannel

        super().__init__(*args, **kwargs)
        self.fields["digest_channel"].choices = DigestChannel.choices


# --- Choosing a place by name or code (issue 20) -----------------------------------------------

# Up to this many places to choose from, the page lists them all in the field's suggestions;
# above it (a county's villages, a province's) the script asks /areas/search.json as one types.
AREA_LIST_LIMIT = 50
# What is echoed of a name that was not found (the field's own length limit is 100).
_ECHO = 30


def area_text(area: Area) -> str:
    """How a chosen place reads in its text field: the name and the code (the code decides)."""
    return f"{area.name} {area.code}"


def area_option_label(area: Area) -> str:
    """A place with where it lies, from the loaded parents: 查济村 — 泾县 › 桃花潭镇."""
    path = selectors.area_path_label(area)
    return f"{area.name} — {path}" if path else area.name


class AreaSearchInput(forms.TextInput):
    """The text input of an ``AreaField``, its ``<datalist>`` of suggestions (filled by the page
    for a short choice, by static/js/app.js from ``search_url`` as one types for a long one) and,
    after a submit whose name several places hold, those places as radio buttons
    (``<name>_pick``). Without a script it is a text box and the submit does the search."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.options: list[tuple[str, str]] = []
        self.search_url = ""
        self.candidates: list[Area] = []

    def value_from_datadict(self, data, files, name: str):
        return data.get(f"{name}_pick") or data.get(name)

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}-options"
        attrs["list"] = list_id
        if self.search_url:
            attrs["data-area-search"] = self.search_url
        field = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}">{}</option>', self.options)
        html = format_html('{}<datalist id="{}">{}</datalist>', field, list_id, options)
        if not self.candidates:
            return html
        picks = format_html_join(
            "",
            '<label class="list-group-item d-flex gap-2 align-items-center py-3">'
            '<input class="form-check-input flex-shrink-0 mt-0" type="radio" name="{}" value="{}">'
            '<span>{} <span class="small text-secondary">{}</span></span></label>',
            (
                (f"{name}_pick", area.code, area.name, selectors.area_path_label(area))
                for area in self.candidates
            ),
        )
        return format_html(
            '{}<fieldset class="mt-2"><legend class="small mb-1">{}</legend>'
            '<div class="list-group">{}</div></fieldset>',
            html,
            _("Which one?"),
            picks,
        )


class AreaField(forms.CharField):
    """A place of the user's area, typed by name ("查济", "桃花潭镇 查济村") or 12-digit code; the
    cleaned value is the Area. ``set_areas`` gives what may be chosen (already scoped). A name
    that several places hold is refused with those places to choose from; one that none holds,
    with what to type. A field with one possible answer (a director's one village) is answered,
    not asked."""

    widget = AreaSearchInput
    default_error_messages = {
        "not_found": _(
            "Nothing in your area is called “%(text)s”. Type the name or the 12-digit code."
        ),
        "several": _("Several places in your area are called “%(text)s”: choose one."),
        "too_many": _(
            "More than %(count)s places in your area match “%(text)s”: type more of the name, "
            "or the township before it."
        ),
    }

    def __init__(self, *, levels: tuple[str, ...] = (rules.VILLAGE,), **kwargs) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)
        self.levels = levels
        self.areas: QuerySet[Area] = Area.objects.none()

    def set_areas(self, areas: QuerySet[Area]) -> int:
        """What may be chosen, in one query: one place (a required field) is chosen and hidden;
        up to AREA_LIST_LIMIT are all suggested; more are searched as one types. Returns how many
        there are, counted up to AREA_LIST_LIMIT + 1."""
        self.areas = areas
        shown = list(areas.select_related("parent__parent").order_by("code")[: AREA_LIST_LIMIT + 1])
        if len(shown) == 1 and self.required:
            self.initial = shown[0]
            self.widget = forms.HiddenInput()
        elif len(shown) <= AREA_LIST_LIMIT:
            self.widget.options = [(area_text(a), area_option_label(a)) for a in shown]
        else:
            query = urlencode({"levels": ",".join(self.levels)})
            self.widget.search_url = f"{reverse('area_search')}?{query}"
        if not isinstance(self.widget, forms.HiddenInput) and not self.help_text:
            self.help_text = _("Type the name (or part of it) or the 12-digit code.")
        return len(shown)

    def prepare_value(self, value):
        if isinstance(value, Area):
            return value.code if isinstance(self.widget, forms.HiddenInput) else area_text(value)
        return value

    def clean(self, value) -> Area | None:
        text = super().clean(value)  # required, length, no NUL character
        if not text:
            return None
        found, candidates = selectors.area_named(self.areas, text)
        if found is not None:
            return found
        echo = text if len(text) <= _ECHO else text[:_ECHO] + "…"
        if not candidates:
            raise forms.ValidationError(
                self.error_messages["not_found"], code="not_found", params={"text": echo}
            )
        limit = selectors.AREA_SEARCH_LIMIT
        self.widget.candidates = candidates[:limit]
        if len(candidates) > limit:
            raise forms.ValidationError(
                self.error_messages["too_many"],
                code="too_many",
                params={"text": echo, "count": limit},
            )
        raise forms.ValidationError(
            self.error_messages["several"], code="several", params={"text": echo}
        )


# --- The roster and trainings (accounts.roster) -------------------------------------------------

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def plain_text_field(label, *, max_length: int, required: bool = True, **kwargs) -> forms.CharField:
    """A short label (a subject, an organiser, a qualification): the roster's one check of NUL
    characters and formula text (accounts.validators.validate_plain_text), with its message
    next to the field — instead of Django's own NUL check, whose Chinese says something else."""
    field = forms.CharField(label=label, max_length=max_length, required=required, **kwargs)
    field.validators = [
        v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
    ]
    field.validators.append(validate_plain_text)
    return field


class RosterEntryForm(forms.Form):
    """A director's or supervisor's appointment (accounts.roster.roster_entry_update)."""

    appointed_on = forms.DateField(label=_("Appointed on"), required=False, widget=DATE_WIDGET)
    post = forms.ChoiceField(label=_("Post"), required=False)
    post_detail = plain_text_field(
        _("Post (details)"),
        max_length=100,
        required=False,
        help_text=_(
            "What the post is, for example chair of the women's federation; needed for “Other”."
        ),
    )
    qualification = plain_text_field(
        _("Qualification"),
        max_length=200,
        required=False,
        help_text=_("For example a social work qualification, or the highest schooling."),
    )
    left_on = forms.DateField(
        label=_("Left the post on"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("The first day out of post. Leave empty while in post."),
    )

    def __init__(self, *args, **kwargs) -> None:
        from .models import Post

        super().__init__(*args, **kwargs)
        self.fields["post"].choices = [("", "—"), *Post.choices]


class TrainingForm(forms.Form):
    """One training for many people (accounts.roster.training_record): the attendees are
    chosen from ``candidates`` (the roster in post of the chosen area)."""

    held_on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    subject = plain_text_field(_("Subject"), max_length=200)
    hours = forms.DecimalField(
        label=_("Hours"), min_value=Decimal("0.5"), max_value=200, decimal_places=1, max_digits=4
    )
    organiser = plain_text_field(_("Organiser"), max_length=200)
    certificate = forms.FileField(
        label=_("Certificate or attendance sheet"),
        required=False,
        help_text=_("JPG, PNG or PDF, at most 10 MB."),
    )
    attendees = forms.MultipleChoiceField(
        label=_("Who attended"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, candidates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].choices = [(p.username, p.display_name) for p in candidates]


class CertificateForm(forms.Form):
    certificate = forms.FileField(
        label=_("Certificate or attendance sheet"), help_text=_("JPG, PNG or PDF, at most 10 MB.")
    )
