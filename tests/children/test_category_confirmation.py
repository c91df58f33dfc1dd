"""Issue 17, point 3: orphan, de facto unsupported and HIV-affected typed by a director or a
supervisor wait for county civil affairs (待民政确认, api.md "Children"); the county confirms or
rejects with a note, or confirms by approving the allowance; the HIV allowance is refused while
its category waits."""

from datetime import date

import pytest

from children.models import CategoryDecision, Child
from children.rules import split_categories

from ..benefits.test_subsidies import apply, decide
from ..conftest import VILLAGE_1
from ..factories import add_parents, attach_parent_documents, make_child, make_id_number

pytestmark = pytest.mark.django_db


def confirm(client, child, category, decision="confirm", note="经核实，确认"):
    return client.post(
        f"/api/v1/children/{child.pk}/category-confirmations",
        {"category": category, "decision": decision, "note": note},
        content_type="application/json",
    )


def register(client, categories):
    return client.post(
        "/api/v1/children",
        {
            "name": "王晨曦",
            "gender": "female",
            "birth_date": "2015-03-08",
            "id_number": make_id_number("2015-03-08", "female", area="349901"),
            "village_code": VILLAGE_1,
            "categories": categories,
        },
        content_type="application/json",
    )


# --- The rule --------------------------------------------------------------------------------


def test_split_categories_by_who_types_them():
    typed = ["orphan", "hiv_affected", "low_income_family"]
    director = split_categories(typed, by_county=False)
    assert director.categories == ["low_income_family"]
    assert director.pending == ["orphan", "hiv_affected"]
    county = split_categories(typed, pending_now=["de_facto_unsupported"], by_county=True)
    assert county.categories == typed and county.pending == ["de_facto_unsupported"]
    # Confirmed stays confirmed; left out it cannot be taken away by a director.
    kept = split_categories(["orphan"], confirmed_now=["orphan"], by_county=False)
    assert kept.categories == ["orphan"] and kept.pending == []
    taken = split_categories([], confirmed_now=["orphan", "single_parent"], by_county=False)
    assert taken.withdrawn_confirmed == ["orphan"] and taken.categories == []


# --- Registration and the API ----------------------------------------------------------------


