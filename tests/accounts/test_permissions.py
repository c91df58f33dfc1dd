"""Issue 15: ONE permissions table (accounts.permissions). Templates ask a capability, never a role
name; no app keeps a role set of its own; the table agrees with the written access matrix."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.template import Context, Template

from accounts import rules
from accounts.models import Role
from accounts.permissions import (
    CASE_DATA_CAPABILITIES,
    PERMISSIONS,
    Capability,
    TemplateCapabilities,
    can,
    capabilities_of,
    require,
    role_can,
    roles_with,
)

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "children", "visits", "reporting", "benefits", "reminders", "dashboards")
PACKAGES = (*APPS, "config", "core")
ROLE_NAMES = tuple(Role.values)

# --- (a) No template compares a role ---------------------------------------------------------

_IF_TAG = re.compile(r"{%-?\s*(?:if|elif)\b(.*?)-?%}", re.S)
_ROLE_TEST = re.compile(
    r"\buser\.role\b"  # the signed-in user's role field
    r"|\bRole\."  # the Role choices
    r"|\brole\s*(?:==|!=|\bin\b|\bnot\s+in\b)"  # role == …, person.role in …
    r"|(?:==|!=|\bin\b)\s*(?:\w+\.)?role\b"  # … == role
)
_QUOTED_ROLE = re.compile(r"""(["'])[^"']*\b(?:""" + "|".join(ROLE_NAMES) + r""")\b[^"']*\1""")


def role_tests_in(text: str) -> list[str]:
    found = [m.group(0) for m in _ROLE_TEST.finditer(text)]
    for tag in _IF_TAG.finditer(text):
        found += [m.group(0) for m in _QUOTED_ROLE.finditer(tag.group(1))]
    return found


def test_the_template_check_finds_role_tests():
    """The patterns of the templates before issue 15, so a new spelling is not missed."""
    for text in (
        '{% if user.role != "viewer" %}',
        '{% if user.role in "director supervisor civil_affairs" %}',
        "{% if role == Role.DIRECTOR %}",
        "{% elif role == Role.REPORTER %}",
        "{% if person.role not in privileged_roles %}",
        "{% if person.role in privileged_roles and person.pk != user.pk %}",
        "{% if value == role %}",
        "{% if kind == 'civil_affairs' %}",
        '{%if me.kind == "auditor"%}',
    ):
        assert role_tests_in(text), text
    for text in (
        "{% if can.report_file %}",
        "{{ user.get_role_display }}",
        '{% if home_kind == "reporting" %}',
        "{% if person.pk in privileged_ids %}",
        '<select id="role" name="role">',
        "{% if value == selected_role %}",
    ):
        assert not role_tests_in(text), text


def test_no_template_compares_a_role():
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert len(templates) > 40, "the template walk found too little"
    offending = {
        str(path.relative_to(ROOT)): found
        for path in templates
        if (found := role_tests_in(path.read_text()))
    }
    assert not offending, (
        "templates ask a capability ({% if can.report_file %}, accounts.permissions) or a flag "
        f"the view computed, never a role: {offending}"
    )


# --- (b) No role sets outside the table ------------------------------------------------------

# The role sets that remain, each for a reason: what a role *is* (rules), who sees full numbers
# (a table of its own, by kind of number), and the second-factor settings (settings cannot
# import apps, so they list role names and check them at start-up).
ALLOWED_ROLE_CONSTANTS = {
    ("accounts/rules.py", "NO_CASE_DATA_ROLES"),
    ("accounts/rules.py", "PRIVILEGED_ROLES"),
    ("accounts/rules.py", "FULL_NUMBER_ROLES"),
    ("accounts/rules.py", "DEFAULT_MFA_REQUIRED_ROLES"),
    ("config/settings/base.py", "MFA_REQUIRED_ROLES"),
    ("config/settings/base.py", "MFA_ENROLMENT_CODE_ROLES"),
    ("config/settings/base.py", "_ROLES"),
}
TABLE_MODULES = {"accounts/permissions.py", "accounts/rules.py"}
_ROLE_CONSTANT = re.compile(r"^_?[A-Z0-9_]*ROLES$")
_ROLE_ATTRIBUTES = {name.upper() for name in ROLE_NAMES}


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), filename=str(path))


def assigned_names(tree: ast.Module):
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    yield name.id, node.lineno


def is_role(node: ast.expr) -> bool:
    """``Role.DIRECTOR`` or ``rules.DIRECTOR`` (and the like)."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr in _ROLE_ATTRIBUTES
        and isinstance(node.value, ast.Name)
        and node.value.id in {"Role", "rules", "area_rules"}
    )


