"""Referrals to organisations (domain §10, S0 #12), as pure rules: the answers an organisation
gives and in which order, the referring side's withdrawal, and the answer's deadline. No ORM.

sent → accepted | declined (the organisation's first answer); accepted → service_given →
closed, or accepted → closed; declined ends. Before any answer the referring side may withdraw
the referral (sent → withdrawn), which ends it too.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _

SENT, ACCEPTED, DECLINED, SERVICE_GIVEN, CLOSED, WITHDRAWN = (
    "sent",
    "accepted",
    "declined",
    "service_given",
    "closed",
    "withdrawn",
)
STATUSES = (SENT, ACCEPTED, DECLINED, SERVICE_GIVEN, CLOSED, WITHDRAWN)
# The organisation's answers (POST /api/v1/referrals/{id}/answers ``status``).
ANSWERS = (ACCEPTED, DECLINED, SERVICE_GIVEN, CLOSED)
ENDED = frozenset({DECLINED, CLOSED, WITHDRAWN})
OPEN_STATUSES = tuple(s for s in STATUSES if s not in ENDED)

# What the organisation may answer from each status.
ANSWER_TRANSITIONS: dict[str, tuple[str, ...]] = {
    SENT: (ACCEPTED, DECLINED),
    ACCEPTED: (SERVICE_GIVEN, CLOSED),
    SERVICE_GIVEN: (CLOSED,),
}

# The organisation answers (accepts or declines) within this many days of the referral: a plain
# number of calendar days, not working days (the sweep and the pages count the same days). Past
# it, the referrer is reminded until an answer comes.
ANSWER_DAYS = 3
# An answer's note and the referral's reason are case notes: long enough for a paragraph or two.
MAX_TEXT = 2000


class AnswerNotAllowed(Exception):
    """The answer (or the withdrawal) is not allowed from the referral's status (409)."""


def answers_from(status: str) -> tuple[str, ...]:
    """The answers the organisation may give next (the page's choices)."""
    return ANSWER_TRANSITIONS.get(status, ())


def check_answer(status: str, answer: str) -> None:
    """Nothing when ``answer`` may follow ``status``; else AnswerNotAllowed saying why."""
    if status in ENDED:
        raise AnswerNotAllowed(_("This referral has ended: it takes no more answers."))
    if answer not in answers_from(status):
        raise AnswerNotAllowed(_("This answer does not follow the referral's current status."))


def check_withdrawal(status: str) -> None:
    """A referral is withdrawn only before the organisation's first answer."""
    if status != SENT:
        raise AnswerNotAllowed(_("Only a referral not yet answered can be withdrawn."))


def answer_due(referred_on: date) -> date:
    """The last day for the organisation's first answer (accepted or declined)."""
    return referred_on + timedelta(days=ANSWER_DAYS)


def is_overdue(status: str, due: date | None, today: date) -> bool:
    """Still waiting for the first answer after its last day (``due < today``, as every due date
    of the project: the day itself is not late)."""
    return status == SENT and due is not None and due < today
