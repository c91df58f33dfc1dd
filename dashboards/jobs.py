"""Large exports as background jobs (issue 20, point 6): a city's or a province's 台账 and every
hand-over are written by a worker into a file, whole, before anyone may download it. The page
shows the progress, then the row count and the SHA-256 checksum of the file; the download carries
both as headers and its exact length, so that a copy cut short is seen to be one. Nothing is
streamed through a web request that a server timeout could cut.

A job belongs to the person who asked for it: anyone else gets a 404. The audit records of the
exported rows are written as the file is written (dashboards.exports), the download itself is
audited again."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.core.files import File
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts import rules as area_rules
from accounts.models import Area, AuditAction, User
from accounts.permissions import Capability
from accounts.services import audit_log
from core import replica

from . import exports, rules
from .models import ExportJob, ExportStatus

logger = logging.getLogger(__name__)

HANDOVER = "handover"
JOB_KINDS = (*exports.KINDS, HANDOVER)
# Ledgers of areas this large are prepared in the background; smaller ones download at once.
BACKGROUND_LEVELS = frozenset({area_rules.PROVINCE, area_rules.CITY})
PROGRESS_EVERY = 10_000  # rows between two progress updates of a running job
KEEP_DAYS = 7  # a prepared file is deleted this many days after it was ready
MAX_ATTEMPTS = 3  # a job whose worker died this many times is failed, not tried again
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSONL = "application/x-ndjson; charset=utf-8"


def runs_in_background(*, kind: str, area: Area) -> bool:
    """Whether this export is prepared as a job rather than answered at once."""
    return kind == HANDOVER or area.level in BACKGROUND_LEVELS


def capability_for(kind: str) -> Capability:
    return Capability.HANDOVER_EXPORT if kind == HANDOVER else Capability.STATS_EXPORT


def content_type(job: ExportJob) -> str:
    return JSONL if job.kind == HANDOVER else XLSX


def export_job_start(
    *, user: User, area: Area, kind: str, period: exports.Period | None = None
) -> ExportJob:
    """Queue the export (the caller checked access: exports.area_for_export_or_404 with
    ``capability_for(kind)``). The worker starts once the job is committed."""
    from . import tasks

    if kind not in JOB_KINDS:
        raise Http404
    uses_period = kind in exports.PERIOD_KINDS
    job = ExportJob.objects.create(
        requested_by=user,
        area=area,
        kind=kind,
        period_start=period.start if uses_period and period else None,
        period_end=period.end if uses_period and period else None,
    )
    transaction.on_commit(lambda: tasks.run_export.delay(str(job.pk)))
    return job


def export_jobs_for(*, user: User, area: Area, limit: int = 10) -> QuerySet[ExportJob]:
    """The person's latest jobs for this area, newest first (the exports page lists them)."""
    return ExportJob.objects.filter(requested_by=user, area=area).order_by("-created_at")[:limit]


def export_job_for_user_or_404(*, user: User, area: Area, job_id: uuid.UUID) -> ExportJob:
    """Only the person who asked for a job sees it, at its area's address: else 404."""
    job = ExportJob.objects.filter(pk=job_id, requested_by=user, area=area).first()
    if job is None:
        raise Http404
    return job


def export_job_run(job_id: str) -> ExportJob | None:
    """Write the job's file (the worker's task). Claims the job with a conditional update, so a
    job is written by one worker at a time; a job redelivered after its worker died starts again
    from the beginning. Returns the job, or None when there was nothing to do."""
    claimed = ExportJob.objects.filter(
        pk=job_id,
        status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING),
        attempts__lt=MAX_ATTEMPTS,
    ).update(
        status=ExportStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        progress=0,
    )
    if not claimed:
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            error="The export stopped several times; ask for it again.",
            finished_at=timezone.now(),
        )
        return None
    job = ExportJob.objects.select_related("area", "requested_by").get(pk=job_id)
    try:
        with tempfile.TemporaryFile() as out:
            rows, checksum, size, as_of = _write_from_replica(job, out)
            out.seek(0)
            filename = _filename(job)
            job.file.save(f"{job.pk}-{filename}", File(out), save=False)
    except Exception as exc:
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    job.status = ExportStatus.DONE
    job.row_count, job.checksum, job.size, job.filename = rows, checksum, size, filename
    job.progress = rows
    job.data_as_of = as_of
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "row_count",
            "checksum",
            "size",
            "filename",
            "file",
            "progress",
            "data_as_of",
            "finished_at",
        ]
    )
    return job


