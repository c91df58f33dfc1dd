"""Benchmarks run with `make bench` (pytest -s benchmarks/), on a fresh test database."""

from tests.conftest import *  # noqa: F403 — the same users and areas as the test suite
