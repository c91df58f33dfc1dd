"""Forms for the auth pages."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from core.forms import phone_field


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
