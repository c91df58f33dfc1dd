"""Issue 21, point 2: the quarterly verification (季度核查, domain §10). Each quarter a village's
children in difficulty are on a checklist; the director confirms each (family, guardianship,
schooling, benefits, changes found — a change to the file made through the file's service) and
submits; the township sees which villages submitted and re-opens one to correct; the report is
printed (HTML, PDF) to sign; the director is reminded until it is submitted. Through the pages
and the API, scoped, with the boundaries of the quarter frozen in time."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from accounts.models import Area, AuditAction, AuditRecord, Role
from children.lifecycle import transfer_request_from_sender
from children.models import Category, Child, ChildEvent
from children.services import child_close, children_age_out
from reminders.models import Notification, NotificationKind
from reminders.services import reminders_sweep
from visits import verification_rules as rules
from visits import verification_selectors as selectors
from visits import verification_services as services
from visits.models import QuarterlyVerification, VerificationItem, VerificationStatus

from ..conftest import COUNTY_A, TOWNSHIP_1, VILLAGE_1, VILLAGE_2, VILLAGE_3
from ..factories import UserFactory, area_chain, make_child

pytestmark = pytest.mark.django_db

Q4 = "/visits/verification/{code}/2026/4/"
CONFIRM_OK = {
    "family_ok": "true",
    "guardianship_ok": "true",
    "schooling_ok": "true",
    "benefits_received": "yes",
    "changes_found": "",
    "school_status": "in_school",
}


def at(moment: str):
    return time_machine.travel(f"{moment} +0800", tick=False)


def needy(user, name: str, *, village: str | None = None, categories=("severe_disability",), **kw):
    """A child in difficulty registered through the file's service."""
    values = {"name": name, "categories": list(categories), "birth_date": date(2015, 6, 1), **kw}
    if village:
        values["village_code"] = village
    return make_child(user, **values)


def village_page(code: str = VILLAGE_1) -> str:
    return Q4.format(code=code)


def item_page(child, code: str = VILLAGE_1) -> str:
    return f"{village_page(code)}children/{child.pk}/"


@pytest.fixture
def village_1(frozen, director_a):
    """V1 on 2026-11-23 (Q4): two children in difficulty, and three who are not."""
    return {
        "yu": needy(director_a, "查小雨", gender="female", birth_date=date(2016, 3, 8)),
        # An orphan typed by the director waits for county confirmation: still verified.
        "ming": needy(director_a, "查小明", categories=("orphan",)),
        "plain": needy(director_a, "查普通", categories=()),
        "single": needy(director_a, "查单亲", categories=("single_parent",)),
    }


# --- Rules ---------------------------------------------------------------------------------------


def test_the_rules_of_the_quarter():
    assert set(rules.IN_DIFFICULTY) <= set(Category.values)
    assert "left_behind" not in rules.IN_DIFFICULTY and "single_parent" not in rules.IN_DIFFICULTY
    assert rules.as_of(2026, 4, date(2026, 11, 23)) == date(2026, 11, 23)
    assert rules.as_of(2026, 3, date(2026, 11, 23)) == date(2026, 9, 30)
    assert rules.due_date(2026, 4) == date(2027, 1, 10)
    assert rules.due_date(2026, 4, reopened_on=date(2027, 1, 8)) == date(2027, 1, 15)
    assert rules.due_date(2026, 4, reopened_on=date(2026, 12, 1)) == date(2027, 1, 10)
    today = date(2026, 11, 23)
    assert rules.may_open(2026, 4, today) and rules.may_open(2026, 3, today)
    assert not rules.may_open(2026, 2, today) and not rules.may_open(2027, 1, today)
    assert rules.valid_quarter(2026, 2, today) and not rules.valid_quarter(2027, 1, today)
    assert not rules.valid_quarter(2026, 5, today)
    assert not rules.reminded(2026, 4, date(2026, 12, 16))
    assert rules.reminded(2026, 4, date(2026, 12, 17)) and rules.reminded(
        2026, 4, date(2027, 3, 31)
    )
    assert not rules.reminded(2026, 4, date(2027, 4, 1))
    assert rules.needs_explanation(
        family_ok=True, guardianship_ok=True, schooling_ok=True, benefits_received="no"
    )
    assert not rules.needs_explanation(
        family_ok=True, guardianship_ok=True, schooling_ok=True, benefits_received="none_due"
    )
    assert rules.village_state(None, 0) == rules.NOTHING_TO_VERIFY
    assert rules.village_state(None, 2) == rules.NOT_STARTED
    assert rules.village_state("draft", 0) == rules.IN_PROGRESS
    assert rules.may_reopen(user_area_code=TOWNSHIP_1, village_code=VILLAGE_1)
    assert not rules.may_reopen(user_area_code=VILLAGE_1, village_code=VILLAGE_1)


