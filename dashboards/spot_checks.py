"""The yearly spot check of files (抽查, domain §10, S2): county civil affairs draw a random sample
of an area's open files, record what each file shows (complete, visits real, benefits right)
and the corrections due, which the village's case workers mark done and civil affairs confirm.
The draw is dashboards.spot_check_rules (pure); this module reads (``*_for``) and writes.

Who sees what. A check belongs to its area (county or above). It is read by those holding
Capability.SPOT_CHECK_READ whose area holds the check's area (civil affairs, a viewer), or lies
under it with a sampled file there (a township's supervisor, a village's director): each sees
the sampled files of their own area only — by the village the child lived in at the draw, which
the sample belongs to. Anything else is 404; a role without the capability 403.

The population is every open file (``status = active``, whatever the age or category) of the
area at the moment of the draw; it is kept with the check, so the draw can be verified later.
"""

from __future__ import annotations

import secrets
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import extensions, permissions
from accounts import rules as area_rules
from accounts import selectors as scope
from accounts.models import Area, User
from accounts.permissions import Capability
from accounts.services import audit_refusal
from accounts.validators import validate_plain_text
from core import clock
from core.errors import Conflict

from . import spot_check_rules as rules
from .models import (
    SpotCheck,
    SpotCheckCorrection,
    SpotCheckItem,
    SpotCheckPopulation,
)

NOTE_MAX = 2000
DESCRIPTION_MAX = 300
CORRECTION_NOTE_MAX = 500
# A correction is due within a year of being asked.
CORRECTION_MAX_DAYS = 366
FIRST_YEAR = 2000

# The corrections list's filters (the summary's numbers link to them).
CORRECTION_STATUSES = ("open", "overdue", "done", "to_confirm", "confirmed", "all")
# The sample list's filter on a finding that failed.
FAILED_FILTERS = rules.FINDINGS


# --- Scope --------------------------------------------------------------------------------------


def _prefix(user: User) -> str | None:
    return scope.scope_prefix(user)


def _in_scope_q(prefix: str, field: str) -> Q:
    return scope.prefix_q(prefix, field)


def checks_for_user(*, user: User) -> QuerySet[SpotCheck]:
    """The checks the user may open (no role check): of an area in their subtree, or of an area
    above theirs that sampled a file of their area. Each with the number of sampled files and
    of those checked that the user sees (``sampled``, ``checked``)."""
    prefix = _prefix(user)
    if prefix is None:
        return SpotCheck.objects.none()
    visible_items = _in_scope_q(prefix, "items__village__code")
    checks = SpotCheck.objects.select_related("area", "drawn_by")
    if prefix:
        mine = SpotCheckItem.objects.filter(spot_check=OuterRef("pk")).filter(
            _in_scope_q(prefix, "village__code")
        )
        above = area_rules.ancestor_codes(user.area_id) if user.area_id else []
        checks = checks.filter(
            _in_scope_q(prefix, "area__code") | (Q(area_id__in=above) & Exists(mine))
        )
    return checks.annotate(
        sampled=Count("items", filter=visible_items),
        checked=Count("items", filter=visible_items & Q(items__checked_at__isnull=False)),
    ).order_by("-drawn_at", "pk")


