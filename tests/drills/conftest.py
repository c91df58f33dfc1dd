"""Fixtures of the fault drills (``@pytest.mark.drill``, run by ``make drills`` only).

``drill_services``: one private PostgreSQL + Redis for the session (var/drills/run-<pid>), with the
demo county migrated and seeded once; stopped and deleted at the end, whatever happened.
``drill_stack``: per drill, a fresh copy of that database and an empty Redis; every process the
drill started is stopped afterwards.
"""

from __future__ import annotations

import pytest

from . import harness


@pytest.fixture(scope="session")
def drill_services():
    for name in harness.Services.reap_stale():
        harness.log(f"stopped and deleted var/drills/{name} left by an interrupted run")
    services = harness.Services()
    try:
        services.start()
        harness.log(f"private PostgreSQL + Redis under {services.dir}")
        services.prepare_template()
        yield services
    finally:
        services.close()


@pytest.fixture
def drill_stack(drill_services, request):
    name = request.node.name.removeprefix("test_")[:40]
    with harness.drill_stack(drill_services, name) as stack:
        yield stack
