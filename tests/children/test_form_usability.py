"""Forms after a failed save and for a one-village director (issue 19, point 6): every error named
in a summary at the top, each a link to its field; required fields marked, the ID number too
(required whenever the hukou is registered); a director of one village is neither shown its
code nor asked to choose it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from ..conftest import VILLAGE_1

pytestmark = pytest.mark.django_db


class _Text(HTMLParser):
    """The visible text of a page (no scripts, styles or hidden inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_a_failed_save_names_every_error_at_the_top(client_for, director_a):
    client = client_for(director_a)
    response = client.post("/children/new/", {"name": "", "birth_date": "not a date"})
    assert response.status_code == 200
    html = response.content.decode()
    summary = re.search(r"<div[^>]*data-error-summary[^>]*>(.*?)</div>", html, re.S)
    assert summary, "no error summary"
    form = response.context["form"]
    links = re.findall(r'href="#(div_id_[a-z_]+)"', summary.group(1))
    visible = {field.name for field in form.visible_fields()}
    assert set(links) == {f"div_id_{name}" for name in form.errors if name in visible}
    assert len(links) >= 3  # name, gender, birth date at least
    # Each link leads to its field's block, and the summary comes before the first of them.
    for anchor in links:
        assert f'id="{anchor}"' in html
    assert html.index("data-error-summary") < min(html.index(f'id="{a}"') for a in links)
    assert "未保存" in summary.group(1)


def test_the_visit_form_summary_names_its_errors(client_for, director_a, child):
    response = client_for(director_a).post(
        f"/visits/new/{child.pk}/", {"visited_on": "2026-13-45", "kind": ""}
    )
    html = response.content.decode()
    assert "data-error-summary" in html
    assert 'href="#div_id_kind"' in html and 'href="#div_id_visited_on"' in html
    assert 'id="div_id_kind"' in html and 'id="div_id_visited_on"' in html


def test_required_fields_and_the_id_number_are_marked(client_for, director_a):
    html = client_for(director_a).get("/children/new/").content.decode()
    for field in ("name", "birth_date", "id_number"):
        label = re.search(rf'<label[^>]*for="id_{field}"[^>]*>(.*?)</label>', html, re.S)
        assert label and "asteriskField" in label.group(1), field


def test_a_one_village_director_is_not_asked_for_the_village(client_for, director_a):
    html = client_for(director_a).get("/children/new/").content.decode()
    assert not re.search(r'<select[^>]*name="village"', html)
    assert re.search(rf'<input type="hidden" name="village" value="{VILLAGE_1}"', html)
    assert VILLAGE_1 not in visible_text(html)
    # Nor on the child list (nothing to filter by) or the transfer-in form.
    listing = client_for(director_a).get("/children/").content.decode()
    assert 'name="village"' not in listing
    transfer = client_for(director_a).get("/children/transfers/new/").content.decode()
    assert not re.search(r'<select[^>]*name="village"', transfer)
    assert VILLAGE_1 not in visible_text(transfer)


def test_a_supervisor_still_chooses_among_villages(client_for, supervisor):
    # The area picker (issue 20): the township's villages, one level below the supervisor's.
    listing = client_for(supervisor).get("/children/").content.decode()
    picker = re.search(r'<select[^>]*name="area"[^>]*>(.*?)</select>', listing, re.S)
    assert picker and f'value="{VILLAGE_1}"' in picker.group(1)


def test_a_one_village_director_registers_a_child_without_choosing(client_for, director_a):
    from children.models import Child

    client = client_for(director_a)
    form = client.get("/children/new/").context["form"]
    data = {
        "name": "查小雪",
        "gender": "female",
        "birth_date": "2016-05-01",
        "hukou_registered": "",
        "village": form["village"].value(),
        "ethnicity": "汉族",
        "school_status": "in_school",
    }
    response = client.post("/children/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    assert Child.objects.get(name="查小雪").village_id == VILLAGE_1
