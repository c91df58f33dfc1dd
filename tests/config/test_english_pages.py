"""Issue 19 §7: English is complete. Every page, requested in English by each role over a full
case (family, agreement, parent notice and contact, visit, assessment, report, benefit, reminders,
transfer), shows no Chinese outside the names and the data the test itself typed in Chinese.

The pages are the access matrix's: every route the resolver knows, its path parameters filled
from the same world (tests/security/test_access_matrix.py), so a new page is checked as soon as
it is routed.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from itertools import chain

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import translation

from ..conftest import log_in
from ..security.test_access_matrix import World, build, walk, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

# Han characters, and the full-width punctuation Chinese text is built with: English shows
# "Label: value", "a, b" and "name (note)" (core.text, the wording template tags).
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
FULL_WIDTH = re.compile(r"[：（）、，。；]")

# Attributes a person reads: tooltips, placeholders, labels for screen readers, image text.
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm"}
BUTTON_INPUTS = {"submit", "button", "reset"}
HIDDEN_ELEMENTS = {"script", "style", "template"}

# The language switch names each language in itself.
ALLOWED = ("中文",)

# Data the fixtures typed in Chinese: people's names, areas, free text. Stripped before checking.
DATA = (
    # tests/conftest.py areas and users
    "安徽省",
    "宣城市",
    "泾县",
    "桃花潭镇",
    "查济村",
    "厚岸村",
    "云岭镇",
    "章渡村",
    "绩溪县",
    "华阳镇",
    "城东村",
    "查文静",
    "王玉兰",
    "查丽萍",
    "方晓梅",
    "安全员",
    "审计员",
    "工作人员",
    "区划",
    # the access matrix's world and tests/factories.py defaults
    "矩阵甲童",
    "矩阵父亲",
    "矩阵祖母",
    "矩阵孤儿",
    "矩阵低保",
    "矩阵新村",
    "浙江省杭州市",
    "独自在家",
    "死亡证明",
    "异议",
    "随父母迁居",
    "父亲",
    "母亲",
    "小明",
    "查德明",
    # the world's referral (issue 21): its organisation and reason
    "矩阵社工中心",
    "矩阵转介理由",
    # this module's additions
    "评估备注",
    # a stored value: the ethnicity a new file starts with (民族 names are data, not interface)
    "汉族",
)

# Pages that are Chinese documents by design, whatever the interface language: the yearly
# progress report is the official 工作进展报告 form submitted up the civil affairs hierarchy
# (like the 台账 ledgers' Chinese headings, a format, not interface text).
# The quarterly verification report (困境儿童季度核查情况表) is the village's paper form, the same.
CHINESE_DOCUMENTS = {"dashboard:progress_report", "visits:verification_print"}


class ShownText(HTMLParser):
    """The text nodes and shown attribute values of a page, outside <script>/<style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden += 1
        values = dict(attrs)
        for name, value in attrs:
            if value and name in SHOWN_ATTRIBUTES:
                self.texts.append(value)
        shown_value = tag == "button" or (
            tag == "input" and (values.get("type") or "").lower() in BUTTON_INPUTS
        )
        if shown_value and values.get("value"):
            self.texts.append(values["value"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in HIDDEN_ELEMENTS:
            self.hidden -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_ELEMENTS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.texts.append(data.strip())


def chinese_left(html: str, data: tuple[str, ...] = DATA) -> list[str]:
    """Each shown text that still holds Chinese once the data and the language label are gone."""
    parser = ShownText()
    parser.feed(html)
    parser.close()
    offending = []
    for text in parser.texts:
        stripped = text
        for value in sorted((*data, *ALLOWED), key=len, reverse=True):
            stripped = stripped.replace(value, " ")
        if CJK.search(stripped) or FULL_WIDTH.search(stripped):
            offending.append(text)
    return list(dict.fromkeys(offending))


def test_the_parser_finds_chinese_where_a_person_reads_it():
    html = (
        '<p>Name: 查文静</p><script>var a = "脚本";</script><style>p:after{content:"样式"}</style>'
        '<input type="submit" value="保存"><input type="text" value="查德明">'
        '<a title="提示">x</a><span>中文</span><span>未翻译</span><span>Child：</span>'
        "<span>查济村（341823103201）</span><span>Village: 查济村</span>"
    )
    assert chinese_left(html) == ["保存", "提示", "未翻译", "Child：", "查济村（341823103201）"]


@pytest.fixture(autouse=True)
def language_restored():
    """Requests in English activate English for the thread: later tests of this worker expect the
    default language back."""
    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def case(world: World, director_a, supervisor):  # noqa: F811
    """The access matrix's world plus an assessment and the reminders the sweep raises."""
    from children.services import assessment_record
    from reminders.services import reminders_sweep

    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        assessment_record(
            user=supervisor,
            child=world.child,
            assessed_on=date(2026, 11, 23),
            guardianship=3,
            safety=2,
            health=1,
            behaviour=1,
            note="评估备注",
        )
    # Months later, every duty of the file is late: visits, contacts, the agreement, the report.
    with time_machine.travel("2027-10-20 10:00 +0800", tick=False):
        reminders_sweep()
    return world


def test_every_page_is_english_for_every_role(
    case, director_a, supervisor, civil_affairs, viewer, reporter, security_officer, auditor,
    admin_user,
):  # fmt: skip
    people = {
        "director": director_a,
        "supervisor": supervisor,
        "civil_affairs": civil_affairs,
        "viewer": viewer,
        "reporter": reporter,
        "security": security_officer,
        "auditor": auditor,
        "admin": admin_user,
    }
    skipped = {"logout", "set_language", *CHINESE_DOCUMENTS}
    routes = [r for r in walk() if not r.api and r.name not in skipped]
    assert len(routes) > 40, "the resolver walk lost the app URLs"
    failures: list[str] = []
    pages = 0
    with time_machine.travel("2027-10-20 10:00 +0800", tick=False):
        anonymous = Client()
        anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        clients = {"anonymous": anonymous}
        for who, user in people.items():
            client = log_in(Client(), user)
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
            clients[who] = client
        for route in routes:
            url = build(route, case)
            for who, client in clients.items():
                response = client.get(url)
                kind = response.get("Content-Type", "")
                if response.status_code != 200 or "text/html" not in kind or response.streaming:
                    continue
                pages += 1
                found = chinese_left(response.content.decode())
                if found:
                    failures.append(f"{who} {url}: {found}")
    assert pages > 100, f"only {pages} English pages answered: the walk proves little"
    assert not failures, f"{len(failures)} pages show Chinese in English:\n" + "\n".join(failures)


def test_schedule_reasons_and_timeline_entries_are_english(case, director_a):
    """The texts Python builds for the file: why a duty is due and what happened when."""
    from children import extensions, schedule, selectors

    policy = {
        f"{kind}_days_{level}": days
        for kind in ("contact", "home")
        for level, days in (("high", 7), ("medium", 30), ("low", 90))
    }
    child = case.child
    with time_machine.travel("2027-10-20 10:00 +0800", tick=False), translation.override("en"):
        texts = [
            str(
                schedule.intervals(
                    risk_level=risk,
                    child_disabled=disabled,
                    psych_concern=disabled,
                    parent_serious_disability=disabled,
                    policy=policy,
                ).reason
            )
            for risk in ("high", "medium", "low")
            for disabled in (True, False)
        ]
        timeline = selectors.timeline_for(
            child, extra=extensions.timeline_entries(child), user=director_a
        )
        texts += [
            " ".join(str(part) for part in (entry.title, *chain.from_iterable(entry.changes)))
            for entry in timeline
        ]
    assert len(timeline) >= 4, "the case's timeline is nearly empty: the check proves little"
    offending = [t for t in texts if CJK.search(strip_data(t)) or FULL_WIDTH.search(strip_data(t))]
    assert not offending, "\n".join(offending)


def strip_data(text: str) -> str:
    for value in sorted(DATA, key=len, reverse=True):
        text = text.replace(value, " ")
    return text
