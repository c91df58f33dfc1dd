"""Drill: two clients edit one child file at the same moment with the same ``version``.

Two users in scope (the village director and the township supervisor, each with an API token) load
the child (GET → version), wait on a barrier and PATCH it together through gunicorn (4 sync
workers). Every round exactly one gets 200 and the other 409 (stale version); the stored file holds
the winner's values only, and the version moved by one.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from .harness import browser_session, form_token, log, sign_in, summary

pytestmark = pytest.mark.drill

ROUNDS = 25
FIELDS = ("illness", "risk_level", "hukou_registered")


def _a_child_of_zr_chaji(stack) -> str:
    with stack.services.connect(stack.database) as conn:
        (child_id,) = conn.execute(
            "SELECT c.id::text FROM children_child c"
            " JOIN accounts_user u ON u.area_id = c.village_id"
            " WHERE u.username = 'zr_chaji' AND c.status = 'active' ORDER BY c.name LIMIT 1"
        ).fetchone()
    return child_id


def test_concurrent_edits_of_one_child(drill_stack):
    stack = drill_stack
    started = time.monotonic()
    child_id = _a_child_of_zr_chaji(stack)
    clients = {}
    for label, username in (("A", "zr_chaji"), ("B", "dd_taohuatan")):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {stack.api_token(username)}"
        clients[label] = session
    _, base = stack.gunicorn()
    url = f"{base}/api/v1/children/{child_id}"

    outcomes: list[tuple[int, int]] = []
    for round_no in range(ROUNDS):
        versions = {label: s.get(url, timeout=10).json()["version"] for label, s in clients.items()}
        assert versions["A"] == versions["B"]
        version = versions["A"]
        values = {
            "A": {"illness": f"A-{round_no}", "risk_level": "high", "hukou_registered": True},
            "B": {"illness": f"B-{round_no}", "risk_level": "low", "hukou_registered": False},
        }
        barrier = threading.Barrier(2)
        answers: dict[str, requests.Response] = {}

        def edit(label: str, values=values, version=version, barrier=barrier, answers=answers):
            barrier.wait(timeout=10)
            answers[label] = clients[label].patch(
                url, json={"version": version, **values[label]}, timeout=30
            )

        threads = [threading.Thread(target=edit, args=(label,)) for label in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=40)
        statuses = {label: answer.status_code for label, answer in answers.items()}
        assert sorted(statuses.values()) == [200, 409], (
            round_no,
            {label: (a.status_code, a.text[:300]) for label, a in answers.items()},
        )
        winner = next(label for label, status in statuses.items() if status == 200)
        loser = "B" if winner == "A" else "A"
        assert "version" in answers[loser].text, answers[loser].text
        assert answers[winner].json()["version"] == version + 1
        stored = clients["A"].get(url, timeout=10).json()
        assert stored["version"] == version + 1, (round_no, stored["version"], version)
        assert {f: stored[f] for f in FIELDS} == values[winner], (round_no, winner, stored)
        outcomes.append((statuses["A"], statuses["B"]))

    # Nothing else changed the file: one history event per successful edit.
    with stack.services.connect(stack.database) as conn:
        (final_version,) = conn.execute(
            "SELECT version FROM children_child WHERE id = %s", [child_id]
        ).fetchone()
    wins_a = sum(1 for a, _ in outcomes if a == 200)
    log(f"{ROUNDS} rounds: A (director) won {wins_a}, B (supervisor) won {ROUNDS - wins_a}")
    assert final_version == versions["A"] + 1 == ROUNDS + versions["A"] + 1 - ROUNDS
    summary(
        "concurrent_edit",
        rounds=ROUNDS,
        ok_200=ROUNDS,
        conflict_409=ROUNDS,
        lost_updates=0,
        wins_director=wins_a,
        wins_supervisor=ROUNDS - wins_a,
        seconds=f"{time.monotonic() - started:.1f}",
    )


PAGE_ROUNDS = 10
STALE = "档案已被他人修改"  # children.services.STALE_MESSAGE, shown on the re-rendered form


def test_concurrent_edits_page_form_against_api(drill_stack):
    """The director saves the child's health section in the edit page (which posts the
    ``version`` it was rendered with) while the supervisor PATCHes the API with the same version:
    one is saved, the other refused (the page re-rendered with the stale-version message, or 409),
    and the stored illness is the winner's."""
    stack = drill_stack
    started = time.monotonic()
    child_id = _a_child_of_zr_chaji(stack)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {stack.api_token('dd_taohuatan')}"
    _, base = stack.gunicorn()
    page = browser_session()
    signed_in = sign_in(page, base, "zr_chaji", "Shouwang@2026")
    assert signed_in.status_code == 302, signed_in.text[:500]
    url = f"{base}/api/v1/children/{child_id}"
    edit = f"{base}/children/{child_id}/edit/health/"

    wins = {"page": 0, "api": 0}
    for round_no in range(PAGE_ROUNDS):
        form = page.get(edit, timeout=15)
        assert form.status_code == 200, form.status_code
        csrf = form_token(form.text)
        page_version = int(re.search(r'name="version" value="(\d+)"', form.text).group(1))
        version = api.get(url, timeout=10).json()["version"]
        assert page_version == version
        values = {"page": f"页面-{round_no}", "api": f"接口-{round_no}"}
        barrier = threading.Barrier(2)
        answers: dict[str, requests.Response] = {}

        def save_page(values=values, barrier=barrier, answers=answers, csrf=csrf, v=version):
            data = {
                "csrfmiddlewaretoken": csrf,
                "version": str(v),
                "illness": values["page"],
                "disability_type": "",
                "disability_grade": "",
                "psych_note": "",
            }
            barrier.wait(timeout=10)
            answers["page"] = page.post(
                edit, data=data, headers={"Referer": edit}, timeout=30, allow_redirects=False
            )

        def save_api(values=values, barrier=barrier, answers=answers, v=version):
            barrier.wait(timeout=10)
            answers["api"] = api.patch(
                url, json={"version": v, "illness": values["api"]}, timeout=30
            )

        threads = [threading.Thread(target=save_page), threading.Thread(target=save_api)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=40)
        page_saved = answers["page"].status_code == 302
        page_refused = answers["page"].status_code == 200 and STALE in answers["page"].text
        api_saved = answers["api"].status_code == 200
        api_refused = answers["api"].status_code == 409
        assert (page_saved and api_refused) or (page_refused and api_saved), (
            round_no,
            answers["page"].status_code,
            answers["api"].status_code,
            answers["api"].text[:200],
        )
        winner = "page" if page_saved else "api"
        wins[winner] += 1
        stored = api.get(url, timeout=10).json()
        assert stored["version"] == version + 1, (round_no, stored["version"], version)
        assert stored["illness"] == values[winner], (round_no, winner, stored["illness"])

    log(f"{PAGE_ROUNDS} rounds page form vs API: {wins}")
    summary(
        "concurrent_edit_page_vs_api",
        rounds=PAGE_ROUNDS,
        saved=PAGE_ROUNDS,
        refused=PAGE_ROUNDS,
        lost_updates=0,
        wins_page=wins["page"],
        wins_api=wins["api"],
        seconds=f"{time.monotonic() - started:.1f}",
    )
