from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Mandatory reports")

    def ready(self) -> None:
        from accounts import extensions

        from . import panels

        extensions.register_home_panels(panels.home_panels)
