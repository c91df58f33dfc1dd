from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = _("Reminders")

    def ready(self) -> None:
        from accounts import extensions

        from . import panels, services

        # Work recorded on a child or a report raises and resolves its reminders at once.
        extensions.register_case_changed(services.reminders_refresh)
        # The open reminders on a person's first page.
        extensions.register_home_panels(panels.home_panels)
