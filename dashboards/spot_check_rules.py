"""Pure rules of the yearly spot check of files (抽查, domain §10): the draw from a seed, the
sample size, the strata, the digest of the population and the state of a correction. No ORM.

The draw, in full, so that anyone holding the population list and the seed can redo it:

1. The population is a list of (child id, stratum) pairs; the ids are the files' UUIDs in their
   canonical text form (36 lower-case characters). Sort the pairs by id.
2. Allocate the sample size to the strata in proportion to their sizes, by largest remainder:
   stratum ``s`` of ``n_s`` files out of ``N`` gets ``floor(size × n_s / N)``; the files left
   over go one each to the strata with the largest remainders ``size × n_s mod N``, ties to the
   stratum whose name sorts first.
3. One generator, ``random.Random(seed)`` (``seed`` a non-negative integer), serves every
   stratum in the order of their names. In each stratum, the ids in order, the first ``k``
   places of a Fisher–Yates shuffle are drawn: for ``i`` from 0 to ``k − 1``, swap place ``i``
   with place ``i + floor(random() × (n − i))``. The first ``k`` ids are the stratum's sample.

Only ``random()`` is used: Python guarantees that it gives the same sequence for the same integer
seed in every version (the other methods of ``random`` may change between versions).

The population's digest is the SHA-256 (hex) of the lines ``<id>\\t<stratum>\\n``, in id order:
the same list gives the same digest, so the population kept with a check can be shown to be the
one it was drawn from.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from children.rules import DIFFICULTY_CATEGORIES

# Strata: none, the child's township, the child's category group, or both.
STRATA_NONE = "none"
STRATA_TOWNSHIP = "township"
STRATA_CATEGORY = "category"
STRATA_BOTH = "township_category"
STRATA = (STRATA_NONE, STRATA_TOWNSHIP, STRATA_CATEGORY, STRATA_BOTH)

# Category groups: 困境儿童 (any subtype) first, then 留守儿童, then every other open file.
IN_DIFFICULTY = "in_difficulty"
LEFT_BEHIND = "left_behind"
OTHER = "other"
CATEGORY_GROUPS = (IN_DIFFICULTY, LEFT_BEHIND, OTHER)

# The sample's size: a number of files, or a percentage of the population (rounded up).
SIZE_CHILDREN = "children"
SIZE_PERCENT = "percent"
SIZE_UNITS = (SIZE_CHILDREN, SIZE_PERCENT)
# A sample larger than this is refused: nobody checks more files by hand in a year.
MAX_SAMPLE = 20_000
# Seeds are integers 0 … 2**63 − 1 (a PostgreSQL bigint, and exact in any language).
MAX_SEED = 2**63 - 1

# Findings: yes, no, not applicable; "" not checked yet.
YES, NO, NOT_APPLICABLE = "yes", "no", "na"
ANSWERS = (YES, NO, NOT_APPLICABLE)
FINDINGS = ("file_complete", "visits_real", "benefits_right")

# A correction reminds from this many days before its due date until it is done.
CORRECTION_REMINDER_DAYS = 7

# A correction's states.
OPEN, OVERDUE, DONE, CONFIRMED = "open", "overdue", "done", "confirmed"


def category_group(categories: Iterable[str]) -> str:
    """The child's category group: in difficulty when any 困境 subtype holds (whatever else),
    else left-behind, else other (single-parent only, or no category)."""
    held = set(categories)
    if held.intersection(DIFFICULTY_CATEGORIES):
        return IN_DIFFICULTY
    if LEFT_BEHIND in held:
        return LEFT_BEHIND
    return OTHER


def township_of(village_code: str) -> str:
    """The township code above a village (a town of a city without counties too)."""
    return village_code[:9] + "000"


def stratum(strata: str, *, village_code: str, categories: Iterable[str]) -> str:
    """The stratum of one file: "" with no strata, else the township code, the category group,
    or both as ``<township>/<group>``."""
    if strata == STRATA_NONE:
        return ""
    if strata == STRATA_TOWNSHIP:
        return township_of(village_code)
    if strata == STRATA_CATEGORY:
        return category_group(categories)
    if strata == STRATA_BOTH:
        return f"{township_of(village_code)}/{category_group(categories)}"
    raise ValueError(f"unknown strata {strata!r}")


def sample_size(*, population: int, value: int, unit: str) -> int:
    """How many files to draw: ``value`` files, or ``value`` per cent of the population
    rounded up; never more than the population."""
    if unit == SIZE_PERCENT:
        wanted = math.ceil(population * value / 100)
    elif unit == SIZE_CHILDREN:
        wanted = value
    else:
        raise ValueError(f"unknown size unit {unit!r}")
    return max(0, min(wanted, population))


def allocate(sizes: dict[str, int], size: int) -> dict[str, int]:
    """Proportional allocation of ``size`` to strata of ``sizes`` by largest remainder (exact
    integer arithmetic; ties go to the stratum whose name sorts first). ``size`` above the
    total is the total: every file is drawn."""
    total = sum(sizes.values())
    size = max(0, min(size, total))
    if total == 0:
        return dict.fromkeys(sizes, 0)
    shares = {name: size * n // total for name, n in sizes.items()}
    left = size - sum(shares.values())
    by_remainder = sorted(sizes, key=lambda name: (-(size * sizes[name] % total), name))
    for name in by_remainder[:left]:
        shares[name] += 1
    return shares


def draw(*, seed: int, population: Iterable[tuple[str, str]], size: int) -> list[tuple[str, str]]:
    """The sample: ``size`` (id, stratum) pairs of ``population`` drawn with ``seed`` as the
    module's docstring says, grouped by stratum in name order, each in the order drawn."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError("seed out of range")
    groups: dict[str, list[str]] = {}
    for child_id, name in sorted(population):
        groups.setdefault(name, []).append(child_id)
    shares = allocate({name: len(ids) for name, ids in groups.items()}, size)
    generator = random.Random(seed)
    sample: list[tuple[str, str]] = []
    for name in sorted(groups):
        ids, wanted = groups[name], shares[name]
        n = len(ids)
        for i in range(wanted):
            j = i + int(generator.random() * (n - i))
            ids[i], ids[j] = ids[j], ids[i]
        sample.extend((child_id, name) for child_id in ids[:wanted])
    return sample