def role_set_lines(tree: ast.Module) -> list[int]:
    """Lines with a literal role set: (Role.SUPERVISOR, Role.CIVIL_AFFAIRS), {Role.X, *OTHERS} …"""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            roles = [e for e in node.elts if is_role(e)]
            spread = any(isinstance(e, ast.Starred) for e in node.elts)
            if len(roles) >= 2 or (roles and spread):
                lines.append(node.lineno)
    return lines


def test_the_role_set_check_finds_role_sets():
    for source in (
        "REVIEWERS = (Role.SUPERVISOR, Role.CIVIL_AFFAIRS)",
        "require(user, {rules.DIRECTOR, rules.SUPERVISOR})",
        "def f():\n    return [Role.DIRECTOR, *OTHERS]",
    ):
        assert role_set_lines(ast.parse(source)), source
    for source in (
        "ROW = ('zr_chengdong', Role.DIRECTOR, '341823100001')",
        "users.filter(role=Role.DIRECTOR)",
        "can(user, Capability.REPORT_FILE)",
    ):
        assert not role_set_lines(ast.parse(source)), source
    names = {name for name, _line in assigned_names(ast.parse("X_ROLES: tuple = ()\nA, B = 1, 2"))}
    assert names == {"X_ROLES", "A", "B"}


def test_no_module_keeps_a_role_set():
    constants, literals = [], []
    for module, tree in modules():
        for name, line in assigned_names(tree):
            if _ROLE_CONSTANT.match(name) and (module, name) not in ALLOWED_ROLE_CONSTANTS:
                constants.append(f"{module}:{line} {name}")
        if module not in TABLE_MODULES:
            literals += [f"{module}:{line}" for line in role_set_lines(tree)]
    assert not constants, (
        "role sets live in accounts/permissions.py (PERMISSIONS: capability → roles); use "
        f"permissions.can/require/roles_with: {constants}"
    )
    assert not literals, f"role sets written inline; ask a capability instead: {literals}"


def test_the_allowed_role_constants_still_exist():
    """The allow-list shrinks with the code: a constant that went away leaves it too."""
    found = {(module, name) for module, tree in modules() for name, _line in assigned_names(tree)}
    assert found >= ALLOWED_ROLE_CONSTANTS, ALLOWED_ROLE_CONSTANTS - found


# --- (c) The table -----------------------------------------------------------------------------

DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER, REPORTER = (
    "director",
    "supervisor",
    "civil_affairs",
    "viewer",
    "reporter",
)
ADMIN, SECURITY, AUDITOR = "admin", "security", "auditor"
HOTLINE, POLICE, PARTNER = "hotline", "police", "partner"

