"""seed_demo — idempotent demo data for the demo county (泾县). Each app has its part in demo/."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo import accounts, benefits, children, dashboards, network, reporting, visits

# Order matters: areas and staff first, then what hangs off them. Benefits follow the visits: their
# history is dated after the registration dates the visit demo gives the files. The network's
# (issue 21: referrals, intake, verification, spot check, out-of-school list) refers the reports'
# children and marks some pupils out of school, so it follows them. The dashboards' counts are
# taken once everything is in.
DEMO_STEPS = [
    accounts.seed,
    children.seed,
    visits.seed,
    reporting.seed,
    benefits.seed,
    network.seed,
    dashboards.seed,
]


class Command(BaseCommand):
    help = "Load idempotent demo data (areas, staff, …) for the demo county"

    def handle(self, *args, **options) -> None:
        if settings.SETTINGS_MODULE.endswith(".production"):
            raise CommandError("seed_demo creates logins with the published demo password")
        for step in DEMO_STEPS:
            step(stdout=self.stdout)
