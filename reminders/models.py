"""Reminders (提醒): one row per person, duty and due date, with its delivery state.

The table keeps its name from when reminders lived in ``visits`` (moved in issue 15).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import one_of


class NotificationKind(models.TextChoices):
    VISIT_OVERDUE = "visit_overdue", _("Visit overdue")
    VISIT_DUE_SOON = "visit_due_soon", _("Visit due soon")
    ESCALATION = "escalation", _("Escalation")
    REPORT_DEADLINE = "report_deadline", _("Report deadline")
    AGREEMENT_EXPIRING = "agreement_expiring", _("Care agreement expiring")
    SUBSIDY_REVIEW = "subsidy_review", _("Subsidy review due")
    # 孤儿成年后安置: an orphan or de facto unsupported child turns 18 within a month.
    TRANSITION_REVIEW = "transition_review", _("Transition review at 18")
    # A mandatory report filed at county level or above (no township chosen): county civil
    # affairs take it up at once.
    REPORT_FILED = "report_filed", _("New mandatory report")
    CONTACT_OVERDUE = "contact_overdue", _("Contact overdue")
    FOLLOW_UP_DUE = "follow_up_due", _("Follow-up due")
    ASSESSMENT_DUE = "assessment_due", _("Assessment due")
    PATROL_DUE = "patrol_due", _("Patrol due")
    PROTECTION_ORDER_DECISION = "protection_order_decision", _("Protection order decision due")
    WARNING_LETTER_FOLLOW_UP = "warning_letter_follow_up", _("Home visit after a warning letter")
    TRANSFER_PENDING = "transfer_pending", _("Transfer waiting for an answer")
    # A director's or supervisor's year since their last training (or appointment) ends within
    # 30 days (accounts.selectors.training_reminder_select_sql, domain §10).
    TRAINING_DUE = "training_due", _("Yearly training due")
    # Domain §10: the quarter's verification of a village's children in difficulty not yet
    # submitted; a correction found by the yearly spot check falls due; the police found minor
    # children at home after detaining a parent (the director checks within 24 hours); a
    # referred organisation has not answered in time.
    VERIFICATION_DUE = "verification_due", _("Quarterly verification due")
    SPOT_CHECK_CORRECTION = "spot_check_correction", _("Spot-check correction due")
    DETENTION_CHECK = "detention_check", _("Check on children of a detained parent")
    REFERRAL_ANSWER_DUE = "referral_answer_due", _("Referral not answered")


class Notification(models.Model):
    """One reminder to one person. Unique per (recipient, kind, the rule that raised it, child or
    report, due date), so a re-run, a retry or a second worker can never create it twice, and two
    rules of one kind (two escalations) never merge.

    Open until the work it asks for is recorded: ``resolved_at`` is set as soon as the rule that
    raised it no longer selects it (the visit, contact, assessment, patrol or decision moved the
    due date or met the condition)."""

    # Lean for the daily sweep, which writes up to a million and a half rows on its first day
    # (issue 20): a sequential bigint key rather than a random UUID, and no database-level
    # foreign keys (their checks run row by row at commit); the sweep only inserts ids it has
    # just joined, and users and child files are deactivated or closed, never deleted.
    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="notifications",
        db_constraint=False,
        db_index=False,  # notification_open
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    # The sweep's rule that raised it (reminders.services): escalations of a late visit and of a
    # caregiver not replaced are two rules of one kind.
    rule = models.CharField(max_length=40, default="", blank=True)
    child = models.ForeignKey(
        "children.Child",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,  # notification_once leads with it
    )
    report_id = models.UUIDField(null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    created_on = models.DateField(_("created on"))
    created_at = models.DateTimeField(auto_now_add=True)
    detail = models.CharField(max_length=200, blank=True, default="")
    read_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # Delivery: the daily digest claims unsent rows; a failed send leaves them unsent for the retry.
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "visits_notification"  # kept from when reminders lived in visits
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_on", "-created_at"]
        constraints = [
            # The child first: it also finds a child's reminders when work is recorded, and the
            # sweep inserts in its order (appending to the index rather than scattering).
            models.UniqueConstraint(
                fields=["child", "recipient", "kind", "rule", "report_id", "due_date"],
                name="notification_once",
                nulls_distinct=False,
            ),
            one_of("kind", NotificationKind.values, "notification_kind_valid"),
        ]
        # Besides the unique key (which finds a child's reminders), only open rows are indexed:
        # a person's open reminders (the bell, the inbox, marking read, the digest of the unsent
        # ones) and those about a report (resolved when work is recorded); and resolved ones by
        # date, for the daily pruning. Each index costs the sweep's first run seconds.
        indexes = [
            models.Index(
                fields=["recipient", "due_date"],
                name="notification_open",
                condition=models.Q(resolved_at__isnull=True),
            ),
            models.Index(
                fields=["resolved_at"],
                name="notification_resolved",
                condition=models.Q(resolved_at__isnull=False),
            ),
            models.Index(
                fields=["report_id"],
                name="notification_open_report",
                condition=models.Q(resolved_at__isnull=True, report_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.kind} {self.due_date}"

    @property
    def detail_shown(self) -> str:
        """The detail in the reader's language (the sweep stores it in Chinese)."""
        from .details import shown_detail

        return shown_detail(self.detail)


class SweepRun(models.Model):
    """One committed run of the daily sweep (reminders.services.reminders_sweep): what a second
    run of the same day starts from. A run reads everything when it is the first of its day;
    a later one of the same day only the files changed since the last began."""

    id = models.BigAutoField(primary_key=True)
    on = models.DateField()  # the day swept (its ``today``)
    full = models.BooleanField()  # every rule over every file, or the changed files only
    # The run's first snapshot (pg_snapshot's text, ``xmin:xmax:xip,…``): a row written by a
    # transaction it does not see was not read by the run.
    snapshot = models.TextField()
    # Digest of what every rule reads besides the files: the staff (role, area, active) and
    # the area policies. Changed since: the next run reads everything.
    basis = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    changed_children = models.IntegerField(null=True)  # files read again by a partial run
    created = models.IntegerField()
    resolved = models.IntegerField()

    class Meta:
        verbose_name = _("reminder sweep")
        verbose_name_plural = _("reminder sweeps")

    def __str__(self) -> str:
        return f"{self.on} {'full' if self.full else 'changed'}"
