"""The one-child file on paper (一人一档, issue 21 point 7): the file, its family, agreements,
last visits and benefits as a PDF, numbers masked as the reader's role requires, audited, and
scoped like the file itself."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from accounts.models import AuditAction, AuditRecord
from children.services import child_close
from visits.services import visit_record

from ..factories import add_parents, make_agreement


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    reader = PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "")


@pytest.fixture
def filed(child, director_a):
    add_parents(director_a, child, status="working_away", phone="13812345678", work_place="杭州")
    make_agreement(director_a, child)
    visit_record(
        user=director_a,
        child=child,
        visited_on=date(2026, 11, 20),
        kind="home",
        notes="孩子在家写作业，奶奶身体尚可",
    )
    return child


def test_the_director_prints_the_whole_file(filed, client_for, director_a):
    response = client_for(director_a).get(f"/children/{filed.pk}/pdf/")
    text = _text(response)
    for shown in (
        "农村留守儿童和困境儿童信息档案",
        "查小雨",
        "查济村",
        "家庭成员",
        "父亲",
        "13812345678",
    ):
        assert shown in text, shown
    assert "查德明" in text  # the agreement's caregiver
    assert "孩子在家写作业" in text  # the last visit's notes
    assert "儿童主任（签字）" in text
    assert response.content.startswith(b"%PDF-")


def test_a_supervisor_gets_the_numbers_masked(filed, client_for, supervisor):
    text = _text(client_for(supervisor).get(f"/children/{filed.pk}/pdf/"))
    assert "13812345678" not in text and "138****5678" in text
    assert filed.id_number_masked.replace(" ", "") in text


def test_printing_is_audited_as_an_export_of_the_file(filed, client_for, director_a):
    client_for(director_a).get(f"/children/{filed.pk}/pdf/")
    record = AuditRecord.objects.filter(
        action=AuditAction.EXPORT, object_type="child", object_id=str(filed.pk)
    ).get()
    assert record.detail == {"page": "pdf"} and record.user == director_a


def test_out_of_scope_is_404(filed, client_for, director_b, outsider):
    for user in (director_b, outsider):
        assert client_for(user).get(f"/children/{filed.pk}/pdf/").status_code == 404
    assert not AuditRecord.objects.filter(action=AuditAction.EXPORT, object_type="child").exists()


def test_a_closed_file_prints_with_its_closing(filed, client_for, director_a):
    child_close(user=director_a, child=filed, reason="moved_away", note="")
    text = _text(client_for(director_a).get(f"/children/{filed.pk}/pdf/"))
    assert "2026年11月23日" in text and "档案状态" in text


def test_the_file_page_links_to_the_print(filed, client_for, director_a):
    page = client_for(director_a).get(f"/children/{filed.pk}/").content.decode()
    assert f"/children/{filed.pk}/pdf/" in page


def test_a_file_with_nothing_yet_prints(child, client_for, viewer):
    text = _text(client_for(viewer).get(f"/children/{child.pk}/pdf/"))
    assert "未登记家庭成员" in text and "尚无走访记录" in text and "无委托照护协议" in text
