"""Benchmarks: `make bench` runs them at province scale (pytest -s benchmarks/) on a fresh test
database; `make test` runs them at a tiny scale (the defaults), so that one that breaks fails CI."""

from tests.conftest import *  # noqa: F403 — the same users and areas as the test suite