def test_the_checklist_holds_the_children_in_difficulty_and_the_sql_agrees(
    village_1, director_a, director_b, supervisor
):
    closed = needy(director_a, "查已结")
    child_close(user=director_a, child=closed, reason="parents_returned")
    # Turned 18 on 1 November; the file kept open (full-time education continues).
    adult = needy(director_a, "查成年")
    Child.objects.filter(pk=adult.pk).update(birth_date=date(2008, 11, 1))
    needy(director_b, "王别村", village=VILLAGE_2)
    listed = selectors.checklist_children(village_code=VILLAGE_1, as_of=date(2026, 11, 23))
    assert [c.name for c in listed] == ["查小明", "查小雨"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.name FROM children_child c WHERE c.village_id = %(v)s"
            f" AND {selectors.on_list_sql('c.', '%(as_of)s')} ORDER BY c.name",
            {"v": VILLAGE_1, "as_of": date(2026, 11, 23)},
        )
        assert [row[0] for row in cursor.fetchall()] == ["查小明", "查小雨"]
    # The last quarter's list: only files registered by its end; one turning 18 in October
    # was still a child on 30 September.
    with at("2026-09-01 10:00"):
        needy(director_a, "查早登", birth_date=date(2008, 10, 15))
    earlier = selectors.checklist_children(village_code=VILLAGE_1, as_of=date(2026, 9, 30))
    assert [c.name for c in earlier] == ["查早登"]
    now = selectors.checklist_children(village_code=VILLAGE_1, as_of=date(2026, 11, 23))
    assert "查早登" not in [c.name for c in now]


# --- The whole flow through the pages ------------------------------------------------------------


def test_the_director_confirms_each_child_and_submits(
    village_1, client_for, director_a, supervisor
):
    client = client_for(director_a)
    response = client.get("/visits/verification/")
    assert response.status_code == 302 and response["Location"] == village_page()
    page = client.get(village_page())
    assert page.status_code == 200
    html = page.content.decode()
    assert "查小雨" in html and "查小明" in html
    assert "查普通" not in html and "查单亲" not in html
    assert page.context["state"] == rules.NOT_STARTED and not page.context["can_submit"]
    assert f"/visits/verification/{VILLAGE_1}/2026/4/submit/" not in html
    assert not QuarterlyVerification.objects.exists()  # reading starts nothing
    # Each child of the list is audited as viewed.
    viewed = AuditRecord.objects.filter(action=AuditAction.VIEW, detail={"page": "verification"})
    assert {r.object_id for r in viewed} == {str(village_1["yu"].pk), str(village_1["ming"].pk)}

    # The first child: as on file. The form offers the file's own pages to correct it.
    yu = village_1["yu"]
    form = client.get(item_page(yu))
    assert form.status_code == 200
    body = form.content.decode()
    assert f"/children/{yu.pk}/edit/school/" in body and f"/children/{yu.pk}/assess/" in body
    saved = client.post(item_page(yu), {**CONFIRM_OK, "version": yu.version})
    assert saved.status_code == 302 and saved["Location"] == f"{village_page()}#child-{yu.pk}"
    verification = QuarterlyVerification.objects.get()
    assert (verification.village_id, verification.year, verification.quarter) == (
        VILLAGE_1,
        2026,
        4,
    )
    assert verification.status == VerificationStatus.DRAFT and verification.created_by == director_a
    item = VerificationItem.objects.get(child=yu)
    assert item.family_ok and item.benefits_received == "yes" and item.confirmed_by == director_a
    assert item.changed_fields == []

    # The second: dropped out of school — the file is changed through its service.
    ming = village_1["ming"]
    version = ming.version
    saved = client.post(
        item_page(ming),
        {
            **CONFIRM_OK,
            "schooling_ok": "false",
            "school_status": "dropped_out",
            "changes_found": "10月起辍学在家，已联系学校劝返",
            "version": version,
        },
    )
    assert saved.status_code == 302
    ming.refresh_from_db()
    assert ming.school_status == "dropped_out" and ming.version == version + 1
    assert "out_of_school" in ming.focus_flags  # the file's derived flags followed
    # The file's history holds the change, by the director.
    event = ChildEvent.objects.filter(pgh_obj_id=ming.pk).order_by("-pgh_id").first()
    assert event.school_status == "dropped_out"
    item = VerificationItem.objects.get(child=ming)
    assert item.changed_fields == ["school_status"] and not item.schooling_ok
    assert item.changes_found == "10月起辍学在家，已联系学校劝返"
    # Encrypted at rest, a case note.
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes_found FROM visits_verificationitem WHERE id = %s", [item.pk])
        assert "辍学" not in cursor.fetchone()[0]

    page = client.get(village_page())
    assert page.context["can_submit"] and page.context["confirmed"] == 2
    submitted = client.post(f"{village_page()}submit/")
    assert submitted.status_code == 302
    verification.refresh_from_db()
    assert verification.status == VerificationStatus.SUBMITTED
    assert verification.submitted_by == director_a and verification.submitted_at is not None
    assert set(verification.items.filter(reported=True).values_list("child_id", flat=True)) == {
        yu.pk,
        ming.pk,
    }
    # Read-only from now on: the page offers nothing, and a post changes nothing.
    page = client.get(village_page())
    assert page.context["state"] == rules.SUBMITTED and not page.context["can_confirm"]
    assert f"{village_page()}submit/" not in page.content.decode()
    shown = client.get(item_page(ming))
    assert shown.status_code == 200 and not shown.context["editable"]
    assert "10月起辍学在家" in shown.content.decode() and '<form method="post" class="card' not in (
        shown.content.decode()
    )
    refused = client.post(item_page(yu), {**CONFIRM_OK, "family_ok": "false", "changes_found": "x"})
    assert refused.status_code == 302
    assert VerificationItem.objects.get(child=yu).family_ok is True
    assert client.post(f"{village_page()}submit/").status_code == 302
    assert QuarterlyVerification.objects.get().submitted_at == verification.submitted_at
    # The director may not re-open what the village submitted.
    assert client.post(f"{village_page()}reopen/", {"reason": "写错了"}).status_code == 403


