"""Issue 16 pages: re-open a closed file, move a file (out and in), answer transfers; the
waiting transfers on both sides' first pages."""

from __future__ import annotations

import pytest

from children.models import Transfer
from children.services import child_close

from ..conftest import VILLAGE_1, VILLAGE_2, VILLAGE_B
from ..factories import make_id_number

pytestmark = pytest.mark.django_db


def test_reopen_button_and_page(client_for, director_a, viewer, child):
    child_close(user=director_a, child=child, reason="parents_returned")
    client = client_for(director_a)
    page = client.get(f"/children/{child.pk}/").content.decode()
    assert f"/children/{child.pk}/reopen/" in page
    assert (
        f"/children/{child.pk}/reopen/"
        not in client_for(viewer).get(f"/children/{child.pk}/").content.decode()
    )
    refused = client.post(f"/children/{child.pk}/reopen/", {"reason": ""})
    assert refused.status_code == 200 and "is-invalid" in refused.content.decode()
    response = client.post(f"/children/{child.pk}/reopen/", {"reason": "父母再次外出"})
    assert response.status_code == 302
    child.refresh_from_db()
    assert child.status == "active"
    # The record history shows the closing and the re-opening.
    timeline = client.get(f"/children/{child.pk}/history/").content.decode()
    assert "父母再次外出" in timeline
    assert client_for(viewer).get(f"/children/{child.pk}/reopen/").status_code == 403


def test_transfer_out_and_in_through_the_pages(client_for, director_a, outsider, child):
    client = client_for(director_a)
    assert (
        f"/children/{child.pk}/transfer/" in client.get(f"/children/{child.pk}/").content.decode()
    )
    bad = client.post(f"/children/{child.pk}/transfer/", {"to_village_code": "123", "reason": "x"})
    assert bad.status_code == 200 and not Transfer.objects.exists()
    response = client.post(
        f"/children/{child.pk}/transfer/", {"to_village_code": VILLAGE_B, "reason": "迁居绩溪"}
    )
    assert response.status_code == 302 and response["Location"] == "/children/transfers/"
    receiver = client_for(outsider)
    # The receiving side's first page (the worklist) says a transfer waits for the answer.
    worklist = receiver.get("/visits/").content.decode()
    assert 'id="transfers-to-answer"' in worklist
    assert "有 1 份儿童档案转移申请等待您答复" in worklist
    # The asking side has nothing to answer.
    assert 'id="transfers-to-answer"' not in client.get("/visits/").content.decode()
    page = receiver.get("/children/transfers/").content.decode()
    assert "查小雨" in page and "查济村" not in page and f"/children/{child.pk}/" not in page
    transfer = Transfer.objects.get()
    assert receiver.post(f"/children/transfers/{transfer.pk}/accept/").status_code == 302
    assert 'id="transfers-to-answer"' not in receiver.get("/visits/").content.decode()
    child.refresh_from_db()
    assert child.village_id == VILLAGE_B
    assert client.get(f"/children/{child.pk}/").status_code == 404
    assert receiver.get(f"/children/{child.pk}/").status_code == 200


def test_transfer_in_by_id_number_and_reject_on_the_page(
    client_for, director_a, director_b, supervisor, child
):
    from core.crypto import decrypt

    number = decrypt(child.id_number_encrypted)
    page = client_for(director_b).get("/children/transfers/new/")
    assert page.status_code == 200
    unknown = client_for(director_b).post(
        "/children/transfers/new/",
        {"id_number": make_id_number("2015-01-01", seq=55), "village": VILLAGE_2, "reason": "迁入"},
    )
    assert unknown.status_code == 404
    asked = client_for(director_b).post(
        "/children/transfers/new/",
        {"id_number": number, "village": VILLAGE_2, "reason": "迁入厚岸村"},
    )
    assert asked.status_code == 302
    transfer = Transfer.objects.get()
    assert transfer.status == "pending" and transfer.requested_by_side == "receiver"
    # The file's side (director_a) answers; the supervisor's first page shows it too.
    home = client_for(supervisor).get("/").content.decode()
    assert "sw-home-notice" in home
    assert (
        client_for(director_b).post(f"/children/transfers/{transfer.pk}/accept/").status_code == 403
    )
    transfer.refresh_from_db()
    assert transfer.status == "pending"
    client_for(director_a).post(
        f"/children/transfers/{transfer.pk}/reject/", {"reason": "仍在本村"}
    )
    transfer.refresh_from_db()
    assert transfer.status == "rejected" and transfer.reject_reason == "仍在本村"
    child.refresh_from_db()
    assert child.village_id == VILLAGE_1
