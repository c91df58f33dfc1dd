"""The child's file opens with a fixed handful of queries (issue 20, point 5: at most 12), however
much the case holds: family, brothers and sisters, visits with photos and amendments, agreements,
parent contacts, assessments, a benefit paid for months and an application under review. Its
record history is a page of its own, scoped and audited like the file."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from accounts.models import AuditRecord
from benefits.services import (
    entitlements_generate,
    subsidy_apply,
    subsidy_decide,
    subsidy_standard_set,
)
from children.households import siblings_link
from children.services import assessment_record, parent_contact_record
from visits.services import visit_amend, visit_record

from ..conftest import COUNTY_A
from ..factories import bring_documents, make_child, make_orphan

FILE_PAGE_QUERIES = 12

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_case(director_a, supervisor, civil_affairs):
    """An orphan with a long case: benefit approved and paid for three months, a second
    application under review, visits with an amendment, an assessment, a parent contact and a
    brother on file."""
    with time_machine.travel("2026-08-03 10:00 +0800", tick=False) as traveller:
        child = make_orphan(director_a, name="满档案", birth_date=date(2014, 5, 1))
        application = subsidy_apply(user=director_a, child=child, programme="orphan_allowance")
        bring_documents(director_a, application)
        subsidy_decide(user=supervisor, application=application, decision="approve", note="")
        subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
        subsidy_standard_set(
            user=civil_affairs,
            area_code=COUNTY_A,
            programme="orphan_allowance",
            month=date(2026, 9, 1),
            amount=Decimal("1200"),
        )
        for month in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)):
            traveller.move_to(f"{month:%Y-%m}-02 03:00 +0800")
            entitlements_generate(month=month)
            visit = visit_record(
                user=director_a,
                child=child,
                visited_on=month,
                kind="home",
                seen=["child"],
                guardian_present=True,
                caregiver_capable=True,
                in_school=True,
                safety_concern=False,
                notes=f"{month:%m}月走访",
            )
            visit_amend(user=director_a, visit=visit, text="补充说明")
        traveller.move_to("2026-11-23 10:00 +0800")
        assessment_record(
            user=director_a,
            child=child,
            assessed_on=date(2026, 11, 20),
            guardianship=1,
            safety=0,
            health=0,
            behaviour=0,
        )
        parent_contact_record(
            user=director_a, child=child, contacted_on=date(2026, 11, 21), channel="phone"
        )
        subsidy_apply(user=director_a, child=child, programme="education_aid")
        brother = make_child(director_a, name="满档案的哥哥", birth_date=date(2012, 1, 1))
        siblings_link(user=director_a, child=child, other=brother)
        for i in range(30):
            make_child(director_a, name=f"同村{i:02d}")
        yield child


@pytest.mark.parametrize("who", ["director_a", "supervisor", "civil_affairs"])
def test_the_file_of_a_long_case_opens_with_at_most_12_queries(
    request, client_for, full_case, who, django_assert_max_num_queries
):
    client = client_for(request.getfixturevalue(who))
    url = f"/children/{full_case.pk}/"
    assert client.get(url).status_code == 200  # the session warmed
    with django_assert_max_num_queries(FILE_PAGE_QUERIES):
        response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "孤儿基本生活费" in page and "2026-11 ¥" in page  # the benefit and its latest month
    assert "满档案的哥哥" in page and "11月走访" in page
    assert f"/children/{full_case.pk}/history/" in page


def test_the_files_lists_and_the_panels_above_it_go_in_one_round_trip(
    client_for, full_case, director_a
):
    """Family, assessments, agreements, parent contacts, brothers and sisters, and what visits
    and benefits add (children.extensions.page_context_reads): one statement text, one round
    trip, not seven."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(director_a)
    url = f"/children/{full_case.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url).content.decode()
    batched = [q["sql"] for q in captured if "children_familymember" in q["sql"]]
    assert len(batched) == 1
    for table in (
        "children_guardianshipassessment",
        "children_careagreement",
        "children_parentcontact",
        "children_child",
        "visits_visit",
        "children_enrolment",
    ):
        assert table in batched[0], table
    # The session, the user, the file, its audit record, the batch and the bell's count.
    assert len(captured) <= 7, [q["sql"][:60] for q in captured]
    assert "满档案的哥哥" in page and "11月走访" in page and "孤儿基本生活费" in page


def test_the_record_history_is_scoped_audited_and_complete(
    client_for, full_case, director_a, director_b, outsider
):
    url = f"/children/{full_case.pk}/history/"
    page = client_for(director_a).get(url).content.decode()
    timeline = page[page.index("sw-timeline") :]
    assert "县级审批通过，纳入保障" in timeline and "添加补充说明" in timeline
    assert AuditRecord.objects.filter(
        object_id=str(full_case.pk), action="view", detail__page="history"
    ).exists()
    assert client_for(director_b).get(url).status_code == 404  # another village
    assert client_for(outsider).get(url).status_code == 404


def test_a_parent_at_home_shows_the_phone_without_a_leading_separator(
    frozen, client_for, director_a
):
    """The line under a family member joins what there is (away since, work place, phone) with
    " · ", never starting with one."""
    import re

    from children.services import family_member_add

    child = make_child(director_a, name="分隔符")
    family_member_add(
        user=director_a,
        child=child,
        relation="mother",
        name="在家母亲",
        status="at_home",
        phone="13812345678",
    )
    family_member_add(
        user=director_a,
        child=child,
        relation="father",
        name="外出父亲",
        status="working_away",
        work_place="浙江省杭州市",
        phone="13900001111",
    )
    page = client_for(director_a).get(f"/children/{child.pk}/").content.decode()
    lines = [
        " ".join(line.split())
        for line in re.findall(r'<div class="text-secondary">(.*?)</div>', page, re.S)
        if "tel:" in line
    ]
    assert len(lines) == 2, lines
    assert all(not line.startswith("·") for line in lines), lines
    assert any(line.startswith("浙江省杭州市 · <a") for line in lines), lines
