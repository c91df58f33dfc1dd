"""core.prepared: a statement planned once per connection (a generic plan, reused for any
values), in the caller's transaction, logged where Django logs queries. The reminders' refresh of
a child, run on every visit recorded, is such a statement (issue 20: its planning was 50× its
execution)."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from children.models import Child
from core import prepared

from ..factories import make_child, make_visit

pytestmark = pytest.mark.django_db


def plans(fragment: str) -> tuple[int, int]:
    """(generic plans, custom plans) of this connection's prepared statement holding
    ``fragment``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
            "FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return tuple(cursor.fetchone())


def test_a_statement_is_planned_once_and_reused_for_other_values(director_a):
    first = make_child(director_a, name="甲")
    second = make_child(director_a, name="乙")
    sql = "UPDATE children_child SET grade = grade WHERE id = ANY(%(ids)s::uuid[]) /* p1 */"
    with CaptureQueriesContext(connection) as logged:
        assert prepared.execute(sql, {"ids": [first.pk]}) == 1
        assert prepared.execute(sql, {"ids": [first.pk, second.pk]}) == 2
        assert prepared.execute(sql, {"ids": []}) == 0
    generic, custom = plans("/* p1 */")
    assert generic == 3 and custom == 0
    assert sum("/* p1 */" in q["sql"] for q in logged.captured_queries) == 3


def test_it_runs_in_the_callers_transaction(director_a):
    child = make_child(director_a, name="丙")
    sql = "UPDATE children_child SET grade = %(grade)s WHERE id = ANY(%(ids)s::uuid[])"
    with pytest.raises(RuntimeError), transaction.atomic():
        prepared.execute(sql, {"grade": "五年级", "ids": [child.pk]})
        assert Child.objects.get(pk=child.pk).grade == "五年级"
        raise RuntimeError("rolled back")
    assert Child.objects.get(pk=child.pk).grade != "五年级"


def test_the_reminders_refresh_of_a_visit_reuses_one_generic_plan(frozen, director_a):
    children = [make_child(director_a, name=f"走访{i}") for i in range(3)]
    before = plans("current_reminders")
    for child in children:
        make_visit(director_a, child, date(2026, 11, 20))
    generic, custom = plans("current_reminders")
    assert generic - before[0] >= 3 and custom == before[1]


def test_every_requests_session_user_and_token_reads_are_prepared(
    client_for, api_client, director_a
):
    """The reads every signed-in request makes first (its session, its user with the area, an
    API token with its user) are planned once per connection, then reused: a key lookup's
    planning was several times the lookup, on every request (issue 20, server CPU)."""
    pages = client_for(director_a)
    api = api_client(director_a)
    for _ in range(6):
        with CaptureQueriesContext(connection) as queries:
            assert pages.get("/visits/").status_code == 200
            assert api.get("/api/v1/reminders").status_code == 200
        sent = [q["sql"] for q in queries]
        for table in ("django_session", "FROM accounts_user u", "FROM accounts_apitoken t"):
            assert [s for s in sent if table in s and s.startswith("/* prepared */")], table
    for table in ("django_session", "FROM accounts_user u", "FROM accounts_apitoken t"):
        generic, custom = plans(table)
        assert custom <= 5 and generic >= 1, (table, generic, custom)


def test_a_childs_file_is_found_by_a_prepared_statement(client_for, api_client, director_a):
    """The child in the user's scope (every page and API call about one child) is a kept
    statement run as a prepared one: planned a few times, then its generic plan reused."""
    from children.selectors import child_for_user_or_404

    child = make_child(director_a, name="查小雨")
    pages = client_for(director_a)
    for _ in range(7):
        with CaptureQueriesContext(connection) as queries:
            assert pages.get(f"/children/{child.pk}/").status_code == 200
        assert [
            q
            for q in queries
            if q["sql"].startswith("/* prepared */") and "children_child" in q["sql"]
        ]
    generic, custom = plans('FROM "children_child" INNER JOIN "accounts_area"')
    assert custom <= 5 and generic >= 1, (generic, custom)
    # The same object as before: its village and the village's township loaded with it.
    found = child_for_user_or_404(user=director_a, child_id=str(child.pk))
    with CaptureQueriesContext(connection) as queries:
        assert found.name == "查小雨" and found.village.parent.code == found.village.parent_id
    assert len(queries) == 0


