"""core.compiled: a queryset compiled once, run with new values; the rows are the queryset's own,
and a build that reads anything but its arguments is caught (issue 20: the ORM's compiling was
0.2–1 ms of every hot query)."""

from datetime import date

import pytest
from django.db import connection
from django.db.models import Count, Window
from django.db.models.sql.compiler import SQLCompiler
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import Area
from children.models import Child
from core.compiled import Compiled, Param

from ..factories import make_child

pytestmark = pytest.mark.django_db


def _children(level_filter: bool):
    queryset = Child.objects.filter(village_id=Param("village")).select_related("village")
    if level_filter:
        queryset = queryset.filter(birth_date__range=(Param("born_from"), Param("born_to")))
    return queryset.annotate(total=Window(Count("id"))).order_by("name")[:2]


CHILDREN = Compiled(_children)


def test_rows_are_the_querysets_own_with_related_objects_and_annotations(director_a, director_b):
    make_child(director_a, name="乙", birth_date=date(2016, 5, 1))
    make_child(director_a, name="甲", birth_date=date(2018, 5, 1))
    make_child(director_a, name="丙", birth_date=date(2020, 5, 1))
    make_child(director_b, name="丁", birth_date=date(2017, 5, 1))
    village = director_a.area_id
    expected = list(
        Child.objects.filter(village_id=village)
        .select_related("village")
        .annotate(total=Window(Count("id")))
        .order_by("name")[:2]
    )
    rows = CHILDREN.rows(False, village=village)
    assert [(c.pk, c.name, c.birth_date, c.total) for c in rows] == [
        (c.pk, c.name, c.birth_date, c.total) for c in expected
    ]
    with CaptureQueriesContext(connection) as queries:
        assert rows[0].village.name == Area.objects.get(code=village).name  # no query
        assert rows[0].id_number_masked == expected[0].id_number_masked  # converters applied
    assert len(queries) == 1  # only the Area above
    # Another shape (a range of Params), other values: other rows.
    rows = CHILDREN.rows(
        True, village=village, born_from=date(2017, 1, 1), born_to=date(2019, 1, 1)
    )
    assert [(c.name, c.total) for c in rows] == [("甲", 1)]
    assert [c.name for c in CHILDREN.rows(False, village=director_b.area_id)] == ["丁"]
    assert CHILDREN.first(False, village="000000000000") is None


def test_the_statement_is_compiled_once_per_shape(director_a, monkeypatch):
    make_child(director_a, name="甲")
    kept = Compiled(_children)
    with override_settings(COMPILED_QUERIES_CHECK=False):
        kept.rows(False, village=director_a.area_id)
        compiled = []
        original = SQLCompiler.as_sql
        monkeypatch.setattr(
            SQLCompiler,
            "as_sql",
            lambda self, *a, **k: compiled.append(1) or original(self, *a, **k),
        )
        with CaptureQueriesContext(connection) as queries:
            assert [c.name for c in kept.rows(False, village=director_a.area_id)] == ["甲"]
            kept.rows(False, village="000000000000")
        assert compiled == [] and len(queries) == 2
        kept.rows(True, village=director_a.area_id, born_from=date(2000, 1, 1), born_to=None)
        assert compiled == [1]


def test_the_values_must_match_the_params():
    with pytest.raises(TypeError, match="born_from"):
        CHILDREN.rows(True, village="1")
    with pytest.raises(TypeError, match="extra"):
        CHILDREN.rows(False, village="1", extra=2)


def test_a_build_that_reads_anything_but_its_arguments_is_caught(director_a, director_b):
    """The check (on in the tests): a user's value baked into the statement would serve the
    next user another person's rows."""
    current = {"village": director_a.area_id}
    impure = Compiled(lambda: Child.objects.filter(village_id=current["village"]))
    impure.rows()
    current["village"] = director_b.area_id
    with pytest.raises(AssertionError, match="reads something other than its arguments"):
        impure.rows()


def test_prefetching_is_refused():
    with pytest.raises(ValueError, match="prefetch_related"):
        Compiled(lambda: Child.objects.prefetch_related("care_agreements")).rows()


def test_rows_are_read_where_the_router_sends_the_models_reads(director_a, monkeypatch):
    """A kept statement runs on the database the router picks for reads (a replica inside
    core.replica's reading block), as the ORM's queryset would."""
    from django.db import router

    make_child(director_a, name="甲")
    asked = []

    def db_for_read(model, **hints):
        asked.append(model)
        return "default"

    monkeypatch.setattr(router, "db_for_read", db_for_read)
    assert [c.name for c in CHILDREN.rows(False, village=director_a.area_id)] == ["甲"]
    assert asked == [Child]
    CHILDREN.rows(False, using="default", village=director_a.area_id)
    assert asked == [Child]  # an explicit database is used as it is


