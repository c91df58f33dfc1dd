from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("Visits")

    def ready(self) -> None:
        from accounts import extensions as home
        from children import extensions

        from . import panels

        extensions.register_page_context(panels.child_page)
        extensions.register_timeline_source(panels.child_timeline)
        home.register_home_panels(panels.home_panels)