# The written access matrix (domain.md §1, api.md, README "Access and sign-in"), for the key
# capabilities: exactly these roles, no more, no fewer.
WRITTEN_MATRIX = {
    # Files: the case workers keep them, the viewer reads them, a reporter never does.
    Capability.CHILD_READ: {DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS, VIEWER},
    Capability.CHILD_WRITE: {DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS},
    Capability.CHILD_ASSESS: {DIRECTOR, SUPERVISOR},
    # The supervisor reviews directors' work and patrols; civil affairs oversee.
    Capability.VISIT_REVIEW: {SUPERVISOR, CIVIL_AFFAIRS},
    # Mandatory reports: filed by the reporting bodies and the case workers; the reporter's
    # identity only for the township supervisor and civil affairs.
    # The 12355 line and the police file too (domain §10, issue 21), and like a reporter read only
    # what they filed.
    Capability.REPORT_FILE: {REPORTER, HOTLINE, POLICE, DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS},
    Capability.REPORT_READ: {
        REPORTER,
        HOTLINE,
        POLICE,
        DIRECTOR,
        SUPERVISOR,
        CIVIL_AFFAIRS,
        VIEWER,
    },
    Capability.REPORT_READ_OWN_ONLY: {REPORTER, HOTLINE, POLICE},
    Capability.REPORT_INTAKE: {HOTLINE, POLICE},
    Capability.REPORT_DETENTION: {POLICE},
    Capability.REPORT_READ_IDENTITY: {SUPERVISOR, CIVIL_AFFAIRS},
    # Benefits: the director helps families apply, the township reviews first, the county approves
    # and pays.
    Capability.BENEFIT_SUBMIT: {DIRECTOR, SUPERVISOR},
    Capability.BENEFIT_DECIDE: {SUPERVISOR, CIVIL_AFFAIRS},
    Capability.BENEFIT_PAY: {CIVIL_AFFAIRS},
    Capability.HANDOVER_EXPORT: {CIVIL_AFFAIRS},
    # 三权分立: the administrator manages case workers' accounts and ends sessions; the security
    # officer the three system accounts, second factors and lockouts; the auditor (and civil
    # affairs for their county) the audit log — never the administrator.
    Capability.ACCOUNT_MANAGE_CASE: {ADMIN},
    Capability.ACCOUNT_MANAGE_PRIVILEGED: {SECURITY},
    Capability.SESSIONS_END: {ADMIN, SECURITY},
    Capability.SECURITY_ADMIN: {SECURITY},
    Capability.AUDIT_LOG_READ: {AUDITOR, CIVIL_AFFAIRS},
    Capability.AREA_POLICY_EDIT: {CIVIL_AFFAIRS, ADMIN},
    # The roster (domain §10, issue 21): directors and supervisors are on it and read their own
    # record; those who coordinate them read the area's; civil affairs keep it and record the
    # yearly training.
    Capability.ROSTER_LISTED: {DIRECTOR, SUPERVISOR},
    Capability.ROSTER_READ: {SUPERVISOR, CIVIL_AFFAIRS, VIEWER},
    Capability.ROSTER_EDIT: {CIVIL_AFFAIRS},
    Capability.TRAINING_RECORD: {CIVIL_AFFAIRS},
    Capability.NETWORK_READ: {SUPERVISOR, CIVIL_AFFAIRS, VIEWER},
    # Referrals (issue 21): the case workers refer, the organisation's staff answer and read
    # nothing else; civil affairs keep the registry.
    Capability.REFERRAL_MAKE: {DIRECTOR, SUPERVISOR, CIVIL_AFFAIRS},
    Capability.REFERRAL_ANSWER: {PARTNER},
    Capability.ORGANISATION_EDIT: {CIVIL_AFFAIRS},
    # The quarterly verification by the village, the yearly spot check by the county, the
    # out-of-school list imported by the township or the county.
    Capability.VERIFICATION_RECORD: {DIRECTOR, SUPERVISOR},
    Capability.SPOT_CHECK_RUN: {CIVIL_AFFAIRS},
    Capability.DROPOUT_IMPORT: {SUPERVISOR, CIVIL_AFFAIRS},
}


def test_every_capability_has_one_line_and_every_role_appears():
    assert set(PERMISSIONS) == set(Capability)
    assert all(isinstance(roles, frozenset) and roles for roles in PERMISSIONS.values())
    named = set().union(*PERMISSIONS.values())
    assert named == set(Role.values), set(Role.values) ^ named


def test_the_three_system_roles_hold_no_case_data_capability():
    assert {ADMIN, SECURITY, AUDITOR} == rules.NO_CASE_DATA_ROLES
    for capability in CASE_DATA_CAPABILITIES:
        assert not PERMISSIONS[capability] & rules.NO_CASE_DATA_ROLES, capability
    # Every capability over children, visits, reports and benefits is marked as case data.
    for capability in Capability:
        if capability.value.split(".")[0] in {"child", "visit", "report", "benefit"}:
            assert capability in CASE_DATA_CAPABILITIES, capability


@pytest.mark.parametrize("capability", sorted(WRITTEN_MATRIX))
def test_the_table_agrees_with_the_written_matrix(capability):
    assert roles_with(capability) == WRITTEN_MATRIX[capability]