def test_the_township_sees_which_villages_submitted_and_reopens_one(
    village_1, client_for, director_a, director_b, supervisor, civil_affairs
):
    needy(director_b, "王小红", village=VILLAGE_2)
    verification, _created = services.verification_open(
        user=director_a, village=Area.objects.get(code=VILLAGE_1), year=2026, quarter=4
    )
    for child in (village_1["yu"], village_1["ming"]):
        services.verification_item_confirm(
            user=director_a,
            verification=verification,
            child=child,
            family_ok=True,
            guardianship_ok=True,
            schooling_ok=True,
            benefits_received="none_due",
        )
    services.verification_submit(user=director_a, verification=verification)

    client = client_for(supervisor)
    page = client.get("/visits/verification/")
    assert page.status_code == 200
    rows = {row.area.code: row for row in page.context["overview"].rows}
    assert rows[VILLAGE_1].state == rules.SUBMITTED and rows[VILLAGE_1].children == 2
    assert rows[VILLAGE_2].state == rules.NOT_STARTED and rows[VILLAGE_2].children == 1
    overview = page.context["overview"]
    assert (overview.submitted, overview.villages, overview.not_started) == (1, 2, 1)
    html = page.content.decode()
    assert village_page(VILLAGE_1) in html and village_page(VILLAGE_2) in html
    # Drill down to a village's checklist, read-only for the township until it re-opens it.
    drilled = client.get(village_page(VILLAGE_1))
    assert drilled.status_code == 200 and drilled.context["can_reopen"]
    assert "查小雨" in drilled.content.decode()

    # The county sees its townships.
    county = client_for(civil_affairs).get("/visits/verification/")
    rows = {row.area.code: row for row in county.context["overview"].rows}
    assert rows[TOWNSHIP_1].submitted == 1 and rows[TOWNSHIP_1].villages == 2
    assert rows[TOWNSHIP_1].not_started == 1 and rows[TOWNSHIP_1].children == 3
    assert (
        client_for(civil_affairs).get(f"/visits/verification/?area={TOWNSHIP_1}").status_code == 200
    )
    # Civil affairs read; they do not re-open (the township does).
    assert (
        client_for(civil_affairs).post(f"{village_page()}reopen/", {"reason": "x"}).status_code
        == 403
    )

    # A reason is needed; then it is a draft again.
    client.post(f"{village_page()}reopen/", {"reason": ""})
    assert QuarterlyVerification.objects.get(village_id=VILLAGE_1).submitted
    client.post(f"{village_page()}reopen/", {"reason": "查小雨的监护情况需重新核实"})
    verification.refresh_from_db()
    assert verification.status == VerificationStatus.DRAFT and verification.submitted_at is None
    assert verification.reopened_by == supervisor
    assert verification.reopen_reason == "查小雨的监护情况需重新核实"
    again = client_for(director_a).get(village_page())
    assert again.context["can_confirm"] and "查小雨的监护情况需重新核实" in again.content.decode()
    # Re-opening a draft is a conflict: shown as a message, nothing changes.
    client.post(f"{village_page()}reopen/", {"reason": "again"})
    verification.refresh_from_db()
    assert verification.reopen_reason == "查小雨的监护情况需重新核实"


def test_submitting_waits_for_every_child(village_1, client_for, director_a):
    client = client_for(director_a)
    client.post(item_page(village_1["yu"]), CONFIRM_OK)
    response = client.post(f"{village_page()}submit/", follow=True)
    assert "有1名儿童尚未确认：查小明" in response.content.decode()
    assert QuarterlyVerification.objects.get().status == VerificationStatus.DRAFT


def test_a_village_with_no_child_to_verify_submits_an_empty_report(frozen, client_for, director_a):
    client = client_for(director_a)
    page = client.get(village_page())
    assert page.context["state"] == rules.NOTHING_TO_VERIFY and page.context["can_submit"]
    client.post(f"{village_page()}submit/")
    assert QuarterlyVerification.objects.get().status == VerificationStatus.SUBMITTED


