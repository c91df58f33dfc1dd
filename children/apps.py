from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChildrenConfig(AppConfig):
    name = "children"
    verbose_name = _("Child files")

    def ready(self) -> None:
        from accounts import extensions

        from . import panels

        extensions.register_home_notices(panels.home_transfers)
        extensions.register_home_panels(panels.home_children)
