"""seed_demo — idempotent demo data for the demo county (泾县). Each app adds its part."""

from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Order matters: areas and staff first, then what hangs off them. Benefits come last: their
# history is dated after the registration dates the visit demo gives the files. The dashboards'
# counts are taken once everything is in.
DEMO_STEPS = [
    ("accounts.demo", "seed"),
    ("children.demo", "seed"),
    ("visits.demo", "seed"),
    ("reporting.demo", "seed"),
    ("benefits.demo", "seed"),
    ("dashboards.demo", "seed"),
]


class Command(BaseCommand):
    help = "Load idempotent demo data (areas, staff, …) for the demo county"

    def handle(self, *args, **options) -> None:
        if settings.SETTINGS_MODULE.endswith(".production"):
            raise CommandError("seed_demo creates logins with the published demo password")
        for module_name, function in DEMO_STEPS:
            getattr(import_module(module_name), function)(stdout=self.stdout)