def _found_or_404(queryset: QuerySet, *, user: User, object_type: str, **lookup) -> Any:
    """One row of the user's ``queryset``, or 404; a row that exists elsewhere is a refused
    access, audited in its area (as accounts.selectors does)."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        pass
    try:
        found = queryset.model._base_manager.filter(**lookup).first()
    except (ValueError, ValidationError):
        found = None
    if found is not None:
        area = getattr(found, "area_id", None) or getattr(found, "village_id", "") or ""
        audit_refusal(
            user=user,
            reason="outside_area",
            object_type=object_type,
            object_id=str(found.pk),
            area_code=area,
        )
    raise Http404


def check_for_user_or_404(
    *, user: User, check_id: Any, capability: Capability = Capability.SPOT_CHECK_READ
) -> SpotCheck:
    """404 unless the user may open the check, then 403 without ``capability``."""
    spot_check = _found_or_404(
        checks_for_user(user=user), user=user, object_type="spotcheck", pk=check_id
    )
    permissions.require(user, capability)
    return spot_check


def runs_whole_check(user: User, spot_check: SpotCheck) -> bool:
    """Whether the user runs the check over its whole area (civil affairs of that area or
    above): the population list is theirs; a director or a supervisor under a county's check
    sees their own files only."""
    return permissions.can(user, Capability.SPOT_CHECK_RUN) and scope.code_in_scope(
        user, spot_check.area_id
    )


def require_whole_check(user: User, spot_check: SpotCheck) -> None:
    if not runs_whole_check(user, spot_check):
        raise PermissionDenied


def _subtree_q(code: str, field: str) -> Q | None:
    """Q for ``field`` in the subtree of ``code``; None for anything that is not an area code."""
    try:
        return scope.subtree_q(code, field)
    except area_rules.AreaCodeError:
        return None


# The file's encrypted columns, which lists do not show: not read (nor decrypted) for them.
_CHILD_NOT_SHOWN = ("child__id_number_encrypted", "child__notes", "child__psych_note")


def items_for(
    *,
    user: User,
    spot_check: SpotCheck,
    township: str = "",
    checked: str = "",
    failed: str = "",
) -> QuerySet[SpotCheckItem]:
    """The sampled files of the check that the user sees, by village and name, each with its
    child, village and township, and its open corrections (``open_corrections``). Filters:
    ``township`` (a code), ``checked`` ("yes"/"no"), ``failed`` (a finding answered "no")."""
    prefix = _prefix(user)
    if prefix is None:
        return SpotCheckItem.objects.none()
    items = (
        SpotCheckItem.objects.filter(spot_check=spot_check)
        .filter(_in_scope_q(prefix, "village__code"))
        .select_related("child", "village", "village__parent", "checked_by")
        .defer(*_CHILD_NOT_SHOWN)
        .annotate(
            open_corrections=Count("corrections", filter=Q(corrections__corrected_at__isnull=True))
        )
        .order_by("village_id", "child__name", "pk")
    )
    if township and (within := _subtree_q(township, "village__code")) is not None:
        items = items.filter(within)
    if checked == "yes":
        items = items.filter(checked_at__isnull=False)
    elif checked == "no":
        items = items.filter(checked_at__isnull=True)
    if failed in FAILED_FILTERS:
        items = items.filter(**{failed: rules.NO})
    return items


def item_for_user_or_404(
    *,
    user: User,
    check_id: Any,
    item_id: Any,
    capability: Capability = Capability.SPOT_CHECK_READ,
) -> SpotCheckItem:
    """One sampled file of the user's area (404 otherwise), then 403 without ``capability``."""
    prefix = _prefix(user)
    items = SpotCheckItem.objects.none()
    if prefix is not None:
        items = SpotCheckItem.objects.filter(_in_scope_q(prefix, "village__code")).select_related(
            "spot_check__area", "spot_check__drawn_by", "child", "village__parent", "checked_by"
        )
    item = _found_or_404(
        items, user=user, object_type="spotcheckitem", pk=item_id, spot_check_id=check_id
    )
    permissions.require(user, capability)
    return item


def corrections_of(item: SpotCheckItem) -> list[SpotCheckCorrection]:
    return list(
        item.corrections.select_related("created_by", "corrected_by", "confirmed_by").order_by(
            "due_on", "created_at"
        )
    )


