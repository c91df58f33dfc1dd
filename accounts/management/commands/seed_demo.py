"""seed_demo — idempotent demo data for the demo county (泾县). Each app adds its part."""

from importlib import import_module

from django.core.management.base import BaseCommand

# Order matters: areas and staff first, then what hangs off them.
DEMO_MODULES = ["accounts.demo", "children.demo", "visits.demo", "reporting.demo"]


class Command(BaseCommand):
    help = "Load idempotent demo data (areas, staff, …) for the demo county"

    def handle(self, *args, **options) -> None:
        for module_name in DEMO_MODULES:
            import_module(module_name).seed(stdout=self.stdout)
