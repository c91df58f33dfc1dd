"""Issue 9 §1, the access matrix: every page the URL resolver knows and every operation in the
OpenAPI document, requested by users for whom the objects in the path are out of scope.

Nothing here lists the views by hand: a new route or endpoint is enumerated automatically, and a
new path parameter fails until someone decides (in PATH_VALUES) which fixture object it names.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from accounts.services import api_token_create
from benefits.models import Enrolment, SubsidyEvidence
from benefits.services import (
    notice_objection_add,
    subsidy_apply,
    subsidy_decide,
    subsidy_evidence_attach,
)
from benefits.views import ENROLMENT_ACTIONS
from children.forms import SECTIONS
from children.lifecycle import transfer_request_from_sender
from children.models import ParentNotice
from children.services import (
    care_agreement_attach_scan,
    care_agreement_create,
    parent_contact_record,
)
from config.api import api
from dashboards.exports import KINDS
from reporting.services import report_attach, report_file
from visits.models import VisitPhoto
from visits.services import visit_record

from ..conftest import COUNTY_A, VILLAGE_1, log_in
from ..factories import area_chain, make_child, make_id_number, make_orphan

NEW_VILLAGE = "341823103203"  # township 1, no matrix user's village

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
FATHER_PHONE, CAREGIVER_PHONE, PARENT_PHONE = "13705639999", "13905631888", "13812345678"

# Django's own machinery, not ours: the admin has its own staff-only login and holds no view we
# wrote; static files are served only with DEBUG. Everything else is walked.
SKIPPED_NAMESPACES = {"admin"}
SKIPPED_URLCONFS = {"django.conf.urls.static"}

# The API's own routes that are not operations of the OpenAPI document.
# They are requested like pages.
API_META_ROUTES = {"", "openapi.json", "docs"}


@dataclass
class World:
    """One child file in village 1 with every kind of record hanging off it."""

    child: object
    orphan: object
    values: dict[str, str]
    markers: tuple[str, ...]
    # The world's full numbers by kind (accounts.rules.ID_NUMBER / PHONE).
    numbers: dict[str, tuple[str, ...]]


@pytest.fixture
def world(areas, director_a, supervisor, civil_affairs, settings, tmp_path) -> Iterator[World]:
    settings.MEDIA_ROOT = tmp_path
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        child_number = make_id_number("2016-03-08", area="341823", seq=77)
        child = make_child(
            director_a, name="矩阵甲童", birth_date=date(2016, 3, 8), id_number=child_number
        )
        from children.services import family_member_add

        father = family_member_add(
            user=director_a,
            child=child,
            relation="father",
            name="矩阵父亲",
            status="working_away",
            has_guardian_capacity=True,
            away_since=date(2025, 2, 1),
            phone=FATHER_PHONE,
        )
        agreement = care_agreement_create(
            user=director_a,
            child=child,
            caregiver_name="矩阵祖母",
            caregiver_relation="grandparent",
            caregiver_phone=CAREGIVER_PHONE,
            caregiver_birth_date=date(1958, 4, 2),
            start_date=date(2026, 11, 1),
            end_date=date(2027, 10, 31),
            parent_work_place="浙江省杭州市",
            parent_phone=PARENT_PHONE,
        )
        care_agreement_attach_scan(
            user=director_a, agreement=agreement, upload=SimpleUploadedFile("s.pdf", PDF)
        )
        # A parent notice waiting for the director's call (no SMS channel), with the number.
        notice = ParentNotice.objects.create(
            agreement=agreement,
            automatic=True,
            phone=FATHER_PHONE,
            status="pending_call",
            channel="phone",
            notified_at=datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI),
        )
        parent_contact_record(
            user=director_a, child=child, contacted_on=date(2026, 11, 20), channel="phone"
        )
        visit = visit_record(
            user=director_a,
            child=child,
            visited_on=date(2026, 11, 23),
            kind="home",
            photos=[_png_upload()],
        )
        report = report_file(
            user=director_a,
            situation="living_alone",
            discovered_at=datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI),
            description="独自在家",
            child=child,
        )
        attachment = report_attach(
            user=director_a, report=report, upload=SimpleUploadedFile("a.pdf", PDF)
        )
        orphan_number = make_id_number("2014-05-01", area="341823", seq=78)
        orphan = make_orphan(
            director_a, name="矩阵孤儿", birth_date=date(2014, 5, 1), id_number=orphan_number
        )
        application = subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance")
        evidence = subsidy_evidence_attach(
            user=director_a,
            application=application,
            upload=SimpleUploadedFile("d.pdf", PDF),
            description="死亡证明",
        )
        subsidy_decide(user=supervisor, application=application, decision="approve", note="")
        subsidy_decide(user=civil_affairs, application=application, decision="approve", note="")
        enrolment = Enrolment.objects.get(application=application)
        # A 低保 application in its public notice, with an objection.
        low_income = make_child(director_a, name="矩阵低保", birth_date=date(2012, 1, 1))
        noticed = subsidy_apply(user=director_a, child=low_income, programme="minimum_living")
        subsidy_decide(user=supervisor, application=noticed, decision="approve", note="")
        objection = notice_objection_add(
            user=director_a, application=noticed, received_on=date(2026, 11, 23), content="异议"
        )
        # A transfer of the child to a village of the township no one of the matrix covers.
        area_chain(NEW_VILLAGE, {NEW_VILLAGE: "矩阵新村"})
        transfer = transfer_request_from_sender(
            user=director_a, child=child, to_village_code=NEW_VILLAGE, reason="随父母迁居"
        )
        # A hand-over of the village prepared for civil affairs (dashboards.jobs).
        from dashboards import jobs

        job = jobs.export_job_start(user=civil_affairs, area=child.village, kind="handover")
        jobs.export_job_run(str(job.pk))
        # The roster: director_a's record and a training they attended, with its certificate
        # (accounts.roster; issue 21).
        from accounts.roster import training_record

        training = training_record(
            user=civil_affairs,
            held_on=date(2026, 11, 20),
            subject="Matrix training",
            hours=6,
            organiser="County civil affairs",
            attendees=[director_a.username],
            certificate=SimpleUploadedFile("t.pdf", PDF),
        )
        # A referral of the child to an organisation of the county's registry (issue 21).
        from reporting.referrals import referral_create

        from ..factories import make_organisation

        organisation = make_organisation(
            COUNTY_A, name="矩阵社工中心", services="", contact_name="", address=""
        )
        referral = referral_create(
            user=director_a, child=child, organisation=organisation, reason="矩阵转介理由"
        )
        # The county's yearly spot check of files, every file drawn, with findings and a
        # correction on the child (dashboards.spot_checks; issue 21).
        from dashboards import spot_checks

        spot_check = spot_checks.spot_check_draw(
            user=civil_affairs,
            area=child.village.parent.parent,
            year=2026,
            strata="township",
            size_value=100,
            seed=1,
        )
        spot_item = spot_check.items.get(child=child)
        spot_checks.spot_check_findings_record(
            user=civil_affairs,
            item=spot_item,
            file_complete="no",
            visits_real="yes",
            benefits_right="na",
            note="Matrix finding",
        )
        spot_correction = spot_checks.spot_check_correction_add(
            user=civil_affairs,
            item=spot_item,
            description="Matrix correction",
            due_on=date(2026, 12, 1),
        )
        # The village's quarterly verification of 2026 Q4, started (visits.verification_services;
        # issue 21).
        from visits.verification_services import verification_open

        verification, _created = verification_open(
            user=director_a, village=child.village, year=2026, quarter=4
        )
        # The county's out-of-school list (children.dropouts; issue 21): the child matched, with
        # an open return-to-school case and a contact, and a row of the county left to follow up.
        from children import dropouts

        dropout_report = dropouts.dropout_list_import(
            user=civil_affairs,
            source=io.BytesIO(_dropout_sheet([("矩阵甲童", child_number), ("Matrix Nofile", "")])),
            source_note="Matrix education bureau list",
        )
        assert dropout_report.ok, dropout_report.errors
        dropout_rows = dropout_report.dropout_list.rows.order_by("line")
        return_case = dropout_rows[0].case
        dropouts.return_case_contact_add(
            user=director_a,
            case=return_case,
            contacted_on=date(2026, 11, 23),
            with_whom="Matrix father",
            channel="phone",
        )
        values = {
            "list_id": str(dropout_report.dropout_list.pk),
            "row_id": str(dropout_rows[1].pk),
            "row": str(dropout_rows[1].pk),
            "case_id": str(return_case.pk),
            "verification_id": str(verification.pk),
            "job_id": str(job.pk),
            "check_id": str(spot_check.pk),
            "item_id": str(spot_item.pk),
            "correction_id": str(spot_correction.pk),
            "referral_id": str(referral.pk),
            "organisation": str(organisation.pk),
            "organisation_id": str(organisation.pk),
            "child_id": str(child.pk),
            "member_id": str(father.pk),
            "agreement_id": str(agreement.pk),
            "notice_id": str(notice.pk),
            "visit_id": str(visit.pk),
            "photo_id": str(VisitPhoto.objects.get(visit=visit).pk),
            "report_id": str(report.pk),
            "attachment_id": str(attachment.pk),
            "application_id": str(application.pk),
            "evidence_id": str(SubsidyEvidence.objects.get(pk=evidence.pk).pk),
            "enrolment_id": str(enrolment.pk),
            "objection_id": str(objection.pk),
            "transfer_id": str(transfer.pk),
            "training_id": str(training.pk),
            "username": director_a.username,
            "code": VILLAGE_1,
        }
        yield World(
            child=child,
            orphan=orphan,
            values=values,
            markers=(child.name, orphan.name, child_number, orphan_number, "矩阵祖母"),
            numbers={
                "id_number": (child_number, orphan_number),
                "phone": (FATHER_PHONE, CAREGIVER_PHONE, PARENT_PHONE),
            },
        )


def _dropout_sheet(rows: list[tuple[str, str]]) -> bytes:
    """An education department's out-of-school list: name, ID number, birth date."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["姓名", "身份证号", "出生日期", "状态"])
    for name, number in rows:
        workbook.active.append([name, number, "" if number else "2012-01-01", "辍学"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _png_upload() -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG")
    return SimpleUploadedFile("p.png", buffer.getvalue(), content_type="image/png")


# Every path parameter, by name → how to fill it. Object parameters name a record of the world
# (all in village 1); the rest pick a valid value so the view gets as far as it can.
# A parameter missing here fails the test: decide how the new view is scoped, then add it.
OBJECT_PARAMETERS = {
    "job_id",
    "child_id",
    "member_id",
    "agreement_id",
    "notice_id",
    "visit_id",
    "photo_id",
    "report_id",
    "attachment_id",
    "application_id",
    "evidence_id",
    "enrolment_id",
    "objection_id",
    "transfer_id",
    "training_id",
    "username",  # a director's or supervisor's roster record (accounts.selectors.roster_*)
    # The yearly spot check (dashboards.spot_checks): a check of county A that sampled files of
    # village 1 only, a sampled file of village 1 and its correction.
    "check_id",
    "item_id",
    "correction_id",
    "referral_id",  # a referral of the child (reporting.referrals.referral_for_user_or_404)
    # an organisation of county A's registry (accounts.organisations.organisation_for_user_or_404)
    "organisation",
    "organisation_id",
    "code",
    "verification_id",  # village 1's verification (visits.verification_selectors)
    # 控辍保学 (children.dropouts): county A's list, its row left to follow up, and the child's
    # return-to-school case.
    "list_id",
    "row_id",  # the API's /dropout-rows/{row_id}
    "row",  # the pages' dropouts/rows/<int:row>/ (an int: no "_id" suffix on a page)
    "case_id",
}
CHOICE_PARAMETERS: dict[str, Callable[[], str]] = {
    # The quarter of a village's verification (visits.verification_views): 2026 Q4.
    "year": lambda: "2026",
    "quarter": lambda: "4",
    "section": lambda: next(iter(SECTIONS)),
    "action": lambda: next(iter(ENROLMENT_ACTIONS)),
    "kind": lambda: KINDS[0],
}


def fill(parameters: list[str], world: World, where: str) -> dict[str, str]:
    filled = {}
    for name in parameters:
        if name in OBJECT_PARAMETERS:
            filled[name] = world.values[name]
        elif name in CHOICE_PARAMETERS:
            filled[name] = CHOICE_PARAMETERS[name]()
        else:
            pytest.fail(
                f"{where}: path parameter {name!r} has no mapping in tests/security/"
                "test_access_matrix.py. Decide how the view scopes it (selectors.*_or_404) and "
                "add it to OBJECT_PARAMETERS (and World.values) or CHOICE_PARAMETERS."
            )
    return filled


# --- Enumeration ------------------------------------------------------------------------------


@dataclass
class Route:
    name: str  # "namespace:name", or the route itself when unnamed
    route: str  # e.g. "children/<uuid:child_id>/"
    parameters: list[str]
    converters: dict[str, str]
    api: bool


_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def walk(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            if isinstance(entry.urlconf_name, str) and entry.urlconf_name in SKIPPED_URLCONFS:
                continue
            space = ":".join(filter(None, [namespace, entry.namespace]))
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), space)
            continue
        assert isinstance(entry, URLPattern)
        if not isinstance(entry.pattern, RoutePattern):
            pytest.fail(f"{prefix}{entry.pattern}: a regex route; the matrix only reads path()s")
        route = prefix + str(entry.pattern)
        found = [m.groupdict() for m in _PARAMETER.finditer(route)]
        name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or route
        yield Route(
            name=name,
            route=route,
            parameters=[f["name"] for f in found],
            converters={f["name"]: f["converter"] or "str" for f in found},
            api=namespace.split(":")[0] == "api",
        )


def build(route: Route, world: World) -> str:
    values = fill(route.parameters, world, route.route)
    return "/" + _PARAMETER.sub(lambda m: values[m["name"]], route.route)


def api_operations() -> Iterator[tuple[str, str, list[str]]]:
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            yield method, path, list(dict.fromkeys(names))


# --- Expectations -----------------------------------------------------------------------------

# Requesters for whom every object of the world (village 1) is out of scope, or (reporter) whose
# role may not see child files or others' reports at all.
OUT_OF_SCOPE = ("outsider", "director_b", "other_supervisor", "reporter")
# The 12355 line of county A and the police station of township 1 (issue 21, reporting.intake):
# like the reporter, the reports they filed only and never a child file, though the world's
# village lies in their area.
OUT_OF_SCOPE += ("hotline", "police")
# 等保 三权分立: the security officer and the auditor of county A hold the world's area, and the
# system administrator (a superuser, no area: everything), yet no child file, visit, report or
# benefit may answer them, and they may change none (issue 14, M1).
NO_CASE_DATA = ("security", "auditor", "admin")

# Intentional exceptions: (route name, requester, method) → statuses allowed and why; "*" matches
# any requester or method. Anything else answering 200 (or 2xx/3xx) outside scope fails.
EXCEPTIONS: dict[tuple[str, str, str], tuple[set[int], str]] = {
    ("login", "anonymous", "GET"): ({200}, "the login page itself"),
    ("login", "anonymous", "POST"): ({200}, "the login form re-rendered with its errors"),
    ("login", "*", "*"): ({302}, "a logged-in user is sent home (redirect_authenticated_user)"),
    ("healthz", "*", "*"): ({200, 503}, "health check for the load balancer; no data"),
    # The installable web app (visits.offline_views): the same for everyone, no records.
    ("service_worker", "anonymous", "GET"): ({200}, "the service worker script; no data"),
    ("web_manifest", "anonymous", "GET"): ({200}, "the web app manifest; no data"),
    ("offline", "anonymous", "GET"): ({200}, "the page shown with no signal; no data"),
    ("logout", "*", "POST"): ({200, 302}, "logs the requester out; nobody else's data"),
    ("set_language", "*", "*"): ({302}, "language switch; stores a cookie only"),
    ("password_change", "*", "POST"): ({200}, "the requester's own password form, with errors"),
    ("api:openapi-json", "*", "*"): ({200}, "the API description; no records"),
    ("api:openapi-view", "*", "*"): ({200}, "the API docs page; no records"),
    ("api:api-root", "*", "*"): ({404}, "django-ninja's empty root; no records"),
    # Area names and codes are the published 统计用区划代码, not child data; a reporter's own
    # township subtree is their scope (the area *pages* refuse reporters: staff lists live there).
    ("api:area_detail", "reporter", "GET"): ({200}, "public area name/level in own township"),
    # A reporter may link a report to a child of their area by id (api.md POST /reports
    # child_id) without reading the file: the form answers but shows nothing of it (the leak
    # check below still runs on every excepted answer).
    ("reporting:create_for_child", "reporter", "*"): ({200}, "file a report naming the child"),
    # The same for the 12355 line and the police, whose area holds the world's village.
    ("api:area_detail", "hotline", "GET"): ({200}, "public area name/level in own county"),
    ("api:area_detail", "police", "GET"): ({200}, "public area name/level in own township"),
    ("reporting:create_for_child", "hotline", "*"): ({200}, "file a report naming the child"),
    ("reporting:create_for_child", "police", "*"): ({200}, "file a report naming the child"),
    # The registry of organisations children are referred to is the county's (issue 21): the
    # world's organisation, registered at county A, serves every village of the county, so its
    # other villages' and townships' staff read it (its name and contacts, no child's data).
    ("api:organisation_detail", "director_b", "GET"): ({200}, "the county's registry"),
    ("api:organisation_detail", "other_supervisor", "GET"): ({200}, "the county's registry"),
    # The system administrator manages areas and staff (not case data): the area pages answer.
    ("area_detail", "admin", "*"): ({200}, "areas and their staff are the administrator's"),
    ("api:area_detail", "admin", "GET"): ({200}, "public area name/level"),
}


def allowed_by_exception(name: str, who: str, method: str, status: int) -> bool:
    for key in ((name, who, method), (name, who, "*"), (name, "*", method), (name, "*", "*")):
        if key in EXCEPTIONS:
            return status in EXCEPTIONS[key][0]
    return False


# Tables that a read may write (view audit, sessions, lockout counters): not evidence of a write.
READ_SIDE_EFFECTS = {"accounts.auditrecord", "sessions.session", "accounts.apitoken"}


def fingerprint() -> dict[str, int]:
    """Row counts of every domain table, history tables included (an update adds a history row),
    so a read-only role's request that changed anything shows up as a difference."""
    from django.apps import apps

    counts = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        ours = model._meta.app_label in (
            "accounts",
            "children",
            "visits",
            "reporting",
            "dashboards",
        )
        if ours and label not in READ_SIDE_EFFECTS:
            counts[label] = model._default_manager.count()
    return counts


class Matrix:
    """Requests and collects every violation, so one run names them all."""

    def __init__(self, users: dict, world: World, bearer: bool = False) -> None:
        self.world = world
        self.failures: list[str] = []
        self.requests = 0
        self.clients: dict[str, Client] = {"anonymous": Client()}
        self.users = users
        self.bearer = bearer
        for who, user in users.items():
            if bearer:
                token = api_token_create(user=user)
                self.clients[who] = Client(headers={"Authorization": f"Bearer {token}"})
            else:
                self.clients[who] = log_in(Client(), user)

    def request(self, who: str, method: str, url: str, body=None, multipart: bool = False):
        self.requests += 1
        client = self.clients[who]
        try:
            if method in ("GET", "DELETE"):
                response = getattr(client, method.lower())(url)
            elif url.startswith("/api/") and not multipart:
                response = getattr(client, method.lower())(
                    url, body or {}, content_type="application/json"
                )
            else:
                response = client.post(url, body or {})
        except Exception as exc:  # a crash is a finding, not the end of the run
            self.failures.append(f"{who} {method} {url}: raised {exc.__class__.__name__}: {exc}")
            return None
        if who != "anonymous" and not self.bearer and "_auth_user_id" not in client.session:
            log_in(client, self.users[who])  # the logout route just ended this session
        return response

    def leaks(self, response) -> list[str]:
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace")
        return [m for m in self.world.markers if m in body]

    def fail(self, who: str, method: str, url: str, response, why: str) -> None:
        where = response.get("Location", "") if response.status_code in (301, 302) else ""
        self.failures.append(f"{who} {method} {url}: {response.status_code} {where} — {why}")


def diff(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return [label for label, count in after.items() if before.get(label) != count]


def check_page(matrix: Matrix, route: Route, url: str, has_objects: bool) -> None:
    login = resolve_url(settings.LOGIN_URL)
    for method in ("GET", "POST"):
        response = matrix.request("anonymous", method, url)
        if response is not None and not allowed_by_exception(
            route.name, "anonymous", method, response.status_code
        ):
            redirected = response.status_code == 302 and response["Location"].startswith(login)
            if not (redirected or response.status_code == 405):
                matrix.fail("anonymous", method, url, response, "anonymous must go to login")
        for who in (*OUT_OF_SCOPE, "viewer", *NO_CASE_DATA):
            watched = who == "viewer" or who in NO_CASE_DATA
            before = fingerprint() if watched and method == "POST" else None
            response = matrix.request(who, method, url)
            if response is None:
                continue
            status = response.status_code
            if allowed_by_exception(route.name, who, method, status):
                if status == 200 and (found := matrix.leaks(response)):
                    matrix.fail(who, method, url, response, f"excepted, yet shows {found}")
                continue
            if (
                who in NO_CASE_DATA
                and before is not None
                and (changed := diff(before, fingerprint()))
            ):
                matrix.fail(who, method, url, response, f"{who} wrote {changed}")
            if status >= 500:
                matrix.fail(who, method, url, response, "server error")
            elif who == "viewer":
                # In scope (the city) and read-only: may read, a POST must change nothing.
                if before is not None and (changed := diff(before, fingerprint())):
                    matrix.fail(who, method, url, response, f"viewer wrote {changed}")
            elif has_objects and status not in (403, 404, 405):
                matrix.fail(who, method, url, response, "out of scope: expect 404 (or 403)")
            elif status in (301, 302) and response["Location"].startswith(login):
                matrix.fail(who, method, url, response, "logged in, yet sent to the login page")
            elif status == 200 and (found := matrix.leaks(response)):
                matrix.fail(who, method, url, response, f"shows out-of-scope data {found}")


# --- Tests ------------------------------------------------------------------------------------


@pytest.fixture
def users(
    outsider, director_b, other_supervisor, reporter, viewer, security_officer, auditor, admin_user
) -> dict:
    return {
        "admin": admin_user,
        "outsider": outsider,
        "director_b": director_b,
        "other_supervisor": other_supervisor,
        "reporter": reporter,
        "viewer": viewer,
        "security": security_officer,
        "auditor": auditor,
        **intake_users(),
    }


def intake_users() -> dict:
    """The 12355 line of county A and the police station of township 1 (OUT_OF_SCOPE)."""
    from accounts.models import Area

    from ..conftest import TOWNSHIP_1
    from ..factories import UserFactory

    return {
        "hotline": UserFactory(
            username="matrix_hotline", role="hotline", area=Area.objects.get(code=COUNTY_A)
        ),
        "police": UserFactory(
            username="matrix_police", role="police", area=Area.objects.get(code=TOWNSHIP_1)
        ),
    }


def test_every_page_refuses_out_of_scope_requesters(world, users):
    routes = [r for r in walk() if not r.api or r.route.removeprefix("api/v1/") in API_META_ROUTES]
    assert len(routes) > 40, "the resolver walk lost the app URLs"
    matrix = Matrix(users, world)
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for route in routes:
            url = build(route, world)
            has_objects = any(p in OBJECT_PARAMETERS for p in route.parameters)
            check_page(matrix, route, url, has_objects)
    assert not matrix.failures, "\n".join(matrix.failures)
    print(f"page matrix: {len(routes)} routes, {matrix.requests} requests")


def test_every_api_route_is_in_the_openapi_document():
    """An endpoint left out of the schema would escape the API matrix below."""
    documented = {path.removeprefix("/api/v1/") for _m, path, _p in api_operations()}
    for route in walk():
        if not route.api:
            continue
        tail = _PARAMETER.sub(lambda m: "{" + m["name"] + "}", route.route.removeprefix("api/v1/"))
        assert tail in documented or tail in API_META_ROUTES, (
            f"/{route.route} is routed but not in the OpenAPI document (include_in_schema=False?)"
        )


def sample(schema: dict, components: dict):
    """The plainest value a JSON schema accepts, so the view (not the body parser) answers."""
    if "$ref" in schema:
        return sample(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return sample(options[0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        return {k: sample(v, components) for k, v in schema["properties"].items() if k in required}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return {"date": "2026-11-20", "date-time": "2026-11-22T09:00:00+08:00"}.get(
        schema.get("format", ""), "x"
    )


def minimal_body(operation: dict, components: dict) -> tuple[dict | None, bool]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return sample(content["application/json"]["schema"], components), False
    if "multipart/form-data" in content:
        schema = content["multipart/form-data"]["schema"]
        schema = components.get(schema.get("$ref", "").rsplit("/", 1)[-1], schema)
        body = {}
        for name, prop in schema.get("properties", {}).items():
            binary = prop.get("format") == "binary"
            body[name] = SimpleUploadedFile("e.pdf", PDF) if binary else sample(prop, components)
        return body, True
    return None, False


MISSING_VALUES = {name: "00000000-0000-4000-8000-000000000000" for name in OBJECT_PARAMETERS}
MISSING_VALUES["code"] = "999999999999"


def substitute(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path)


def test_every_api_operation_refuses_out_of_scope_requesters(world, users):
    document = api.get_openapi_schema()
    components = document.get("components", {}).get("schemas", {})
    operations = list(api_operations())
    assert len(operations) > 30, "the OpenAPI document lost operations"
    matrix = Matrix(users, world, bearer=True)
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for method, path, parameters in operations:
            values = fill(parameters, world, f"{method.upper()} {path}")
            url = substitute(path, values)
            # The same URL with every object swapped for one that does not exist.
            missing = substitute(path, {**values, **MISSING_VALUES})
            has_objects = any(p in OBJECT_PARAMETERS for p in parameters)
            body, multipart = minimal_body(document["paths"][path][method], components)
            method = method.upper()

            def send(who, target=url, body=body, method=method, multipart=multipart):
                if multipart:  # an upload is read once: a fresh file for every request
                    body = {
                        k: SimpleUploadedFile("e.pdf", PDF) if hasattr(v, "read") else v
                        for k, v in body.items()
                    }
                return matrix.request(who, method, target, body, multipart)

            response = send("anonymous")
            if response is not None and response.status_code != 401:
                matrix.fail("anonymous", method, url, response, "anonymous must get 401")
            for who in (*OUT_OF_SCOPE, "viewer", *NO_CASE_DATA):
                watched = who == "viewer" or who in NO_CASE_DATA
                before = fingerprint() if watched and method != "GET" else None
                response = send(who)
                if response is None:
                    continue
                status = response.status_code
                name = f"api:{resolve(url).url_name}"
                if allowed_by_exception(name, who, method, status):
                    if status == 200 and (found := matrix.leaks(response)):
                        matrix.fail(who, method, url, response, f"excepted, yet shows {found}")
                    continue
                changed = diff(before, fingerprint()) if who in NO_CASE_DATA and before else []
                if changed:
                    matrix.fail(who, method, url, response, f"{who} wrote {changed}")
                if status >= 500:
                    matrix.fail(who, method, url, response, "server error")
                elif who == "viewer":
                    if before is not None and (changed := diff(before, fingerprint())):
                        matrix.fail(who, method, url, response, f"viewer wrote {changed}")
                elif has_objects and status not in (403, 404):
                    # A body refused before any lookup tells nothing about the object: allowed
                    # only when a missing object gets exactly the same answer.
                    twin = send(who, missing)
                    if twin is None or twin.status_code != status:
                        matrix.fail(who, method, url, response, "out of scope: expect 404/403")
                elif status < 300 and (found := matrix.leaks(response)):
                    matrix.fail(who, method, url, response, f"shows out-of-scope data {found}")
        # Reporters file reports; child files are not theirs to read.
        for url in ("/api/v1/children", f"/api/v1/children/{world.values['child_id']}"):
            response = matrix.request("reporter", "GET", url)
            if response is not None and response.status_code not in (403, 404):
                matrix.fail("reporter", "GET", url, response, "reporters never see child files")
    assert not matrix.failures, "\n".join(matrix.failures)
    print(f"API matrix: {len(operations)} operations, {matrix.requests} requests")


def test_reporters_never_see_child_files(world, reporter, client_for):
    client = client_for(reporter)
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for url in ("/children/", f"/children/{world.values['child_id']}/"):
            assert client.get(url).status_code in (403, 404), url


# --- ID numbers never travel in URLs ------------------------------------------------------------


def test_no_route_takes_an_id_number(world):
    for route in walk():
        for name in route.parameters:
            assert not re.search(r"id_?(number|card|no)|sfz", name, re.I), route.route
            if name.endswith("_id"):
                # A UUID converter cannot carry an 18-digit ID number.
                assert route.converters[name] == "uuid" or route.api, route.route
        url = build(route, world)
        assert not ID_NUMBER.search(url), url
        resolve(url)  # every built URL is one the resolver really routes
    for _method, path, parameters in api_operations():
        for name in parameters:
            assert not re.search(r"id_?(number|card|no)|sfz", name, re.I), path


_LINK = re.compile(r"""(?:href|action|src)\s*=\s*["']([^"']*)["']""")


def test_no_id_number_in_any_link_of_the_main_pages(world, civil_affairs, client_for):
    client = client_for(civil_affairs)
    child = world.values["child_id"]
    pages = [
        "/children/",
        f"/children/{child}/",
        f"/children/{world.orphan.pk}/",
        f"/children/{child}/subsidies/",
        "/visits/",
        "/reports/",
        f"/reports/{world.values['report_id']}/",
        "/children/subsidies/queue/",
        "/dashboard/",
        f"/dashboard/{COUNTY_A}/",
        f"/dashboard/{VILLAGE_1}/",
    ]
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            links = _LINK.findall(response.content.decode())
            assert links, f"{url} has no links: the scan would prove nothing"
            offending = [link for link in links if ID_NUMBER.search(link)]
            assert not offending, f"{url} links an ID number: {offending}"


# --- In scope: which full numbers each role sees (issue 14, M2) --------------------------------


def response_text(response) -> str:
    """Everything a person could read in the answer: HTML or JSON as it is, the cells of an
    .xlsx, the text of a PDF."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind or raw[:2] == b"PK":
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    if "pdf" in kind or raw[:5] == b"%PDF-":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError, PdfStreamError

        try:
            pages = PdfReader(io.BytesIO(raw)).pages
            return "\n".join(page.extract_text() or "" for page in pages)
        except (PdfReadError, PdfStreamError):  # an uploaded scan: the stub PDF of the world
            return raw.decode(errors="replace")
    return raw.decode(errors="replace")


def test_full_numbers_only_for_the_roles_of_the_table(
    world, director_a, supervisor, civil_affairs, viewer, reporter, security_officer, auditor,
    admin_user,
):  # fmt: skip
    """Every page route and every API read, requested in scope by each role: the full ID and
    phone numbers that appear anywhere (page, API answer, PDF, .xlsx, hand-over) are exactly
    those accounts.rules.FULL_NUMBER_ROLES gives the role — checked both ways, so a role of the
    table that sees nothing in full fails too."""
    from accounts import rules

    people = {
        "director_a": director_a,
        "supervisor": supervisor,
        "civil_affairs": civil_affairs,
        "viewer": viewer,
        "reporter": reporter,
        "security": security_officer,
        "auditor": auditor,
        "admin": admin_user,
    }
    pages = [r for r in walk() if not r.api]
    document = api.get_openapi_schema()
    reads = [(path, params) for method, path, params in api_operations() if method == "get"]
    failures, requests, seen_by = [], 0, {}
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        for who, user in people.items():
            role = rules.effective_role(user.role, is_superuser=user.is_superuser)
            allowed = {kind for kind, roles in rules.FULL_NUMBER_ROLES.items() if role in roles}
            page_client = log_in(Client(), user)
            api_client = Client(headers={"Authorization": f"Bearer {api_token_create(user=user)}"})
            urls = [(page_client, build(route, world)) for route in pages if route.name != "logout"]
            urls += [
                (api_client, substitute(path, fill(params, world, path))) for path, params in reads
            ]
            seen: set[str] = set()
            for client, url in urls:
                requests += 1
                response = client.get(url)
                if response.status_code != 200:
                    continue
                text = response_text(response)
                for kind, numbers in world.numbers.items():
                    for number in numbers:
                        if number in text:
                            seen.add(kind)
                            if kind not in allowed:
                                failures.append(f"{who} sees the full {kind} {number} at {url}")
            seen_by[who] = seen
            for kind in allowed - seen:
                failures.append(f"{who} may see full {kind}s, yet no surface showed one")
    assert document["paths"], "the OpenAPI document lost its paths"
    assert not failures, "\n".join(failures)
    print(f"number masking matrix: {requests} requests, full numbers seen: {seen_by}")
