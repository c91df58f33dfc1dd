from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "benefits"
    verbose_name = _("Benefits")

    def ready(self) -> None:
        # The child's page shows its benefits, but children may not import benefits: benefits
        # hands children its part of the page and of the timeline (children/extensions.py).
        from accounts import extensions as home
        from children import extensions

        from . import panels, selectors

        extensions.register_page_context(selectors.child_page_context)
        extensions.register_timeline_source(selectors.child_timeline_entries)
        home.register_home_panels(panels.home_panels)