def test_director_typed_categories_wait_for_the_county(frozen, api_client, director_a):
    response = register(api_client(director_a), ["orphan", "hiv_affected", "single_parent"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["categories"] == ["single_parent"]
    assert body["categories_pending"] == ["orphan", "hiv_affected"]
    # Not counted while pending: the list's category filter and the statistics see confirmed ones.
    listed = api_client(director_a).get("/api/v1/children", {"category": "orphan"}).json()
    assert listed["count"] == 0
    stats = api_client(director_a).get("/api/v1/stats", {"area": VILLAGE_1}).json()
    assert stats["by_category"].get("orphan", 0) == 0


def test_county_typed_categories_stand(frozen, api_client, civil_affairs):
    response = register(api_client(civil_affairs), ["hiv_affected"])
    assert response.status_code == 201, response.content
    assert response.json()["categories"] == ["hiv_affected"]
    assert response.json()["categories_pending"] == []


def test_confirm_and_reject_through_the_api(
    frozen, api_client, director_a, supervisor, civil_affairs, outsider
):
    child = make_child(director_a, categories=["orphan", "hiv_affected"])
    assert child.categories_pending == ["orphan", "hiv_affected"]
    # Only county civil affairs (403), only in their area (404).
    assert confirm(api_client(director_a), child, "hiv_affected").status_code == 403
    assert confirm(api_client(supervisor), child, "hiv_affected").status_code == 403
    assert confirm(api_client(outsider), child, "hiv_affected").status_code == 404

    county = api_client(civil_affairs)
    response = confirm(county, child, "hiv_affected")
    assert response.status_code == 200, response.content
    assert "hiv_affected" in response.json()["categories"]
    assert response.json()["categories_pending"] == ["orphan"]

    # A rejection needs its reason, named on the field; nothing changes without it.
    response = confirm(county, child, "orphan", decision="reject", note="  ")
    assert response.status_code == 422
    assert "note" in response.content.decode()
    assert Child.objects.get(pk=child.pk).categories_pending == ["orphan"]
    response = confirm(county, child, "orphan", decision="reject", note="父亲在外务工，非孤儿")
    assert response.status_code == 200
    assert response.json()["categories_pending"] == []
    assert "orphan" not in response.json()["categories"]

    # Not waiting any more: 409; a category the county does not confirm: 422.
    assert confirm(county, child, "orphan").status_code == 409
    assert confirm(county, child, "single_parent").status_code == 422
    assert confirm(county, child, "hiv_affected", decision="maybe").status_code == 422

    decisions = list(CategoryDecision.objects.filter(child=child).order_by("id"))
    assert [(d.category, d.decision) for d in decisions] == [
        ("hiv_affected", "confirm"),
        ("orphan", "reject"),
    ]
    assert decisions[1].note == "父亲在外务工，非孤儿" and decisions[1].decided_by == civil_affairs


def test_a_director_cannot_take_away_a_confirmed_category(
    frozen, api_client, director_a, civil_affairs
):
    child = make_child(director_a, categories=["hiv_affected", "orphan"])
    assert confirm(api_client(civil_affairs), child, "hiv_affected").status_code == 200
    client = api_client(director_a)
    response = client.patch(
        f"/api/v1/children/{child.pk}", {"categories": []}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "categories" in response.content.decode()
    # Leaving out a pending one withdraws it.
    response = client.patch(
        f"/api/v1/children/{child.pk}",
        {"categories": ["hiv_affected"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["categories"] == ["hiv_affected"]
    assert response.json()["categories_pending"] == []


# --- Benefits --------------------------------------------------------------------------------


def test_hiv_allowance_refused_while_its_category_waits(
    frozen, api_client, director_a, civil_affairs
):
    child = make_child(director_a, categories=["hiv_affected"])
    response = apply(api_client(director_a), child, programme="hiv_affected_allowance")
    assert response.status_code == 422
    assert "待县级民政部门确认" in response.content.decode()
    assert confirm(api_client(civil_affairs), child, "hiv_affected").status_code == 200
    response = apply(api_client(director_a), child, programme="hiv_affected_allowance")
    assert response.status_code == 201, response.content


def test_county_approval_of_the_orphan_allowance_confirms_orphan(
    frozen, api_client, director_a, supervisor, civil_affairs
):
    child = add_parents(
        director_a,
        make_child(director_a, categories=["orphan"], birth_date=date(2014, 5, 1)),
        status="deceased",
        has_guardian_capacity=False,
    )
    attach_parent_documents(director_a, child)
    assert Child.objects.get(pk=child.pk).categories_pending == ["orphan"]
    application_id = apply(api_client(director_a), child).json()["id"]
    assert decide(api_client(supervisor), application_id).status_code == 200
    response = decide(api_client(civil_affairs), application_id)
    assert response.status_code == 200, response.content
    child.refresh_from_db()
    assert "orphan" in child.categories and child.categories_pending == []
    decision = CategoryDecision.objects.get(child=child)
    assert decision.decision == "confirm" and decision.decided_by == civil_affairs
    assert decision.note == "批准孤儿基本生活费"


# --- Pages -----------------------------------------------------------------------------------


def test_pages_show_the_wait_and_let_the_county_decide(
    frozen, client_for, director_a, civil_affairs
):
    child = make_child(director_a, name="待确认儿童", categories=["de_facto_unsupported"])
    director = client_for(director_a)
    page = director.get(f"/children/{child.pk}/").content.decode()
    assert "待民政确认" in page
    assert f"/children/{child.pk}/categories/decide/" not in page  # the director cannot decide
    assert (
        director.post(
            f"/children/{child.pk}/categories/decide/",
            {"category": "de_facto_unsupported", "decision": "confirm"},
        ).status_code
        == 403
    )

    county = client_for(civil_affairs)
    listed = county.get("/children/", {"category": "pending"}).content.decode()
    assert "待确认儿童" in listed
    page = county.get(f"/children/{child.pk}/").content.decode()
    assert f"/children/{child.pk}/categories/decide/" in page
    # Reject without a reason: said on the page, nothing changes.
    county.post(
        f"/children/{child.pk}/categories/decide/",
        {"category": "de_facto_unsupported", "decision": "reject", "note": ""},
    )
    assert Child.objects.get(pk=child.pk).categories_pending == ["de_facto_unsupported"]
    response = county.post(
        f"/children/{child.pk}/categories/decide/",
        {"category": "de_facto_unsupported", "decision": "confirm", "note": "经入户核实"},
        follow=True,
    )
    assert response.status_code == 200
    child.refresh_from_db()
    assert child.categories_pending == [] and "de_facto_unsupported" in child.categories
    assert "待确认儿童" not in county.get("/children/", {"category": "pending"}).content.decode()
