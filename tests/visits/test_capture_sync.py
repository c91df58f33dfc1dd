"""The server side of field capture on a weak signal (issue 19, core.capture): a phone's upload
carries a client id (a retried or doubled upload creates one visit), a conflict is answered with
both versions (never overwritten in silence), and a body cut short saves nothing."""

from __future__ import annotations

import io
import socket
import uuid
from datetime import date
from urllib.parse import urlsplit

import pytest
from PIL import Image

from children import services as child_services
from children.models import ParentContact
from visits import services
from visits.models import Visit, VisitPhoto

from ..factories import make_child

pytestmark = pytest.mark.django_db

SYNC = {"HTTP_X_SHOUWANG_SYNC": "1"}
VISIT = {
    "visited_on": "2026-11-23",
    "kind": "home",
    "seen": ["child", "caregiver"],
    "guardian_present": "true",
    "caregiver_capable": "true",
    "in_school": "true",
    "safety_concern": "false",
    "notes": "奶奶照顾得很好",
    "needs": "需要课外辅导",
}


def jpeg(size=(800, 600)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, "JPEG", quality=85)
    buffer.seek(0)
    buffer.name = "photo.jpg"
    return buffer


def post_visit(client, child, **changes):
    data = {**VISIT, **changes}
    return client.post(f"/visits/new/{child.pk}/", data, **SYNC)


def test_a_repeated_upload_creates_one_visit_with_its_photo(client_for, director_a, child):
    client = client_for(director_a)
    client_id = str(uuid.uuid4())
    first = post_visit(client, child, client_id=client_id, base=str(child.version), photos=jpeg())
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "created"
    assert body["redirect"] == "/visits/"
    assert "走访已记录" in body["message"]
    # The same upload again (the answer was lost on the way back): nothing new.
    again = post_visit(client, child, client_id=client_id, base=str(child.version), photos=jpeg())
    assert again.status_code == 200, again.content
    assert again.json()["status"] == "duplicate"
    assert again.json()["id"] == body["id"]
    visit = Visit.objects.get(child=child)
    assert str(visit.pk) == body["id"]
    assert str(visit.client_id) == client_id
    assert VisitPhoto.objects.filter(visit=visit).count() == 1
    assert visit.notes == "奶奶照顾得很好" and visit.needs == "需要课外辅导"
    # A background upload leaves no page message behind; the interactive one does.
    assert not list(client.get("/visits/").context["messages"])


def test_interactive_save_shows_the_message_on_the_next_page(client_for, director_a, child):
    client = client_for(director_a)
    response = client.post(
        f"/visits/new/{child.pk}/",
        {**VISIT, "client_id": str(uuid.uuid4())},
        HTTP_X_SHOUWANG_INTERACTIVE="1",
        **SYNC,
    )
    assert response.status_code == 201
    shown = [str(m) for m in client.get(response.json()["redirect"]).context["messages"]]
    assert shown == [response.json()["message"]]


def test_the_same_form_sent_twice_by_the_browser_saves_once(client_for, director_a, child):
    """Without the script (a plain form post, e.g. the button pressed twice)."""
    client = client_for(director_a)
    client_id = str(uuid.uuid4())
    for _ in range(2):
        response = client.post(f"/visits/new/{child.pk}/", {**VISIT, "client_id": client_id})
        assert response.status_code == 302
    assert Visit.objects.filter(child=child).count() == 1


def test_api_client_id_answers_200_with_the_first_visit(api_client, director_a, director_b, child):
    client = api_client(director_a)
    payload = {"date": "2026-11-23", "kind": "home", "client_id": str(uuid.uuid4())}
    url = f"/api/v1/children/{child.pk}/visits"
    first = client.post(url, payload, content_type="application/json")
    assert first.status_code == 201
    assert first.json()["client_id"] == payload["client_id"]
    second = client.post(url, payload, content_type="application/json")
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Visit.objects.filter(child=child).count() == 1
    # Without a client id every POST is a new visit, as before.
    assert (
        client.post(url, {"date": "2026-11-23", "kind": "phone"}, "application/json").status_code
        == 201
    )
    assert Visit.objects.filter(child=child).count() == 2


