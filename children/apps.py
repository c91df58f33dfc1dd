from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChildrenConfig(AppConfig):
    name = "children"
    verbose_name = _("Child files")

    def ready(self) -> None:
        from . import panels

        # What this app adds to the pages of the floors below (accounts/children extensions).
        panels.register()