def test_reads_sent_together_are_what_each_gives_alone(director_a, director_b):
    """core.compiled.together: one round trip, one result set each, the same rows as each read
    run alone; a read already answered (Read.of) sends nothing."""
    from core.compiled import Read, counted, run, together

    make_child(director_a, name="甲", birth_date=date(2018, 5, 1))
    make_child(director_a, name="乙", birth_date=date(2016, 5, 1))
    make_child(director_b, name="丁", birth_date=date(2017, 5, 1))
    count = Compiled(lambda: counted(Child.objects.filter(village_id=Param("village"))))
    raw = Read(
        "SELECT name FROM children_child WHERE village_id = %(village)s AND name <> %(odd)s "
        "ORDER BY name",
        # A value that would break the statement were it not bound as a value.
        {"village": director_b.area_id, "odd": "x'; DROP TABLE children_child; --%"},
        "default",
        lambda rows, columns: [(columns[0], row[0]) for row in rows],
        named=True,
    )
    # Unnamed, a read's make is given no column names (a queryset's knows its own).
    unnamed = Read("SELECT 1 AS one", None, "default", lambda rows, columns: (rows, columns))
    reads = [
        CHILDREN.read(False, village=director_a.area_id),
        Read.of("answered"),
        count.count_read(village=director_a.area_id),
        raw,
        count.count_read(village="000000000000"),
        unnamed,
    ]
    alone = [run(read) for read in reads]
    with CaptureQueriesContext(connection) as queries:
        sent = together(*reads)
    assert len(queries) == 1
    assert [c.name for c in sent[0]] == [c.name for c in alone[0]] == ["乙", "甲"]
    assert sent[0][0].village.code == director_a.area_id  # select_related, as alone
    assert sent[1:] == alone[1:] == ["answered", 2, [("name", "丁")], 0, ([(1,)], None)]
    assert Child.objects.count() == 3


def test_reads_of_other_databases_are_run_one_by_one(director_a):
    """Never sent as one text to one of the databases: each read goes to its own (here an
    alias that does not exist, so the attempt shows)."""
    from django.utils.connection import ConnectionDoesNotExist

    from core.compiled import Read, together

    make_child(director_a, name="甲")
    reads = [
        CHILDREN.read(False, village=director_a.area_id),
        Read("SELECT 1", None, "elsewhere", lambda rows, columns: rows),
    ]
    with pytest.raises(ConnectionDoesNotExist, match="elsewhere"):
        together(*reads)


def test_any_of_a_list_given_at_each_run(director_a):
    from core.compiled import AnyOf

    a = make_child(director_a, name="甲")
    b = make_child(director_a, name="乙")
    make_child(director_a, name="丙")
    named = Compiled(
        lambda: (
            Child.objects.filter(AnyOf("pk", Param("ids")))
            .order_by("name")
            .values_list("name", flat=True)
        )
    )
    assert named.rows(ids=[a.pk, b.pk]) == ["乙", "甲"]
    assert named.rows(ids=[b.pk]) == ["乙"]
    assert named.rows(ids=[]) == []


def test_a_window_is_a_page_of_one_kept_statement(director_a, monkeypatch):
    """``window=(limit, offset)``: the page's numbers are values, so every page is the one
    statement (a slice would compile one per page)."""
    for name in "甲乙丙丁戊":
        make_child(director_a, name=name)
    ordered = Compiled(lambda: Child.objects.filter(village_id=Param("village")).order_by("name"))
    village = director_a.area_id
    everyone = [c.name for c in Child.objects.filter(village_id=village).order_by("name")]
    assert [c.name for c in ordered.rows(village=village, window=(2, 0))] == everyone[:2]
    assert [c.name for c in ordered.rows(village=village, window=(2, 2))] == everyone[2:4]
    assert [c.name for c in ordered.rows(village=village, window=(2, 4))] == everyone[4:]
    assert ordered.rows(village=village, window=(2, 6)) == []
    assert len(ordered._compiled) == 1
    with pytest.raises(ValueError, match="sliced"):
        CHILDREN.rows(False, village=village, window=(2, 0))


def test_counted_is_one_plain_count(director_a, director_b):
    """SELECT COUNT(*) … WHERE …: one row, 0 when nothing matches; never a window over every
    row (a province's million kept to be counted). A distinct or sliced queryset is refused:
    it would be counted wrong."""
    from core.compiled import counted

    make_child(director_a, name="甲")
    make_child(director_a, name="乙")
    make_child(director_b, name="丙")
    count = Compiled(
        lambda: counted(Child.objects.filter(village_id=Param("village")).select_related("village"))
    )
    with CaptureQueriesContext(connection) as queries:
        assert count.count(village=director_a.area_id) == 2
        assert count.count(village="000000000000") == 0
    sql = queries[0]["sql"].upper()
    assert "COUNT(*)" in sql and " OVER " not in sql and "LIMIT" not in sql
    assert "JOIN" not in sql and "ORDER BY" not in sql
    with pytest.raises(ValueError, match="plain"):
        counted(Child.objects.distinct())
    with pytest.raises(ValueError, match="plain"):
        counted(Child.objects.all()[:5])


def test_only_the_last_shapes_are_kept(director_a, monkeypatch):
    """A shape may carry a day: a long-running process keeps the last MAX_SHAPES, the oldest
    dropped first, and compiles a dropped one again when it comes back."""
    make_child(director_a, name="甲", birth_date=date(2018, 5, 1))
    by_day = Compiled(
        lambda day: Child.objects.filter(village_id=Param("village"), birth_date__lt=day)
    )
    monkeypatch.setattr(Compiled, "MAX_SHAPES", 3)
    village = director_a.area_id
    for day in (1, 2, 3, 4):
        assert len(by_day.rows(date(2019, 1, day), village=village)) == 1
    assert list(by_day._compiled) == [(date(2019, 1, d),) for d in (2, 3, 4)]
    assert by_day.rows(date(2018, 1, 1), village=village) == []
    assert list(by_day._compiled) == [(date(2019, 1, d),) for d in (3, 4)] + [(date(2018, 1, 1),)]
