"""Writes for visits, reviews, photos and reminders. Views, API, tasks and commands call these."""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from accounts import outbox
from accounts import selectors as scope
from accounts.models import Role, User
from accounts.services import POLICY_DEFAULTS
from children import schedule
from children.models import Child, ChildStatus
from children.services import children_recompute_derived, reject_unknown
from core.clock import today
from core.errors import Conflict
from core.sms import sms_backend
from core.uploads import image_check
from reporting import rules as report_rules

from .models import (
    MAX_PHOTOS,
    NotificationKind,
    PersonSeen,
    ReviewStatus,
    SafetyHazard,
    Visit,
    VisitKind,
    VisitPhoto,
)

logger = logging.getLogger(__name__)

VISITOR_ROLES = (Role.DIRECTOR, Role.SUPERVISOR, Role.CIVIL_AFFAIRS)
REVIEWER_ROLES = (Role.SUPERVISOR, Role.CIVIL_AFFAIRS)
VISIT_FIELDS = (
    "visited_on",
    "kind",
    "seen",
    "guardian_present",
    "caregiver_capable",
    "in_school",
    "safety_concern",
    "safety_hazards",
    "family_situation",
    "health",
    "needs",
    "actions_taken",
    "follow_up_on",
    "follow_up_note",
    "notes",
)


def _validate(child: Child, values: dict) -> None:
    errors: dict[str, list[str]] = {}
    visited_on = values.get("visited_on")
    if not isinstance(visited_on, date):
        errors.setdefault("date", []).append("请填写走访日期")
    elif visited_on > today():
        errors.setdefault("date", []).append("走访日期不能晚于今天")
    elif visited_on < child.birth_date:
        errors.setdefault("date", []).append("走访日期不能早于儿童出生日期")
    if values.get("kind") not in VisitKind.values:
        errors.setdefault("kind", []).append("请选择走访方式")
    for item in values.get("seen") or []:
        if item not in PersonSeen.values:
            errors.setdefault("seen", []).append(f"无效的选项：{item}")
    for item in values.get("safety_hazards") or []:
        if item not in SafetyHazard.values:
            errors.setdefault("safety_hazards", []).append(f"无效的选项：{item}")
    follow_up = values.get("follow_up_on")
    if follow_up is not None and isinstance(visited_on, date) and follow_up < visited_on:
        errors.setdefault("follow_up_on", []).append("跟进日期不能早于走访日期")
    if errors:
        raise ValidationError(errors)


def children_refresh_last_visits(child_ids: list[uuid.UUID]) -> None:
    """Set last contact and last home visit from the visits themselves (a back-dated visit cannot
    move them backwards) in one UPDATE, then recompute due dates with the other derived data."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE children_child c
            SET last_contact_on = v.last_contact, last_home_visit_on = v.last_home
            FROM (
                SELECT child_id, max(visited_on) AS last_contact,
                       max(visited_on) FILTER (WHERE kind = 'home') AS last_home
                FROM visits_visit WHERE child_id = ANY(%s) GROUP BY child_id
            ) v
            WHERE c.id = v.child_id
            """,
            [list(child_ids)],
        )
    for start in range(0, len(child_ids), 2000):
        children_recompute_derived(child_ids[start : start + 2000])


def visit_record(*, user: User, child: Child, photos: list | None = None, **data: Any) -> Visit:
    """Record a visit (and its photos, all or nothing); the child's due dates move and a new
    reminder cycle starts."""
    scope.require_role(user, VISITOR_ROLES)
    if child.status != ChildStatus.ACTIVE:
        raise Conflict("档案已结案，不能记录走访")
    reject_unknown(data, VISIT_FIELDS)
    values = {k: v for k, v in data.items() if v is not None}
    values.setdefault("seen", [])
    values.setdefault("safety_hazards", [])
    _validate(child, values)
    prepared = [photo_prepare(upload) for upload in photos or []]
    with transaction.atomic():
        visit = Visit(child=child, visitor=user, visitor_role=user.role, **values)
        visit.full_clean(exclude=["child", "visitor"])
        visit.save()
        _save_photos(visit, prepared)
        children_refresh_last_visits([child.pk])
        if visit.caregiver_capable is False:
            _caregiver_found_unable(user, child, visit)
    return visit


