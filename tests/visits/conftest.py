from datetime import date

import pytest
import time_machine

from ..factories import make_child


@pytest.fixture
def frozen():
    """Freeze time at 2026-11-23 10:00 in Asia/Shanghai; returns the traveller to move it."""
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False) as traveller:
        yield traveller


@pytest.fixture
def child(frozen, director_a):
    return make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
