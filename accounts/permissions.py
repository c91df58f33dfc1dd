"""THE permissions table: which roles hold each capability, and the checks that read it.

Views, services, selectors, API handlers, the menu and the templates ask a capability
(``can(user, Capability.REPORT_FILE)``, ``{% if can.report_file %}``), never a role name. Where
the records lie (the user's area subtree, 404 outside it) is decided by accounts.selectors;
whether a role may do a thing with a record in its area (403) is decided here.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from django.core.exceptions import PermissionDenied

from . import rules
from .rules import (
    ADMIN,
    AUDITOR,
    CIVIL_AFFAIRS,
    DIRECTOR,
    HOTLINE,
    PARTNER,
    POLICE,
    REPORTER,
    SECURITY,
    SUPERVISOR,
    VIEWER,
)


class Capability(StrEnum):
    # Case data: the child file, visits, mandatory reports, benefits, statistics.
    CHILD_READ = "child.read"
    CHILD_WRITE = "child.write"
    CHILD_ASSESS = "child.assess"
    CHILD_MERGE = "child.merge"
    CHILD_CONFIRM_CATEGORY = "child.confirm_category"
    VISIT_READ = "visit.read"
    VISIT_RECORD = "visit.record"
    VISIT_REVIEW = "visit.review"
    PATROL = "patrol"
    REPORT_READ = "report.read"
    REPORT_READ_OWN_ONLY = "report.read_own_only"
    REPORT_READ_DETAILS = "report.read_details"
    REPORT_READ_IDENTITY = "report.read_identity"
    REPORT_FILE = "report.file"
    REPORT_INTERVENE = "report.intervene"
    REPORT_INTAKE = "report.intake"
    REPORT_DETENTION = "report.detention"
    # Referrals to organisations, and their registry (domain §10).
    REFERRAL_MAKE = "referral.make"
    REFERRAL_READ = "referral.read"
    REFERRAL_ANSWER = "referral.answer"
    ORGANISATION_READ = "organisation.read"
    ORGANISATION_EDIT = "organisation.edit"
    # The village's quarterly verification of children in difficulty, the county's yearly spot
    # check of files, and the out-of-school list with its return-to-school follow-up.
    VERIFICATION_READ = "verification.read"
    VERIFICATION_RECORD = "verification.record"
    SPOT_CHECK_READ = "spot_check.read"
    SPOT_CHECK_RUN = "spot_check.run"
    SPOT_CHECK_CORRECT = "spot_check.correct"
    DROPOUT_READ = "dropout.read"
    DROPOUT_IMPORT = "dropout.import"
    DROPOUT_FOLLOW_UP = "dropout.follow_up"
    BENEFIT_BROWSE = "benefit.browse"
    BENEFIT_SUBMIT = "benefit.submit"
    BENEFIT_EVIDENCE = "benefit.evidence"
    BENEFIT_DECIDE = "benefit.decide"
    BENEFIT_NOTICE = "benefit.notice"
    BENEFIT_OBJECTION_RECORD = "benefit.objection_record"
    BENEFIT_OBJECTION_HANDLE = "benefit.objection_handle"
    BENEFIT_REVIEW = "benefit.review"
    BENEFIT_ADMINISTER = "benefit.administer"
    BENEFIT_PAY = "benefit.pay"
    STATS_READ = "stats.read"
    STATS_EXPORT = "stats.export"
    HANDOVER_EXPORT = "handover.export"
    PERFORMANCE_READ = "performance.read"
    # Areas, staff and the system.
    AREA_READ = "area.read"
    AREA_BROWSE = "area.browse"
    STAFF_DIRECTORY = "staff.directory"
    # The roster (花名册) of child directors and supervisors and their trainings (domain §10).
    ROSTER_LISTED = "roster.listed"
    ROSTER_READ = "roster.read"
    ROSTER_EDIT = "roster.edit"
    TRAINING_RECORD = "training.record"
    NETWORK_READ = "network.read"
    AREA_POLICY_EDIT = "area_policy.edit"
    ACCOUNT_MANAGE_CASE = "account.manage_case"
    ACCOUNT_MANAGE_PRIVILEGED = "account.manage_privileged"
    SESSIONS_END = "sessions.end"
    SECURITY_ADMIN = "security.admin"
    AUDIT_LOG_READ = "audit_log.read"
    AUDIT_LOG_READ_UNPLACED = "audit_log.read_unplaced"
    SYSTEM_ADMIN = "system.admin"
    # Menu entries: who finds a page in the main menu. The page itself checks its own capability
    # above, so a role may open a page its menu leaves out (a link elsewhere leads there).
    MENU_HOME = "menu.home"
    MENU_WORKLIST = "menu.worklist"
    MENU_PATROL = "menu.patrol"
    MENU_STATISTICS = "menu.statistics"
    MENU_SETTINGS = "menu.settings"
    # First pages: which work queues a role's home shows (accounts.views.home, the panels the
    # apps above register in accounts.extensions).
    HOME_TOWNSHIP_QUEUES = "home.township_queues"
    HOME_COUNTY_QUEUES = "home.county_queues"


C = Capability
CASE_WORKERS = frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS})

PERMISSIONS: dict[Capability, frozenset[str]] = {
    # The file (一人一档) is read by the staff of its area; a reporter may name a child in a
    # report but never read the file.
    C.CHILD_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # Registered, kept and closed by the case workers; the viewer is read-only.
    C.CHILD_WRITE: CASE_WORKERS,
    # 家庭监护能力评估: by a director or a supervisor (domain §2).
    C.CHILD_ASSESS: frozenset({DIRECTOR, SUPERVISOR}),
    # Two files of one child are merged by the supervisor (or county civil affairs) over both:
    # a director asks them (domain §2, one file for life).
    C.CHILD_MERGE: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # Orphan, de facto unsupported and HIV-affected are paid on: county civil affairs confirm
    # them; typed by anyone else they wait (待民政确认, api.md).
    C.CHILD_CONFIRM_CATEGORY: frozenset({CIVIL_AFFAIRS}),
    C.VISIT_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # Visits, and the worklist of children due one, by whoever visits: the director, and the
    # supervisor or civil affairs on their own visits.
    C.VISIT_RECORD: CASE_WORKERS,
    # Reviewing directors' visits and the township overview of who is overdue: the township and
    # the county, who supervise the directors.
    C.VISIT_REVIEW: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # The quarterly 督导巡查 page: the supervisors' duty, checked by civil affairs.
    C.PATROL: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # Reports of the area (a reporter: only those they filed — reporting.selectors.reports_for).
    C.REPORT_READ: frozenset(
        {REPORTER, HOTLINE, POLICE, DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}
    ),
    # Who reads only the reports they filed, wherever the child lives (not their area's): the
    # mandatory reporter (a teacher, a doctor), the 12355 line and the police.
    C.REPORT_READ_OWN_ONLY: frozenset({REPORTER, HOTLINE, POLICE}),
    # A report's case side — the linked file, the staff's notes, attachments, interventions: not
    # for a reporter (a teacher, a doctor), who sees what they typed and the progress only.
    C.REPORT_READ_DETAILS: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # Who made a report: only the township supervisor and civil affairs (SPP opinion, art. 13).
    C.REPORT_READ_IDENTITY: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # Filing a mandatory report (强制报告) and attaching to it: the reporting bodies and the case
    # workers, the 12355 line and the police; the viewer is read-only.
    C.REPORT_FILE: frozenset({REPORTER, HOTLINE, POLICE, DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS}),
    # Interventions (temporary guardianship, protection orders): township and county.
    C.REPORT_INTERVENE: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # 一门受理: the 12355 line and the police file with their source and incident number and
    # route the report to the child's township, chosen on the form.
    C.REPORT_INTAKE: frozenset({HOTLINE, POLICE}),
    # "A parent detained, minor children at home": the police, who detained them.
    C.REPORT_DETENTION: frozenset({POLICE}),
    # A child is referred (to a protection agency, a social-work organisation, a hospital) by
    # the case workers of their area.
    C.REFERRAL_MAKE: CASE_WORKERS,
    # Referrals of the area; a partner only those sent to its organisation
    # (reporting.selectors.referrals_for).
    C.REFERRAL_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER, PARTNER}),
    # Accepted, declined, service given, closed: the organisation's answer, by its staff.
    C.REFERRAL_ANSWER: frozenset({PARTNER}),
    # The registry of organisations: read by the case workers who refer, kept by county civil
    # affairs.
    C.ORGANISATION_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    C.ORGANISATION_EDIT: frozenset({CIVIL_AFFAIRS}),
    # The quarterly verification (S0): the village committee (its director) confirms each child
    # in difficulty and submits; the township (which may stand in for a village with no
    # director) and the county read which villages submitted.
    C.VERIFICATION_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    C.VERIFICATION_RECORD: frozenset({DIRECTOR, SUPERVISOR}),
    # The yearly spot check of files (S2): drawn and recorded by county civil affairs; the
    # corrections are made (and marked done) by those who keep the files.
    C.SPOT_CHECK_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    C.SPOT_CHECK_RUN: frozenset({CIVIL_AFFAIRS}),
    C.SPOT_CHECK_CORRECT: CASE_WORKERS,
    # 控辍保学: the education department's list is imported by civil affairs or the township;
    # the 劝返复学 follow-up is the case workers'.
    C.DROPOUT_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    C.DROPOUT_IMPORT: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    C.DROPOUT_FOLLOW_UP: CASE_WORKERS,
    # The benefits queue and ledgers of the area, read-only for the viewer.
    C.BENEFIT_BROWSE: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # Applying (and re-submitting) for a family: the director, or the supervisor.
    C.BENEFIT_SUBMIT: frozenset({DIRECTOR, SUPERVISOR}),
    # Supporting documents: those who apply, and the county that may ask for more.
    C.BENEFIT_EVIDENCE: CASE_WORKERS,
    # The township decides first, the county second (benefits.rules.DECIDER says whose turn).
    C.BENEFIT_DECIDE: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # The 7-day public notice (公示) of 低保 and 特困 is posted in the village by the township:
    # the director or the supervisor corrects its dates and place.
    C.BENEFIT_NOTICE: frozenset({DIRECTOR, SUPERVISOR}),
    # An objection to it is recorded by whoever receives it: the village, the township or the
    # county (a complaint to civil affairs).
    C.BENEFIT_OBJECTION_RECORD: CASE_WORKERS,
    # and handled (investigated, upheld or dismissed) by the township or the county, never by
    # the village that helped the family apply.
    C.BENEFIT_OBJECTION_HANDLE: frozenset({SUPERVISOR, CIVIL_AFFAIRS}),
    # The six-monthly review that a child is still eligible.
    C.BENEFIT_REVIEW: CASE_WORKERS,
    # Ending a benefit, the payee and bank account, the monthly standards: county civil affairs.
    C.BENEFIT_ADMINISTER: frozenset({CIVIL_AFFAIRS}),
    # The bank's payment list carries full ID and account numbers: county civil affairs only.
    C.BENEFIT_PAY: frozenset({CIVIL_AFFAIRS}),
    # The dashboard of the area (a director: their village).
    C.STATS_READ: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # The 台账 ledgers of a whole area: those who oversee more than one village.
    C.STATS_EXPORT: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # The hand-over file for another system: civil affairs, who answer for the data leaving.
    C.HANDOVER_EXPORT: frozenset({CIVIL_AFFAIRS}),
    # Directors' visits and on-time rate: those who supervise directors, not directors.
    C.PERFORMANCE_READ: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # Area names and codes are the published 统计用区划代码, not case data: the system
    # administrator, who manages them, sees them too; the security officer and the auditor work
    # on accounts and the log and have no use for them.
    C.AREA_READ: frozenset(
        {DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER, REPORTER, HOTLINE, POLICE, ADMIN}
    ),
    # The area pages list the staff of each area: not for reporters.
    C.AREA_BROWSE: frozenset({DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER, ADMIN}),
    # The staff directory with phone numbers: those who coordinate directors, and the
    # administrator who manages the accounts.
    C.STAFF_DIRECTORY: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER, ADMIN}),
    # Who is kept on the roster, trained every year and reminded of it — and so reads their own
    # record and trainings (accounts.selectors.roster_person_for_user_or_404).
    C.ROSTER_LISTED: frozenset({DIRECTOR, SUPERVISOR}),
    # The roster of an area (appointments, posts, qualifications, trainings): those who
    # coordinate directors, and the viewer (read-only). A director reads only their own record.
    C.ROSTER_READ: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # Appointments and trainings are civil affairs' records: they keep the 儿童主任信息台账 and
    # organise the yearly training (S2 #16), once for many people.
    C.ROSTER_EDIT: frozenset({CIVIL_AFFAIRS}),
    C.TRAINING_RECORD: frozenset({CIVIL_AFFAIRS}),
    # The network's gaps of an area (untrained, villages needing another director or having
    # none in post): those who staff the villages and supervise directors.
    C.NETWORK_READ: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # An area's deadlines and intervals (domain *defaults*): civil affairs and the administrator.
    C.AREA_POLICY_EDIT: frozenset({CIVIL_AFFAIRS, ADMIN}),
    # 等保 三权分立: system administration, security administration and audit kept apart. The
    # administrator creates and changes the case workers' accounts; the three system roles (三员)
    # are the security officer's to create, change, activate and give a password: the
    # administrator could otherwise make an auditor of their own (or a second administrator, or a
    # superuser) and read or export the audit log through it (issue 14, H2). ``add_staff`` run on
    # the server is outside this rule (whoever runs it holds the server).
    C.ACCOUNT_MANAGE_CASE: frozenset({ADMIN}),
    C.ACCOUNT_MANAGE_PRIVILEGED: frozenset({SECURITY}),
    # Who ends other people's sessions (the administrator only those of the accounts they
    # manage: rules.may_end_sessions_of).
    C.SESSIONS_END: frozenset({ADMIN, SECURITY}),
    # Who resets a lost second factor, issues enrolment codes and lifts sign-in lockouts.
    C.SECURITY_ADMIN: frozenset({SECURITY}),
    # Who reads and exports the audit log of their subtree. Never the system administrator: the
    # one who runs the system must not also be the one who reviews what was done with it. Civil
    # affairs keep their county's log, which is also how they see who opened their children's
    # files.
    C.AUDIT_LOG_READ: frozenset({AUDITOR, CIVIL_AFFAIRS}),
    # At a province (the top of a deployment) also the records of no area: failed sign-ins with
    # unknown usernames, actions on accounts without an area.
    C.AUDIT_LOG_READ_UNPLACED: frozenset({AUDITOR}),
    # The administration site (/manage/): areas, staff accounts, API tokens, area policies.
    C.SYSTEM_ADMIN: frozenset({ADMIN}),
    # The director, the security officer and the auditor start on their own pages (worklist,
    # /security/, /audit/: accounts.views.home).
    C.MENU_HOME: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER, REPORTER, HOTLINE, POLICE, ADMIN}),
    # The director's first page; the others follow visits on the township overview.
    C.MENU_WORKLIST: frozenset({DIRECTOR}),
    # Patrol is the supervisor's duty; civil affairs open it from the township overview.
    C.MENU_PATROL: frozenset({SUPERVISOR}),
    # Directors find their village's figures on the worklist and the village page.
    C.MENU_STATISTICS: frozenset({SUPERVISOR, CIVIL_AFFAIRS, VIEWER}),
    # The administrator changes area policies in the administration site.
    C.MENU_SETTINGS: frozenset({CIVIL_AFFAIRS}),
    # The township's queues: visits to review, open reports, overdue and unsupervised children,
    # applications at first review, the quarter's patrol (domain §1: the supervisor's duties).
    C.HOME_TOWNSHIP_QUEUES: frozenset({SUPERVISOR}),
    # The county's: approvals, category confirmations, reports at county level, escalations —
    # civil affairs of a city or a province see the same over their area.
    C.HOME_COUNTY_QUEUES: frozenset({CIVIL_AFFAIRS}),
}

# Capabilities over children, visits, reports, benefits and statistics: never held by the
# administrator, the security officer or the auditor (rules.NO_CASE_DATA_ROLES; tested).
CASE_DATA_CAPABILITIES = frozenset(
    {
        c
        for c in Capability
        if c.value.split(".")[0]
        in {"child", "visit", "report", "benefit", "referral", "verification", "spot_check"}
        | {"dropout", "organisation"}
    }
    | {C.PATROL, C.STATS_READ, C.STATS_EXPORT, C.HANDOVER_EXPORT, C.PERFORMANCE_READ}
    # The network's gaps count children per village.
    | {C.NETWORK_READ}
    | {C.MENU_WORKLIST, C.MENU_PATROL, C.MENU_STATISTICS}
    | {C.HOME_TOWNSHIP_QUEUES, C.HOME_COUNTY_QUEUES}
)

# Decided by the role field alone, superuser status aside: a superuser acts as the system
# administrator everywhere else (rules.effective_role), but these are the security officer's and
# the auditor's, and the administrator never reads the audit log nor holds the second factors.
_BY_ROLE_FIELD = frozenset({C.AUDIT_LOG_READ, C.AUDIT_LOG_READ_UNPLACED, C.SECURITY_ADMIN})


def role_can(role: str, capability: Capability, *, is_superuser: bool = False) -> bool:
    """Whether a user of ``role`` (and superuser status) holds ``capability``: the one place with
    the exceptions to "a superuser is the system administrator, with no case data"."""
    roles = PERMISSIONS[capability]
    if capability in _BY_ROLE_FIELD:
        return role in roles
    if capability == C.SESSIONS_END and is_superuser and role == AUDITOR:
        # A superuser whose role field says auditor keeps the auditor's separation: they read
        # what was done and sign nobody out.
        return False
    return rules.effective_role(role, is_superuser=is_superuser) in roles


@cache
def _held(role: str, is_superuser: bool) -> frozenset[Capability]:
    """Every capability of a role (and superuser status): role_can over the whole table, once
    per combination a process meets (a page asks twenty or thirty of them)."""
    return frozenset(c for c in Capability if role_can(role, c, is_superuser=is_superuser))


def can(user, capability: Capability) -> bool:
    """Whether ``user`` holds ``capability`` (False for an anonymous visitor)."""
    if user is None or not user.is_authenticated:
        return False
    return capability in _held(user.role, user.is_superuser)


def require(user, capability: Capability) -> None:
    """403 unless ``user`` holds ``capability``. Check the area first (404 outside it)."""
    if not can(user, capability):
        raise PermissionDenied


def roles_with(capability: Capability) -> frozenset[str]:
    """The roles that hold ``capability``, for SQL filters and querysets of staff by role."""
    return PERMISSIONS[capability]


def capabilities_of(user) -> set[str]:
    """Every capability ``user`` holds, by its dotted name."""
    return {c.value for c in Capability if can(user, c)}


class TemplateCapabilities:
    """``{% if can.report_file %}``: a capability's name with the dots as underscores. An unknown
    name raises (a typo must fail the page's test, not hide a button for everyone)."""

    NAMES = {c.value.replace(".", "_"): c for c in Capability}

    def __init__(self, user) -> None:
        self._user = user
        self._cache: dict[Capability, bool] = {}

    def __getitem__(self, name: str) -> bool:
        try:
            capability = self.NAMES[name]
        except KeyError:
            raise LookupError(f"no capability named {name!r} (accounts.permissions)") from None
        if capability not in self._cache:
            self._cache[capability] = can(self._user, capability)
        return self._cache[capability]

    def __getattr__(self, name: str) -> bool:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]