def _caregiver_found_unable(user: User, child: Child, visit: Visit) -> None:
    """A visit found the caregiver unable or unwilling: the active agreement needs replacing."""
    from children.models import AgreementStatus, CareAgreement
    from children.services import care_agreement_caregiver_unable

    agreement = CareAgreement.objects.filter(child=child, status=AgreementStatus.ACTIVE).first()
    if agreement is not None:
        care_agreement_caregiver_unable(
            user=user,
            agreement=agreement,
            reason=f"{visit.visited_on:%Y-%m-%d}走访发现照护人无法或不愿继续照护",
        )


def visit_update(
    *, user: User, visit: Visit, changes: dict[str, Any], photos: list | None = None
) -> Visit:
    """The visitor corrects their own visit (e.g. after it was returned); back to review."""
    if visit.visitor_id != user.pk:
        raise PermissionDenied("只能修改本人记录的走访")
    reject_unknown(changes, VISIT_FIELDS)
    values = {field: getattr(visit, field) for field in VISIT_FIELDS}
    values.update(changes)
    _validate(visit.child, values)
    prepared = [photo_prepare(upload) for upload in photos or []]
    with transaction.atomic():
        _save_photos(visit, prepared)
        for field, value in values.items():
            setattr(visit, field, value)
        if visit.review_status == ReviewStatus.RETURNED:
            visit.review_status = ReviewStatus.PENDING
        visit.full_clean(exclude=["child", "visitor"])
        visit.save()
        children_refresh_last_visits([visit.child_id])
    return visit


def visit_review(*, user: User, visit: Visit, decision: str, comment: str = "") -> Visit:
    """A supervisor marks a visit reviewed, or returns it to the director with a comment."""
    scope.require_role(user, REVIEWER_ROLES)
    if visit.visitor_id == user.pk:
        raise PermissionDenied("不能审核本人记录的走访")
    if decision not in ("reviewed", "returned"):
        raise ValidationError({"decision": ["无效的审核结果"]})
    if decision == "returned" and not comment.strip():
        raise ValidationError({"comment": ["退回时请写明原因"]})
    updated = Visit.objects.filter(pk=visit.pk, review_status=ReviewStatus.PENDING).update(
        review_status=decision,
        reviewed_by=user,
        reviewed_at=timezone.now(),
        review_comment=comment.strip(),
    )
    if not updated:
        raise Conflict("该走访已审核")
    visit.refresh_from_db()
    return visit


# --- Photos -----------------------------------------------------------------------------------

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_EDGE = 1600
NOT_AN_IMAGE = "只能上传图片文件（JPG、PNG）"


@dataclass
class PreparedPhoto:
    content: bytes
    width: int
    height: int


