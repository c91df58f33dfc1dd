from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("Visits")

    def ready(self) -> None:
        from . import panels

        # What this app adds to the pages of the floors below (accounts/children extensions).
        panels.register()