def corrections_for(
    *,
    user: User,
    check_id: Any = None,
    township: str = "",
    status: str = "open",
    today: date | None = None,
) -> QuerySet[SpotCheckCorrection]:
    """The corrections of the files of the user's area (a director: their village's), the
    soonest due first, with their file, check and who did what; ``status`` one of
    CORRECTION_STATUSES."""
    prefix = _prefix(user)
    if prefix is None:
        return SpotCheckCorrection.objects.none()
    today = today or clock.today()
    corrections = (
        SpotCheckCorrection.objects.filter(_in_scope_q(prefix, "item__village__code"))
        .select_related(
            "item__child",
            "item__village__parent",
            "item__spot_check__area",
            "corrected_by",
            "confirmed_by",
        )
        .defer(*(f"item__{name}" for name in _CHILD_NOT_SHOWN), "item__note")
        .order_by("due_on", "created_at", "pk")
    )
    if check_id:
        try:
            corrections = corrections.filter(item__spot_check_id=uuid.UUID(str(check_id)))
        except ValueError:
            return corrections.none()
    if township and (within := _subtree_q(township, "item__village__code")) is not None:
        corrections = corrections.filter(within)
    open_ = Q(corrected_at__isnull=True)
    conditions = {
        "open": open_,
        "overdue": open_ & Q(due_on__lt=today),
        "done": Q(corrected_at__isnull=False),
        "to_confirm": Q(corrected_at__isnull=False, confirmed_at__isnull=True),
        "confirmed": Q(confirmed_at__isnull=False),
    }
    if status in conditions:
        corrections = corrections.filter(conditions[status])
    return corrections


def correction_for_user_or_404(
    *, user: User, correction_id: Any, capability: Capability = Capability.SPOT_CHECK_READ
) -> SpotCheckCorrection:
    """One correction of a file of the user's area (404 otherwise), then 403 without
    ``capability``."""
    prefix = _prefix(user)
    corrections = SpotCheckCorrection.objects.none()
    if prefix is not None:
        corrections = SpotCheckCorrection.objects.filter(
            _in_scope_q(prefix, "item__village__code")
        ).select_related("item__child", "item__village", "item__spot_check")
    try:
        correction = corrections.get(pk=correction_id)
    except (SpotCheckCorrection.DoesNotExist, ValueError, ValidationError):
        elsewhere = None
        if is_uuid(correction_id):
            elsewhere = (
                SpotCheckCorrection.objects.filter(pk=correction_id)
                .values_list("pk", "item__village_id")
                .first()
            )
        if elsewhere is not None:
            audit_refusal(
                user=user,
                reason="outside_area",
                object_type="spotcheckcorrection",
                object_id=str(elsewhere[0]),
                area_code=elsewhere[1],
            )
        raise Http404 from None
    permissions.require(user, capability)
    return correction


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def areas_to_draw_for(user: User) -> QuerySet[Area]:
    """The areas whose files the user may draw from: county level or above, in their subtree."""
    return (
        scope.areas_for_user(user=user).filter(level__in=area_rules.COUNTY_LEVELS).order_by("code")
    )


# --- The summary per township (one query) ------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    township: str  # the township code; "" for the total
    name: str
    sampled: int
    checked: int
    file_incomplete: int
    visits_not_real: int
    benefits_wrong: int
    corrections_open: int
    corrections_overdue: int
    corrections_done: int

    @property
    def is_total(self) -> bool:
        return self.township == ""


_SUMMARY_SQL = """
    SELECT s.township, coalesce(t.name, ''), s.sampled, s.checked, s.file_incomplete,
           s.visits_not_real, s.benefits_wrong, s.open, s.overdue, s.done
    FROM (
        SELECT left(i.village_id, 9) || '000' AS township,
               count(*) AS sampled,
               count(*) FILTER (WHERE i.checked_at IS NOT NULL) AS checked,
               count(*) FILTER (WHERE i.file_complete = 'no') AS file_incomplete,
               count(*) FILTER (WHERE i.visits_real = 'no') AS visits_not_real,
               count(*) FILTER (WHERE i.benefits_right = 'no') AS benefits_wrong,
               coalesce(sum(c.open), 0)::int AS open,
               coalesce(sum(c.overdue), 0)::int AS overdue,
               coalesce(sum(c.done), 0)::int AS done
        FROM dashboards_spotcheckitem i
        LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE x.corrected_at IS NULL) AS open,
                   count(*) FILTER (WHERE x.corrected_at IS NULL AND x.due_on < %(today)s)
                       AS overdue,
                   count(*) FILTER (WHERE x.corrected_at IS NOT NULL) AS done
            FROM dashboards_spotcheckcorrection x WHERE x.item_id = i.id
        ) c ON TRUE
        WHERE i.spot_check_id = %(check)s AND i.village_id BETWEEN %(low)s AND %(high)s
        GROUP BY ROLLUP (left(i.village_id, 9) || '000')
    ) s
    LEFT JOIN accounts_area t ON t.code = s.township
    ORDER BY s.township NULLS LAST
"""