def test_a_client_id_of_another_child_is_a_conflict(api_client, director_a, child):
    other = make_child(director_a, name="查小风", birth_date=date(2015, 5, 5))
    client = api_client(director_a)
    payload = {"date": "2026-11-23", "kind": "home", "client_id": str(uuid.uuid4())}
    assert (
        client.post(f"/api/v1/children/{child.pk}/visits", payload, "application/json").status_code
        == 201
    )
    reused = client.post(f"/api/v1/children/{other.pk}/visits", payload, "application/json")
    assert reused.status_code == 409
    assert reused.json()["code"] == "client_id_reused"
    assert Visit.objects.count() == 1


def test_file_changed_meanwhile_is_a_conflict_with_both_versions(client_for, director_a, child):
    client = client_for(director_a)
    form = client.get(f"/visits/new/{child.pk}/")
    base = form.context["form"]["base"].value()
    assert str(base) == str(child.version)
    # Meanwhile (the phone had no signal) the file changed: another school.
    child_services.child_update(user=director_a, child=child, changes={"school_name": "新学校"})
    child.refresh_from_db()
    client_id = str(uuid.uuid4())
    refused = post_visit(client, child, client_id=client_id, base=str(base))
    assert refused.status_code == 409, refused.content
    body = refused.json()
    assert body["status"] == "conflict" and body["reason"] == "changed"
    assert body["base"] == str(child.version)
    assert body["server"]["title"] == child.name
    assert {f["name"] for f in body["server"]["fields"]} >= {"name", "status", "caregiver"}
    assert not Visit.objects.filter(child=child).exists()
    # The director looked and keeps the visit: sent again with force and the new version.
    kept = post_visit(client, child, client_id=client_id, base=body["base"], force="1")
    assert kept.status_code == 201
    assert Visit.objects.filter(child=child).count() == 1


def test_a_closed_file_is_a_conflict_and_saves_nothing(client_for, director_a, child):
    client = client_for(director_a)
    base = str(child.version)
    child_services.child_close(user=director_a, child=child, reason="moved_away")
    refused = post_visit(client, child, client_id=str(uuid.uuid4()), base=base, force="1")
    assert refused.status_code == 409
    assert refused.json()["reason"] == "closed"
    assert not Visit.objects.filter(child=child).exists()


def test_invalid_upload_answers_422_with_the_page(client_for, director_a, child):
    client = client_for(director_a)
    response = post_visit(client, child, visited_on="2026-12-30", client_id=str(uuid.uuid4()))
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "invalid"
    assert "visited_on" in body["errors"]
    assert "<form" in body["html"] and "is-invalid" in body["html"]
    assert not Visit.objects.exists()


def test_a_visit_corrected_on_two_devices_is_a_conflict(client_for, director_a, child):
    client = client_for(director_a)
    visit = services.visit_record(
        user=director_a, child=child, visited_on=date(2026, 11, 23), kind="home", notes="第一次"
    )
    base = client.get(f"/visits/{visit.pk}/edit/").context["form"]["base"].value()
    # The other device saved a correction first.
    services.visit_update(user=director_a, visit=visit, changes={"notes": "另一台手机改的"})
    mine = {**VISIT, "notes": "这台手机改的", "base": base}
    refused = client.post(f"/visits/{visit.pk}/edit/", mine, **SYNC)
    assert refused.status_code == 409, refused.content
    body = refused.json()
    assert body["reason"] == "edited"
    server = {f["name"]: f for f in body["server"]["fields"]}
    assert server["notes"]["value"] == "另一台手机改的"
    assert server["guardian_present"]["value"] == ""
    visit.refresh_from_db()
    assert visit.notes == "另一台手机改的"  # never overwritten in silence
    kept = client.post(
        f"/visits/{visit.pk}/edit/", {**mine, "base": body["base"], "force": "1"}, **SYNC
    )
    assert kept.status_code == 200 and kept.json()["status"] == "saved"
    visit.refresh_from_db()
    assert visit.notes == "这台手机改的"


