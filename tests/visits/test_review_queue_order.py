"""Issue 18, point 5: the review queue puts the visits that prompt a mandatory report first (a
safety concern, a child found alone: visits.rules.prompts_report_sql), then the oldest, counts
them, filters them (?safety=1), and "审核通过" leads straight to the next visit of the queue."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.models import Role
from visits import selectors
from visits.services import visit_record

from ..conftest import VILLAGE_3, _user
from ..factories import make_child

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(frozen, areas, director_a, director_b):
    """Five visits to the township-1 supervisor's review, oldest first as recorded:
    routine 11-01, alone 11-05 (a child of 10 found with no carer), routine 11-08 (a 17-year-old
    found alone: no report prompt), safety 11-12, routine 11-15."""
    ten = make_child(director_a, name="十岁童", birth_date=date(2016, 5, 1))
    older = make_child(director_b, name="十七岁童", birth_date=date(2009, 5, 1))
    other = make_child(director_a, name="普通童")
    v = {
        "routine_1": visit_record(
            user=director_a, child=other, visited_on=date(2026, 11, 1), kind="home"
        ),
        "alone": visit_record(
            user=director_a,
            child=ten,
            visited_on=date(2026, 11, 5),
            kind="home",
            guardian_present=False,
            seen=["child"],
        ),
        "older_alone": visit_record(
            user=director_b,
            child=older,
            visited_on=date(2026, 11, 8),
            kind="home",
            guardian_present=False,
            seen=["child"],
        ),
        "safety": visit_record(
            user=director_b,
            child=older,
            visited_on=date(2026, 11, 12),
            kind="phone",
            safety_concern=True,
        ),
        "routine_2": visit_record(
            user=director_a, child=ten, visited_on=date(2026, 11, 15), kind="school"
        ),
    }
    # Another township's safety concern is not this supervisor's.
    director_c = _user("director_c", Role.DIRECTOR, areas[VILLAGE_3])
    far = make_child(director_c, name="外乡童")
    visit_record(
        user=director_c, child=far, visited_on=date(2026, 11, 2), kind="home", safety_concern=True
    )
    return v


ORDER = ["alone", "safety", "routine_1", "older_alone", "routine_2"]


def names(visits, queue_fixture):
    by_pk = {visit.pk: name for name, visit in queue_fixture.items()}
    return [by_pk[visit.pk] for visit in visits]


def test_concerns_first_then_the_oldest(client_for, queue, supervisor):
    response = client_for(supervisor).get("/visits/review/")
    assert names(response.context["page"], queue) == ORDER
    assert response.context["counts"] == {"total": 5, "concerns": 2}
    body = response.content.decode()
    assert body.index("十岁童") < body.index("普通童")
    assert 'id="review-concerns">2<' in body
    assert "脱离监护单独居住生活" in body and "安全隐患" in body


def test_the_safety_filter_lists_the_concerns_only(client_for, queue, supervisor):
    response = client_for(supervisor).get("/visits/review/?safety=1")
    assert names(response.context["page"], queue) == ORDER[:2]
    assert response.context["page"].paginator.count == 2


def test_the_python_and_sql_priorities_agree(queue, supervisor):
    for visit in selectors.visits_to_review(user=supervisor):
        assert selectors.review_priority(visit) == visit.priority, visit.pk


def test_a_concern_on_page_two_comes_first(client_for, frozen, director_a, supervisor):
    child = make_child(director_a, name="常规童")
    for day in range(1, 32):
        visit_record(user=director_a, child=child, visited_on=date(2026, 10, day), kind="phone")
    late = make_child(director_a, name="最新隐患童")
    visit_record(
        user=director_a, child=late, visited_on=date(2026, 11, 22), kind="home", safety_concern=True
    )
    page = client_for(supervisor).get("/visits/review/").context["page"]
    assert page.paginator.count == 32 and page[0].child.name == "最新隐患童"


def test_reviewed_leads_to_the_next_visit_in_the_queue(client_for, queue, supervisor):
    client = client_for(supervisor)
    order = [v.pk for v in selectors.visits_to_review(user=supervisor)]
    assert order == [queue[name].pk for name in ORDER]
    # 审核通过 on the second visit of the queue: on to the third, saying so.
    response = client.post(
        f"/visits/{order[1]}/", {"decision": "reviewed", "comment": ""}, follow=True
    )
    assert response.redirect_chain == [(f"/visits/{order[2]}/", 302)]
    said = (
        "Review saved. Here is the next visit to review.",
        "审核已保存。以下是下一条待审核走访。",
    )
    assert any(text in response.content.decode() for text in said)
    # From the last: back to the first still waiting.
    response = client.post(f"/visits/{order[-1]}/", {"decision": "reviewed", "comment": ""})
    assert response.url == f"/visits/{order[0]}/"
    # Returned with a reason, the queue goes on too.
    response = client.post(f"/visits/{order[0]}/", {"decision": "returned", "comment": "请补充"})
    assert response.url == f"/visits/{order[2]}/"
    response = client.post(f"/visits/{order[2]}/", {"decision": "reviewed", "comment": ""})
    assert response.url == f"/visits/{order[3]}/"
    # The queue emptied: back to the (empty) queue page.
    response = client.post(f"/visits/{order[3]}/", {"decision": "reviewed", "comment": ""})
    assert response.url == "/visits/review/"
    assert not selectors.visits_to_review(user=supervisor).exists()


def test_the_last_review_returns_to_the_queue(client_for, frozen, director_a, supervisor):
    child = make_child(director_a, name="唯一童")
    visit = visit_record(user=director_a, child=child, visited_on=date(2026, 11, 20), kind="home")
    response = client_for(supervisor).post(
        f"/visits/{visit.pk}/", {"decision": "reviewed", "comment": ""}
    )
    assert response.status_code == 302 and response.url == "/visits/review/"


def test_the_queue_keeps_its_scope_and_role(client_for, queue, other_supervisor, director_a):
    # Township 2's supervisor: their own township's concern only.
    page = client_for(other_supervisor).get("/visits/review/?safety=1").context["page"]
    assert [visit.child.name for visit in page] == ["外乡童"]
    assert client_for(director_a).get("/visits/review/?safety=1").status_code == 403