def _write_from_replica(job: ExportJob, out) -> tuple[int, str, int, datetime]:
    """``_write`` reading the replica when there is one (the job row, its progress and the audit
    records are the primary's), and the time the data read is true of. A replica that stops
    answering midway: the file is written again from the start, from the primary."""

    @replica.reads_from_replica
    def write() -> tuple[int, str, int, datetime]:
        out.seek(0)
        out.truncate()
        read = replica.current()
        rows, checksum, size, summary_as_of = _write(job, out)
        as_of = rules.data_as_of(summary_as_of=summary_as_of, read_at=read.checked_at, lag=read.lag)
        return rows, checksum, size, as_of

    return write()


def _progress(job: ExportJob) -> Callable[[int], None]:
    def report(rows: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(progress=rows)

    return report


def _write(job: ExportJob, out) -> tuple[int, str, int, datetime | None]:
    """The file into ``out``: (rows, SHA-256 hex, bytes, the time of the counts it holds when
    they are a summary's: None for records read as they are)."""
    digest = hashlib.sha256()
    size = 0
    summary_as_of: datetime | None = None

    def put(chunk: bytes) -> None:
        nonlocal size
        digest.update(chunk)
        out.write(chunk)
        size += len(chunk)

    if job.kind == HANDOVER:
        counts: dict = {}
        for chunk in exports.handover_lines(
            user=job.requested_by,
            area=job.area,
            counts=counts,
            on_progress=_progress(job),
            every=PROGRESS_EVERY,
        ):
            put(chunk)
        rows = sum(counts.values())
    elif job.kind == "indicators":
        content, rows, summary_as_of = exports.indicators_workbook(
            user=job.requested_by, area=job.area
        )
        put(content)
    else:
        period = _period(job)
        content, rows = exports.ledger_xlsx(
            kind=job.kind, user=job.requested_by, area=job.area, period=period
        )
        put(content)
    return rows, digest.hexdigest(), size, summary_as_of


def _period(job: ExportJob) -> exports.Period:
    if job.period_start and job.period_end:
        return exports.Period(job.period_start, job.period_end)
    return exports.default_period()


def _filename(job: ExportJob) -> str:
    if job.kind == HANDOVER:
        return exports.handover_filename(job.area)
    return exports.ledger_filename(kind=job.kind, area=job.area, period=_period(job))


def export_job_download(*, user: User, job: ExportJob, request=None) -> Iterator[bytes] | None:
    """The ready file's bytes, audited as a download; None while it is not ready."""
    if job.status != ExportStatus.DONE or not job.file:
        return None
    audit_log(
        user=user,
        action=AuditAction.EXPORT,
        object_type="area",
        records=[(job.area_id, job.area_id)],
        request=request,
        detail={"export": job.kind, "job": str(job.pk), "download": True, "rows": job.row_count},
    )
    return job.file.open("rb")


def export_jobs_prune(*, now=None) -> int:
    """Daily: delete the files of jobs ready more than KEEP_DAYS ago (the rows stay, as the
    record of what was exported), and fail jobs a dead worker left running for a day."""
    now = now or timezone.now()
    pruned = 0
    old = ExportJob.objects.filter(
        status=ExportStatus.DONE, finished_at__lt=now - timedelta(days=KEEP_DAYS)
    ).exclude(file="")
    for job in old.iterator():
        job.file.delete(save=False)
        ExportJob.objects.filter(pk=job.pk).update(file="")
        pruned += 1
    ExportJob.objects.filter(
        status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING),
        created_at__lt=now - timedelta(days=1),
    ).update(status=ExportStatus.FAILED, error="Not prepared within a day.", finished_at=now)
    return pruned