def test_the_files_lists_are_prepared_statements_sent_in_one_round_trip(client_for, director_a):
    """The reads a file sends together (core.compiled.together) go in one round trip, each of
    its key lookups a prepared statement planned a few times and then reused; what the page
    shows is what each read gives alone."""
    from children.services import family_member_add

    child = make_child(director_a, name="查小雨")
    family_member_add(
        user=director_a, child=child, relation="mother", name="查母", status="working_away"
    )
    make_visit(director_a, child, date(2026, 11, 20), notes="孩子在家，祖母照看。")
    pages = client_for(director_a)
    for _ in range(7):
        with CaptureQueriesContext(connection) as queries:
            page = pages.get(f"/children/{child.pk}/")
        assert page.status_code == 200
        sent = [q["sql"] for q in queries if '"children_familymember"' in q["sql"]]
        assert len(sent) == 1  # one entry: the file's lists went in one round trip
        assert sent[0].count("/* prepared */") >= 6
    body = page.content.decode()
    assert "查母" in body and "孩子在家，祖母照看。" in body
    for fragment in ('FROM "children_familymember"', 'FROM "visits_visit"'):
        generic, custom = plans(fragment)
        assert custom <= 5 and generic >= 2, (fragment, generic, custom)


def test_a_failing_read_sent_together_raises_as_djangos_would(director_a):
    """An error in one statement of the pipeline is raised as Django's own error (an atomic
    block rolls back as for any query), and the connection answers the next query."""
    from django.db import DatabaseError

    from core.compiled import Read, together

    reads = [
        Read("SELECT 1", None, "default", lambda rows, columns: rows, prepared=True),
        Read("SELECT 1/0", None, "default", lambda rows, columns: rows),
    ]
    with pytest.raises(DatabaseError, match="division by zero"), transaction.atomic():
        together(*reads)
    assert Child.objects.count() == 0


def test_the_audit_record_is_written_by_a_prepared_statement(director_a):
    """Nearly every request writes an audit record: its INSERT is parsed and planned once per
    connection, whoever (or no one) is signed in and however many records it writes."""
    from accounts.models import AuditRecord
    from accounts.services import audit_log

    with CaptureQueriesContext(connection) as queries:
        for i in range(18):
            audit_log(
                user=director_a if i % 2 else None,
                action="view",
                object_type="child",
                # Mostly one record (a page), some several (a list).
                records=[(f"c{i}-{n}", "341823103201") for n in range(3 if i > 13 else 1)],
                detail={"i": i, "text": "x'; DROP TABLE accounts_auditrecord; --"},
            )
    assert all(q["sql"].startswith("/* prepared */") for q in queries)
    written = AuditRecord.objects.filter(object_id__startswith="c").order_by("object_id")
    assert written.count() == 14 + 4 * 3
    first, second = written.get(object_id="c0-0"), written.get(object_id="c1-0")
    assert first.user_id is None and first.username == ""
    assert second.user_id == director_a.pk and second.username == director_a.username
    assert second.detail == {"i": 1, "text": "x'; DROP TABLE accounts_auditrecord; --"}
    # One record: its generic plan kept after five (several: planned for their number). A
    # statement per type of the user's key (none, a number).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            ['%INSERT INTO "accounts_auditrecord"%VALUES%'],
        )
        statements = cursor.fetchall()
    assert statements and all(custom <= 5 for _, custom in statements), statements
    assert sum(generic for generic, _ in statements) >= 4, statements


def test_a_villages_worklist_and_list_are_prepared_a_wider_reach_is_planned_with_its_values(
    client_for, director_a, supervisor
):
    """A director's reach is one village: the worklist and the API's list compare its key with
    ``=`` and are prepared statements (the same plan for any village). A township's (or a
    province's) reach is a range, planned with its values every time: a generic plan of a range
    would be guessed for any reach."""
    make_child(director_a, name="查小雨")

    def sent(client, path: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return [q["sql"] for q in queries]

    director, township = client_for(director_a), client_for(supervisor)
    for _ in range(6):
        (worklist,) = [q for q in sent(director, "/visits/") if "SELECT w.*" in q]
        assert "/* prepared */" in worklist and "c.village_id = %(low)s" in worklist
        (page,) = [q for q in sent(director, "/api/v1/children") if "_counted" in q]
        assert page.count("/* prepared */") == 2
        (wider,) = [q for q in sent(township, "/api/v1/children") if "_counted" in q]
        assert "/* prepared */" not in wider and "BETWEEN" in wider
    generic, custom = plans("c.village_id = $2")
    assert generic >= 1 and custom <= 5, (generic, custom)


def test_every_connection_plans_a_prepared_statement_once_without_its_values(settings):
    """config.settings opens every connection (the replica's too) with
    plan_cache_mode=force_generic_plan: a statement core.prepared sends is planned on its first
    run, never again on that connection (the ORM's statements, bound in the client, are not
    prepared and are planned with their values)."""
    for alias in ("default", "replica"):
        assert (
            "plan_cache_mode=force_generic_plan" in settings.DATABASES[alias]["OPTIONS"]["options"]
        )
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)
    child = "SELECT name FROM children_child WHERE id = %s /* once */"
    for _ in range(3):
        prepared.fetchall(child, ["00000000-0000-0000-0000-000000000000"])
    assert plans("/* once */") == (3, 0)
