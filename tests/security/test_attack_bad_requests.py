"""Issue 14 L2, requests that used to answer 500 (api.md "Bad requests"): a NUL byte or bytes
that are not UTF-8 in a path or a query string → 400; a body over the configured limits → 413,
JSON on the API; never a 500."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from children.models import Child

pytestmark = pytest.mark.django_db

TARGETS = {
    "nul in a query value": "?q=%00",
    "nul in a query key": "?q%00=1",
    "raw nul in a query value": "?q=\x00",
    "undecodable query value": "?q=%FF",
    "undecodable query key": "?%C3%28=1",
}
PAGE_PATHS = ["/children/", "/reports/", "/visits/reminders/", "/areas/"]
API_PATHS = ["/api/v1/children", "/api/v1/reports", "/api/v1/reminders"]


@pytest.mark.parametrize("path", PAGE_PATHS)
@pytest.mark.parametrize("query", TARGETS.values(), ids=TARGETS.keys())
def test_pages_refuse_nul_and_undecodable_queries(client_for, civil_affairs, path, query):
    response = client_for(civil_affairs).get(path + query)
    assert response.status_code == 400, response.status_code
    page = response.content.decode()
    assert "请求" in page and "Bad request" in page


@pytest.mark.parametrize("path", ["/children/%00/", "/areas/34%00/", "/children/%FF/", "/a%00"])
def test_pages_refuse_nul_and_undecodable_paths(client_for, civil_affairs, path):
    assert client_for(civil_affairs).get(path).status_code == 400


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("query", TARGETS.values(), ids=TARGETS.keys())
def test_api_refuses_nul_and_undecodable_queries_with_json(api_client, civil_affairs, path, query):
    response = api_client(civil_affairs).get(path + query)
    assert response.status_code == 400, response.content
    (problem,) = response.json()["detail"]
    assert problem["loc"][0] == "query" and problem["msg"]


@pytest.mark.parametrize("path", ["/api/v1/areas/34%00", "/api/v1/children/%FF"])
def test_api_refuses_nul_and_undecodable_paths_with_json(api_client, civil_affairs, path):
    response = api_client(civil_affairs).get(path)
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == ["path"]


def test_api_body_over_the_limit_is_a_413_with_json(api_client, director_a):
    body = json.dumps({"name": "大" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "gender": "male"})
    response = api_client(director_a).post(
        "/api/v1/children", body, content_type="application/json"
    )
    assert response.status_code == 413, response.content
    assert "超过" in response.json()["detail"]
    assert not Child.objects.exists()


def test_page_bodies_over_the_limits_are_a_413(client_for, reporter):
    client = client_for(reporter)
    big = "大" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    form = client.post("/reports/new/", {"description": big, "situation": "living_alone"})
    assert form.status_code == 413
    assert "超过" in form.content.decode()
    # multipart: the non-file fields count towards the limit
    multipart = client.post("/reports/new/", {"description": big, "file": _file()})
    assert multipart.status_code == 413
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    assert client.post("/reports/new/", fields).status_code == 413


def test_too_many_query_fields_and_a_broken_multipart_body_are_a_400(client_for, reporter):
    client = client_for(reporter)
    query = "&".join(f"f{i}=x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    assert client.get(f"/reports/?{query}").status_code == 400
    broken = client.generic(
        "POST",
        "/reports/new/",
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb',
        content_type="multipart/form-data; boundary=",
    )
    assert broken.status_code == 400


def test_ordinary_requests_still_pass(client_for, api_client, civil_affairs):
    assert client_for(civil_affairs).get("/children/?q=%E5%B0%8F%E6%98%8E").status_code == 200
    assert api_client(civil_affairs).get("/api/v1/children?q=%E5%B0%8F").status_code == 200


def _file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("a.txt", b"x")
