"""Benchmarks: `make bench` runs them at province scale (pytest -s benchmarks/) on a fresh test
database; `make test` runs them at a tiny scale (the defaults), so that one that breaks fails CI."""

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import *  # noqa: F403 — the same users and areas as the test suite


@pytest.fixture(autouse=True)
def _compiled_queries_as_in_production(settings):
    """The test settings compile every kept statement again to check it (core.compiled);
    production does not, and the benchmarks measure production."""
    settings.COMPILED_QUERIES_CHECK = False


def timed_get(client, url: str, runs: int) -> tuple[float, float, int, int]:
    """(median and worst seconds, queries, bytes) of ``runs`` GETs of ``url`` after one to warm
    the session and the plans; each must answer 200."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _run in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings), max(timings), len(queries), len(response.content)
