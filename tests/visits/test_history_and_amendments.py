"""Issue 16.7, record integrity: a visit keeps its history (who, when, before → after); a reviewed
visit is not edited — an amendment is added, which sends it back to the review queue while the
history keeps the first review. Scope (404), role (403) and hostile input on the amendment."""

from datetime import date

import pghistory.models
import pgtrigger
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection

from core.errors import Conflict
from core.history import snapshot_existing_rows
from visits import selectors
from visits.models import Visit, VisitAmendment, VisitEvent
from visits.services import visit_amend, visit_record, visit_review, visit_update

pytestmark = pytest.mark.django_db

AMENDMENT = str(VisitAmendment._meta.get_field("text").verbose_name)


@pytest.fixture
def visit(child, director_a):
    return visit_record(
        user=director_a,
        child=child,
        visited_on=date(2026, 11, 20),
        kind="home",
        notes="祖母照看良好",
        safety_concern=False,
    )


@pytest.fixture
def reviewed(visit, supervisor):
    return visit_review(user=supervisor, visit=visit, decision="reviewed")


def amend(client, visit, body):
    return client.post(
        f"/api/v1/visits/{visit.pk}/amendments", body, content_type="application/json"
    )


def history_of(visit):
    return selectors.visit_history(visit=Visit.objects.get(pk=visit.pk))


def test_recording_a_visit_records_who(visit, director_a):
    event = VisitEvent.objects.get(pgh_obj_id=visit.pk)
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["user"] == director_a.pk
    [entry] = history_of(visit)
    assert (entry.title, entry.who) == ("记录走访", "查文静")


def test_an_edit_keeps_who_when_and_before_after(client_for, visit, director_a):
    response = client_for(director_a).post(
        f"/visits/{visit.pk}/edit/",
        {"visited_on": "2026-11-21", "kind": "home", "safety_concern": "true", "notes": "河边玩水"},
    )
    assert response.status_code == 302
    edit = history_of(visit)[0]
    assert (edit.title, edit.who) == ("修改走访", "查文静")
    assert ("日期", "2026-11-20", "2026-11-21") in edit.changes
    assert ("安全隐患", "否", "是") in edit.changes
    assert any(old == "祖母照看良好" and new == "河边玩水" for _, old, new in edit.changes)
    page = client_for(director_a).get(f"/visits/{visit.pk}/").content.decode()
    history = page[page.index("sw-history") :]
    assert "修改走访" in history and "查文静" in history
    assert "2026-11-20" in history and "2026-11-21" in history and "河边玩水" in history