def test_what_is_not_as_on_file_is_explained_and_hostile_input_is_refused(
    village_1, client_for, director_a
):
    client = client_for(director_a)
    yu = village_1["yu"]
    for data, field in (
        ({**CONFIRM_OK, "guardianship_ok": "false"}, "changes_found"),
        ({**CONFIRM_OK, "benefits_received": "no"}, "changes_found"),
        ({**CONFIRM_OK, "changes_found": "监护人\x00外出"}, "changes_found"),
        ({**CONFIRM_OK, "changes_found": "很" * 2001}, "changes_found"),
        ({**CONFIRM_OK, "benefits_received": "=cmd|' /C calc'!A0"}, "benefits_received"),
        ({**CONFIRM_OK, "school_status": "expelled"}, "school_status"),
        ({**CONFIRM_OK, "family_ok": ""}, "family_ok"),
    ):
        response = client.post(item_page(yu), data)
        assert response.status_code == 200, data
        assert response.context["form"].errors.get(field), (field, response.context["form"].errors)
    assert not VerificationItem.objects.exists() and not QuarterlyVerification.objects.exists()
    # Markup typed into the changes is shown as text on the page and the print page.
    client.post(
        item_page(yu),
        {**CONFIRM_OK, "family_ok": "false", "changes_found": "<script>alert(1)</script>"},
    )
    assert VerificationItem.objects.get().changes_found == "<script>alert(1)</script>"
    for url in (item_page(yu), f"{village_page()}print/"):
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_a_school_status_changed_meanwhile_is_not_overwritten(village_1, client_for, director_a):
    yu = village_1["yu"]
    stale = yu.version
    from children.services import child_update

    child_update(user=director_a, child=yu, changes={"grade": "四年级"})
    response = client_for(director_a).post(
        item_page(yu), {**CONFIRM_OK, "school_status": "suspended", "version": stale}
    )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    yu.refresh_from_db()
    assert yu.school_status == "in_school"
    assert not VerificationItem.objects.exists() and not QuarterlyVerification.objects.exists()


# --- Children who move, close or turn 18 during the quarter ---------------------------------------


def test_children_who_move_close_or_turn_18_during_the_quarter(
    frozen, client_for, director_a, director_b, supervisor
):
    stays = needy(director_a, "查留下")
    moves = needy(director_a, "查搬走")
    closes = needy(director_a, "查结案")
    adult = needy(director_a, "查成年", birth_date=date(2008, 12, 5))  # 18 on 2026-12-05
    client = client_for(director_a)
    for child in (stays, moves, closes, adult):
        assert client.post(item_page(child), CONFIRM_OK).status_code == 302
    # Mid-quarter: one moves to village 2 (the township accepts at once), one file closes, and
    # on 5 December one turns 18 (the daily job closes the file).
    transfer_request_from_sender(
        user=supervisor, child=moves, to_village_code=VILLAGE_2, reason="随父母搬迁"
    )
    child_close(user=director_a, child=closes, reason="moved_away")
    frozen.move_to("2026-12-06 10:00 +0800")
    children_age_out(on=date(2026, 12, 6))
    adult.refresh_from_db()
    assert adult.status == "closed"
    client = client_for(director_a)  # signed in again after two weeks

    page = client.get(village_page())
    assert [row.child.name for row in page.context["rows"]] == ["查留下"]
    # The new village has the child who moved in on its own list.
    moved_in = client_for(director_b).get(village_page(VILLAGE_2))
    assert [row.child.name for row in moved_in.context["rows"]] == ["查搬走"]
    assert moved_in.context["rows"][0].item is None  # village 1's confirmation is not theirs
    # Village 1 submits: only the child still on its list is reported.
    client.post(f"{village_page()}submit/")
    verification = QuarterlyVerification.objects.get(village_id=VILLAGE_1)
    assert verification.submitted
    assert list(verification.items.filter(reported=True).values_list("child__name", flat=True)) == [
        "查留下"
    ]
    assert verification.items.count() == 4  # the others' confirmations are kept, not reported
    submitted = client.get(village_page())
    assert [row.child.name for row in submitted.context["rows"]] == ["查留下"]
    # Village 2 must confirm its newcomer before it can submit.
    director_b_client = client_for(director_b)
    refused = director_b_client.post(f"{village_page(VILLAGE_2)}submit/", follow=True)
    assert "有1名儿童尚未确认：查搬走" in refused.content.decode()
    assert not QuarterlyVerification.objects.filter(village_id=VILLAGE_2).exists()
    director_b_client.post(item_page(moves, VILLAGE_2), CONFIRM_OK)
    director_b_client.post(f"{village_page(VILLAGE_2)}submit/")
    assert QuarterlyVerification.objects.get(village_id=VILLAGE_2).submitted


def test_a_child_not_on_the_checklist_has_no_item_page(village_1, client_for, director_a):
    client = client_for(director_a)
    assert client.get(item_page(village_1["plain"])).status_code == 404
    assert client.post(item_page(village_1["single"]), CONFIRM_OK).status_code == 404
    assert client.get(item_page(village_1["yu"], VILLAGE_2)).status_code == 404


# --- Who may see and do what ---------------------------------------------------------------------


