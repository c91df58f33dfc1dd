"""The patrol quarters (督导巡查)."""

from datetime import date

from visits import rules


def test_quarters():
    assert rules.quarter_of(date(2026, 11, 23)) == (2026, 4)
    assert rules.quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert rules.quarter_bounds(2026, 1) == (date(2026, 1, 1), date(2026, 3, 31))