def test_the_api_edit_is_in_the_history_too(api_client, visit, director_a):
    response = api_client(director_a).patch(
        f"/api/v1/visits/{visit.pk}",
        {"findings": {"in_school": True, "needs": "学习用品"}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["findings"]["in_school"] is True and body["findings"]["needs"] == "学习用品"
    assert body["date"] == "2026-11-20" and body["notes"] == "祖母照看良好"  # unsent: unchanged
    edit = history_of(visit)[0]
    assert [(old, new) for _, old, new in edit.changes] == [("—", "是"), ("—", "学习用品")]


def test_an_unchanged_save_adds_no_history(visit, director_a):
    before = VisitEvent.objects.filter(pgh_obj_id=visit.pk).count()
    visit_update(user=director_a, visit=visit, changes={"notes": "祖母照看良好"})
    assert VisitEvent.objects.filter(pgh_obj_id=visit.pk).count() == before


def test_a_reviewed_visit_cannot_be_edited(
    api_client, client_for, reviewed, director_a, supervisor
):
    response = api_client(director_a).patch(
        f"/api/v1/visits/{reviewed.pk}",
        {"findings": {"safety_concern": False}, "date": "2026-11-01"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "已审核的走访不能修改，请添加补充说明"
    with pytest.raises(Conflict):
        visit_update(user=director_a, visit=reviewed, changes={"visited_on": date(2026, 11, 1)})
    client = client_for(director_a)
    page = client.get(f"/visits/{reviewed.pk}/").content.decode()
    assert f"/visits/{reviewed.pk}/edit/" not in page
    assert f"/visits/{reviewed.pk}/amendments/" in page  # the amendment form instead
    # The edit page sends the director back to the visit, with the reason; a post changes nothing.
    response = client.get(f"/visits/{reviewed.pk}/edit/", follow=True)
    assert response.redirect_chain[-1][0] == f"/visits/{reviewed.pk}/"
    assert "已审核的走访不能修改" in response.content.decode()
    client.post(f"/visits/{reviewed.pk}/edit/", {"visited_on": "2026-11-01", "kind": "phone"})
    reviewed.refresh_from_db()
    assert reviewed.visited_on == date(2026, 11, 20) and reviewed.kind == "home"
    assert reviewed.review_status == "reviewed" and reviewed.reviewed_by == supervisor


def test_an_amendment_sends_it_back_to_review_and_keeps_the_first_review(
    api_client, client_for, reviewed, director_a, supervisor
):
    response = amend(
        api_client(director_a),
        reviewed,
        {"text": "补充：孩子常去河边玩水", "corrections": {"safety_concern": True}},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "补充：孩子常去河边玩水" and body["by"] == "查文静"
    assert body["corrected_fields"] == ["safety_concern"]
    assert body["visit_review_status"] == "pending"
    visit = Visit.objects.get(pk=reviewed.pk)
    assert visit.review_status == "pending" and visit.reviewed_by is None
    assert visit.safety_concern is True and visit.visited_on == date(2026, 11, 20)
    # The API's visit shows its amendments.
    shown = api_client(supervisor).get(f"/api/v1/visits/{visit.pk}").json()
    assert shown["review_status"] == "pending"
    assert [a["text"] for a in shown["amendments"]] == ["补充：孩子常去河边玩水"]
    # Back in the supervisor's queue, marked amended.
    queue = client_for(supervisor).get("/visits/review/")
    assert [(v.pk, v.amended) for v in queue.context["page"]] == [(visit.pk, True)]
    # The history keeps the first review and shows the amendment with what it changed.
    amendment, review, _ = history_of(visit)
    assert (review.title, review.who) == ("审核通过", "查丽萍")
    assert ("审核", "待审核", "已审核") in review.changes
    assert ("审核人", "—", "查丽萍") in review.changes
    assert (amendment.title, amendment.who) == ("添加补充说明", "查文静")
    assert (AMENDMENT, "", "补充：孩子常去河边玩水") in amendment.changes
    assert ("安全隐患", "否", "是") in amendment.changes
    assert ("审核", "已审核", "待审核") in amendment.changes
    assert ("审核人", "查丽萍", "—") in amendment.changes
    # Reviewed again: both reviews are in the history.
    response = client_for(supervisor).post(f"/visits/{visit.pk}/", {"decision": "reviewed"})
    assert response.status_code == 302
    titles = [entry.title for entry in history_of(visit)]
    assert titles == ["审核通过", "添加补充说明", "审核通过", "记录走访"]
    page = client_for(director_a).get(f"/visits/{visit.pk}/").content.decode()
    assert page.count("审核通过") >= 2 and "补充：孩子常去河边玩水" in page


def test_an_amendment_on_the_page(client_for, reviewed, director_a, supervisor):
    response = client_for(director_a).post(
        f"/visits/{reviewed.pk}/amendments/",
        {"text": "漏记：孩子近期视力下降", "in_school": "true", "needs": "配眼镜"},
    )
    assert response.status_code == 302
    visit = Visit.objects.get(pk=reviewed.pk)
    assert visit.review_status == "pending" and visit.in_school is True and visit.needs == "配眼镜"
    assert visit.safety_concern is False  # blank on the form: unchanged
    [amendment] = VisitAmendment.objects.filter(visit=visit)
    assert sorted(amendment.corrected_fields) == ["in_school", "needs"]
    page = client_for(supervisor).get(f"/visits/{visit.pk}/").content.decode()
    assert "漏记：孩子近期视力下降" in page and 'name="decision"' in page


def test_the_amendment_is_encrypted_at_rest(reviewed, director_a):
    amendment = visit_amend(user=director_a, visit=reviewed, text="补充说明的个案记录")
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM visits_visitamendment WHERE id = %s", [amendment.pk])
        stored = cursor.fetchone()[0]
    assert "补充说明" not in stored and stored.startswith("gAAAA")


def test_an_amendment_to_a_visit_awaiting_review_is_its_own_entry(visit, supervisor):
    visit_amend(user=supervisor, visit=visit, text="督导补充：已联系学校")
    entries = history_of(visit)
    assert (entries[0].title, entries[0].who) == ("添加补充说明", "查丽萍")
    assert entries[0].changes == [(AMENDMENT, "", "督导补充：已联系学校")]


def test_whoever_amended_a_visit_does_not_review_it(client_for, reviewed, supervisor):
    visit_amend(user=supervisor, visit=reviewed, text="督导补充：已联系学校")
    client = client_for(supervisor)
    assert f"/visits/{reviewed.pk}/" not in client.get("/visits/review/").content.decode()
    assert client.post(f"/visits/{reviewed.pk}/", {"decision": "reviewed"}).status_code == 403
    reviewed.refresh_from_db()
    assert reviewed.review_status == "pending"


def test_a_returned_visit_is_still_edited(client_for, visit, director_a, supervisor):
    visit_review(user=supervisor, visit=visit, decision="returned", comment="请补充在校情况")
    response = client_for(director_a).post(
        f"/visits/{visit.pk}/edit/",
        {"visited_on": "2026-11-20", "kind": "home", "in_school": "true"},
    )
    assert response.status_code == 302
    titles = [entry.title for entry in history_of(visit)]
    assert titles == ["修改走访", "退回修改", "记录走访"]


def test_the_child_timeline_shows_edits_and_amendments(
    client_for, reviewed, child, director_a, supervisor
):
    visit_amend(user=director_a, visit=reviewed, text="补充：祖母腿脚不便")
    visit_review(user=supervisor, visit=reviewed, decision="returned", comment="日期有误")
    visit_update(user=director_a, visit=reviewed, changes={"visited_on": date(2026, 11, 19)})
    body = client_for(director_a).get(f"/children/{child.pk}/history/").content.decode()
    timeline = body[body.index("sw-timeline") :]
    assert "添加补充说明：入户走访（2026-11-19）" in timeline and "补充：祖母腿脚不便" in timeline
    assert "修改走访：入户走访（2026-11-19）" in timeline and "2026-11-20" in timeline


def test_a_visit_from_before_tracking_shows_its_first_change(child, director_a):
    # A row written before tracking (no service: pgtrigger's ignore cannot carry the named
    # parameters of the reminders the service raises).
    with pgtrigger.ignore("visits.Visit:insert_insert"):
        old = Visit.objects.create(
            child=child,
            visitor=director_a,
            visitor_role=director_a.role,
            visited_on=date(2026, 10, 1),
            kind="home",
        )
    assert not VisitEvent.objects.filter(pgh_obj_id=old.pk).exists()
    with connection.schema_editor() as editor:
        snapshot_existing_rows(apps, editor, "visits", "Visit")
    assert VisitEvent.objects.get(pgh_obj_id=old.pk).pgh_label == "baseline"
    visit_update(user=director_a, visit=old, changes={"visited_on": date(2026, 10, 2)})
    [edit] = history_of(old)  # the baseline is only the "before"
    assert edit.title == "修改走访" and ("日期", "2026-10-01", "2026-10-02") in edit.changes


# --- Scope and roles --------------------------------------------------------------------------


def test_outside_the_area_404(api_client, client_for, reviewed, outsider, director_b):
    for user in (outsider, director_b):
        api = api_client(user)
        assert amend(api, reviewed, {"text": "外人补充"}).status_code == 404
        assert api.get(f"/api/v1/visits/{reviewed.pk}").status_code == 404
        patched = api.patch(f"/api/v1/visits/{reviewed.pk}", {}, content_type="application/json")
        assert patched.status_code == 404
        page = client_for(user).post(f"/visits/{reviewed.pk}/amendments/", {"text": "外人补充"})
        assert page.status_code == 404
    assert VisitAmendment.objects.count() == 0


def test_wrong_role_403(api_client, client_for, reviewed, viewer, reporter, supervisor, visit):
    for user in (viewer, reporter):
        assert amend(api_client(user), reviewed, {"text": "只读补充"}).status_code == 403
        page = client_for(user).post(f"/visits/{reviewed.pk}/amendments/", {"text": "只读补充"})
        assert page.status_code == 403
    assert VisitAmendment.objects.count() == 0
    page = client_for(viewer).get(f"/visits/{reviewed.pk}/").content.decode()
    assert f"/visits/{reviewed.pk}/amendments/" not in page
    # Only the visitor edits (the supervisor adds an amendment instead).
    patched = api_client(supervisor).patch(
        f"/api/v1/visits/{visit.pk}", {"notes": "改写"}, content_type="application/json"
    )
    assert patched.status_code == 403


# --- Hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({"text": "补充\x00说明"}, "text"),
        ({"text": "长" * 10_000}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "补充", "corrections": {"needs": "文具\x00"}}, "needs"),
        ({"text": "补充", "corrections": {"follow_up_on": "2026-01-01"}}, "follow_up_on"),
    ],
)
def test_hostile_amendments_are_refused_and_nothing_saved(
    api_client, reviewed, director_a, body, field
):
    events = VisitEvent.objects.count()
    response = amend(api_client(director_a), reviewed, body)
    assert response.status_code == 422, response.content
    assert field in [item["loc"][-1] for item in response.json()["detail"]]
    assert VisitAmendment.objects.count() == 0 and VisitEvent.objects.count() == events
    reviewed.refresh_from_db()
    assert reviewed.review_status == "reviewed"


def test_hostile_amendments_on_the_page(client_for, reviewed, director_a):
    client = client_for(director_a)
    for text in ("长" * 10_000, "补充\x00说明"):
        response = client.post(f"/visits/{reviewed.pk}/amendments/", {"text": text})
        assert response.status_code == 200
        assert response.context["amendment_form"].errors["text"]
    assert VisitAmendment.objects.count() == 0
    with pytest.raises(ValidationError):
        visit_amend(user=director_a, visit=reviewed, text="x", corrections={"visited_on": None})


def test_contexts_name_the_user(reviewed, director_a):
    amendment = visit_amend(user=director_a, visit=reviewed, text="补充")
    event = VisitEvent.objects.filter(pgh_obj_id=reviewed.pk).order_by("-pgh_id").first()
    context = pghistory.models.Context.objects.get(pk=event.pgh_context_id)
    assert context.metadata == {"user": director_a.pk, "amendment": str(amendment.pk)}
