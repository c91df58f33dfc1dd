from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Areas and staff")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        # Django announces failed sign-ins only through this signal; the receiver just records.
        user_login_failed.connect(_record_login_failure, dispatch_uid="audit_login_failed")


def _record_login_failure(sender, credentials: dict, request=None, **kwargs) -> None:
    from .services import audit_login_failed

    audit_login_failed(username=str(credentials.get("username", "")), request=request)
