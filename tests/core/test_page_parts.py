"""Parts of a page made once and kept: static files' addresses (config.storage), the texts every
signed-in page carries (``{% constant_fragment %}``), and the worklist's rows, kept by their
content (core.web.content_key) so that they are never stale."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.conf import settings

from children.models import Child
from config.storage import ManifestStaticFilesStorage
from core.web import content_key

from ..factories import make_child

ROW = "visits/_child_row.html"
STRINGS = "partials/_capture_strings.html"


def _templates(response) -> set[str]:
    return {t.name for t in response.templates}


def test_a_static_files_address_is_looked_up_once(tmp_path, monkeypatch):
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"css/site.css": "css/site.abc123.css"}})
    )
    storage = ManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    looked_up = []
    stored_name = storage.stored_name
    monkeypatch.setattr(
        storage, "stored_name", lambda name: looked_up.append(name) or stored_name(name)
    )
    assert storage.url("css/site.css") == "/static/css/site.abc123.css"
    assert storage.url("css/site.css") == "/static/css/site.abc123.css"
    assert looked_up == ["css/site.css"]
    with pytest.raises(ValueError):  # a file the manifest lacks is refused every time, not kept
        storage.url("css/missing.css")
    with pytest.raises(ValueError):
        storage.url("css/missing.css")


class Row:
    def __init__(self, **values):
        self.__dict__.update(values)


def test_content_key_changes_with_anything_on_the_rows(db):
    a = Child(name="查小雨", risk_level="high", next_home_visit_due=date(2026, 12, 1))
    b = Child(id=a.id, name="查小雨", risk_level="high", next_home_visit_due=date(2026, 12, 1))
    assert content_key([a]) == content_key([b])
    b.next_home_visit_due += timedelta(days=1)
    assert content_key([a]) != content_key([b])
    b.next_home_visit_due = a.next_home_visit_due
    b.days = 3  # an attribute the selector sets
    assert content_key([a]) != content_key([b])
    assert content_key([a, b]) != content_key([b, a])
    assert content_key([]) != content_key([a])
    assert content_key([{"x": 1}]) != content_key([{"x": 2}])


def test_the_worklist_rows_are_rendered_again_only_when_they_change(frozen, client_for, director_a):
    child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    client = client_for(director_a)
    first = client.get("/visits/")
    assert first.status_code == 200 and "查小雨" in first.content.decode()
    assert ROW in _templates(first)
    again = client.get("/visits/")
    assert ROW not in _templates(again)  # the same rows: kept
    assert "查小雨" in again.content.decode()
    Child.objects.filter(pk=child.pk).update(name="查小雪")
    changed = client.get("/visits/")
    assert ROW in _templates(changed)
    assert "查小雪" in changed.content.decode() and "查小雨" not in changed.content.decode()
    # A week later the same child is due in fewer days: rendered again.
    Child.objects.filter(pk=child.pk).update(next_home_visit_due=date(2026, 11, 30))
    assert ROW in _templates(client.get("/visits/"))
    frozen.shift(timedelta(days=1))
    assert ROW in _templates(client_for(director_a).get("/visits/"))


def test_another_director_never_sees_the_kept_rows(frozen, client_for, director_a, director_b):
    make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    assert "查小雨" in client_for(director_a).get("/visits/").content.decode()
    assert "查小雨" not in client_for(director_b).get("/visits/").content.decode()


def test_the_kept_parts_follow_the_language(frozen, client_for, director_a):
    make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
    client = client_for(director_a)
    chinese = client.get("/visits/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/visits/").content.decode()
    assert "Saved on this phone" in english and "Record visit" in english
    assert "Saved on this phone" not in chinese and "Record visit" not in chinese


def test_the_phones_texts_are_rendered_once_per_language(client_for, director_a):
    client = client_for(director_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.get("/visits/")
    again = client.get("/visits/")
    assert STRINGS not in _templates(again)
    assert 'id="capture-strings"' in again.content.decode()


def test_with_debug_on_the_phones_texts_are_rendered_every_time(settings, client_for, director_a):
    settings.DEBUG = True
    client = client_for(director_a)
    client.get("/visits/")
    assert STRINGS in _templates(client.get("/visits/"))


NAVBAR = "partials/_navbar.html"


def test_the_menu_bar_is_kept_by_what_it_shows(client_for, director_a, director_b):
    """The menu bar is drawn from accounts.context_processors.Chrome alone: kept for the next
    page with an equal one, drawn again when the person's name, the page or the number of open
    reminders changes, and never another person's."""
    from accounts.models import User

    User.objects.filter(pk=director_a.pk).update(name="查主任")
    User.objects.filter(pk=director_b.pk).update(name="王主任")
    client = client_for(director_a)
    first = client.get("/visits/")
    assert NAVBAR in _templates(first) and "查主任" in first.content.decode()
    again = client.get("/visits/")
    assert NAVBAR not in _templates(again)
    assert again.content.decode().count("查主任") == first.content.decode().count("查主任")
    # Another director, another name (and never the first's kept one).
    other = client_for(director_b).get("/visits/").content.decode()
    assert "王主任" in other and "查主任" not in other
    # Another page: another active item.
    children = client.get("/children/")
    assert NAVBAR in _templates(children)
    assert 'aria-current="page" href="/children/"' in children.content.decode()
    # A new name shows at once.
    User.objects.filter(pk=director_a.pk).update(name="查新名")
    renamed = client.get("/visits/").content.decode()
    assert "查新名" in renamed and "查主任" not in renamed