def photo_prepare(upload) -> PreparedPhoto:
    """Accept an image only (checked by decoding it, whatever its name or declared type),
    re-encoded as JPEG of at most 1600 px with no EXIF (no location leaks).

    The pixel count is checked from the header first (core.uploads: no image bombs), and the
    decoded image is never copied at full size: a 40-megapixel photo stays under 200 MB."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationError({"photo": ["照片不能超过15MB"]})
    image_check(upload, field="photo", not_an_image=NOT_AN_IMAGE)
    try:
        image = Image.open(upload)
        image.verify()
        upload.seek(0)
        image = Image.open(upload)
        if image.format not in ("JPEG", "PNG", "WEBP", "GIF", "BMP"):
            raise UnidentifiedImageError(image.format)
        turn = _upright_turn(image)
        image = _small_rgb(image, MAX_EDGE)
        if turn is not None:
            image = image.transpose(turn)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise ValidationError({"photo": [NOT_AN_IMAGE]}) from exc
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82, optimize=True)
    return PreparedPhoto(buffer.getvalue(), image.width, image.height)


def _upright_turn(image):
    """The turn that puts the picture upright by its EXIF orientation (as
    PIL.ImageOps.exif_transpose, which would copy the image at full size), or None."""
    from PIL import ExifTags
    from PIL.Image import Transpose

    return {
        2: Transpose.FLIP_LEFT_RIGHT,
        3: Transpose.ROTATE_180,
        4: Transpose.FLIP_TOP_BOTTOM,
        5: Transpose.TRANSPOSE,
        6: Transpose.ROTATE_270,
        7: Transpose.TRANSVERSE,
        8: Transpose.ROTATE_90,
    }.get(image.getexif().get(ExifTags.Base.Orientation))


def _small_rgb(image, max_edge: int):
    """The image in RGB within max_edge × max_edge, holding one full-size copy at most (the
    decoded image): a JPEG decodes at 1/2–1/8 of its size (draft); anything else is averaged
    down strip by strip (Pillow's own resize would copy it whole, twice for transparency)."""
    from PIL import Image

    factor = max(image.size) // max_edge
    if image.format == "JPEG" or factor < 2:
        image.thumbnail((max_edge, max_edge), reducing_gap=1.0)
        return image.convert("RGB")
    image.load()
    width, height = image.size
    small = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, 1_000_000 // (width * factor))  # about a megapixel a strip
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(top + rows, height))).convert("RGB")
        small.paste(strip.reduce(factor), (0, top // factor))
    image.close()
    small.thumbnail((max_edge, max_edge))
    return small


def _save_photos(visit: Visit, photos: list[PreparedPhoto]) -> None:
    if visit.photos.count() + len(photos) > MAX_PHOTOS:
        raise ValidationError({"photo": [f"每次走访最多上传{MAX_PHOTOS}张照片"]})
    for prepared in photos:
        photo = VisitPhoto(visit=visit, width=prepared.width, height=prepared.height)
        photo.image.save("photo.jpg", ContentFile(prepared.content), save=False)
        photo.save()


# --- Reminder sweep ---------------------------------------------------------------------------


# Each area's policy value is the one set nearest to the village (village → province), else the
# default: five LEFT JOINs on the codes derived from the village code.
def _policy_joins(area: str) -> str:
    return f"""
    LEFT JOIN accounts_areapolicy p5 ON p5.area_id = {area}
    LEFT JOIN accounts_areapolicy p4 ON p4.area_id = left({area}, 9) || '000'
    LEFT JOIN accounts_areapolicy p3 ON p3.area_id = left({area}, 6) || '000000'
    LEFT JOIN accounts_areapolicy p2 ON p2.area_id = left({area}, 4) || '00000000'
    LEFT JOIN accounts_areapolicy p1 ON p1.area_id = left({area}, 2) || '0000000000'
"""


_POLICY_JOINS = _policy_joins("c.village_id")


def _policy(column: str) -> str:
    default = int(POLICY_DEFAULTS[column])
    return f"COALESCE(p5.{column}, p4.{column}, p3.{column}, p2.{column}, p1.{column}, {default})"


# The sweep's rules: (kind, recipients' role, the recipient's area as derived from the village,
# the rows it is about, the due date, the condition). Each is one INSERT … SELECT.
_CHILDREN = "children_child c"
_AGREEMENTS = "children_careagreement a JOIN children_child c ON c.id = a.child_id"
AGREEMENT_EXPIRING_DAYS = 30
_RULES = [
    (
        NotificationKind.VISIT_DUE_SOON,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_home_visit_due",
        "c.next_home_visit_due BETWEEN %(today)s AND %(today)s + %(soon)s",
    ),
    (
        NotificationKind.VISIT_OVERDUE,
        Role.DIRECTOR,
        "c.village_id",
        _CHILDREN,
        "c.next_home_visit_due",
        "c.next_home_visit_due < %(today)s",
    ),
    (
        NotificationKind.ESCALATION,
        Role.SUPERVISOR,
        "left(c.village_id, 9) || '000'",
        _CHILDREN,
        "c.next_home_visit_due",
        f"c.next_home_visit_due < %(today)s - {_policy('escalate_supervisor_days')}",
    ),
    (
        NotificationKind.ESCALATION,
        Role.CIVIL_AFFAIRS,
        "left(c.village_id, 6) || '000000'",
        _CHILDREN,
        "c.next_home_visit_due",
        f"c.next_home_visit_due < %(today)s - {_policy('escalate_county_days')}",
    ),
    (
        # A caregiver found unable, and no new agreement by the date set: the supervisor is told.
        NotificationKind.ESCALATION,
        Role.SUPERVISOR,
        "left(c.village_id, 9) || '000'",
        _AGREEMENTS,
        "a.replacement_due",
        "a.status = 'needs_replacement' AND a.replacement_due < %(today)s AND NOT EXISTS ("
        "SELECT 1 FROM children_careagreement b WHERE b.child_id = a.child_id "
        "AND b.status = 'active')",
    ),
    (
        # A benefit's periodic review (every 6 months) falls due within a week.
        NotificationKind.SUBSIDY_REVIEW,
        Role.DIRECTOR,
        "c.village_id",
        "children_enrolment e JOIN children_child c ON c.id = e.child_id",
        "e.next_review_on",
        "e.end_month IS NULL AND e.next_review_on <= %(today)s + %(soon)s",
    ),
    (
        NotificationKind.AGREEMENT_EXPIRING,
        Role.DIRECTOR,
        "c.village_id",
        _AGREEMENTS,
        "a.end_date",
        f"a.status = 'active' AND a.end_date BETWEEN %(today)s "
        f"AND %(today)s + {AGREEMENT_EXPIRING_DAYS}",
    ),
]


def _local_date(timestamp_sql: str) -> str:
    return f"(({timestamp_sql}) AT TIME ZONE 'Asia/Shanghai')::date"


# Mandatory reports (domain §6), all report_deadline to the township supervisor, and to county
# civil affairs when a stage is still open a week after its limit: (role, recipient's area, due
# date, condition).
_STAGE_LIMIT = (
    "CASE r.stage "
    + " ".join(
        f"WHEN '{stage}' THEN interval '{int(days)} days'"
        for stage, days in settings.REPORT_STAGE_LIMIT_DAYS.items()
    )
    + " END"
)
_SUPERVISOR_OF = "left(r.area_id, 9) || '000'"
_COUNTY_OF = "left(r.area_id, 6) || '000000'"
_POLICE_DUE = f"r.filed_at + interval '{report_rules.POLICE_NOTICE_HOURS} hours'"
_ASSESSMENT_DUE = f"r.police_received_at + {_policy('report_assessment_days')} * interval '1 day'"
_STAGE_DUE = f"r.stage_changed_at + {_STAGE_LIMIT}"
_COUNTY_DUE = (
    f"r.stage_changed_at + {_STAGE_LIMIT} + interval '{report_rules.COUNTY_AFTER_DAYS} days'"
)
_REPORT_RULES = [
    # No police notification a day after filing.
    (
        Role.SUPERVISOR,
        _SUPERVISOR_OF,
        _local_date(_POLICE_DUE),
        f"r.police_notified_at IS NULL AND {_POLICE_DUE} < %(now)s",
    ),
    # Not assessed within 7 days of the police receiving it.
    (
        Role.SUPERVISOR,
        _SUPERVISOR_OF,
        _local_date(_ASSESSMENT_DUE),
        f"r.stage IN ('police_received', 'emergency_handled') AND {_ASSESSMENT_DUE} < %(now)s",
    ),
    # Any stage open longer than its limit; and a week after that, the county too.
    (Role.SUPERVISOR, _SUPERVISOR_OF, _local_date(_STAGE_DUE), f"{_STAGE_DUE} < %(now)s"),
    (Role.CIVIL_AFFAIRS, _COUNTY_OF, _local_date(_COUNTY_DUE), f"{_COUNTY_DUE} < %(now)s"),
]


# A visit found danger (safety concern) and no report followed within 24 hours: the township
# supervisor is told (domain §6).
_VISIT_DANGER_SQL = f"""
    SELECT u.id, c.id, NULL::uuid, {_local_date("v.created_at + interval '24 hours'")}
    FROM visits_visit v
    JOIN children_child c ON c.id = v.child_id
    JOIN accounts_user u
      ON u.area_id = left(c.village_id, 9) || '000' AND u.role = 'supervisor' AND u.is_active
    WHERE v.safety_concern AND c.status = 'active'
      AND v.created_at + interval '24 hours' < %(now)s
      AND v.created_at > %(now)s - interval '30 days'
      AND NOT EXISTS (
          SELECT 1 FROM reporting_mandatoryreport r
          WHERE r.child_id = v.child_id AND r.filed_at >= v.created_at - interval '1 day'
      )
"""


# A personal safety protection order nearing its expiry: the supervisor is reminded 14 days before.
PROTECTION_ORDER_NOTICE_DAYS = 14
_PROTECTION_ORDER_SQL = f"""
    SELECT u.id, r.child_id, r.id, i.expires_on
    FROM reporting_intervention i
    JOIN reporting_mandatoryreport r ON r.id = i.report_id
    JOIN accounts_user u
      ON u.area_id = left(r.area_id, 9) || '000' AND u.role = 'supervisor' AND u.is_active
    WHERE i.kind = 'protection_order' AND r.stage <> 'closed'
      AND i.expires_on BETWEEN %(today)s AND %(today)s + {PROTECTION_ORDER_NOTICE_DAYS}
"""


def _report_rule_sql(role: str, recipient_area: str, due: str, condition: str) -> str:
    return f"""
        SELECT u.id, r.child_id, r.id, {due}
        FROM reporting_mandatoryreport r
        {_policy_joins("r.area_id")}
        JOIN accounts_user u
          ON u.area_id = {recipient_area} AND u.role = '{role}' AND u.is_active
        WHERE r.stage <> 'closed' AND {condition}
    """


def _rule_sql(role: str, recipient_area: str, source: str, due: str, condition: str) -> str:
    """The SELECT of one rule: (recipient, child, report, due date) for every active child."""
    return f"""
        SELECT u.id, c.id, NULL::uuid, {due}
        FROM {source}
        {_POLICY_JOINS}
        JOIN accounts_user u
          ON u.area_id = {recipient_area} AND u.role = '{role}' AND u.is_active
        WHERE c.status = 'active' AND {due} IS NOT NULL AND {condition}
    """


@dataclass
class SweepResult:
    created: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.created.values())


def reminders_sweep(*, on: date | None = None) -> SweepResult:
    """The daily sweep (domain §4), one INSERT … SELECT … ON CONFLICT DO NOTHING per rule.

    Selection is set-based over the whole database; ``due <= today`` (never ``== today``) so a
    missed day is caught up; the unique constraint makes re-runs and concurrent runs harmless.
    """
    now = timezone.now()
    if on is not None and on != timezone.localdate(now):
        # As if the sweep ran at 08:00 that day (send_reminders --date).
        now = timezone.make_aware(datetime.combine(on, time(8, 0)))
    on = on or today()
    params = {"today": on, "soon": schedule.DUE_SOON_DAYS, "now": now}
    statements = (
        [
            (kind, role, _rule_sql(role, recipient_area, source, due, condition))
            for kind, role, recipient_area, source, due, condition in _RULES
        ]
        + [
            (NotificationKind.REPORT_DEADLINE, role, _report_rule_sql(role, area, due, condition))
            for role, area, due, condition in _REPORT_RULES
        ]
        + [
            (NotificationKind.REPORT_DEADLINE, Role.SUPERVISOR, _VISIT_DANGER_SQL),
            (NotificationKind.REPORT_DEADLINE, Role.SUPERVISOR, _PROTECTION_ORDER_SQL),
        ]
    )
    created: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, role, select in statements:
            cursor.execute(
                f"""
                INSERT INTO visits_notification
                    (id, recipient_id, kind, child_id, report_id, due_date, created_on,
                     created_at, detail)
                SELECT gen_random_uuid(), s.uid, %(kind)s, s.cid, s.rid, s.due, %(today)s,
                       now(), ''
                FROM ({select}) AS s(uid, cid, rid, due)
                ON CONFLICT ON CONSTRAINT notification_once DO NOTHING
                """,
                {**params, "kind": kind},
            )
            key = f"{kind}:{role}"
            created[key] = created.get(key, 0) + cursor.rowcount
        # Through the outbox: queued only if the sweep commits, and kept if the broker is down.
        outbox.enqueue("visits.send_digests", on.isoformat())
    logger.info("reminder sweep for %s: %s", on, created)
    return SweepResult(created)


# --- Delivery ---------------------------------------------------------------------------------


KIND_ZH = {
    NotificationKind.VISIT_OVERDUE: "走访逾期",
    NotificationKind.VISIT_DUE_SOON: "即将到期走访",
    NotificationKind.ESCALATION: "逾期升级提醒",
    NotificationKind.REPORT_DEADLINE: "强制报告办理超时",
    NotificationKind.AGREEMENT_EXPIRING: "委托照护协议即将到期",
    NotificationKind.SUBSIDY_REVIEW: "补贴待复核",
}


def digest_send_for(*, recipient_id: int) -> int:
    """Send one recipient's digest of reminders not yet sent. Rows are claimed with
    SELECT … FOR UPDATE SKIP LOCKED and marked sent in the same transaction as the send, so a
    failed send leaves them for the retry and two workers never send the same rows."""
    from .models import Notification

    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(recipient_id=recipient_id, digest_sent_at__isnull=True)
            .select_related("child", "recipient")
            .order_by("kind", "due_date")
        )
        if not rows:
            return 0
        recipient = rows[0].recipient
        lines = []
        for row in rows:
            subject = row.child.name if row.child_id else (row.detail or "")
            due = f"（应于 {row.due_date:%Y-%m-%d}）" if row.due_date else ""
            lines.append(f"· {KIND_ZH.get(row.kind, row.kind)}：{subject}{due}")
        body = (
            f"{recipient.display_name}，您好：\n\n守望今日有 {len(rows)} 条新提醒：\n"
            + "\n".join(lines)
            + "\n\n请登录守望查看并处理。"
        )
        if recipient.email:
            send_mail(
                f"守望提醒：{len(rows)} 条新提醒",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [recipient.email],
            )
        if recipient.phone and recipient.phone.startswith("1") and len(recipient.phone) == 11:
            sms_backend().send(recipient.phone, f"【守望】您有{len(rows)}条新提醒，请登录查看。")
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(
            digest_sent_at=timezone.now()
        )
    return len(rows)


def recipients_with_unsent() -> list[int]:
    from .models import Notification

    return list(
        Notification.objects.filter(digest_sent_at__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )


def notification_mark_read(*, user: User, notification_ids: list[uuid.UUID] | None = None) -> int:
    from .models import Notification

    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        queryset = queryset.filter(pk__in=notification_ids)
    return queryset.update(read_at=timezone.now())


def due_window(on: date) -> tuple[date, date]:
    return on, on + timedelta(days=schedule.DUE_SOON_DAYS)
