"""Benchmarks: `make bench` runs them at province scale (pytest -s benchmarks/) on a fresh test
database; `make test` runs them at a tiny scale (the defaults), so that one that breaks fails CI."""

import pytest

from tests.conftest import *  # noqa: F403 — the same users and areas as the test suite


@pytest.fixture(autouse=True)
def _compiled_queries_as_in_production(settings):
    """The test settings compile every kept statement again to check it (core.compiled);
    production does not, and the benchmarks measure production."""
    settings.COMPILED_QUERIES_CHECK = False
