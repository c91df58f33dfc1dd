"""The mandatory-report stage machine (domain §6), as pure data and functions. No ORM here.

reported → police_received → emergency_handled → assessed → intervention → closed, with
assessed → closed when no intervention is needed and any open stage → closed as unfounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.rules import COUNTY_LEVELS

REPORTED, POLICE_RECEIVED, EMERGENCY_HANDLED, ASSESSED, INTERVENTION, CLOSED = (
    "reported",
    "police_received",
    "emergency_handled",
    "assessed",
    "intervention",
    "closed",
)
STAGES = (REPORTED, POLICE_RECEIVED, EMERGENCY_HANDLED, ASSESSED, INTERVENTION, CLOSED)
OPEN_STAGES = STAGES[:-1]

DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS = "director", "supervisor", "civil_affairs"
FIRST_RESPONDERS = frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS})
CASE_OWNERS = frozenset({SUPERVISOR, CIVIL_AFFAIRS})

EMERGENCY_ACTIONS = (
    "parents_ordered_home",
    "placed_with_relatives",
    "placed_in_institution",
    "medical_care",
    "missing_child_search",
    "shelter",
)
SERVICE_PLAN_ITEMS = (
    "guardianship_guidance",
    "medical_care",
    "counselling",
    "behaviour_correction",
    "legal_aid",
    "social_assistance",
)
INTERVENTION_TYPES = (
    "warning_letter",
    "protection_order",
    "family_education_order",
    "guardianship_revocation",
    "temporary_guardianship",
    "long_term_guardianship",
)
OUTCOMES = ("resolved", "no_intervention_needed", "transferred", "unfounded")
UNFOUNDED = "unfounded"


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    roles: frozenset[str]
    requires: str | None  # "actions", "service_plan", "intervention_type", "outcome", "note"


TRANSITIONS: tuple[Transition, ...] = (
    Transition(REPORTED, POLICE_RECEIVED, FIRST_RESPONDERS, None),
    Transition(POLICE_RECEIVED, EMERGENCY_HANDLED, FIRST_RESPONDERS, "actions"),
    Transition(EMERGENCY_HANDLED, ASSESSED, CASE_OWNERS, "service_plan"),
    Transition(ASSESSED, INTERVENTION, CASE_OWNERS, "intervention_type"),
    Transition(ASSESSED, CLOSED, CASE_OWNERS, "outcome"),
    Transition(INTERVENTION, CLOSED, CASE_OWNERS, "outcome"),
)

# Deadlines: police told within a day of filing; the county told when a stage is still open 7 days
# after its limit. The stage limits are settings (REPORT_STAGE_LIMIT_DAYS) and the assessment
# deadline an area policy (report_assessment_days, 7 days by default).
POLICE_NOTICE_HOURS = 24
COUNTY_AFTER_DAYS = 7
# A personal safety protection order (人身安全保护令): the court decides within 72 hours of the
# application, 24 if urgent; the order lasts up to 6 months.
PROTECTION_ORDER_DECISION_DAYS = 3
PROTECTION_ORDER_DECISION_DAYS_URGENT = 1
# After a warning letter (告诫书) the director visits the child at home within this many days.
WARNING_LETTER_VISIT_DAYS = 30


class TransitionError(Exception):
    """The move is not allowed from the current stage (409)."""


class TransitionForbidden(Exception):
    """The role may not make this move (403)."""


def find_transition(*, source: str, target: str, role: str, outcome: str | None) -> Transition:
    """The allowed transition, or TransitionError / TransitionForbidden."""
    if source == CLOSED:
        raise TransitionError(_("The report is closed"))
    if target == CLOSED and outcome == UNFOUNDED:
        # Any open stage may be closed as unfounded, by a supervisor or civil affairs, with a note.
        transition = Transition(source, CLOSED, CASE_OWNERS, "note")
    else:
        transition = next(
            (t for t in TRANSITIONS if t.source == source and t.target == target), None
        )
        if transition is None:
            raise TransitionError(
                _("Cannot move from “%(source)s” to “%(target)s”")
                % {"source": source, "target": target}
            )
    if role not in transition.roles:
        raise TransitionForbidden(_("Your role cannot do this"))
    return transition


def next_targets(source: str, role: str) -> list[str]:
    """Stages this role may move the report to next (for the page's buttons)."""
    targets = [t.target for t in TRANSITIONS if t.source == source and role in t.roles]
    if source != CLOSED and role in CASE_OWNERS and CLOSED not in targets:
        targets.append(CLOSED)
    return targets


def missing_requirement(transition: Transition, data: dict) -> str | None:
    """The field the transition needs but the body lacks, or None."""
    need = transition.requires
    if need is None:
        return None
    value = data.get(need)
    if need in ("note", "outcome", "intervention_type"):
        return need if not (value or "").strip() else None
    return need if not value else None


# Routing (domain §6): a report of a village or township is the township supervisor's; one filed
# at county level or above (the reporter chose no township, and no child's file places it) goes
# to the civil affairs of its area at once, and its deadlines remind them.


def routed_to_county(area_level: str) -> bool:
    return area_level in COUNTY_LEVELS