def test_outsiders_get_404_and_readers_403_on_writes(
    village_1, client_for, outsider, director_b, other_supervisor, viewer, civil_affairs
):
    yu = village_1["yu"]
    urls = [
        village_page(),
        item_page(yu),
        f"{village_page()}print/",
        f"{village_page()}report.pdf",
    ]
    for user in (outsider, director_b, other_supervisor):
        client = client_for(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(item_page(yu), CONFIRM_OK).status_code == 404
        assert client.post(f"{village_page()}submit/").status_code == 404
    assert client_for(outsider).get(f"/visits/verification/?area={COUNTY_A}").status_code == 404
    for user in (viewer, civil_affairs):
        client = client_for(user)
        assert client.get(village_page()).status_code == 200
        assert client.get(item_page(yu)).status_code == 200
        assert client.post(item_page(yu), CONFIRM_OK).status_code == 403
        assert client.post(f"{village_page()}submit/").status_code == 403
        assert (
            "Confirm" not in client.get(village_page()).content.decode().split('id="checklist"')[1]
        )
    assert not QuarterlyVerification.objects.exists()


def test_the_page_of_a_future_or_unknown_quarter_is_404(village_1, client_for, director_a):
    client = client_for(director_a)
    for url in (
        f"/visits/verification/{VILLAGE_1}/2027/1/",
        f"/visits/verification/{VILLAGE_1}/2026/5/",
        f"/visits/verification/{VILLAGE_1}/1999/4/",
        f"/visits/verification/{TOWNSHIP_1}/2026/4/",
        "/visits/verification/?year=2027&quarter=1",
        "/visits/verification/?quarter=x",
    ):
        assert client.get(url).status_code == 404, url
    # An old quarter never verified shows nothing to confirm and cannot be started.
    old = client.get(f"/visits/verification/{VILLAGE_1}/2026/1/")
    assert old.status_code == 200 and old.context["rows"] == [] and not old.context["can_confirm"]
    assert client.post(f"/visits/verification/{VILLAGE_1}/2026/1/submit/").status_code == 302
    assert not QuarterlyVerification.objects.exists()


def test_the_overview_runs_a_constant_number_of_queries(frozen, client_for, supervisor, areas):
    def load() -> int:
        client = client_for(supervisor)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/visits/verification/").status_code == 200
        return len(queries)

    director = UserFactory(username="d1", role=Role.DIRECTOR, area=areas[VILLAGE_1])
    needy(director, "甲")
    before = load()
    for n in range(5):
        code = f"341823103{210 + n}"
        area_chain(code, {code: f"新村{n}"})
        other = UserFactory(username=f"d{code}", role=Role.DIRECTOR, area_id=code)
        for m in range(3):
            needy(other, f"儿童{n}{m}", village=code)
        services.verification_open(
            user=other, village=Area.objects.get(code=code), year=2026, quarter=4
        )
    after = load()
    assert after == before
    page = client_for(supervisor).get("/visits/verification/")
    assert len(page.context["overview"].rows) == 7
    assert page.context["overview"].in_progress == 5


# --- The report to print and sign ---------------------------------------------------------------


def _pdf_text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    reader = PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "")


def test_the_quarterly_report_prints_with_signature_lines_masked_per_role(
    village_1, client_for, director_a, supervisor
):
    from core import crypto

    client = client_for(director_a)
    client.post(
        item_page(village_1["yu"]),
        {**CONFIRM_OK, "guardianship_ok": "false", "changes_found": "奶奶住院，暂由姑姑照看"},
    )
    client.post(item_page(village_1["ming"]), CONFIRM_OK)
    client.post(f"{village_page()}submit/")
    yu = Child.objects.get(pk=village_1["yu"].pk)
    full = crypto.decrypt(yu.id_number_encrypted)

    text = _pdf_text(client.get(f"{village_page()}report.pdf"))
    for shown in ("困境儿童季度核查情况表", "查济村", "2026年第4季度", "查小雨", "查小明"):
        assert shown in text, shown
    assert "奶奶住院，暂由姑姑照看" in text and "监护缺失" in text
    assert "儿童主任（签字）" in text and "村（居）民委员会（盖章）" in text and "日期" in text
    assert full in text  # the director sees the full ID number
    assert "查普通" not in text
    # The supervisor's copy masks it.
    masked = _pdf_text(client_for(supervisor).get(f"{village_page()}report.pdf"))
    assert full not in masked and yu.id_number_masked in masked
    # The print page, likewise.
    page = client_for(supervisor).get(f"{village_page()}print/")
    html = page.content.decode()
    assert page.status_code == 200 and "查小雨" in html and full not in html
    assert yu.id_number_masked in html and "儿童主任（签字）" in html
    # Each printing is an export of every child printed.
    exports = AuditRecord.objects.filter(action=AuditAction.EXPORT, object_type="child")
    assert exports.filter(user=director_a, detail__page="verification_pdf").count() == 2
    assert exports.filter(user=supervisor, detail__page="verification_print").count() == 2


