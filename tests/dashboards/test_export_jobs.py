"""Large exports as background jobs (issue 20, point 6): a city's or a province's ledger and every
hand-over are written whole by a worker, then offered with their row count and checksum; nothing
large is streamed through a request that a server timeout could cut."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Area, AuditAction, AuditRecord, Role
from dashboards import exports, jobs
from dashboards.models import ExportJob, ExportStatus

from ..conftest import CITY, COUNTY_A, PROVINCE, TOWNSHIP_1
from ..factories import UserFactory, make_child


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def city_officer(areas):
    return UserFactory(role=Role.CIVIL_AFFAIRS, area=areas[CITY])


def _start(client, code, **data):
    response = client.post(f"/dashboard/{code}/exports/jobs/", data)
    assert response.status_code == 302, response.status_code
    return ExportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1]), response.url


def test_a_city_ledger_is_prepared_in_the_background(
    client_for, areas, city_officer, director_a, frozen
):
    make_child(director_a, name="甲")
    make_child(director_a, name="乙")
    client = client_for(city_officer)
    page = client.get(f"/dashboard/{CITY}/exports/").content.decode()
    assert page.count('name="kind" value=') == len(exports.KINDS) + 1  # the ledgers, hand-over
    assert f"/dashboard/{CITY}/exports/children.xlsx" not in page
    # The ledger's own address does not build a city's workbook in the request.
    direct = client.get(f"/dashboard/{CITY}/exports/children.xlsx")
    assert direct.status_code == 302 and direct.url == f"/dashboard/{CITY}/exports/"
    job, url = _start(client, CITY, kind="children")
    assert job.status == ExportStatus.QUEUED and job.period_start is None
    jobs.export_job_run(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.row_count) == (ExportStatus.DONE, 2)
    assert job.filename.startswith(f"children-{CITY}-") and job.filename.endswith(".xlsx")
    response = client.get(url + "file")
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == job.checksum == response["X-Checksum-SHA256"]
    assert response["X-Row-Count"] == "2" and int(response["Content-Length"]) == len(content)
    assert response["Cache-Control"] == "private, no-store"
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.max_row == 3  # the header and two children
    # The rows were audited as they were written, and the download once more.
    assert AuditRecord.objects.filter(action=AuditAction.EXPORT, object_type="child").count() == 2
    assert AuditRecord.objects.filter(detail__job=str(job.pk), detail__download=True).count() == 1
    listed = client.get(f"/dashboard/{CITY}/exports/").content.decode()
    assert f"/dashboard/{CITY}/exports/jobs/{job.pk}/" in listed and job.filename in listed
    # A county's ledgers still download at once.
    county = client_for(UserFactory(role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_A]))
    assert county.get(f"/dashboard/{COUNTY_A}/exports/children.xlsx").status_code == 200


def test_a_period_ledger_keeps_its_period_and_a_bad_period_starts_nothing(
    client_for, areas, city_officer, frozen
):
    client = client_for(city_officer)
    job, _url = _start(client, CITY, kind="visits", **{"from": "2026-01-01", "to": "2026-06-30"})
    assert (str(job.period_start), str(job.period_end)) == ("2026-01-01", "2026-06-30")
    jobs.export_job_run(str(job.pk))
    job.refresh_from_db()
    assert job.filename == f"visits-{CITY}-20260101-20260630.xlsx"
    bad = client.post(
        f"/dashboard/{CITY}/exports/jobs/", {"kind": "visits", "from": "2026-13-01", "to": "x"}
    )
    assert bad.status_code == 302 and bad.url == f"/dashboard/{CITY}/exports/"
    assert client.post(f"/dashboard/{CITY}/exports/jobs/", {"kind": "secrets"}).status_code == 404
    assert ExportJob.objects.count() == 1


def test_scope_and_role_of_starting_a_job(client_for, areas, city_officer, director_a, supervisor):
    outsider_city = UserFactory(role=Role.CIVIL_AFFAIRS, area=areas[COUNTY_A])
    assert (
        client_for(outsider_city)
        .post(f"/dashboard/{PROVINCE}/exports/jobs/", {"kind": "children"})
        .status_code
        == 404
    )
    assert (
        client_for(director_a)
        .post(f"/dashboard/{TOWNSHIP_1}/exports/jobs/", {"kind": "children"})
        .status_code
        == 404
    )
    assert (
        client_for(supervisor)
        .post(f"/dashboard/{TOWNSHIP_1}/exports/jobs/", {"kind": "handover"})
        .status_code
        == 403
    )
    assert not ExportJob.objects.exists()


def test_a_failed_job_says_so_offers_no_file_and_can_be_asked_again(
    client_for, areas, city_officer, monkeypatch
):
    client = client_for(city_officer)
    job, url = _start(client, CITY, kind="children")

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "ledger_xlsx", broken)
    with pytest.raises(RuntimeError):
        jobs.export_job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and job.error == "disk full" and not job.file
    page = client.get(url).content.decode()
    assert 'role="alert"' in page and 'http-equiv="refresh"' not in page
    assert client.get(url + "file").status_code == 404
    assert 'name="kind" value="children"' in page  # 再次生成


def test_a_job_redelivered_after_its_worker_died_is_written_again_then_given_up(
    areas, city_officer
):
    job = jobs.export_job_start(user=city_officer, area=areas[CITY], kind="indicators")
    # The first worker claimed it and died: the job stays "running"; redelivery writes it again.
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, attempts=1)
    assert jobs.export_job_run(str(job.pk)) is not None
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ExportStatus.DONE, 2)
    assert jobs.export_job_run(str(job.pk)) is None  # done: nothing to do again
    stuck = jobs.export_job_start(user=city_officer, area=areas[CITY], kind="indicators")
    ExportJob.objects.filter(pk=stuck.pk).update(
        status=ExportStatus.RUNNING, attempts=jobs.MAX_ATTEMPTS
    )
    assert jobs.export_job_run(str(stuck.pk)) is None
    stuck.refresh_from_db()
    assert stuck.status == ExportStatus.FAILED


def test_files_are_deleted_a_week_after_they_were_ready(client_for, areas, city_officer):
    with time_machine.travel("2026-11-01 10:00 +0800", tick=False):
        job = jobs.export_job_start(user=city_officer, area=areas[CITY], kind="indicators")
        jobs.export_job_run(str(job.pk))
        left = jobs.export_job_start(user=city_officer, area=areas[CITY], kind="indicators")
    job.refresh_from_db()
    path = job.file.path
    with time_machine.travel("2026-11-08 09:00 +0800", tick=False):
        assert jobs.export_jobs_prune() == 0
    with time_machine.travel("2026-11-08 10:01 +0800", tick=False):
        assert jobs.export_jobs_prune() == 1
    job.refresh_from_db()
    left.refresh_from_db()
    assert not job.file and job.row_count is not None  # the record of the export stays
    assert left.status == ExportStatus.FAILED  # never picked up by a worker

    assert not os.path.exists(path)
    url = f"/dashboard/{CITY}/exports/jobs/{job.pk}/"
    assert client_for(city_officer).get(url + "file").status_code == 404
    assert "7" in client_for(city_officer).get(url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_hand_over_of_300000_records_completes_and_its_count_matches(settings, tmp_path):
    """The acceptance test of point 6: 60,000 children with 4 visits each and their families,
    prepared as a job, counted while written; the file's lines and checksum agree with the job."""
    call_command(
        "seed_scale", "--children", "60000", "--visits-per-child", "4", stdout=io.StringIO()
    )
    province = Area.objects.get(code="990000000000")
    officer = UserFactory(role=Role.CIVIL_AFFAIRS, area=province)
    job = jobs.export_job_start(user=officer, area=province, kind="handover")
    started = timezone.now()
    jobs.export_job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.row_count >= 300_000
    digest = hashlib.sha256()
    lines = 0
    footer = None
    with job.file.open("rb") as handle:
        for line in handle:
            digest.update(line)
            lines += 1
            footer = line
    assert digest.hexdigest() == job.checksum
    assert lines == job.row_count + 2  # the header and the footer
    assert json.loads(footer)["total"] == job.row_count
    assert json.loads(footer)["counts"]["child"] == 60_000
    assert job.finished_at - started < timedelta(minutes=10)
    print(f"\nhand-over of {job.row_count} records: {job.finished_at - job.started_at}")