def test_read_only_roles_change_nothing():
    """The viewer reads (files, visits, reports, benefits, statistics); the reporter files
    reports and follows their own. Neither writes anything else."""
    viewer = {c for c, roles in PERMISSIONS.items() if VIEWER in roles}
    assert viewer == {
        Capability.CHILD_READ,
        Capability.VISIT_READ,
        Capability.REPORT_READ,
        Capability.REPORT_READ_DETAILS,
        Capability.BENEFIT_BROWSE,
        Capability.STATS_READ,
        Capability.STATS_EXPORT,
        Capability.PERFORMANCE_READ,
        Capability.AREA_READ,
        Capability.AREA_BROWSE,
        Capability.STAFF_DIRECTORY,
        Capability.ROSTER_READ,
        Capability.NETWORK_READ,
        Capability.MENU_HOME,
        Capability.MENU_STATISTICS,
        # Issue 21: the network's records, read only.
        Capability.REFERRAL_READ,
        Capability.ORGANISATION_READ,
        Capability.VERIFICATION_READ,
        Capability.SPOT_CHECK_READ,
        Capability.DROPOUT_READ,
    }
    reporter = {c for c, roles in PERMISSIONS.items() if REPORTER in roles}
    assert reporter == {
        Capability.REPORT_FILE,
        Capability.REPORT_READ,
        Capability.REPORT_READ_OWN_ONLY,
        Capability.AREA_READ,
        Capability.MENU_HOME,
    }
    # The 12355 line and the police: the reporter's, with the intake (and the police's detention
    # report); the partner: its referrals and nothing else.
    for role, extra in ((HOTLINE, set()), (POLICE, {Capability.REPORT_DETENTION})):
        held = {c for c, roles in PERMISSIONS.items() if role in roles}
        assert held == reporter | {Capability.REPORT_INTAKE} | extra, role
    partner = {c for c, roles in PERMISSIONS.items() if PARTNER in roles}
    assert {c.value.split(".")[0] for c in partner} <= {"referral", "menu"}, partner


def test_full_numbers_stay_a_table_of_their_own():
    """Who sees an ID or phone number in full is by kind of number (rules.FULL_NUMBER_ROLES),
    for records of their own area; never a system role."""
    for roles in rules.FULL_NUMBER_ROLES.values():
        assert roles <= set(Role.values) and not roles & rules.NO_CASE_DATA_ROLES


# --- can / require / capabilities_of: the superuser twists, kept in one place ----------------


class Someone:
    is_authenticated = True

    def __init__(self, role: str, is_superuser: bool = False) -> None:
        self.role, self.is_superuser = role, is_superuser


def test_a_superuser_acts_as_the_administrator():
    root = Someone(VIEWER, is_superuser=True)  # createsuperuser leaves the default role
    assert can(root, Capability.SYSTEM_ADMIN) and can(root, Capability.ACCOUNT_MANAGE_CASE)
    assert not can(root, Capability.CHILD_READ) and not can(root, Capability.STATS_READ)
    assert capabilities_of(root) == {c.value for c, roles in PERMISSIONS.items() if ADMIN in roles}
    with pytest.raises(PermissionDenied):
        require(Someone(DIRECTOR, is_superuser=True), Capability.CHILD_READ)


def test_superuser_status_opens_neither_the_audit_log_nor_the_security_pages():
    for role in (ADMIN, VIEWER, DIRECTOR):
        root = Someone(role, is_superuser=True)
        assert not can(root, Capability.AUDIT_LOG_READ)
        assert not can(root, Capability.SECURITY_ADMIN)
    # Those go by the role field alone (as rules.may_read_audit_log always did).
    assert can(Someone(AUDITOR, is_superuser=True), Capability.AUDIT_LOG_READ)
    assert can(Someone(SECURITY, is_superuser=True), Capability.SECURITY_ADMIN)