def test_a_visit_reviewed_meanwhile_is_a_conflict(client_for, director_a, supervisor, child):
    client = client_for(director_a)
    visit = services.visit_record(
        user=director_a, child=child, visited_on=date(2026, 11, 23), kind="home"
    )
    base = services.visit_version(visit)
    services.visit_review(user=supervisor, visit=visit, decision="reviewed")
    refused = client.post(f"/visits/{visit.pk}/edit/", {**VISIT, "base": base}, **SYNC)
    assert refused.status_code == 409
    assert refused.json()["reason"] == "reviewed"


def test_an_ended_session_answers_401_not_the_sign_in_page(client, child):
    response = post_visit(client, child, client_id=str(uuid.uuid4()))
    assert response.status_code == 401
    assert response.json() == {"status": "login"}


def test_parent_contact_upload_once(client_for, director_a, child):
    client = client_for(director_a)
    url = f"/children/{child.pk}/parent-contacts/new/"
    data = {
        "contacted_on": "2026-11-22",
        "channel": "phone",
        "note": "妈妈打来电话",
        "client_id": str(uuid.uuid4()),
        "base": str(child.version),
    }
    assert client.post(url, data, **SYNC).status_code == 201
    again = client.post(url, data, **SYNC)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert ParentContact.objects.filter(child=child).count() == 1
    child_services.child_update(user=director_a, child=child, changes={"school_name": "新学校"})
    changed = client.post(url, {**data, "client_id": str(uuid.uuid4())}, **SYNC)
    assert changed.status_code == 409 and changed.json()["reason"] == "changed"
    assert ParentContact.objects.filter(child=child).count() == 1


# --- A connection broken mid-upload ----------------------------------------------------------


def _multipart(fields: dict, photo: bytes, boundary: str) -> bytes:
    parts = []
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            disposition = f'Content-Disposition: form-data; name="{name}"'
            parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{item}\r\n".encode())
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def _raw_post(live_server, path: str, headers: dict, body: bytes, *, send: int, length: int) -> str:
    """POST over a socket: Content-Length ``length``, ``send`` bytes of ``body``, then the
    sending half closed (the phone lost its signal); the status line of the answer."""
    url = urlsplit(live_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {length}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:send])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


@pytest.fixture
def signed_in(live_server, client_for, director_a, child):
    """The director's session and CSRF cookies for raw requests to the live server."""
    client = client_for(director_a)
    client.get(f"/visits/new/{child.pk}/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    cookies = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return {"Cookie": cookies, "X-CSRFToken": token, "X-Shouwang-Sync": "1"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cut", ["content_length", "closing_boundary"])
def test_a_body_cut_short_saves_nothing(live_server, signed_in, child, cut):
    boundary = "----shouwang" + uuid.uuid4().hex
    photo = jpeg((1600, 1200)).getvalue()
    body = _multipart({**VISIT, "client_id": str(uuid.uuid4())}, photo, boundary)
    headers = {**signed_in, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    if cut == "content_length":
        # Content-Length says the whole body; 60 % arrives, then the connection ends.
        status = _raw_post(
            live_server,
            f"/visits/new/{child.pk}/",
            headers,
            body,
            send=len(body) * 6 // 10,
            length=len(body),
        )
    else:
        # The body that arrived is complete by its length, but the photo part was cut short
        # (a proxy passed on what it got): no closing boundary.
        short = body[: len(body) * 6 // 10]
        status = _raw_post(
            live_server,
            f"/visits/new/{child.pk}/",
            headers,
            short,
            send=len(short),
            length=len(short),
        )
    assert " 400 " in status + " ", status
    assert not Visit.objects.exists()
    assert not VisitPhoto.objects.exists()
    # The whole body, sent again, is saved with its photo.
    status = _raw_post(
        live_server, f"/visits/new/{child.pk}/", headers, body, send=len(body), length=len(body)
    )
    assert " 201 " in status + " ", status
    assert VisitPhoto.objects.filter(visit__child=child).count() == 1