def summary_for(
    *, user: User, spot_check: SpotCheck, today: date | None = None
) -> list[SummaryRow]:
    """Per township of the user's part of the check: files sampled and checked, each finding's
    failures, corrections open, overdue and done; the total last (``township`` ""). One query,
    aggregated in SQL, whatever the size of the sample."""
    prefix = _prefix(user)
    if prefix is None:
        return []
    low, high = scope.prefix_range(prefix) or ("000000000000", "999999999999")
    params = {
        "check": spot_check.pk,
        "low": low,
        "high": high,
        "today": today or clock.today(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_SUMMARY_SQL, params)
        rows = cursor.fetchall()
    return [SummaryRow(row[0] or "", *row[1:]) for row in rows]


# --- Verifying a draw --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    population_count: int
    digest_matches: bool  # the population kept is the one whose digest was recorded
    size_matches: bool  # the size drawn follows from the size asked and the population
    sample_matches: bool  # drawing again from the seed gives exactly the recorded sample
    redrawn: int

    @property
    def verified(self) -> bool:
        return self.digest_matches and self.size_matches and self.sample_matches


def population_text(spot_check: SpotCheck) -> str:
    """The population the check was drawn from, as its lines (spot_check_rules)."""
    kept = SpotCheckPopulation.objects.get(spot_check=spot_check)
    return zlib.decompress(bytes(kept.lines)).decode()


def spot_check_verify(*, spot_check: SpotCheck) -> Verification:
    """Draw the check again from its seed and the population kept with it, and compare: the
    population's digest, the size, the sample (every file, whoever asks: only the answers are
    shown)."""
    text = population_text(spot_check)
    population = rules.parse_population(text)
    size = rules.sample_size(
        population=len(population), value=spot_check.size_value, unit=spot_check.size_unit
    )
    redrawn = rules.draw(seed=spot_check.seed, population=population, size=size)
    recorded = [
        (str(child_id), name)
        for child_id, name in SpotCheckItem.objects.filter(spot_check=spot_check).values_list(
            "drawn_id", "stratum"
        )
    ]
    return Verification(
        population_count=len(population),
        digest_matches=rules.text_digest(text) == spot_check.population_digest
        and len(population) == spot_check.population_count,
        size_matches=size == spot_check.sample_size,
        sample_matches=rules.same_sample(redrawn, recorded),
        redrawn=len(redrawn),
    )


def allocation_of(spot_check: SpotCheck) -> list[tuple[str, int, int]]:
    """(stratum's label, files, drawn) per stratum, in name order, from the sizes recorded."""
    sizes = {name: int(n) for name, n in (spot_check.strata_sizes or {}).items()}
    shares = rules.allocate(sizes, spot_check.sample_size)
    labels = stratum_labels(sizes)
    return [(labels[name], sizes[name], shares[name]) for name in sorted(sizes)]


CATEGORY_GROUP_LABELS = {
    rules.IN_DIFFICULTY: gettext_lazy("In difficulty"),
    rules.LEFT_BEHIND: gettext_lazy("Left-behind"),
    rules.OTHER: gettext_lazy("Other files"),
}


def stratum_labels(keys: Iterable[str]) -> dict[str, str]:
    """Each stratum as the reader says it: the township's name, the category group, or both
    (one query for the names)."""
    keys = list(dict.fromkeys(keys))
    codes = {key.partition("/")[0] for key in keys if key[:1].isdigit()}
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}

    def said(part: str) -> str:
        if part[:1].isdigit():
            return names.get(part, part)
        return str(CATEGORY_GROUP_LABELS.get(part, part))

    return {key: " · ".join(said(part) for part in key.split("/") if part) for key in keys}