def test_the_menu_bar_follows_the_open_reminders(frozen, client_for, director_a):
    from reminders.models import Notification

    child = make_child(director_a, name="查小雨")
    client = client_for(director_a)
    assert 'id="unread-count"' not in client.get("/children/").content.decode()
    Notification.objects.create(
        recipient=director_a,
        kind="visit_overdue",
        child=child,
        due_date=date(2026, 11, 1),
        created_on=date(2026, 11, 20),
    )
    shown = client.get("/children/").content.decode()
    assert 'id="unread-count">1<' in shown


def test_the_logout_form_carries_a_fresh_token_outside_the_kept_menu(client_for, director_a):
    body = client_for(director_a).get("/visits/").content.decode()
    assert '<button type="submit" form="sw-logout" class="dropdown-item">' in body
    form = body[body.index('<form id="sw-logout"') :]
    form = form[: form.index("</form>")]
    assert 'action="/accounts/logout/"' in form and 'name="csrfmiddlewaretoken"' in form


def test_the_kept_parts_are_bounded(monkeypatch):
    from core.templatetags import fragments

    monkeypatch.setattr(fragments, "_keyed", {})
    monkeypatch.setattr(fragments, "_size", [0])
    one = len(fragments.keyed_fragment(NAVBAR, open_reminders=0, show_reminders=True))
    monkeypatch.setattr(fragments, "KEPT_CHARACTERS", 20 * one)
    for n in range(1, 50):
        fragments.keyed_fragment(NAVBAR, open_reminders=n, show_reminders=True)
    assert 10 <= len(fragments._keyed) <= 20
    assert fragments._size[0] == sum(len(text) for text in fragments._keyed.values())
    # The newest is kept, and drawn from its values alone.
    text = fragments.keyed_fragment(NAVBAR, open_reminders=49, show_reminders=True)
    assert fragments._keyed[next(reversed(fragments._keyed))] == text


def test_threads_keep_and_evict_in_turn(monkeypatch):
    """A threaded server's requests add and evict kept parts at once: no error, and the size
    kept is the sum of what is kept."""
    import threading

    from core.templatetags import fragments

    monkeypatch.setattr(fragments, "_keyed", {})
    monkeypatch.setattr(fragments, "_size", [0])
    monkeypatch.setattr(fragments, "KEPT_CHARACTERS", 2_000)
    failures = []

    def keep(worker: int) -> None:
        try:
            for n in range(300):
                fragments._keep((worker, n), lambda n=n: "x" * (50 + n % 7))
        except Exception as error:  # any error fails the test below
            failures.append(error)

    threads = [threading.Thread(target=keep, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert fragments._size[0] == sum(len(text) for text in fragments._keyed.values()) <= 2_000