def test_ending_sessions_and_the_superuser_whose_role_says_auditor():
    assert role_can(ADMIN, Capability.SESSIONS_END)
    assert role_can(SECURITY, Capability.SESSIONS_END)
    assert not role_can(AUDITOR, Capability.SESSIONS_END)
    assert role_can(VIEWER, Capability.SESSIONS_END, is_superuser=True)
    assert role_can(SECURITY, Capability.SESSIONS_END, is_superuser=True)
    assert not role_can(AUDITOR, Capability.SESSIONS_END, is_superuser=True)
    # rules keeps its pure functions, reading the same table.
    for role in Role.values:
        for superuser in (False, True):
            assert rules.may_end_sessions(role, is_superuser=superuser) == role_can(
                role, Capability.SESSIONS_END, is_superuser=superuser
            )
        assert rules.may_read_audit_log(role) == role_can(role, Capability.AUDIT_LOG_READ)
        assert rules.may_administer_security(role) == role_can(role, Capability.SECURITY_ADMIN)
        assert rules.may_manage_account(ADMIN, role) == (role not in rules.PRIVILEGED_ROLES)
        assert rules.may_manage_account(SECURITY, role) == (role in rules.PRIVILEGED_ROLES)


def test_anonymous_holds_nothing():
    from django.contrib.auth.models import AnonymousUser

    assert capabilities_of(AnonymousUser()) == set()
    assert not can(None, Capability.REPORT_READ)
    with pytest.raises(PermissionDenied):
        require(AnonymousUser(), Capability.REPORT_READ)


def test_a_users_capabilities_are_the_tables_whatever_was_asked_before():
    """``can`` reads each role's capabilities from a set made once per role and superuser
    status (a page asks twenty or thirty): the same answers as the table, in any order."""
    from types import SimpleNamespace

    for superuser in (False, True):
        for role in ROLE_NAMES:
            user = SimpleNamespace(is_authenticated=True, role=role, is_superuser=superuser)
            for capability in reversed(list(Capability)):
                assert can(user, capability) == role_can(
                    role, capability, is_superuser=superuser
                ), (role, superuser, capability)


# --- Templates: ``can`` ------------------------------------------------------------------------


def test_templates_read_capabilities_by_name():
    names = TemplateCapabilities.NAMES
    assert len(names) == len(Capability), "two capabilities share a template name"
    assert names["report_file"] is Capability.REPORT_FILE
    assert names["area_policy_edit"] is Capability.AREA_POLICY_EDIT
    template = Template(
        "{% if can.report_file %}file{% endif %}|{% if can.child_write %}w{% endif %}"
    )
    assert template.render(Context({"can": TemplateCapabilities(Someone(REPORTER))})) == "file|"
    assert template.render(Context({"can": TemplateCapabilities(Someone(DIRECTOR))})) == "file|w"
    assert template.render(Context({"can": TemplateCapabilities(None)})) == "|"


def test_a_misspelt_capability_fails_the_page():
    with pytest.raises(LookupError):
        Template("{% if can.report_flie %}x{% endif %}").render(
            Context({"can": TemplateCapabilities(Someone(REPORTER))})
        )


def test_the_context_processor_is_installed():
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    assert "accounts.context_processors.capabilities" in processors


@pytest.mark.django_db
def test_pages_show_what_the_role_may_do(client_for, viewer, reporter, civil_affairs):
    file_report = "/reports/new/"
    assert file_report not in client_for(viewer).get("/reports/").content.decode()
    assert file_report in client_for(reporter).get("/reports/").content.decode()
    assert file_report in client_for(civil_affairs).get("/reports/").content.decode()


@pytest.mark.django_db
def test_the_menu_reads_the_table(director_a, supervisor, civil_affairs, admin_user):
    from accounts.context_processors import NAV_ITEMS, nav_items_for

    assert {capability for _u, _l, capability in NAV_ITEMS} <= set(Capability)

    def menu(user):
        return {item["url_name"] for item in nav_items_for(user)}

    assert menu(director_a) == {
        "visits:worklist",
        "children:list",
        "reporting:queue",
        "reporting:referrals",
        "areas",
    }
    assert {"visits:patrol", "dashboard:home", "benefits:subsidy_queue"} <= menu(supervisor)
    assert "visits:patrol" not in menu(civil_affairs)
    assert {"audit", "area_policy"} <= menu(civil_affairs)
    assert menu(admin_user) == {"home", "areas", "staff", "admin:index"}