def population_text(population: Iterable[tuple[str, str]]) -> str:
    """The population's lines ``<id>\\t<stratum>\\n`` in id order: what its digest is taken of,
    and what a check keeps of its population."""
    return "".join(f"{child_id}\t{name}\n" for child_id, name in sorted(population))


def parse_population(text: str) -> list[tuple[str, str]]:
    """``population_text`` read back into (id, stratum) pairs."""
    pairs = []
    for line in text.split("\n"):
        if line:
            child_id, _tab, name = line.partition("\t")
            pairs.append((child_id, name))
    return pairs


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def population_digest(population: Iterable[tuple[str, str]]) -> str:
    """SHA-256 (hex) of the population's lines ``<id>\\t<stratum>\\n`` in id order."""
    return text_digest(population_text(population))


def strata_sizes(population: Iterable[tuple[str, str]]) -> dict[str, int]:
    """The number of files in each stratum, in name order."""
    return dict(sorted(Counter(name for _child_id, name in population).items()))


def same_sample(drawn: Sequence[tuple[str, str]], recorded: Iterable[tuple[str, str]]) -> bool:
    """Whether a redraw gives exactly the recorded sample (the same files in the same strata)."""
    return sorted(drawn) == sorted(recorded)


def correction_state(*, due_on: date, corrected: bool, confirmed: bool, today: date) -> str:
    """open, overdue (past its due date and not done), done (marked done by the village),
    confirmed (civil affairs accepted the correction)."""
    if confirmed:
        return CONFIRMED
    if corrected:
        return DONE
    return OVERDUE if due_on < today else OPEN


def correction_reminded(*, due_on: date, corrected: bool, today: date) -> bool:
    """Whether the correction's reminder is open: from CORRECTION_REMINDER_DAYS before its due
    date (a missed day caught up: ``<=``) until it is marked done."""
    return not corrected and due_on - timedelta(days=CORRECTION_REMINDER_DAYS) <= today
