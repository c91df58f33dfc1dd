from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "benefits"
    verbose_name = _("Benefits")

    def ready(self) -> None:
        from . import panels

        # What this app adds to the pages of the floors below (accounts/children extensions).
        panels.register()
