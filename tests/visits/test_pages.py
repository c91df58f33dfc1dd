"""Visit pages: worklist, one-screen visit form, review, township overview, patrol, photos —
with scope (404) and roles (403)."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from visits.models import Visit, VisitPhoto
from visits.services import visit_record

from ..factories import make_child

pytestmark = pytest.mark.django_db


def jpeg(size=(2400, 1800), name="photo.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def visit(child, director_a):
    return visit_record(
        user=director_a,
        child=child,
        visited_on=date(2026, 11, 20),
        kind="home",
        notes="祖母照看良好",
    )


def test_director_lands_on_the_worklist(client_for, director_a, child, frozen):
    other = make_child(director_a, name="王大山", birth_date=date(2014, 1, 1))
    visit_record(user=director_a, child=other, visited_on=date(2026, 8, 1), kind="home")  # overdue
    client = client_for(director_a)
    response = client.get("/", follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == "/visits/"
    overdue = body.index('id="overdue"')
    never = body.index('id="never_visited"')
    # (the reminders panel above the lists may name them too: look from the first list on)
    assert (
        overdue
        < body.index("王大山", overdue)
        < body.index('id="due_soon"')
        < never
        < body.index("查小雨", overdue)
    )
    assert "一般：每30天联系一次，每90天入户走访" in body
    assert f"/visits/new/{child.pk}/" in body


def test_worklist_constant_queries(client_for, director_a, frozen, django_assert_max_num_queries):
    client = client_for(director_a)
    for count in (3, 30):
        for i in range(count):
            make_child(director_a, name=f"儿童{count}-{i}")
        # session, user and area; the three lists, returned visits, transfers and reminders in
        # one round trip (core.compiled.together)
        with django_assert_max_num_queries(3):
            assert client.get("/visits/").status_code == 200


def test_one_screen_visit_form_prefilled(client_for, director_a, child):
    body = client_for(director_a).get(f"/visits/new/{child.pk}/").content.decode()
    assert 'value="2026-11-23"' in body
    assert 'value="home" class="form-check-input" id="id_kind_0" required checked' in body or (
        'name="kind"' in body and 'value="home"' in body and "checked" in body
    )


def test_record_a_routine_visit(client_for, director_a, child):
    response = client_for(director_a).post(
        f"/visits/new/{child.pk}/",
        {
            "visited_on": "2026-11-23",
            "kind": "home",
            "seen": ["child", "caregiver"],
            "guardian_present": "true",
            "caregiver_capable": "true",
            "notes": "一切正常",
        },
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (
        visit.guardian_present is True
        and visit.in_school is None
        and visit.seen == ["child", "caregiver"]
    )
    child.refresh_from_db()
    assert child.last_home_visit_on == date(2026, 11, 23) and child.next_home_visit_due == date(
        2027, 2, 21
    )


def test_future_visit_shows_error_next_to_the_date(client_for, director_a, child):
    response = client_for(director_a).post(
        f"/visits/new/{child.pk}/", {"visited_on": "2026-12-01", "kind": "home"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "走访日期不能晚于今天" in body[body.index('id="div_id_visited_on"') :][:1500]
    assert Visit.objects.count() == 0


def test_photos_are_resized_images_only_and_scoped(client_for, director_a, child, outsider):
    client = client_for(director_a)
    response = client.post(
        f"/visits/new/{child.pk}/",
        {"visited_on": "2026-11-23", "kind": "home", "photos": [jpeg(), jpeg()]},
    )
    assert response.status_code == 302
    photos = list(VisitPhoto.objects.all())
    assert len(photos) == 2 and max(photos[0].width, photos[0].height) == 1600
    served = client.get(f"/visits/photos/{photos[0].pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert client_for(outsider).get(f"/visits/photos/{photos[0].pk}/").status_code == 404
    exe = SimpleUploadedFile(
        "holiday.jpg", b"MZ\x90\x00\x03" + b"\x00" * 500, content_type="image/jpeg"
    )
    response = client.post(
        f"/visits/new/{child.pk}/", {"visited_on": "2026-11-23", "kind": "phone", "photos": [exe]}
    )
    assert response.status_code == 200 and "只能上传图片文件" in response.content.decode()
    assert Visit.objects.count() == 1  # the whole visit was refused, nothing half-saved


def test_at_most_five_photos(client_for, director_a, child):
    url = f"/visits/new/{child.pk}/"
    six = [jpeg((100, 100)) for _ in range(6)]
    response = client_for(director_a).post(
        url, {"visited_on": "2026-11-23", "kind": "home", "photos": six}
    )
    assert response.status_code == 200 and "最多上传5张照片" in response.content.decode()
    assert VisitPhoto.objects.count() == 0 and Visit.objects.count() == 0
    five = [jpeg((100, 100)) for _ in range(5)]
    response = client_for(director_a).post(
        url, {"visited_on": "2026-11-23", "kind": "home", "photos": five}
    )
    assert response.status_code == 302 and VisitPhoto.objects.count() == 5


def test_outsider_404_on_every_visit_page(
    client_for, visit, child, outsider, director_b, other_supervisor
):
    for user in (outsider, director_b, other_supervisor):
        client = client_for(user)
        for url in (
            f"/visits/new/{child.pk}/",
            f"/visits/{visit.pk}/",
            f"/visits/{visit.pk}/edit/",
        ):
            assert client.get(url).status_code == 404, (user.username, url)
            assert client.post(url, {}).status_code == 404, (user.username, url)


def test_roles(client_for, visit, child, viewer, reporter, director_a, supervisor):
    assert client_for(viewer).get(f"/visits/new/{child.pk}/").status_code == 403
    assert client_for(reporter).get(f"/visits/{visit.pk}/").status_code == 403
    assert client_for(viewer).get(f"/visits/{visit.pk}/").status_code == 200
    assert client_for(supervisor).get(f"/visits/{visit.pk}/edit/").status_code == 403  # not theirs
    for url in ("/visits/township/", "/visits/review/", "/visits/patrol/"):
        assert client_for(director_a).get(url).status_code == 403
        assert client_for(supervisor).get(url).status_code == 200
    assert client_for(reporter).get("/visits/").status_code == 403


def test_review_and_return_with_comment(client_for, visit, director_a, supervisor):
    client = client_for(supervisor)
    assert "查小雨" in client.get("/visits/review/").content.decode()
    response = client.post(f"/visits/{visit.pk}/", {"decision": "returned", "comment": ""})
    assert "退回时请写明原因" in response.content.decode()
    client.post(f"/visits/{visit.pk}/", {"decision": "returned", "comment": "请补充孩子在校情况"})
    visit.refresh_from_db()
    assert visit.review_status == "returned"
    worklist = client_for(director_a).get("/visits/").content.decode()
    assert "请补充孩子在校情况" in worklist
    # The returned visit's line: its child, its date and who returned it (core.compiled).
    assert f'<a href="/visits/{visit.pk}/">查小雨 {visit.visited_on:%Y-%m-%d}</a>' in worklist
    assert f"（{supervisor.display_name}）" in worklist
    # The director corrects it: back to the review queue.
    response = client_for(director_a).post(
        f"/visits/{visit.pk}/edit/",
        {"visited_on": "2026-11-20", "kind": "home", "in_school": "true", "notes": "在校情况良好"},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.review_status == "pending" and visit.in_school is True
    client.post(f"/visits/{visit.pk}/", {"decision": "reviewed", "comment": ""})
    visit.refresh_from_db()
    assert visit.review_status == "reviewed" and visit.reviewed_by == supervisor


def test_township_overview_grouped_by_village(
    client_for, supervisor, director_a, director_b, frozen
):
    a = make_child(director_a, name="查小雨")
    b = make_child(director_b, name="王大山")
    visit_record(user=director_a, child=a, visited_on=date(2026, 8, 1), kind="home")
    visit_record(user=director_b, child=b, visited_on=date(2026, 8, 30), kind="home")  # due 11-28
    body = client_for(supervisor).get("/visits/township/").content.decode()
    assert "查文静" in body and "王玉兰" in body  # directors by village
    assert body.index("查济村") < body.index("查小雨") and "王大山" in body


def test_quarterly_patrol(client_for, supervisor, director_a, frozen):
    key = make_child(director_a, name="重点儿童", risk_level="high")
    make_child(director_a, name="普通儿童")
    client = client_for(supervisor)
    body = client.get("/visits/patrol/").content.decode()
    assert "重点儿童" in body and "普通儿童" not in body
    visit_record(user=supervisor, child=key, visited_on=date(2026, 11, 20), kind="home")
    body = client.get("/visits/patrol/").content.decode()
    assert "已巡查" in body
    body = client.get("/visits/patrol/?year=2026&quarter=3").content.decode()
    assert "已巡查" not in body
    assert client.get("/visits/patrol/?quarter=9").status_code == 404


def test_child_page_shows_schedule_and_visits(client_for, visit, child, director_a):
    body = client_for(director_a).get(f"/children/{child.pk}/").content.decode()
    assert "2027-02-18" in body and "2026-11-20" in body and f"/visits/{visit.pk}/" in body
    assert f"/children/{child.pk}/history/" in body
    body = client_for(director_a).get(f"/children/{child.pk}/history/").content.decode()
    timeline = body[body.index("sw-timeline") :]
    assert "入户走访（2026-11-20）" in timeline and "祖母照看良好" in timeline


def test_a_returned_visits_line_follows_its_reviewer_and_child(
    client_for, visit, supervisor, director_a
):
    """The returned visits are kept with the worklist's rows (core.web.content_key of their
    lines): a new name of the child or of the supervisor shows at once."""
    from accounts.models import User
    from children.models import Child

    client_for(supervisor).post(
        f"/visits/{visit.pk}/", {"decision": "returned", "comment": "请补充"}
    )
    client = client_for(director_a)
    assert f"（{supervisor.display_name}）" in client.get("/visits/").content.decode()
    User.objects.filter(pk=supervisor.pk).update(name="新督导")
    Child.objects.filter(pk=visit.child_id).update(name="查小雪")
    body = client.get("/visits/").content.decode()
    assert "（新督导）" in body and f'/visits/{visit.pk}/">查小雪 ' in body
