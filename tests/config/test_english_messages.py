"""Issue 19 §7: what the services answer when they refuse is in the reader's language. Each refusal
below is made twice: in English it holds no Chinese (outside the names and the template's column
headers, which are data); in Chinese, the default, it is word for word what the other tests
expect."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from openpyxl import Workbook

from children.imports import HEADERS, import_children
from core.errors import Conflict
from core.uploads import document_type

from ..conftest import VILLAGE_1, log_in
from ..factories import make_child, make_id_number
from .test_english_pages import CJK, FULL_WIDTH

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def language_restored():
    with translation.override(translation.get_language()):
        yield


def refused(call) -> list[str]:
    """The messages of the refusal ``call()`` raises (a ValidationError or a Conflict)."""
    try:
        call()
    except ValidationError as exc:
        return [str(m) for m in exc.messages]
    except Conflict as exc:
        return [exc.message]
    raise AssertionError("the call was not refused")


def in_both(call) -> tuple[list[str], list[str]]:
    with translation.override("en"):
        english = refused(call)
    with translation.override(settings.LANGUAGE_CODE):
        chinese = refused(call)
    return english, chinese


def assert_english(messages: list[str], *data: str) -> None:
    assert messages, "no message: the check proves nothing"
    for message in messages:
        text = message
        for value in data:
            text = text.replace(value, " ")
        assert not CJK.search(text) and not FULL_WIDTH.search(text), message


def test_a_visit_in_the_future_and_a_contact_before_birth(child, director_a):
    from children.services import parent_contact_record
    from visits.services import visit_record

    english, chinese = in_both(
        lambda: visit_record(
            user=director_a, child=child, visited_on=date(2026, 12, 1), kind="home"
        )
    )
    assert_english(english)
    assert "走访日期不能晚于今天" in chinese

    english, chinese = in_both(
        lambda: parent_contact_record(
            user=director_a, child=child, contacted_on=date(2016, 3, 7), channel="phone"
        )
    )
    assert_english(english)
    assert chinese == ["联系日期不能早于儿童出生日期"]


def test_a_duplicate_id_number(child, director_a, outsider):
    from children.services import child_create

    number = make_id_number("2016-03-08", "female", area="342000")
    make_child(outsider, id_number=number, gender="female", birth_date=date(2016, 3, 8))
    english, chinese = in_both(
        lambda: child_create(
            user=director_a,
            name="查小宝",
            gender="female",
            birth_date=date(2016, 3, 8),
            village_code=VILLAGE_1,
            id_number=number,
        )
    )
    assert_english(english)
    assert chinese == ["已有档案，请联系督导员处理；如儿童已迁入本地，请申请转入"]


def test_a_refused_benefit_application(child, director_a):
    from benefits.services import subsidy_apply

    english, chinese = in_both(
        lambda: subsidy_apply(user=director_a, child=child, programme="orphan_allowance")
    )
    assert_english(english)
    assert "未登记父母双方情况" in chinese
    assert len(english) == len(chinese)


def test_a_public_notice_too_short():
    from benefits.rules import notice_problems

    def problems() -> list[str]:
        found = notice_problems(
            starts_on=date(2026, 11, 20),
            ends_on=date(2026, 11, 22),
            township_approved_on=date(2026, 11, 21),
        )
        return [str(m) for messages in found.values() for m in messages]

    with translation.override("en"):
        english = problems()
    chinese = problems()
    assert_english(english)
    assert chinese == [
        "公示不能早于乡镇初审通过日期（2026-11-21）",
        "公示期不少于7天，最早至2026-11-26",
    ]


def _workbook(rows: list[dict[str, str]]) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for values in rows:
        sheet.append([values.get(h, "") for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def test_an_import_with_bad_rows(frozen, director_a):
    number = make_id_number("2016-03-08", "female")
    good = {
        "姓名": "查小雨",
        "性别": "女",
        "出生日期": "2016-03-08",
        "身份证号": number,
        "村（社区）代码": VILLAGE_1,
    }
    rows = [
        good,
        {**good, "姓名": "重号"},  # the same ID number as row 2
        {**good, "身份证号": "", "出生日期": "2016-13-40"},
        {**good, "身份证号": "", "姓名": "坏等级", "残疾等级": "9", "困境类别": "未知类"},
        {**good, "身份证号": "", "姓名": "外村", "村（社区）代码": "341823105201"},
    ]

    def errors() -> list[str]:
        report = import_children(source=_workbook(rows), user=director_a)
        return [str(e) for e in report.errors]

    with translation.override("en"):
        english = errors()
    chinese = errors()
    # The column headers are the template's (a file format), the values what the sheet holds.
    headers = sorted(HEADERS, key=len, reverse=True)
    assert_english(english, *headers, "重号", "2016-13-40", "未知类")
    assert len(english) == len(chinese) >= 5
    assert "第3行 [身份证号] 与第2行身份证号重复" in chinese
    assert "第5行 [残疾等级] 残疾等级应为1至4" in chinese
    assert "第5行 [困境类别] 无法识别的类别“未知类”" in chinese
    assert any(e.startswith("第4行 [出生日期] 日期格式应为YYYY-MM-DD") for e in chinese)


def test_an_upload_that_is_not_an_image():
    def upload():
        return document_type(SimpleUploadedFile("a.pdf", b"MZ\x90\x00 not a document"))

    english, chinese = in_both(upload)
    assert_english(english)
    assert chinese == ["只能上传JPG、PNG图片或PDF文件"]


def test_a_nul_byte_on_a_page_and_on_the_api(director_a):
    client = log_in(Client(), director_a)
    chinese = client.get("/children/?q=%00").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/children/?q=%00")
    assert response.status_code == 400
    english = response.content.decode()
    assert '<html lang="en">' in english
    assert "The query must not contain a NUL character." in english
    assert not CJK.search(english) and not FULL_WIDTH.search(english)
    assert "查询参数不能包含空字符（NUL）。" in chinese and "Bad request" in chinese
    # The API keeps its bilingual answer whatever the language.
    api = client.get("/api/v1/children?q=%00").json()["detail"][0]["msg"]
    assert api == "不能包含空字符（NUL） / must not contain NUL"
