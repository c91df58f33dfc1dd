"""Hypothesis profiles shared by tests/property and tests/fuzz.

``HYPOTHESIS_PROFILE=drills`` (``make drills``) runs many more examples; the default keeps
``make test`` fast. Both conftests call ``load()`` so either directory can run on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

DRILLS = "drills"
# var/ is git-ignored: failing examples are replayed locally without polluting the tree.
_DATABASE = DirectoryBasedExampleDatabase(
    Path(__file__).resolve().parents[1] / "var" / "hypothesis"
)

# How many times more examples a drill runs than an ordinary test run.
DRILL_FACTOR = 20


ORDINARY = "shouwang"


def active() -> str:
    return DRILLS if os.environ.get("HYPOTHESIS_PROFILE") == DRILLS else ORDINARY


def scaled(examples: int) -> int:
    """``examples`` in an ordinary run, DRILL_FACTOR times as many in a drill."""
    return examples * DRILL_FACTOR if active() == DRILLS else examples


def load() -> None:
    common = {
        # Other suites share the machine; wall-clock deadlines would only make the tests flaky.
        "deadline": None,
        "database": _DATABASE,
        "suppress_health_check": [HealthCheck.too_slow],
    }
    if os.environ.get("CI"):
        # In CI the same examples every run (a red build can be replayed), and nothing to keep.
        common.update(database=None, derandomize=True)
    settings.register_profile(ORDINARY, max_examples=100, **common)
    settings.register_profile(DRILLS, max_examples=100 * DRILL_FACTOR, **common)
    settings.load_profile(active())