def test_a_blank_checklist_prints_before_anything_is_confirmed(village_1, client_for, director_a):
    text = _pdf_text(client_for(director_a).get(f"{village_page()}report.pdf"))
    assert "查小雨" in text and "尚未开始核查" in text


# --- The reminder --------------------------------------------------------------------------------


def _open(user) -> list[Notification]:
    return list(
        Notification.objects.filter(
            recipient=user, kind=NotificationKind.VERIFICATION_DUE, resolved_at__isnull=True
        ).order_by("due_date")
    )


def _sweep(day: str) -> None:
    with at(f"{day} 08:00"):
        reminders_sweep()


def test_the_director_is_reminded_until_the_quarter_is_submitted(
    director_a, director_b, supervisor, client_for
):
    with at("2026-11-23 10:00"):
        child = needy(director_a, "查小雨")
        needy(director_b, "王小红", village=VILLAGE_2)
    _sweep("2026-12-16")  # 15 days before the quarter ends: not yet
    assert _open(director_a) == []
    _sweep("2026-12-17")
    (reminder,) = _open(director_a)
    assert reminder.due_date == date(2027, 1, 10) and reminder.child_id is None
    assert reminder.detail == "困境儿童季度核查（截至2026-12-31）"
    assert len(_open(director_b)) == 1 and _open(supervisor) == []
    # In the inbox, with the way to the checklist, in the reader's language.
    with at("2026-12-17 09:00"):
        client = client_for(director_a)
        client.cookies["django_language"] = "en"
        inbox = client.get("/visits/reminders/").content.decode()
    assert "Quarterly verification due" in inbox and "quarter ending 2026-12-31" in inbox
    assert 'href="/visits/verification/"' in inbox
    # Past the quarter and past its due date: still open (overdue), the next quarter not yet.
    _sweep("2027-01-10")
    _sweep("2027-01-11")
    assert [n.due_date for n in _open(director_a)] == [date(2027, 1, 10)]
    # Late, the village verifies the last quarter: its own page says so, and submitting answers.
    with at("2027-01-12 10:00"):
        client = client_for(director_a)
        current = client.get("/visits/verification/", follow=True)
        assert current.context["previous_pending"] == (2026, 4)
        assert client.post(item_page(child), CONFIRM_OK).status_code == 302
        client.post(f"{village_page()}submit/")
    # Answered by the submission itself, before any sweep; the other village's still open.
    assert _open(director_a) == [] and len(_open(director_b)) == 1
    _sweep("2027-01-12")
    assert _open(director_a) == [] and len(_open(director_b)) == 1
    # Re-opened by the township: reminded again, due a week after the re-opening.
    with at("2027-01-13 10:00"):
        assert (
            client_for(supervisor)
            .post(f"{village_page()}reopen/", {"reason": "重新核实"})
            .status_code
            == 302
        )
    _sweep("2027-01-13")
    assert [n.due_date for n in _open(director_a)] == [date(2027, 1, 20)]
    _sweep("2027-01-13")  # the same day again: nothing new
    assert (
        Notification.objects.filter(
            recipient=director_a, kind=NotificationKind.VERIFICATION_DUE
        ).count()
        == 2
    )
    # Village 2 never submits: reminded until the next quarter ends, then that one's takes over.
    _sweep("2027-03-31")
    assert [n.due_date for n in _open(director_b)] == [date(2027, 1, 10), date(2027, 4, 10)]
    _sweep("2027-04-01")
    assert [n.due_date for n in _open(director_b)] == [date(2027, 4, 10)]


def test_no_reminder_without_children_to_verify_or_a_director_in_post(
    director_a, director_b, areas
):
    with at("2026-11-23 10:00"):
        needy(director_a, "查普通", categories=())
        needy(director_a, "查单亲", categories=("single_parent",))
        needy(director_b, "王小红", village=VILLAGE_2)
    director_b.is_active = False
    director_b.save()
    _sweep("2026-12-20")
    assert Notification.objects.filter(kind=NotificationKind.VERIFICATION_DUE).count() == 0


# --- The API ------------------------------------------------------------------------------------


def _item(**changes) -> dict:
    return {
        "family_ok": True,
        "guardianship_ok": True,
        "schooling_ok": True,
        "benefits_received": "yes",
        **changes,
    }


