"""seed_scale writes children, families and visits with COPY, column by column: a new column of
children_child without a database default breaks it (found when re-open added reopen_reason).
A tiny run here keeps the benchmarks' data builder working on every change."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from children.models import Child


@pytest.mark.django_db(transaction=True)
def test_seed_scale_builds_a_tiny_province():
    call_command("seed_scale", "--children", "60", "--visits-per-child", "1", stdout=io.StringIO())
    assert Child.objects.count() >= 60
    assert not Child.objects.exclude(reopen_reason="").exists()
