from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Mandatory reports")

    def ready(self) -> None:
        from . import panels

        # What this app adds to the pages of the floors below (accounts/children extensions).
        panels.register()
