from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo county, its commands (seed_demo, totp_code) and seed_scale's synthetic province.

    Installed by the local, test and load-test settings only: production has none of it. The top
    floor of the house (tests/config/test_floors.py): it may import every app, none imports it.
    """

    name = "demo"
    verbose_name = _("Demo data")