# --- Writes ------------------------------------------------------------------------------------


def _require_item_in_scope(user: User, item: SpotCheckItem) -> None:
    """A write on a file outside the user's area is refused, whoever called (the selectors
    already answered 404 to pages and the API)."""
    if not scope.code_in_scope(user, item.village_id):
        raise PermissionDenied


def _population_sql(strata: str) -> str:
    """SELECT (id, stratum) of every open file of the area between %(low)s and %(high)s:
    spot_check_rules.stratum in SQL (tested to agree)."""
    township = "left(c.village_id, 9) || '000'"
    difficulty = ", ".join(f"'{name}'" for name in rules.DIFFICULTY_CATEGORIES)
    group = (
        f"CASE WHEN c.categories && ARRAY[{difficulty}]::varchar[] THEN '{rules.IN_DIFFICULTY}'"
        f" WHEN '{rules.LEFT_BEHIND}' = ANY(c.categories) THEN '{rules.LEFT_BEHIND}'"
        f" ELSE '{rules.OTHER}' END"
    )
    stratum = {
        rules.STRATA_NONE: "''",
        rules.STRATA_TOWNSHIP: township,
        rules.STRATA_CATEGORY: group,
        rules.STRATA_BOTH: f"{township} || '/' || {group}",
    }[strata]
    return f"""
        SELECT c.id::text, {stratum}
        FROM children_child c
        WHERE c.status = 'active' AND c.village_id BETWEEN %(low)s AND %(high)s
        ORDER BY c.id  -- a uuid sorts as its text does: the sort in Python is then one pass
    """


def population_of(area: Area, strata: str) -> list[tuple[str, str]]:
    """The area's open files now, as (id, stratum) pairs in id order: ids only, no rows of
    the model (a province holds a million files)."""
    low, high = scope.subtree_range(area.code) or ("000000000000", "999999999999")
    with connection.cursor() as cursor:
        cursor.execute(_population_sql(strata), {"low": low, "high": high})
        population = cursor.fetchall()
    population.sort()
    return population


def _parse_seed(seed: Any, errors: dict) -> int | None:
    if seed is None or seed == "":
        return None
    text = str(seed).strip()
    if not (text.isascii() and text.isdigit()) or int(text) > rules.MAX_SEED:
        errors["seed"] = [
            _("The seed is a whole number from 0 to %(max)s.") % {"max": rules.MAX_SEED}
        ]
        return None
    return int(text)