def test_the_whole_flow_through_the_api(village_1, api_client, director_a, supervisor):
    api = api_client(director_a)
    body = {"village_code": VILLAGE_1, "year": 2026, "quarter": 4}
    created = api.post("/api/v1/verifications", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "draft" and data["due_date"] == "2027-01-10"
    assert data["children_count"] == 2 and data["confirmed_count"] == 0
    assert [i["name"] for i in data["items"]] == ["查小明", "查小雨"]
    assert data["items"][1]["id_number_masked"] == village_1["yu"].id_number_masked
    assert data["items"][0]["categories_pending"] == ["orphan"]
    # Idempotent: the same one again, 200.
    again = api.post("/api/v1/verifications", body, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    vid = data["id"]

    # Submitting too early: 409 naming who is missing.
    early = api.post(f"/api/v1/verifications/{vid}/submit")
    assert early.status_code == 409 and early.json()["code"] == "unconfirmed"
    assert set(early.json()["unconfirmed"]) == {str(village_1["yu"].pk), str(village_1["ming"].pk)}

    yu, ming = village_1["yu"], village_1["ming"]
    ok = api.post(
        f"/api/v1/verifications/{vid}/items/{yu.pk}", _item(), content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["confirmed"] is True
    changed = api.post(
        f"/api/v1/verifications/{vid}/items/{ming.pk}",
        _item(schooling_ok=False, school_status="not_enrolled", changes_found="未入学"),
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["school_status"] == "not_enrolled"
    assert changed.json()["changed_fields"] == ["school_status"]
    ming.refresh_from_db()
    assert ming.school_status == "not_enrolled"

    listed = api.get("/api/v1/verifications?year=2026&quarter=4")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["items"][0]["confirmed_count"] == 2

    submitted = api.post(f"/api/v1/verifications/{vid}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert api.post(f"/api/v1/verifications/{vid}/submit").status_code == 409
    late = api.post(
        f"/api/v1/verifications/{vid}/items/{yu.pk}", _item(), content_type="application/json"
    )
    assert late.status_code == 409 and late.json()["code"] == "submitted"
    # The village's own director does not re-open; the township does.
    reopen = {"reason": "需要补充"}
    assert (
        api.post(
            f"/api/v1/verifications/{vid}/reopen", reopen, content_type="application/json"
        ).status_code
        == 403
    )
    township = api_client(supervisor)
    overview = township.get("/api/v1/verifications/overview")
    assert overview.status_code == 200, overview.content
    rows = {row["code"]: row for row in overview.json()["items"]}
    assert rows[VILLAGE_1]["state"] == "submitted" and rows[VILLAGE_1]["children"] == 2
    assert rows[VILLAGE_2]["state"] == "nothing_to_verify"
    assert overview.json()["due_date"] == "2027-01-10"
    reopened = township.post(
        f"/api/v1/verifications/{vid}/reopen", reopen, content_type="application/json"
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft"
    assert reopened.json()["reopen_reason"] == "需要补充"
    assert (
        township.post(
            f"/api/v1/verifications/{vid}/reopen", reopen, content_type="application/json"
        ).status_code
        == 409
    )
    detail = township.get(f"/api/v1/verifications/{vid}")
    assert detail.status_code == 200 and detail.json()["confirmed_count"] == 2
    # Every read of the checklist is audited per child.
    reads = AuditRecord.objects.filter(action=AuditAction.API_READ, object_id=str(yu.pk))
    assert reads.filter(user=supervisor).exists() and reads.filter(user=director_a).exists()


def test_the_api_is_scoped_and_refuses_what_the_role_may_not(
    village_1, api_client, director_a, director_b, outsider, viewer, civil_affairs
):
    verification, _ = services.verification_open(
        user=director_a, village=Area.objects.get(code=VILLAGE_1), year=2026, quarter=4
    )
    vid, yu = verification.pk, village_1["yu"]
    body = {"village_code": VILLAGE_1, "year": 2026, "quarter": 4}
    for user in (outsider, director_b):
        api = api_client(user)
        assert api.get(f"/api/v1/verifications/{vid}").status_code == 404
        assert (
            api.post("/api/v1/verifications", body, content_type="application/json").status_code
            == 404
        )
        assert (
            api.post(
                f"/api/v1/verifications/{vid}/items/{yu.pk}",
                _item(),
                content_type="application/json",
            ).status_code
            == 404
        )
        assert api.post(f"/api/v1/verifications/{vid}/submit").status_code == 404
        assert api.get("/api/v1/verifications").json()["count"] == 0
    assert (
        api_client(outsider).get(f"/api/v1/verifications/overview?area={COUNTY_A}").status_code
        == 404
    )
    for user in (viewer, civil_affairs):
        api = api_client(user)
        assert api.get(f"/api/v1/verifications/{vid}").status_code == 200
        assert api.get("/api/v1/verifications").json()["count"] == 1
        assert (
            api.post("/api/v1/verifications", body, content_type="application/json").status_code
            == 403
        )
        assert (
            api.post(
                f"/api/v1/verifications/{vid}/items/{yu.pk}",
                _item(),
                content_type="application/json",
            ).status_code
            == 403
        )
        assert api.post(f"/api/v1/verifications/{vid}/submit").status_code == 403
    assert not VerificationItem.objects.exists()
    # Unknown ids are 404 too.
    api = api_client(director_a)
    assert api.get(f"/api/v1/verifications/{uuid.uuid4()}").status_code == 404
    assert api.get("/api/v1/verifications/not-a-uuid").status_code == 404
    assert (
        api.post(
            f"/api/v1/verifications/{vid}/items/{village_1['plain'].pk}",
            _item(),
            content_type="application/json",
        ).status_code
        == 404
    )


def test_the_api_answers_bad_input_with_422(village_1, api_client, director_a):
    api = api_client(director_a)
    for body, field in (
        ({"village_code": VILLAGE_1, "year": 2027, "quarter": 1}, "quarter"),  # not begun
        ({"village_code": VILLAGE_1, "year": 2026, "quarter": 2}, "quarter"),  # too old
        ({"village_code": VILLAGE_1, "year": 2026, "quarter": 9}, "quarter"),
        ({"village_code": "3418231032", "year": 2026, "quarter": 4}, "village_code"),
    ):
        response = api.post("/api/v1/verifications", body, content_type="application/json")
        assert response.status_code == 422, (body, response.content)
        assert field in str(response.json()["detail"]), (field, response.json())
    created = api.post(
        "/api/v1/verifications",
        {"village_code": VILLAGE_1, "year": 2026, "quarter": 4},
        content_type="application/json",
    ).json()
    url = f"/api/v1/verifications/{created['id']}/items/{village_1['yu'].pk}"
    for body, field in (
        (_item(family_ok=False), "changes_found"),
        (_item(changes_found="a\x00b"), "changes_found"),
        (_item(changes_found="长" * 2001), "changes_found"),
        (_item(benefits_received="maybe"), "benefits_received"),
        (_item(school_status="=cmd|' /C calc'!A0"), "school_status"),
        ({"family_ok": True}, "guardianship_ok"),
    ):
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 422, (body, response.content)
        assert field in str(response.json()["detail"]), (field, response.json())
    reopen = api.post(
        f"/api/v1/verifications/{created['id']}/reopen", {}, content_type="application/json"
    )
    assert reopen.status_code == 422
    assert not VerificationItem.objects.exists()


def test_a_township_code_is_refused_as_a_village_by_the_api(village_1, api_client, supervisor):
    response = api_client(supervisor).post(
        "/api/v1/verifications",
        {"village_code": TOWNSHIP_1, "year": 2026, "quarter": 4},
        content_type="application/json",
    )
    assert response.status_code == 422 and "village_code" in str(response.json()["detail"])
    # A supervisor may stand in for a village of the township.
    stand_in = api_client(supervisor).post(
        "/api/v1/verifications",
        {"village_code": VILLAGE_3, "year": 2026, "quarter": 4},
        content_type="application/json",
    )
    assert stand_in.status_code == 404  # village 3 is in another township
    ok = api_client(supervisor).post(
        "/api/v1/verifications",
        {"village_code": VILLAGE_2, "year": 2026, "quarter": 4},
        content_type="application/json",
    )
    assert ok.status_code == 201


def test_the_api_list_counts_in_a_constant_number_of_queries(
    frozen, api_client, director_a, supervisor, areas
):
    def load() -> int:
        api = api_client(supervisor)
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/verifications").status_code == 200
        return len(queries)

    for code in (VILLAGE_1, VILLAGE_2):
        services.verification_open(
            user=supervisor, village=Area.objects.get(code=code), year=2026, quarter=4
        )
    before = load()
    for code in (VILLAGE_1, VILLAGE_2):
        services.verification_open(
            user=supervisor, village=Area.objects.get(code=code), year=2026, quarter=3
        )
    needy(director_a, "查甲")
    assert load() == before


def test_two_files_of_one_child_both_verified_merge_into_one_item(
    village_1, client_for, api_client, director_a, supervisor
):
    """A duplicate file found after both files were confirmed this quarter: the merge goes
    through (it used to clash on the checklist's one item per child), the later confirmation
    stands on the surviving file, and the quarter still submits."""
    from children.services import child_create

    yu = village_1["yu"]
    duplicate = child_create(
        user=director_a,
        name="查小雨",
        gender="female",
        birth_date=date(2016, 3, 8),
        hukou_registered=False,
        village_code=VILLAGE_1,
        categories=["severe_disability"],
        confirm_possible_duplicate=True,
    )
    client = client_for(director_a)
    for child, moment, note in ((yu, "2026-11-23 10:00", ""), (duplicate, "2026-11-23 10:20", "x")):
        with at(moment):
            body = {**CONFIRM_OK, "version": Child.objects.get(pk=child.pk).version}
            if note:
                body.update(family_ok="false", changes_found="外出务工的父亲已返乡。")
            response = client.post(item_page(child), body)
            assert response.status_code == 302, response.content.decode()[-3000:]
    assert VerificationItem.objects.count() == 2
    merged = api_client(supervisor).post(
        f"/api/v1/children/{yu.pk}/merge",
        {"duplicate_id": str(duplicate.pk), "reason": "同一儿童重复建档"},
        content_type="application/json",
    )
    assert merged.status_code == 200, merged.content
    item = VerificationItem.objects.get()
    assert item.child_id == yu.pk and not item.family_ok  # the later one: the duplicate's
    assert item.changes_found == "外出务工的父亲已返乡。"
    with at("2026-11-23 10:40"):
        ming = Child.objects.get(pk=village_1["ming"].pk)
        assert (
            client.post(item_page(ming), {**CONFIRM_OK, "version": ming.version}).status_code == 302
        )
        page = client.get(village_page())
        assert page.status_code == 200 and page.context["can_submit"], page.context["state"]
