"""Issue 21, point 3: the yearly spot check of files (抽查, dashboards.spot_checks). The draw is
reproducible from its seed (and fair: proportional per stratum, the population kept with its
digest), findings and corrections are recorded through the pages and the API, the corrections
remind the village (frozen at the boundaries), the summary per township is one query, and
everything is scoped: another county 404, a role that may not 403, a director their village."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Area, AuditAction, AuditRecord, Role, User
from children.models import Child
from dashboards import spot_check_rules as rules
from dashboards import spot_checks
from dashboards.models import SpotCheck, SpotCheckCorrection, SpotCheckItem
from reminders import services as reminder_services
from reminders.models import Notification, NotificationKind
from reminders.services import reminders_sweep

from ..conftest import (
    COUNTY_A,
    COUNTY_B,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
    VILLAGE_B,
)
from ..factories import UserFactory, make_child

pytestmark = pytest.mark.django_db

DIFFICULTY = ["orphan"]


def at(day: str, hour: str = "10:00"):
    return time_machine.travel(f"{day} {hour} +0800", tick=False)


def ids(n: int, seed: int = 1) -> list[str]:
    generator = random.Random(seed)
    return [str(uuid.UUID(int=generator.getrandbits(128), version=4)) for _ in range(n)]


def children(officer, village: str, count: int, categories=("left_behind",)) -> list[Child]:
    made = [
        make_child(officer, village_code=village, name=f"抽查{village[-6:]}-{n}")
        for n in range(count)
    ]
    Child.objects.filter(pk__in=[c.pk for c in made]).update(categories=list(categories))
    return made


@pytest.fixture
def county(frozen, civil_affairs):
    """County A: 6 left-behind files in village 1, 3 in difficulty in village 2 (township 1),
    3 other files in village 3 (township 2), and one closed file (not in the population)."""
    made = {
        VILLAGE_1: children(civil_affairs, VILLAGE_1, 6),
        VILLAGE_2: children(civil_affairs, VILLAGE_2, 3, DIFFICULTY),
        VILLAGE_3: children(civil_affairs, VILLAGE_3, 3, ()),
    }
    closed = make_child(civil_affairs, village_code=VILLAGE_1, name="已结案")
    Child.objects.filter(pk=closed.pk).update(status="closed", closed_on=date(2026, 11, 1))
    return made


def draw(user, *, strata="none", size=100, unit="children", seed=42, area=COUNTY_A):
    return spot_checks.spot_check_draw(
        user=user,
        area=Area.objects.get(code=area),
        year=2026,
        strata=strata,
        size_value=size,
        size_unit=unit,
        seed=seed,
    )


def sample_of(spot_check: SpotCheck) -> list[tuple[str, str]]:
    return sorted(
        (str(child), stratum)
        for child, stratum in spot_check.items.values_list("drawn_id", "stratum")
    )


@pytest.fixture
def county_b_officer(areas) -> User:
    return UserFactory(username="civil_b", role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_B])


# --- The draw (pure) ----------------------------------------------------------------------------


def test_the_same_seed_and_population_give_the_same_sample_and_another_seed_another():
    population = [(child, "") for child in ids(500)]
    first = rules.draw(seed=20261123, population=population, size=25)
    assert len(first) == 25 and len(set(first)) == 25
    assert rules.draw(seed=20261123, population=population, size=25) == first
    # The order the list comes in does not matter: it is sorted by id first.
    shuffled = population[:]
    random.Random(7).shuffle(shuffled)
    assert rules.draw(seed=20261123, population=shuffled, size=25) == first
    assert set(rules.draw(seed=20261124, population=population, size=25)) != set(first)


def test_the_draw_is_the_documented_algorithm():
    """Anyone can redo it from the module's description: this is that description, written
    independently of the code (a change of algorithm would break every recorded check)."""
    population = [(child, "ab"[i % 2] if i < 70 else "c") for i, child in enumerate(ids(100, 3))]
    seed, size = 987654321, 17
    # 70 files split a/b 35/35 and 30 c: quotas 5.95, 5.95, 5.1 → 5, 5, 5 + 2 by remainder
    # (17·35 mod 100 = 95 for a and b, 17·30 mod 100 = 10 for c): a 6, b 6, c 5.
    assert rules.allocate({"a": 35, "b": 35, "c": 30}, size) == {"a": 6, "b": 6, "c": 5}
    generator = random.Random(seed)
    expected = []
    for name, k in (("a", 6), ("b", 6), ("c", 5)):
        stratum = sorted(child for child, s in population if s == name)
        for i in range(k):
            j = i + int(generator.random() * (len(stratum) - i))
            stratum[i], stratum[j] = stratum[j], stratum[i]
        expected += [(child, name) for child in stratum[:k]]
    assert rules.draw(seed=seed, population=population, size=size) == expected


@pytest.mark.parametrize(
    ("sizes", "size", "expected"),
    [
        ({"a": 50, "b": 30, "c": 20}, 10, {"a": 5, "b": 3, "c": 2}),
        ({"a": 7, "b": 3}, 5, {"a": 4, "b": 1}),  # 3.5 and 1.5: the tie goes to "a"
        ({"b": 1, "a": 1, "c": 1}, 2, {"a": 1, "b": 1, "c": 0}),
        ({"a": 3, "b": 1}, 100, {"a": 3, "b": 1}),  # larger than the population: everyone
        ({"a": 0, "b": 4}, 2, {"a": 0, "b": 2}),
        ({}, 5, {}),
    ],
)
def test_strata_are_allocated_in_proportion_by_largest_remainder(sizes, size, expected):
    assert rules.allocate(sizes, size) == expected


def test_each_stratum_gets_its_share_of_the_sample():
    population = [(child, "t1" if i < 60 else "t2") for i, child in enumerate(ids(90, 5))]
    sample = rules.draw(seed=1, population=population, size=30)
    drawn = {"t1": 0, "t2": 0}
    for child, name in sample:
        assert (child, name) in population
        drawn[name] += 1
    assert drawn == {"t1": 20, "t2": 10}


def test_a_size_larger_than_the_population_draws_everyone_and_an_empty_one_nothing():
    population = [(child, "") for child in ids(10)]
    assert sorted(rules.draw(seed=3, population=population, size=1000)) == sorted(population)
    assert rules.draw(seed=3, population=[], size=10) == []
    assert rules.sample_size(population=10, value=1000, unit="children") == 10
    assert rules.sample_size(population=15, value=10, unit="percent") == 2  # 1.5 rounded up
    assert rules.sample_size(population=0, value=10, unit="percent") == 0


def test_the_digest_is_sha256_of_the_sorted_lines():
    population = [("b" * 36, "x"), ("a" * 36, "")]
    lines = f"{'a' * 36}\t\n{'b' * 36}\tx\n"
    assert rules.population_text(population) == lines
    assert rules.population_digest(population) == hashlib.sha256(lines.encode()).hexdigest()
    assert rules.parse_population(lines) == sorted(population)


def test_the_category_group_and_the_township_of_a_file():
    assert rules.category_group(["left_behind", "low_income_family"]) == rules.IN_DIFFICULTY
    assert rules.category_group(["left_behind", "single_parent"]) == rules.LEFT_BEHIND
    assert rules.category_group(["single_parent"]) == rules.OTHER
    assert rules.stratum("township", village_code=VILLAGE_1, categories=[]) == TOWNSHIP_1
    # A town of a city without counties (东莞): PPCC00TTT000.
    assert rules.township_of("441900003012") == "441900003000"
    both = rules.stratum("township_category", village_code=VILLAGE_3, categories=["orphan"])
    assert both == f"{TOWNSHIP_2}/in_difficulty"


def test_the_population_sql_puts_each_file_in_the_stratum_the_rule_says(county, civil_affairs):
    Child.objects.filter(pk=county[VILLAGE_1][0].pk).update(
        categories=["left_behind", "serious_illness"]
    )
    Child.objects.filter(pk=county[VILLAGE_1][1].pk).update(categories=["single_parent"])
    area = Area.objects.get(code=COUNTY_A)
    for strata in rules.STRATA:
        from_sql = dict(spot_checks.population_of(area, strata))
        files = Child.objects.filter(status="active", village__code__startswith="341823")
        assert len(from_sql) == files.count() == 12
        for child in files:
            expected = rules.stratum(
                strata, village_code=child.village_id, categories=child.categories
            )
            assert from_sql[str(child.pk)] == expected, (strata, child.categories)


# --- The draw (service) -------------------------------------------------------------------------


def test_the_recorded_sample_is_reproducible_from_its_seed(county, civil_affairs):
    spot_check = draw(civil_affairs, strata="township_category", size=50, unit="percent", seed=7)
    population = spot_checks.population_of(Area.objects.get(code=COUNTY_A), "township_category")
    # The population: the 12 open files (the closed one is not in it).
    assert spot_check.population_count == 12
    assert spot_check.population_digest == rules.population_digest(population)
    assert spot_check.strata_sizes == {
        f"{TOWNSHIP_1}/in_difficulty": 3,
        f"{TOWNSHIP_1}/left_behind": 6,
        f"{TOWNSHIP_2}/other": 3,
    }
    assert spot_check.sample_size == 6
    assert sample_of(spot_check) == sorted(rules.draw(seed=7, population=population, size=6))
    # 3, 6 and 3 files share 6: 1.5, 3 and 1.5 → 1, 3, 1 and one more by remainder.
    per_stratum = {}
    for _child, name in sample_of(spot_check):
        per_stratum[name] = per_stratum.get(name, 0) + 1
    assert per_stratum[f"{TOWNSHIP_1}/left_behind"] == 3
    # Each item belongs to the village its child lived in at the draw.
    for item in spot_check.items.select_related("child"):
        assert item.village_id == item.child.village_id
    verification = spot_checks.spot_check_verify(spot_check=spot_check)
    assert verification.verified and verification.redrawn == 6
    # Another check with the same seed and population: the same files.
    again = draw(civil_affairs, strata="township_category", size=50, unit="percent", seed=7)
    assert sample_of(again) == sample_of(spot_check)
    other = draw(civil_affairs, strata="none", size=6, seed=8)
    assert sample_of(other) != sample_of(spot_check)


def test_a_merge_of_two_drawn_files_keeps_the_draw_verifiable(county, civil_affairs, supervisor):
    """Two files of one child, both drawn: the merge goes through (a sampled file used to
    block it), both sampled records now read the surviving file, and the draw done again
    from the seed still matches the files as drawn."""
    from children.lifecycle import child_merge
    from children.services import child_create

    kept = county[VILLAGE_1][0]
    duplicate = child_create(
        user=civil_affairs,
        name=kept.name,
        gender=kept.gender,
        birth_date=kept.birth_date,
        hukou_registered=False,
        village_code=VILLAGE_1,
        confirm_possible_duplicate=True,
    )
    Child.objects.filter(pk=duplicate.pk).update(categories=["left_behind"])
    spot_check = draw(civil_affairs, size=100, unit="percent")
    assert {kept.pk, duplicate.pk} <= set(spot_check.items.values_list("child_id", flat=True))
    child_merge(user=supervisor, child=kept, duplicate=duplicate, reason="同一儿童重复建档")
    assert not Child.objects.filter(pk=duplicate.pk).exists()
    assert spot_check.items.filter(child=kept).count() == 2
    assert spot_check.items.filter(drawn_id=duplicate.pk).exists()
    assert spot_checks.spot_check_verify(spot_check=spot_check).verified


def test_a_random_seed_is_recorded_and_reproduces_the_draw(county, civil_affairs):
    spot_check = spot_checks.spot_check_draw(
        user=civil_affairs,
        area=Area.objects.get(code=COUNTY_A),
        year=2026,
        strata="none",
        size_value=5,
    )
    assert not spot_check.seed_typed and 0 <= spot_check.seed <= rules.MAX_SEED
    population = spot_checks.population_of(Area.objects.get(code=COUNTY_A), "none")
    redrawn = rules.draw(seed=spot_check.seed, population=population, size=5)
    assert sample_of(spot_check) == sorted(redrawn)


def test_verification_fails_when_the_sample_or_the_population_was_changed(county, civil_affairs):
    spot_check = draw(civil_affairs, size=4)
    outside = (
        Child.objects.filter(status="active")
        .exclude(pk__in=spot_check.items.values("child_id"))
        .first()
    )
    item = spot_check.items.first()
    SpotCheckItem.objects.filter(pk=item.pk).update(drawn_id=outside.pk)
    found = spot_checks.spot_check_verify(spot_check=spot_check)
    assert found.digest_matches and not found.sample_matches and not found.verified
    SpotCheckItem.objects.filter(pk=item.pk).update(drawn_id=item.drawn_id)
    SpotCheck.objects.filter(pk=spot_check.pk).update(population_digest="0" * 64)
    spot_check.refresh_from_db()
    found = spot_checks.spot_check_verify(spot_check=spot_check)
    assert found.sample_matches and not found.digest_matches and not found.verified


def test_an_area_with_no_open_files_cannot_be_drawn(areas, frozen, civil_affairs):
    with pytest.raises(ValidationError) as refused:
        draw(civil_affairs)
    assert "area" in refused.value.message_dict
    assert not SpotCheck.objects.exists()


def test_a_size_larger_than_the_population_samples_every_file(county, civil_affairs):
    spot_check = draw(civil_affairs, size=500)
    assert spot_check.sample_size == spot_check.population_count == 12


# --- Pages ---------------------------------------------------------------------------------------


def test_civil_affairs_draw_check_and_ask_corrections_through_the_pages(
    county, civil_affairs, client_for
):
    client = client_for(civil_affairs)
    form = client.get("/dashboard/spot-checks/new/")
    assert form.status_code == 200 and COUNTY_A in form.content.decode()
    response = client.post(
        "/dashboard/spot-checks/new/",
        {
            "area": COUNTY_A,
            "year": "2026",
            "strata": "township",
            "size_value": "50",
            "size_unit": "percent",
            "seed": "20261123",
        },
    )
    spot_check = SpotCheck.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{spot_check.pk}/")
    assert spot_check.seed == 20261123 and spot_check.seed_typed
    assert spot_check.sample_size == 6 and spot_check.drawn_by == civil_affairs
    page = client.get(f"/dashboard/spot-checks/{spot_check.pk}/").content.decode()
    assert "20261123" in page and spot_check.population_digest in page
    item = spot_check.items.select_related("child").first()
    assert item.child.name in page
    # Viewing the sample is a view of those children's files: audited, one record each.
    audited = AuditRecord.objects.filter(action=AuditAction.VIEW, object_type="child")
    assert set(audited.values_list("object_id", flat=True)) == {
        str(c) for c in spot_check.items.values_list("child_id", flat=True)
    }
    url = f"/dashboard/spot-checks/{spot_check.pk}/items/{item.pk}/"
    assert client.get(url).status_code == 200
    saved = client.post(
        url,
        {
            "form": "findings",
            "file_complete": "no",
            "visits_real": "yes",
            "benefits_right": "na",
            "note": "缺少监护评估记录",
        },
    )
    assert saved.status_code == 302
    item.refresh_from_db()
    assert (item.file_complete, item.visits_real, item.benefits_right) == ("no", "yes", "na")
    assert item.note == "缺少监护评估记录" and item.checked_by == civil_affairs
    # The note is a case note: encrypted at rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM dashboards_spotcheckitem WHERE id = %s", [item.pk])
        assert "监护" not in cursor.fetchone()[0]
    asked = client.post(
        url, {"form": "correction", "description": "补录监护评估", "due_on": "2026-12-20"}
    )
    assert asked.status_code == 302
    correction = SpotCheckCorrection.objects.get()
    assert correction.due_on == date(2026, 12, 20) and correction.created_by == civil_affairs
    summary = client.get(f"/dashboard/spot-checks/{spot_check.pk}/summary/").content.decode()
    assert "桃花潭镇" in summary and "云岭镇" in summary
    assert f"?township={TOWNSHIP_1}&amp;failed=file_complete" in summary
    verified = client.get(f"/dashboard/spot-checks/{spot_check.pk}/verify/")
    assert verified.context["verification"].verified
    assert "alert-success" in verified.content.decode()
    listing = client.get("/dashboard/spot-checks/").content.decode()
    assert f"/dashboard/spot-checks/{spot_check.pk}/" in listing


def test_the_population_list_is_the_one_the_digest_was_taken_of(county, civil_affairs, client_for):
    spot_check = draw(civil_affairs, strata="township")
    response = client_for(civil_affairs).get(
        f"/dashboard/spot-checks/{spot_check.pk}/population.tsv"
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert hashlib.sha256(text.encode()).hexdigest() == spot_check.population_digest
    assert len(text.splitlines()) == 12
    assert AuditRecord.objects.filter(
        action=AuditAction.EXPORT, object_type="spotcheck", object_id=str(spot_check.pk)
    ).exists()


def test_a_director_sees_only_their_village_and_may_not_read_the_population(
    county, civil_affairs, director_a, client_for
):
    spot_check = draw(civil_affairs, size=100)
    client = client_for(director_a)
    page = client.get(f"/dashboard/spot-checks/{spot_check.pk}/").content.decode()
    assert "抽查103201-" in page
    assert "抽查103202-" not in page and "抽查105201-" not in page
    assert "population.tsv" not in page
    assert client.get(f"/dashboard/spot-checks/{spot_check.pk}/population.tsv").status_code == 403
    listing = client.get("/dashboard/spot-checks/").content.decode()
    assert f"/dashboard/spot-checks/{spot_check.pk}/" in listing
    other = spot_check.items.get(child=county[VILLAGE_2][0])
    assert (
        client.get(f"/dashboard/spot-checks/{spot_check.pk}/items/{other.pk}/").status_code == 404
    )


def test_hostile_input_on_the_pages_is_refused_next_to_the_field(county, civil_affairs, client_for):
    client = client_for(civil_affairs)
    base = {"area": COUNTY_A, "year": "2026", "strata": "none", "size_unit": "children"}
    for values, field in (
        ({"size_value": "5", "seed": "12\x0034"}, "seed"),
        ({"size_value": "5", "seed": "=cmd|' /C calc'!A0"}, "seed"),
        ({"size_value": "5", "seed": "99999999999999999999"}, "seed"),
        ({"size_value": "500", "size_unit": "percent"}, "size_value"),
        ({"size_value": "5", "year": "2031"}, "year"),
        ({"size_value": "5", "area": VILLAGE_1}, "area"),
    ):
        response = client.post("/dashboard/spot-checks/new/", {**base, **values})
        assert response.status_code == 200, values
        assert field in response.context["form"].errors, (values, response.context["form"].errors)
    assert not SpotCheck.objects.exists()
    spot_check = draw(civil_affairs, size=2)
    item = spot_check.items.first()
    url = f"/dashboard/spot-checks/{spot_check.pk}/items/{item.pk}/"
    findings = {"form": "findings", "file_complete": "yes", "visits_real": "yes"}
    response = client.post(url, {**findings, "benefits_right": "maybe", "note": "a\x00b"})
    assert response.status_code == 200
    errors = response.context["findings_form"].errors
    assert set(errors) == {"benefits_right", "note"}
    assert "NUL" in str(errors["note"]) or "空字符" in str(errors["note"])
    response = client.post(url, {**findings, "benefits_right": "yes", "note": "x" * 5000})
    assert "note" in response.context["findings_form"].errors
    item.refresh_from_db()
    assert item.checked_at is None and item.note == ""
    for values, field in (
        ({"description": '=HYPERLINK("http://x")', "due_on": "2026-12-01"}, "description"),
        ({"description": "补录", "due_on": "2026-11-01"}, "due_on"),  # in the past
        ({"description": "补录", "due_on": "2028-01-01"}, "due_on"),  # over a year ahead
        ({"description": "", "due_on": "2026-12-01"}, "description"),
    ):
        response = client.post(url, {"form": "correction", **values})
        assert response.status_code == 200
        assert field in response.context["correction_form"].errors, values
    assert not SpotCheckCorrection.objects.exists()


def test_a_director_marks_done_and_civil_affairs_confirm(
    county, civil_affairs, director_a, client_for
):
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.get(child=county[VILLAGE_1][0])
    correction = spot_checks.spot_check_correction_add(
        user=civil_affairs, item=item, description="补录入户走访", due_on=date(2026, 12, 1)
    )
    director = client_for(director_a)
    listing = director.get("/dashboard/spot-checks/corrections/").content.decode()
    assert "补录入户走访" in listing
    # A NUL in what was done: the file's page again, the message next to the note.
    refused = director.post(
        f"/dashboard/spot-checks/corrections/{correction.pk}/done/", {"note": "已\x00补"}
    )
    assert refused.status_code == 200
    (shown,) = [c for c in refused.context["corrections"] if c.pk == correction.pk]
    assert "note" in shown.done_form.errors
    correction.refresh_from_db()
    assert correction.corrected_at is None
    done = director.post(
        f"/dashboard/spot-checks/corrections/{correction.pk}/done/",
        {"note": "已补录", "next": "/dashboard/spot-checks/corrections/"},
    )
    assert done.status_code == 302 and done["Location"] == "/dashboard/spot-checks/corrections/"
    correction.refresh_from_db()
    assert correction.corrected_by == director_a and correction.correction_note == "已补录"
    # The director may not confirm; civil affairs do.
    url = f"/dashboard/spot-checks/corrections/{correction.pk}/confirm/"
    assert director.post(url).status_code == 403
    assert client_for(civil_affairs).post(url).status_code == 302
    correction.refresh_from_db()
    assert correction.confirmed_by == civil_affairs


# --- API -----------------------------------------------------------------------------------------


def test_the_api_flow(county, civil_affairs, director_a, api_client):
    api = api_client(civil_affairs)
    created = api.post(
        "/api/v1/spot-checks",
        {"strata": "category", "size": 4, "seed": "123456789012345678"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["area_code"] == COUNTY_A and body["year"] == 2026 and body["count"] == 4
    assert body["seed"] == "123456789012345678" and body["seed_typed"] is True
    assert {s["stratum"]: s["drawn"] for s in body["strata_allocation"]} == {
        "in_difficulty": 1,
        "left_behind": 2,
        "other": 1,
    }
    check_id = body["id"]
    listed = api.get("/api/v1/spot-checks?year=2026").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == check_id
    detail = api.get(f"/api/v1/spot-checks/{check_id}?page_size=2").json()
    assert detail["count"] == 4 and len(detail["items"]) == 2
    item = next(i for i in body["items"] if i["village_code"] == VILLAGE_1)
    findings = api.post(
        f"/api/v1/spot-checks/{check_id}/items/{item['id']}/findings",
        {"file_complete": "yes", "visits_real": "no", "benefits_right": "na", "note": "走访存疑"},
        content_type="application/json",
    )
    assert findings.status_code == 200 and findings.json()["visits_real"] == "no"
    asked = api.post(
        f"/api/v1/spot-checks/{check_id}/items/{item['id']}/corrections",
        {"description": "核实走访记录", "due_on": "2026-11-25"},
        content_type="application/json",
    )
    assert asked.status_code == 201 and asked.json()["status"] == "open"
    correction_id = asked.json()["id"]
    summary = api.get(f"/api/v1/spot-checks/{check_id}/summary").json()
    assert summary["total"]["sampled"] == 4 and summary["total"]["visits_not_real"] == 1
    township = next(r for r in summary["rows"] if r["township_code"] == TOWNSHIP_1)
    assert (township["checked"], township["corrections_open"]) == (1, 1)
    # The director of the file's village sees the correction and marks it done.
    director = api_client(director_a)
    theirs = director.get("/api/v1/spot-check-corrections").json()
    assert [c["id"] for c in theirs["items"]] == [correction_id]
    done = director.post(
        f"/api/v1/spot-check-corrections/{correction_id}/done",
        {"note": "已核实"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = director.post(
        f"/api/v1/spot-check-corrections/{correction_id}/done", {}, content_type="application/json"
    )
    assert again.status_code == 409
    assert (
        director.post(f"/api/v1/spot-check-corrections/{correction_id}/confirm").status_code == 403
    )
    confirmed = api.post(f"/api/v1/spot-check-corrections/{correction_id}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert api.post(f"/api/v1/spot-check-corrections/{correction_id}/confirm").status_code == 409
    verification = api.get(f"/api/v1/spot-checks/{check_id}/verification").json()
    assert verification["verified"] is True and verification["population_count"] == 12


def test_the_api_refuses_hostile_and_impossible_input(county, civil_affairs, api_client):
    api = api_client(civil_affairs)
    for body, field in (
        ({"size": 5, "seed": "12a"}, "seed"),
        ({"size": 0}, "size"),
        ({"size": 101, "size_unit": "percent"}, "size"),
        ({"size": 5, "area_code": VILLAGE_1}, "area_code"),
        ({"size": 5, "year": 2030}, "year"),
        ({"size": 5, "strata": "by_village"}, "strata"),
    ):
        response = api.post("/api/v1/spot-checks", body, content_type="application/json")
        assert response.status_code == 422, (body, response.content)
        assert field in str(response.json()["detail"]), (body, response.json())
    assert not SpotCheck.objects.exists()
    check_id = api.post(
        "/api/v1/spot-checks", {"size": 1, "seed": "1"}, content_type="application/json"
    ).json()["id"]
    item = SpotCheckItem.objects.get()
    url = f"/api/v1/spot-checks/{check_id}/items/{item.pk}"
    refused = api.post(
        f"{url}/findings",
        {"file_complete": "yes", "visits_real": "yes", "benefits_right": "yes", "note": "a\u0000"},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "note" in str(refused.json()["detail"])
    refused = api.post(
        f"{url}/corrections",
        {"description": "=1+1", "due_on": "2026-12-01"},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "description" in str(refused.json()["detail"])
    item.refresh_from_db()
    assert item.checked_at is None and not SpotCheckCorrection.objects.exists()


# --- Scope and roles -----------------------------------------------------------------------------


def test_another_county_gets_404_everywhere(
    county, civil_affairs, county_b_officer, outsider, client_for, api_client
):
    spot_check = draw(civil_affairs, size=3)
    item = spot_check.items.first()
    correction = spot_checks.spot_check_correction_add(
        user=civil_affairs, item=item, description="补录", due_on=date(2026, 12, 1)
    )
    pages = [
        f"/dashboard/spot-checks/{spot_check.pk}/",
        f"/dashboard/spot-checks/{spot_check.pk}/summary/",
        f"/dashboard/spot-checks/{spot_check.pk}/verify/",
        f"/dashboard/spot-checks/{spot_check.pk}/population.tsv",
        f"/dashboard/spot-checks/{spot_check.pk}/items/{item.pk}/",
    ]
    endpoints = [
        f"/api/v1/spot-checks/{spot_check.pk}",
        f"/api/v1/spot-checks/{spot_check.pk}/summary",
        f"/api/v1/spot-checks/{spot_check.pk}/verification",
        f"/api/v1/spot-checks/{spot_check.pk}/items/{item.pk}",
    ]
    for who in (county_b_officer, outsider):
        client, api = client_for(who), api_client(who)
        for url in pages:
            assert client.get(url).status_code == 404, (who, url)
        for url in endpoints:
            assert api.get(url).status_code == 404, (who, url)
        assert (
            client.post(f"/dashboard/spot-checks/corrections/{correction.pk}/done/").status_code
            == 404
        )
        done = api.post(
            f"/api/v1/spot-check-corrections/{correction.pk}/done",
            {},
            content_type="application/json",
        )
        assert done.status_code == 404
        assert api.get("/api/v1/spot-checks").json()["count"] == 0
        assert api.get("/api/v1/spot-check-corrections?status=all").json()["count"] == 0
    # County B's civil affairs may not draw from county A.
    refused = api_client(county_b_officer).post(
        "/api/v1/spot-checks", {"area_code": COUNTY_A, "size": 3}, content_type="application/json"
    )
    assert refused.status_code == 404
    # The refused look at county A's check is in the audit log, in county A.
    assert AuditRecord.objects.filter(
        action=AuditAction.DENIED, object_id=str(spot_check.pk), area_code=COUNTY_A
    ).exists()


@pytest.mark.parametrize("who", ["supervisor", "director_a", "viewer"])
def test_only_civil_affairs_draw_and_record_findings(
    request, county, civil_affairs, client_for, api_client, who
):
    user = request.getfixturevalue(who)
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.get(child=county[VILLAGE_1][0])
    client, api = client_for(user), api_client(user)
    assert client.get("/dashboard/spot-checks/new/").status_code == 403
    posted = client.post("/dashboard/spot-checks/new/", {"area": COUNTY_A, "size_value": "3"})
    assert posted.status_code == 403
    answer = api.post("/api/v1/spot-checks", {"size": 3}, content_type="application/json")
    assert answer.status_code == 403
    url = f"/dashboard/spot-checks/{spot_check.pk}/items/{item.pk}/"
    assert client.get(url).status_code == 200
    findings = {"file_complete": "yes", "visits_real": "yes", "benefits_right": "yes"}
    assert client.post(url, {"form": "findings", **findings}).status_code == 403
    api_url = f"/api/v1/spot-checks/{spot_check.pk}/items/{item.pk}"
    assert (
        api.post(f"{api_url}/findings", findings, content_type="application/json").status_code
        == 403
    )
    assert (
        SpotCheck.objects.count() == 1
        and not SpotCheckItem.objects.filter(checked_at__isnull=False).exists()
    )


def test_a_role_without_the_capability_gets_403_in_its_area(
    county, civil_affairs, reporter, client_for
):
    spot_check = draw(civil_affairs, size=100)
    client = client_for(reporter)  # a reporter of township 1, where files were sampled
    assert client.get("/dashboard/spot-checks/").status_code == 403
    assert client.get(f"/dashboard/spot-checks/{spot_check.pk}/").status_code == 403


def test_a_director_sees_only_the_corrections_of_their_village(
    county, civil_affairs, director_a, director_b, supervisor, other_supervisor, api_client
):
    spot_check = draw(civil_affairs, size=100)
    mine = spot_checks.spot_check_correction_add(
        user=civil_affairs,
        item=spot_check.items.get(child=county[VILLAGE_1][0]),
        description="村一整改",
        due_on=date(2026, 12, 1),
    )
    theirs = spot_checks.spot_check_correction_add(
        user=civil_affairs,
        item=spot_check.items.get(child=county[VILLAGE_2][0]),
        description="村二整改",
        due_on=date(2026, 12, 1),
    )

    def listed(user) -> set[str]:
        answer = api_client(user).get("/api/v1/spot-check-corrections?status=all").json()
        return {c["id"] for c in answer["items"]}

    assert listed(director_a) == {str(mine.pk)}
    assert listed(director_b) == {str(theirs.pk)}
    assert listed(supervisor) == {str(mine.pk), str(theirs.pk)}
    assert listed(other_supervisor) == set()
    # Not even by its id: another village's correction is not there for the director.
    refused = api_client(director_a).post(
        f"/api/v1/spot-check-corrections/{theirs.pk}/done", {}, content_type="application/json"
    )
    assert refused.status_code == 404
    detail = api_client(director_a).get(f"/api/v1/spot-checks/{spot_check.pk}").json()
    assert {i["village_code"] for i in detail["items"]} == {VILLAGE_1}
    # The supervisor of township 2 sees the county's check for its files there only.
    township_2 = api_client(other_supervisor).get(f"/api/v1/spot-checks/{spot_check.pk}").json()
    assert {i["village_code"] for i in township_2["items"]} == {VILLAGE_3}


def test_a_check_with_no_file_of_the_users_area_is_not_theirs(
    county, civil_affairs, other_supervisor, api_client
):
    spot_check = draw(civil_affairs, strata="none", size=100)
    SpotCheckItem.objects.filter(spot_check=spot_check, village_id=VILLAGE_3).delete()
    answer = api_client(other_supervisor).get(f"/api/v1/spot-checks/{spot_check.pk}")
    assert answer.status_code == 404


# --- Masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "full"),
    [("civil_affairs", True), ("director_a", True), ("supervisor", False), ("viewer", False)],
)
def test_the_id_number_is_shown_as_the_role_may_see_it(
    request, county, civil_affairs, client_for, api_client, who, full
):
    from core import crypto

    user = request.getfixturevalue(who)
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.select_related("child").get(child=county[VILLAGE_1][0])
    number = crypto.decrypt(item.child.id_number_encrypted)
    page = client_for(user).get(f"/dashboard/spot-checks/{spot_check.pk}/items/{item.pk}/")
    text = page.content.decode()
    assert (number in text) is full
    assert item.child.id_number_masked in text or full
    # Lists and the API carry the masked number only, whoever asks.
    sample = client_for(user).get(f"/dashboard/spot-checks/{spot_check.pk}/").content.decode()
    assert number not in sample and item.child.id_number_masked in sample
    answer = api_client(user).get(f"/api/v1/spot-checks/{spot_check.pk}").content.decode()
    assert number not in answer and item.child.id_number_masked in answer


# --- Reminders -----------------------------------------------------------------------------------


def _open(user: User) -> list[Notification]:
    return list(
        Notification.objects.filter(
            recipient=user, kind=NotificationKind.SPOT_CHECK_CORRECTION, resolved_at__isnull=True
        )
    )


def _sweep(day: str) -> None:
    with at(day, "08:00"):
        reminders_sweep()


def test_the_reminder_week_is_the_same_in_both_apps():
    assert reminder_services.SPOT_CHECK_CORRECTION_DAYS == rules.CORRECTION_REMINDER_DAYS


def test_a_correction_reminds_the_village_director_from_a_week_before_until_done(
    county, civil_affairs, director_a, director_b, supervisor, client_for
):
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.get(child=county[VILLAGE_1][0])
    correction = spot_checks.spot_check_correction_add(
        user=civil_affairs, item=item, description="补录", due_on=date(2026, 12, 10)
    )
    assert _open(director_a) == []  # due in 17 days: not yet
    _sweep("2026-12-02")  # 8 days before
    assert _open(director_a) == []
    _sweep("2026-12-03")  # 7 days before
    (reminder,) = _open(director_a)
    assert reminder.child_id == item.child_id and reminder.due_date == date(2026, 12, 10)
    assert reminder.detail == reminder_services.SPOT_CHECK_CORRECTION_DETAIL
    assert _open(director_b) == [] and _open(supervisor) == []  # the village has a director
    _sweep("2026-12-11")  # overdue: still the same reminder
    assert [r.pk for r in _open(director_a)] == [reminder.pk]
    with at("2026-12-11", "09:00"):
        client = client_for(director_a)
        client.cookies["django_language"] = "en"
        inbox = client.get("/visits/reminders/").content.decode()
    assert "Spot-check correction due" in inbox and "/dashboard/spot-checks/corrections/" in inbox
    assert "yearly spot check" in inbox
    with at("2026-12-11", "10:00"):
        spot_checks.spot_check_correction_done(user=director_a, correction=correction)
    # Resolved at once (the service's case_changed), and the sweep agrees.
    assert _open(director_a) == []
    _sweep("2026-12-12")
    assert _open(director_a) == []
    assert Notification.objects.filter(kind=NotificationKind.SPOT_CHECK_CORRECTION).count() == 1


def test_a_correction_due_within_the_week_reminds_at_once(county, civil_affairs, director_a):
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.get(child=county[VILLAGE_1][0])
    spot_checks.spot_check_correction_add(
        user=civil_affairs, item=item, description="补录", due_on=date(2026, 11, 30)
    )
    assert len(_open(director_a)) == 1  # 2026-11-23 + 7: due within the week


def test_a_village_with_no_director_reminds_its_township_supervisor(
    county, civil_affairs, supervisor, other_supervisor
):
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.get(child=county[VILLAGE_2][0])  # village 2: no director yet
    spot_checks.spot_check_correction_add(
        user=civil_affairs, item=item, description="补录", due_on=date(2026, 12, 1)
    )
    _sweep("2026-11-24")
    assert len(_open(supervisor)) == 1 and _open(other_supervisor) == []
    # A director takes up the post: the next sweep tells them, not the supervisor.
    director = UserFactory(username="director_v2", role=Role.DIRECTOR, area_id=VILLAGE_2)
    _sweep("2026-11-25")
    assert _open(supervisor) == [] and len(_open(director)) == 1


# --- Query counts --------------------------------------------------------------------------------


def _grow(civil_affairs, extra: int) -> SpotCheck:
    children(civil_affairs, VILLAGE_1, extra)
    children(civil_affairs, VILLAGE_3, extra, DIFFICULTY)
    spot_check = draw(civil_affairs, strata="township", size=100)
    for n, item in enumerate(spot_check.items.all()):
        spot_checks.spot_check_findings_record(
            user=civil_affairs,
            item=item,
            file_complete="no" if n % 2 else "yes",
            visits_real="yes",
            benefits_right="na",
        )
        spot_checks.spot_check_correction_add(
            user=civil_affairs, item=item, description="补录", due_on=date(2026, 12, 1)
        )
    return spot_check


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_summary_is_one_query_whatever_the_sample(
    frozen, areas, civil_affairs, client_for, django_assert_max_num_queries
):
    client = client_for(civil_affairs)
    small = _grow(civil_affairs, 1)
    few = _queries(client, f"/dashboard/spot-checks/{small.pk}/summary/")
    big = _grow(civil_affairs, 8)
    assert big.sample_size > small.sample_size * 3
    with django_assert_max_num_queries(few):
        client.get(f"/dashboard/spot-checks/{big.pk}/summary/")
    with CaptureQueriesContext(connection) as captured:
        rows = spot_checks.summary_for(user=civil_affairs, spot_check=big)
    assert len(captured) == 1
    total = rows[-1]
    assert total.is_total and total.sampled == big.sample_size == total.corrections_open
    assert total.checked == big.sample_size
    assert total.file_incomplete == big.sample_size // 2
    assert [r.township for r in rows[:-1]] == [TOWNSHIP_1, TOWNSHIP_2]
    assert sum(r.sampled for r in rows[:-1]) == total.sampled


def test_the_list_pages_run_a_constant_number_of_queries(frozen, areas, civil_affairs, client_for):
    client = client_for(civil_affairs)
    small = _grow(civil_affairs, 1)
    urls = lambda check: [  # noqa: E731
        f"/dashboard/spot-checks/{check.pk}/",
        "/dashboard/spot-checks/",
        "/dashboard/spot-checks/corrections/?status=all",
    ]
    few = [_queries(client, url) for url in urls(small)]
    big = _grow(civil_affairs, 8)
    many = [_queries(client, url) for url in urls(big)]
    assert many == few


def test_the_summary_counts_overdue_corrections_on_today(county, civil_affairs):
    spot_check = draw(civil_affairs, size=100)
    item = spot_check.items.get(child=county[VILLAGE_1][0])
    spot_checks.spot_check_correction_add(
        user=civil_affairs, item=item, description="补录", due_on=date(2026, 11, 24)
    )
    rows = spot_checks.summary_for(user=civil_affairs, spot_check=spot_check)
    assert rows[-1].corrections_overdue == 0
    late = spot_checks.summary_for(
        user=civil_affairs, spot_check=spot_check, today=date(2026, 11, 25)
    )
    assert (late[-1].corrections_open, late[-1].corrections_overdue) == (1, 1)
    assert late[0].township == TOWNSHIP_1 and late[0].corrections_overdue == 1


def test_the_other_county_is_unaffected(county, civil_affairs, county_b_officer):
    make_child(county_b_officer, village_code=VILLAGE_B, name="绩溪儿童")
    spot_check = draw(civil_affairs, size=100)
    assert spot_check.population_count == 12
    assert not spot_check.items.filter(village__code__startswith="341824").exists()
    own = draw(county_b_officer, size=100, area=COUNTY_B)
    assert own.population_count == 1
    assert list(spot_checks.checks_for_user(user=county_b_officer)) == [own]


def test_a_file_gone_between_the_read_and_the_insert_is_a_conflict(county, civil_affairs):
    """The sample's items are inserted in one statement joined to the files: one that vanished
    meanwhile (merged away) fails the draw with a 409 rather than a short sample."""
    from core.errors import Conflict

    spot_check = draw(civil_affairs, size=2)
    with pytest.raises(Conflict):
        spot_checks._insert_items(spot_check, [(str(uuid.uuid4()), "")])