def spot_check_draw(
    *,
    user: User,
    area: Area,
    year: int,
    strata: str,
    size_value: int,
    size_unit: str = rules.SIZE_CHILDREN,
    seed: int | str | None = None,
) -> SpotCheck:
    """Civil affairs draw a sample of ``area``'s open files (county level or above, in their
    area): ``size_value`` files or per cent, allocated to the ``strata`` in proportion, with
    ``seed`` (typed in) or a random one from ``secrets``. The population is read, drawn from and
    kept in one transaction with its digest and the sample."""
    permissions.require(user, Capability.SPOT_CHECK_RUN)
    if not scope.code_in_scope(user, area.code):
        raise PermissionDenied
    errors: dict[str, list] = {}
    if area.level not in area_rules.COUNTY_LEVELS:
        errors["area"] = [_("Choose a county, a city or a province.")]
    this_year = clock.today().year
    if not isinstance(year, int) or not FIRST_YEAR <= year <= this_year:
        errors["year"] = [
            _("Choose a year from %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": this_year}
        ]
    if strata not in rules.STRATA:
        errors["strata"] = [_("Choose how to stratify the sample.")]
    if size_unit not in rules.SIZE_UNITS:
        errors["size_unit"] = [_("Choose files or per cent.")]
    if not isinstance(size_value, int) or size_value < 1:
        errors["size_value"] = [_("The sample size must be at least 1.")]
    elif size_unit == rules.SIZE_PERCENT and size_value > 100:
        errors["size_value"] = [_("A percentage is at most 100.")]
    typed_seed = _parse_seed(seed, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        population = population_of(area, strata)
        if not population:
            raise ValidationError({"area": [_("The area has no open files to draw from.")]})
        size = rules.sample_size(population=len(population), value=size_value, unit=size_unit)
        if size > rules.MAX_SAMPLE:
            raise ValidationError(
                {
                    "size_value": [
                        _("At most %(max)s files can be drawn; this asks for %(n)s.")
                        % {"max": rules.MAX_SAMPLE, "n": size}
                    ]
                }
            )
        chosen_seed = typed_seed if typed_seed is not None else secrets.randbits(63)
        sample = rules.draw(seed=chosen_seed, population=population, size=size)
        text = rules.population_text(population)
        spot_check = SpotCheck(
            area=area,
            year=year,
            strata=strata,
            size_value=size_value,
            size_unit=size_unit,
            sample_size=len(sample),
            population_count=len(population),
            population_digest=rules.text_digest(text),
            strata_sizes=rules.strata_sizes(population),
            seed=chosen_seed,
            seed_typed=typed_seed is not None,
            drawn_at=timezone.now(),
            drawn_by=user,
        )
        spot_check.full_clean(exclude=["area", "drawn_by"])
        spot_check.save()
        SpotCheckPopulation.objects.create(
            spot_check=spot_check, lines=zlib.compress(text.encode(), 1)
        )
        del text, population
        _insert_items(spot_check, sample)
    return spot_check


# The sample's items in one statement, each with its file's village now (a province's 1 % is
# 10,000 rows: the ORM's bulk_create spent seconds preparing their values).
_INSERT_ITEMS_SQL = """
    INSERT INTO dashboards_spotcheckitem
        (id, spot_check_id, child_id, drawn_id, village_id, stratum, position,
         file_complete, visits_real, benefits_right, note)
    SELECT gen_random_uuid(), %(check)s, c.id, c.id, c.village_id, s.stratum, s.position,
           '', '', '', ''
    FROM unnest(%(ids)s::uuid[], %(strata)s::text[]) WITH ORDINALITY AS s(id, stratum, position)
    JOIN children_child c ON c.id = s.id
"""


def _insert_items(spot_check: SpotCheck, sample: list[tuple[str, str]]) -> None:
    """The drawn files as the check's items, numbered in the order drawn."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ITEMS_SQL,
            {
                "check": spot_check.pk,
                "ids": [child_id for child_id, _name in sample],
                "strata": [name for _child_id, name in sample],
            },
        )
        if cursor.rowcount != len(sample):  # a file gone since the population was read
            raise Conflict(_("Files changed while the sample was drawn; draw again."))


def _text_errors(value: str, *, field: str, limit: int, errors: dict, plain: bool = False) -> str:
    """``value`` stripped; a NUL character, too long a text or (``plain``) formula text is an
    error on ``field``."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if "\x00" in text:
        errors[field] = [_("must not contain a NUL character")]
    elif len(text) > limit:
        errors[field] = [_("At most %(n)s characters.") % {"n": limit}]
    elif plain and text:
        try:
            validate_plain_text(text)
        except ValidationError as exc:
            errors[field] = exc.messages
    return text


def spot_check_findings_record(
    *,
    user: User,
    item: SpotCheckItem,
    file_complete: str,
    visits_real: str,
    benefits_right: str,
    note: str = "",
) -> SpotCheckItem:
    """Civil affairs record what a sampled file shows: each finding yes, no or not applicable,
    and a note (encrypted). Recorded again, the new findings replace the old."""
    permissions.require(user, Capability.SPOT_CHECK_RUN)
    _require_item_in_scope(user, item)
    errors: dict[str, list] = {}
    answers = {
        "file_complete": file_complete,
        "visits_real": visits_real,
        "benefits_right": benefits_right,
    }
    for name, value in answers.items():
        if value not in rules.ANSWERS:
            errors[name] = [_("Choose yes, no or not applicable.")]
    note = _text_errors(note, field="note", limit=NOTE_MAX, errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        item = SpotCheckItem.objects.select_for_update().get(pk=item.pk)
        for name, value in answers.items():
            setattr(item, name, value)
        item.note = note
        item.checked_at = timezone.now()
        item.checked_by = user
        item.save(
            update_fields=[*answers, "note", "checked_at", "checked_by"],
        )
    return item


def spot_check_correction_add(
    *, user: User, item: SpotCheckItem, description: str, due_on: date
) -> SpotCheckCorrection:
    """Civil affairs ask a correction of a sampled file, due on ``due_on`` (today to a year
    ahead). Its reminder is raised at once when it falls due within the week."""
    permissions.require(user, Capability.SPOT_CHECK_RUN)
    _require_item_in_scope(user, item)
    errors: dict[str, list] = {}
    description = _text_errors(
        description, field="description", limit=DESCRIPTION_MAX, errors=errors, plain=True
    )
    if not description and "description" not in errors:
        errors["description"] = [_("Say what is to be corrected.")]
    today = clock.today()
    if not isinstance(due_on, date):
        errors["due_on"] = [_("Enter the date it is due by.")]
    elif due_on < today:
        errors["due_on"] = [_("The due date cannot be in the past.")]
    elif due_on > today + timedelta(days=CORRECTION_MAX_DAYS):
        errors["due_on"] = [_("The due date must be within a year.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        correction = SpotCheckCorrection.objects.create(
            item=item, description=description, due_on=due_on, created_by=user
        )
        extensions.case_changed(child_ids=[item.child_id])
    return correction


def spot_check_correction_done(
    *, user: User, correction: SpotCheckCorrection, note: str = ""
) -> SpotCheckCorrection:
    """A case worker of the file's area marks a correction done, saying what was done; its
    reminder is resolved at once. Done already → 409."""
    permissions.require(user, Capability.SPOT_CHECK_CORRECT)
    _require_item_in_scope(user, correction.item)
    errors: dict[str, list] = {}
    note = _text_errors(note, field="note", limit=CORRECTION_NOTE_MAX, errors=errors, plain=True)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        correction = SpotCheckCorrection.objects.select_for_update().get(pk=correction.pk)
        if correction.corrected_at is not None:
            raise Conflict(_("This correction is already marked done."), code="already_done")
        correction.corrected_at = timezone.now()
        correction.corrected_by = user
        correction.correction_note = note
        correction.save(update_fields=["corrected_at", "corrected_by", "correction_note"])
        extensions.case_changed(child_ids=[correction.item.child_id])
    return correction


def spot_check_correction_confirm(
    *, user: User, correction: SpotCheckCorrection
) -> SpotCheckCorrection:
    """Civil affairs confirm a correction marked done. Not done yet, or confirmed already → 409
    (a correction found wanting is answered by asking another)."""
    permissions.require(user, Capability.SPOT_CHECK_RUN)
    _require_item_in_scope(user, correction.item)
    with transaction.atomic():
        correction = SpotCheckCorrection.objects.select_for_update().get(pk=correction.pk)
        if correction.corrected_at is None:
            raise Conflict(_("Not marked done yet: nothing to confirm."), code="not_done")
        if correction.confirmed_at is not None:
            raise Conflict(_("This correction is already confirmed."), code="already_confirmed")
        correction.confirmed_at = timezone.now()
        correction.confirmed_by = user
        correction.save(update_fields=["confirmed_at", "confirmed_by"])
    return correction
