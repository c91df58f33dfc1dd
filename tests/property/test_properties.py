"""Property tests of the pure rules: ID numbers (domain §9), area codes (§1), visit schedule (§3).

Example counts are modest in an ordinary run; ``HYPOTHESIS_PROFILE=drills`` multiplies them.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from accounts import rules as area_rules
from accounts.rules import AreaCodeError
from children import idcard
from children import schedule as visit_rules
from children.idcard import IdNumberError

from ..hypothesis_profiles import scaled

# --- ID numbers (GB 11643) ------------------------------------------------------------------------

# ISO 7064 MOD 11-2 from first principles rather than the module's tables: weight of position i
# (1-based, 18 positions) is 2^(18-i) mod 11 and the check digit makes the weighted sum ≡ 1 mod 11.
_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def reference_check_digit(first17: str) -> str:
    value = (12 - sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


def test_reference_weights_are_the_published_ones():
    # A guard on the test itself: the derived weights are those printed in domain.md §9.
    assert _WEIGHTS == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
area_prefixes = st.from_regex(r"[0-9]{6}", fullmatch=True)
genders = st.sampled_from(["male", "female"])


@st.composite
def id_numbers(draw, *, birth=birth_dates, gender=genders):
    """(number, birth date, gender) with the check digit computed independently."""
    born = draw(birth)
    sex = draw(gender)
    sequence = draw(st.integers(0, 99)) * 10 + draw(
        st.sampled_from([1, 3, 5, 7, 9] if sex == "male" else [0, 2, 4, 6, 8])
    )
    first17 = f"{draw(area_prefixes)}{born:%Y%m%d}{sequence:03d}"
    return first17 + reference_check_digit(first17), born, sex


@settings(max_examples=scaled(200))
@given(id_numbers())
def test_generated_numbers_are_accepted_and_parsed_back(generated):
    number, born, sex = generated
    parsed = idcard.parse(number)
    assert (parsed.value, parsed.birth_date, parsed.gender) == (number, born, sex)
    assert idcard.validate_against(number, birth_date=born, gender=sex) == parsed


@settings(max_examples=scaled(100))
@given(id_numbers(), st.data())
def test_a_different_birth_date_or_gender_on_the_file_is_refused(generated, data):
    number, born, sex = generated
    other_day = data.draw(birth_dates.filter(lambda d: d != born))
    with pytest.raises(IdNumberError):
        idcard.validate_against(number, birth_date=other_day, gender=sex)
    other_sex = "female" if sex == "male" else "male"
    with pytest.raises(IdNumberError):
        idcard.validate_against(number, birth_date=born, gender=other_sex)


@settings(max_examples=scaled(200))
@given(id_numbers(), st.integers(0, 17), st.data())
def test_any_single_character_change_is_rejected(generated, position, data):
    number = generated[0]
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != number[position]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdNumberError):
        idcard.parse(changed)


@settings(max_examples=scaled(200))
@given(id_numbers(), st.integers(0, 16))
def test_any_transposition_of_adjacent_different_digits_is_rejected(generated, position):
    number = generated[0]
    a, b = number[position], number[position + 1]
    assume(a != b and b != "X")
    swapped = number[:position] + b + a + number[position + 2 :]
    with pytest.raises(IdNumberError):
        idcard.parse(swapped)


@st.composite
def numbers_ending_in_x(draw):
    """A valid number whose check digit is X: search the sequence numbers of a drawn prefix."""
    head = f"{draw(area_prefixes)}{draw(birth_dates):%Y%m%d}"
    for sequence in range(draw(st.integers(0, 999)), 2000):
        first17 = f"{head}{sequence % 1000:03d}"
        if reference_check_digit(first17) == "X":
            return first17 + "X"
    raise AssertionError("every 10 consecutive sequences include one ending in X")  # unreachable


@settings(max_examples=scaled(100))
@given(numbers_ending_in_x())
def test_lower_case_x_is_accepted_and_normalised(number):
    assert idcard.parse(number.lower()).value == number == idcard.parse(number).value


@settings(max_examples=scaled(100))
@given(st.from_regex(r"[0-9]{0,30}", fullmatch=True).filter(lambda s: len(s) != 18))
def test_wrong_lengths_are_rejected(raw):
    with pytest.raises(IdNumberError):
        idcard.parse(raw)


@settings(max_examples=scaled(200))
@given(
    id_numbers(),
    st.integers(0, 16),
    # Any character that is not an ASCII digit: letters, punctuation, NUL, and the other Unicode
    # digits (full-width ３, Arabic-Indic ٣, superscript ²) that str.isdigit() would let through.
    st.characters(codec="utf-8").filter(lambda c: c not in "0123456789" and not c.isspace()),
)
@example(("34182320100101123X", date(2010, 1, 1), "male"), 0, "\x00")
@example(("341823201001011234", date(2010, 1, 1), "male"), 0, "３")
@example(("341823201001011234", date(2010, 1, 1), "male"), 3, "²")
def test_a_non_digit_among_the_first_17_is_rejected_with_the_modules_error(
    generated, position, character
):
    number = generated[0]
    with pytest.raises(IdNumberError):
        idcard.parse(number[:position] + character + number[position + 1 :])


@settings(max_examples=scaled(100))
@given(st.text(max_size=40))
def test_arbitrary_text_is_either_valid_or_the_modules_error(raw):
    try:
        parsed = idcard.parse(raw)
    except IdNumberError:
        return
    # Whatever is accepted is an ASCII number with a correct check digit.
    assert parsed.value.isascii() and len(parsed.value) == 18
    assert reference_check_digit(parsed.value[:17]) == parsed.value[17]


@settings(max_examples=scaled(200))
@given(st.one_of(st.builds(lambda g: g[0], id_numbers()), st.text(min_size=9, max_size=40)))
def test_mask_keeps_the_first_and_last_four_and_hides_the_middle(value):
    masked = idcard.mask(value)
    assert len(masked) == len(value)
    assert masked[:4] == value[:4] and masked[-4:] == value[-4:]
    assert masked[4:-4] == "*" * (len(value) - 8)


@settings(max_examples=scaled(50))
@given(st.text(max_size=8))
def test_mask_of_a_short_value_shows_nothing(value):
    assert idcard.mask(value) == "*" * len(value)


# --- Area codes -----------------------------------------------------------------------------------

_SEGMENT_WIDTHS = (2, 2, 2, 3, 3)


def _segment(width: int):
    """A non-zero segment of ``width`` digits."""
    return st.integers(1, 10**width - 1).map(lambda n: f"{n:0{width}d}")


@st.composite
def area_codes(draw, level: str | None = None):
    """(code, level): a well-formed code whose first ``depth`` segments are non-zero."""
    level = level or draw(st.sampled_from(area_rules.LEVELS))
    depth = area_rules.LEVELS.index(level) + 1
    parts = [
        draw(_segment(width)) if index < depth else "0" * width
        for index, width in enumerate(_SEGMENT_WIDTHS)
    ]
    if depth > 3 and draw(st.booleans()):
        parts[2] = "00"  # a town or village of a city without counties (东莞 4419…)
    return "".join(parts), level


@settings(max_examples=scaled(200))
@given(area_codes())
def test_level_parent_prefix_and_ancestors_agree(generated):
    code, level = generated
    assert area_rules.parse_level(code) == level
    index = area_rules.LEVELS.index(level)
    assert area_rules.prefix(code, level) == code[: area_rules.PREFIX_LENGTH[level]]
    assert set(code[area_rules.PREFIX_LENGTH[level] :]) <= {"0"}

    parent = area_rules.parent_code(code)
    # Every non-zero part above the code's own is one ancestor (a city without counties has no
    # county between its towns and itself).
    above = [code[a:b] for a, b in ((0, 2), (2, 4), (4, 6), (6, 9))][:index]
    if index == 0:
        assert parent is None
    else:
        parent_level = area_rules.parse_level(parent)
        assert area_rules.LEVELS.index(parent_level) < index
        # The child lies in the parent's subtree.
        assert code.startswith(area_rules.prefix(parent, parent_level))

    ancestors = area_rules.ancestor_codes(code)
    assert len(ancestors) == sum(1 for part in above if set(part) != {"0"})
    assert ancestors[:1] == ([parent] if parent else [])
    lengths = []
    for ancestor in ancestors:
        ancestor_level = area_rules.parse_level(ancestor)
        ancestor_prefix = area_rules.prefix(ancestor, ancestor_level)
        assert code.startswith(ancestor_prefix)
        lengths.append(len(ancestor_prefix))
    # Nearest first, each strictly shorter than the one below it and than the code's own prefix.
    assert lengths == sorted(lengths, reverse=True)
    assert len(set(lengths)) == len(lengths)
    assert all(length < len(area_rules.prefix(code, level)) for length in lengths)


@settings(max_examples=scaled(100))
@given(st.from_regex(r"[0-9]{0,20}", fullmatch=True).filter(lambda s: len(s) != 12))
def test_wrong_lengths_are_not_area_codes(raw):
    with pytest.raises(AreaCodeError):
        area_rules.parse_level(raw)


@settings(max_examples=scaled(200))
@given(
    area_codes(),
    st.integers(0, 11),
    st.characters(codec="utf-8").filter(lambda c: c not in "0123456789"),
)
@example(("340000000000", "province"), 0, "３")
def test_a_non_digit_anywhere_is_not_an_area_code(generated, position, character):
    code = generated[0]
    with pytest.raises(AreaCodeError):
        area_rules.parse_level(code[:position] + character + code[position + 1 :])


@pytest.mark.parametrize("suffix", ["\n", " ", "\x00"])
def test_trailing_characters_are_not_an_area_code(suffix):
    # "$" in a regex also matches before a final newline; a code read from a file must not pass.
    with pytest.raises(AreaCodeError):
        area_rules.parse_level("340000000000" + suffix)


@settings(max_examples=scaled(200))
@given(area_codes(), st.data())
def test_a_non_zero_segment_under_a_zero_segment_is_refused(generated, data):
    code, level = generated
    depth = area_rules.LEVELS.index(level) + 1
    # Zero one of the code's non-zero segments, or give the province the 00 it may not have,
    # then put a non-zero segment somewhere below the zeroed one.
    starts = [0, 2, 4, 6, 9, 12]
    zeroed = data.draw(st.integers(0, depth - 1))
    below = data.draw(st.integers(zeroed + 1, 4)) if zeroed < 4 else None
    assume(below is not None)
    parts = [code[starts[i] : starts[i + 1]] for i in range(5)]
    parts[zeroed] = "0" * _SEGMENT_WIDTHS[zeroed]
    if set(parts[below]) == {"0"}:
        parts[below] = data.draw(_segment(_SEGMENT_WIDTHS[below]))
    # The one gap allowed: a zero county between a city and a town (a city without counties).
    nonzero = [set(part) != {"0"} for part in parts]
    assume(nonzero[:2] != [True, True] or nonzero[2] or not nonzero[3])
    with pytest.raises(AreaCodeError):
        area_rules.parse_level("".join(parts))


# --- Visit schedule (domain §3) ------------------------------------------------------------------

_RISKS = ("high", "medium", "low")


@st.composite
def policies(draw):
    """Area settings as an administrator may set them: stricter colours never less often."""
    contact = sorted(draw(st.lists(st.integers(1, 400), min_size=3, max_size=3)))
    home = sorted(draw(st.lists(st.integers(1, 400), min_size=3, max_size=3)))
    policy = {}
    for risk, c, h in zip(_RISKS, contact, home, strict=True):
        policy[f"contact_days_{risk}"] = c
        policy[f"home_days_{risk}"] = h
    policy["never_visited_days"] = draw(st.integers(1, 60))
    return policy


DEFAULT_POLICY = {
    "contact_days_low": 30,
    "home_days_low": 90,
    "contact_days_medium": 30,
    "home_days_medium": 30,
    "contact_days_high": 7,
    "home_days_high": 7,
    "never_visited_days": 14,
}

conditions = st.fixed_dictionaries(
    {
        "child_disabled": st.booleans(),
        "psych_concern": st.booleans(),
        "parent_serious_disability": st.booleans(),
    }
)


@settings(max_examples=scaled(100))
@given(st.one_of(st.just(DEFAULT_POLICY), policies()), conditions)
def test_intervals_are_monotonic_in_risk(policy, flags):
    plans = [visit_rules.intervals(risk_level=r, policy=policy, **flags) for r in _RISKS]
    high, medium, low = plans
    assert high.contact_days <= medium.contact_days <= low.contact_days
    assert high.home_days <= medium.home_days <= low.home_days
    # A special condition makes a low-risk child at least as frequent as a plain low-risk one.
    plain = visit_rules.intervals(
        risk_level="low",
        policy=policy,
        child_disabled=False,
        psych_concern=False,
        parent_serious_disability=False,
    )
    assert low.home_days <= plain.home_days and low.contact_days <= plain.contact_days
    assert all(p.reason for p in plans)


days = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def visit_histories(draw):
    """(registered_on, last_contact_on, last_home_visit_on): a home visit counts as a contact,
    so the last contact is never before the last home visit."""
    registered = draw(days)
    home = draw(st.none() | st.integers(0, 800).map(lambda n: registered + timedelta(days=n)))
    floor = home or registered
    contact = draw(st.none() | st.integers(0, 800).map(lambda n: floor + timedelta(days=n)))
    if home is not None and contact is None:
        contact = home
    return registered, contact, home


@settings(max_examples=scaled(200))
@given(visit_histories(), policies(), st.sampled_from(_RISKS), conditions)
def test_due_dates_never_fall_before_the_last_visit(history, policy, risk, flags):
    registered, last_contact, last_home = history
    plan = visit_rules.intervals(risk_level=risk, policy=policy, **flags)
    contact_due, home_due = visit_rules.due_dates(
        registered_on=registered,
        last_contact_on=last_contact,
        last_home_visit_on=last_home,
        intervals=plan,
        never_visited_days=policy["never_visited_days"],
    )
    if last_home is None:
        assert home_due == registered + timedelta(days=policy["never_visited_days"])
    else:
        assert home_due == last_home + timedelta(days=plan.home_days) > last_home
    # A home visit is a contact, so a contact is due no later than the home visit …
    assert contact_due <= home_due
    if last_contact is not None:
        # … and otherwise rolls from the last contact; only an already-missed home visit
        # can pull it before that contact (a phone call does not replace a home visit).
        assert contact_due > last_contact or contact_due == home_due <= last_contact
        assert contact_due <= last_contact + timedelta(days=plan.contact_days)
    assert contact_due >= min(registered, last_home or registered)


@settings(max_examples=scaled(200))
@given(days, st.none() | days, st.integers(-60, 60))
def test_status_follows_the_due_date_and_today(due, last_home, offset):
    today = due + timedelta(days=offset)
    status = visit_rules.schedule_status(
        next_home_visit_due=due, last_home_visit_on=last_home, today=today
    )
    assert (status == visit_rules.OVERDUE) == (due < today)
    if status == visit_rules.NEVER_VISITED:
        assert last_home is None
    if last_home is None:
        assert status in (visit_rules.OVERDUE, visit_rules.NEVER_VISITED)
    else:
        soon = today <= due <= today + timedelta(days=visit_rules.DUE_SOON_DAYS)
        assert (status == visit_rules.DUE_SOON) == soon
        assert (status == visit_rules.OK) == (due > today + timedelta(days=7))
