"""Every address of the site in one map: pages (each app's under its namespace), auth, admin,
the API (config/api.py mounts each app's router) and the health check.

The addresses are a contract older than the apps' boundaries (benefits once lived in children,
reminders in visits) and kept when code moves between apps, so they are listed here, by
address, rather than in each app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import organisation_views, policy_views, roster_views, security_views
from accounts import views as account_views
from accounts.forms import LoginForm
from benefits import admin_views
from benefits import views as benefit_views
from children import agreement_views, dropout_views, lifecycle_views
from children import views as child_views
from dashboards import export_views, network_views, performance_views, spot_check_views
from dashboards import views as dashboard_views
from reminders import views as reminder_views
from reporting import referral_views
from reporting import views as report_views
from visits import offline_views, verification_views
from visits import views as visit_views

from .api import api
from .views import LoginView, LogoutView, healthz, set_language

# The child file (一人一档), /children/.
children_urls = [
    path("", child_views.child_list, name="list"),
    path("new/", child_views.child_create, name="create"),
    path("export.xlsx", child_views.child_export, name="export"),
    path("import/", child_views.child_import, name="import"),
    path("import/template.xlsx", child_views.import_template, name="import_template"),
    path("<uuid:child_id>/", child_views.child_detail, name="detail"),
    path("<uuid:child_id>/history/", child_views.child_history, name="history"),
    path("<uuid:child_id>/pdf/", child_views.child_file_pdf, name="file_pdf"),
    path("<uuid:child_id>/edit/<slug:section>/", child_views.child_edit, name="edit"),
    path("<uuid:child_id>/close/", child_views.child_close, name="close"),
    path("<uuid:child_id>/reopen/", lifecycle_views.child_reopen, name="reopen"),
    path("<uuid:child_id>/transfer/", lifecycle_views.transfer_out, name="transfer_out"),
    path("transfers/", lifecycle_views.transfer_list, name="transfers"),
    path("transfers/new/", lifecycle_views.transfer_in, name="transfer_in"),
    path(
        "transfers/<uuid:transfer_id>/accept/",
        lifecycle_views.transfer_accept,
        name="transfer_accept",
    ),
    path(
        "transfers/<uuid:transfer_id>/reject/",
        lifecycle_views.transfer_reject,
        name="transfer_reject",
    ),
    path("<uuid:child_id>/siblings/", lifecycle_views.sibling_link, name="sibling_link"),
    path("<uuid:child_id>/merge/", lifecycle_views.child_merge, name="merge"),
    path(
        "<uuid:child_id>/categories/decide/",
        lifecycle_views.category_decide,
        name="category_decide",
    ),
    path(
        "<uuid:child_id>/household/leave/",
        lifecycle_views.household_leave,
        name="household_leave",
    ),
    path("<uuid:child_id>/family/new/", child_views.family_member_edit, name="family_add"),
    path(
        "<uuid:child_id>/family/<uuid:member_id>/",
        child_views.family_member_edit,
        name="family_edit",
    ),
    path(
        "<uuid:child_id>/family/<uuid:member_id>/evidence/",
        child_views.family_member_evidence,
        name="family_evidence",
    ),
    path("<uuid:child_id>/assess/", child_views.assessment_create, name="assess"),
    path("<uuid:child_id>/agreements/new/", agreement_views.agreement_create, name="agreement_add"),
    path(
        "<uuid:child_id>/parent-contacts/new/",
        agreement_views.parent_contact_create,
        name="parent_contact_add",
    ),
    path("agreements/<uuid:agreement_id>/", agreement_views.agreement_detail, name="agreement"),
    path(
        "agreements/<uuid:agreement_id>/terminate/",
        agreement_views.agreement_terminate,
        name="agreement_terminate",
    ),
    path(
        "agreements/<uuid:agreement_id>/caregiver-unable/",
        agreement_views.agreement_caregiver_unable,
        name="agreement_unable",
    ),
    path(
        "agreements/<uuid:agreement_id>/notice/",
        agreement_views.agreement_notice,
        name="agreement_notice",
    ),
    path(
        "agreements/notices/<uuid:notice_id>/called/",
        agreement_views.agreement_notice_called,
        name="agreement_notice_called",
    ),
    path(
        "agreements/<uuid:agreement_id>/scan/upload/",
        agreement_views.agreement_scan_upload,
        name="agreement_scan_upload",
    ),
    path(
        "agreements/<uuid:agreement_id>/scan/",
        agreement_views.agreement_scan,
        name="agreement_scan",
    ),
    path(
        "agreements/<uuid:agreement_id>/pdf/", agreement_views.agreement_pdf, name="agreement_pdf"
    ),
    # 控辍保学: the education department's out-of-school lists and 劝返复学 (children.dropouts).
    path("dropouts/", dropout_views.dropout_lists, name="dropout_lists"),
    path("dropouts/follow-up/", dropout_views.dropout_follow_up, name="dropout_follow_up"),
    path("dropouts/<uuid:list_id>/", dropout_views.dropout_list, name="dropout_list"),
    path(
        "dropouts/rows/<int:row>/link/",
        dropout_views.dropout_row_link,
        name="dropout_row_link",
    ),
    path(
        "dropouts/rows/<int:row>/dismiss/",
        dropout_views.dropout_row_dismiss,
        name="dropout_row_dismiss",
    ),
    path("return-to-school/", dropout_views.return_cases, name="return_cases"),
    path("return-to-school/<uuid:case_id>/", dropout_views.return_case, name="return_case"),
    path(
        "return-to-school/<uuid:case_id>/contacts/",
        dropout_views.return_case_contact,
        name="return_case_contact",
    ),
    path(
        "return-to-school/<uuid:case_id>/plan/",
        dropout_views.return_case_plan,
        name="return_case_plan",
    ),
    path(
        "return-to-school/<uuid:case_id>/close/",
        dropout_views.return_case_close,
        name="return_case_close",
    ),
]

# Benefits, mounted under /children/ beside the child file's pages: their addresses are what they
# were when benefits lived in children.
benefits_urls = [
    path("<uuid:child_id>/subsidies/", benefit_views.subsidy_apply, name="subsidies"),
    path("<uuid:child_id>/subsidies/apply/", benefit_views.subsidy_submit, name="subsidy_submit"),
    path("<uuid:child_id>/subsidies/check/", benefit_views.subsidy_check, name="subsidy_check"),
    path(
        "<uuid:child_id>/subsidies/education/",
        benefit_views.education_record_add,
        name="education_add",
    ),
    path("subsidies/queue/", benefit_views.subsidy_queue, name="subsidy_queue"),
    path("subsidies/standards/", admin_views.subsidy_standards, name="subsidy_standards"),
    path(
        "subsidies/documents/",
        admin_views.evidence_requirements,
        name="evidence_requirements",
    ),
    path("subsidies/payments/", admin_views.subsidy_payments, name="subsidy_payments"),
    path(
        "subsidies/payments.xlsx",
        admin_views.subsidy_payments_export,
        name="subsidy_payments_export",
    ),
    path(
        "subsidies/<uuid:application_id>/",
        benefit_views.application_detail,
        name="subsidy_application",
    ),
    path(
        "subsidies/<uuid:application_id>/resubmit/",
        benefit_views.subsidy_resubmit,
        name="subsidy_resubmit",
    ),
    path(
        "subsidies/<uuid:application_id>/evidence/",
        benefit_views.evidence_upload,
        name="subsidy_evidence_upload",
    ),
    path(
        "subsidies/<uuid:application_id>/public-notice/",
        benefit_views.public_notice_update,
        name="public_notice_update",
    ),
    path(
        "subsidies/<uuid:application_id>/objections/",
        benefit_views.notice_objection_add,
        name="notice_objection_add",
    ),
    path(
        "subsidies/<uuid:application_id>/objections/<uuid:objection_id>/handling/",
        benefit_views.notice_objection_handle,
        name="notice_objection_handle",
    ),
    path(
        "subsidies/evidence/<uuid:evidence_id>/",
        benefit_views.evidence_file,
        name="subsidy_evidence",
    ),
    path(
        "subsidies/enrolments/<uuid:enrolment_id>/<slug:action>/",
        benefit_views.enrolment_action,
        name="enrolment_action",
    ),
    path(
        "subsidies/<uuid:application_id>/decide/",
        benefit_views.subsidy_decide,
        name="subsidy_decide",
    ),
]

# Reminders keep the addresses they had under /visits/.
reminders_urls = [
    path("", reminder_views.inbox, name="inbox"),
    path("read/", reminder_views.mark_read, name="read"),
]

# Visits, the worklist, review and patrol, /visits/.
visits_urls = [
    path("", visit_views.worklist, name="worklist"),
    path("new/<uuid:child_id>/", visit_views.visit_create, name="create"),
    path("<uuid:visit_id>/", visit_views.visit_detail, name="detail"),
    path("<uuid:visit_id>/edit/", visit_views.visit_edit, name="edit"),
    path("<uuid:visit_id>/amendments/", visit_views.visit_amend, name="amend"),
    path("photos/<uuid:photo_id>/", visit_views.photo, name="photo"),
    path("township/", visit_views.township, name="township"),
    path("review/", visit_views.review_queue, name="review"),
    path("patrol/", visit_views.patrol, name="patrol"),
    # The installable web app's short files and form shells (offline_views).
    path("offline/children.json", offline_views.children_json, name="offline_children"),
    path("offline/shell/visit/", offline_views.visit_shell, name="offline_shell_visit"),
    path(
        "offline/shell/parent-contact/",
        offline_views.parent_contact_shell,
        name="offline_shell_parent_contact",
    ),
    # What waits on the phone to upload, and the conflicts to decide (static/js/capture.js).
    path("offline/queue/", offline_views.offline_queue, name="offline_queue"),
    # The quarterly verification of children in difficulty (季度核查, visits.verification_views).
    path("verification/", verification_views.verification_index, name="verification"),
    path(
        "verification/<str:code>/<int:year>/<int:quarter>/",
        verification_views.verification_village,
        name="verification_village",
    ),
    path(
        "verification/<str:code>/<int:year>/<int:quarter>/children/<uuid:child_id>/",
        verification_views.verification_item,
        name="verification_item",
    ),
    path(
        "verification/<str:code>/<int:year>/<int:quarter>/submit/",
        verification_views.verification_submit,
        name="verification_submit",
    ),
    path(
        "verification/<str:code>/<int:year>/<int:quarter>/reopen/",
        verification_views.verification_reopen,
        name="verification_reopen",
    ),
    path(
        "verification/<str:code>/<int:year>/<int:quarter>/print/",
        verification_views.verification_print,
        name="verification_print",
    ),
    path(
        "verification/<str:code>/<int:year>/<int:quarter>/report.pdf",
        verification_views.verification_pdf,
        name="verification_pdf",
    ),
]

# Mandatory reports (强制报告), /reports/.
reporting_urls = [
    path("", report_views.report_queue, name="queue"),
    path("new/", report_views.report_create, name="create"),
    path("new/<uuid:child_id>/", report_views.report_create, name="create_for_child"),
    path("<uuid:report_id>/", report_views.report_detail, name="detail"),
    path("<uuid:report_id>/child/new/", report_views.report_child_create, name="create_child"),
    path("<uuid:report_id>/move/", report_views.report_move, name="move"),
    path("<uuid:report_id>/attach/", report_views.report_attach, name="attach"),
    path(
        "<uuid:report_id>/attachments/<uuid:attachment_id>/",
        report_views.report_attachment,
        name="attachment",
    ),
    path("<uuid:report_id>/interventions/", report_views.report_intervene, name="intervene"),
    # Referrals of children to organisations (domain §10): reporting.referral_views.
    path("referrals/", referral_views.referral_list, name="referrals"),
    path("referrals/<uuid:referral_id>/", referral_views.referral_detail, name="referral"),
    path(
        "referrals/<uuid:referral_id>/answer/",
        referral_views.referral_answer,
        name="referral_answer",
    ),
    path(
        "referrals/<uuid:referral_id>/withdraw/",
        referral_views.referral_withdraw,
        name="referral_withdraw",
    ),
    path(
        "referrals/new/<uuid:child_id>/",
        referral_views.referral_create_for_child,
        name="referral_create_for_child",
    ),
    path(
        "<uuid:report_id>/refer/",
        referral_views.referral_create_for_report,
        name="referral_create_for_report",
    ),
    path(
        "<uuid:report_id>/detention-check/",
        report_views.report_detention_check,
        name="detention_check",
    ),
]

# Statistics, exports and the hand-over, /dashboard/.
dashboards_urls = [
    path("", dashboard_views.dashboard, name="home"),
    # The yearly spot check of files (dashboards.spot_checks, domain §10), before "<code>/".
    path("spot-checks/", spot_check_views.spot_check_list, name="spot_checks"),
    path("spot-checks/new/", spot_check_views.spot_check_new, name="spot_check_new"),
    path(
        "spot-checks/corrections/",
        spot_check_views.spot_check_corrections,
        name="spot_check_corrections",
    ),
    path(
        "spot-checks/corrections/<uuid:correction_id>/done/",
        spot_check_views.correction_done,
        name="spot_check_correction_done",
    ),
    path(
        "spot-checks/corrections/<uuid:correction_id>/confirm/",
        spot_check_views.correction_confirm,
        name="spot_check_correction_confirm",
    ),
    path("spot-checks/<uuid:check_id>/", spot_check_views.spot_check_detail, name="spot_check"),
    path(
        "spot-checks/<uuid:check_id>/summary/",
        spot_check_views.spot_check_summary,
        name="spot_check_summary",
    ),
    path(
        "spot-checks/<uuid:check_id>/verify/",
        spot_check_views.spot_check_verify,
        name="spot_check_verify",
    ),
    path(
        "spot-checks/<uuid:check_id>/population.tsv",
        spot_check_views.spot_check_population,
        name="spot_check_population",
    ),
    path(
        "spot-checks/<uuid:check_id>/items/<uuid:item_id>/",
        spot_check_views.spot_check_item,
        name="spot_check_item",
    ),
    path("<str:code>/directors/", performance_views.directors, name="directors"),
    # The network's gaps (dashboards.network): each count's list.
    path("<str:code>/network/untrained/", network_views.untrained, name="network_untrained"),
    path(
        "<str:code>/network/one-director/",
        network_views.one_director,
        name="network_one_director",
    ),
    path("<str:code>/network/no-director/", network_views.no_director, name="network_no_director"),
    path("<str:code>/exports/", export_views.exports_page, name="exports"),
    path("<str:code>/exports/<str:kind>.xlsx", export_views.export_xlsx, name="export"),
    path("<str:code>/progress-report/", export_views.progress_report, name="progress_report"),
    path("<str:code>/handover.jsonl", export_views.handover, name="handover"),
    path("<str:code>/exports/jobs/", export_views.export_job_start, name="export_start"),
    path("<str:code>/exports/jobs/<uuid:job_id>/", export_views.export_job, name="export_job"),
    path(
        "<str:code>/exports/jobs/<uuid:job_id>/file",
        export_views.export_job_file,
        name="export_job_file",
    ),
    path("<str:code>/", dashboard_views.dashboard, name="area"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("areas/", account_views.area_list, name="areas"),
    path("areas/search.json", account_views.area_search, name="area_search"),
    path("areas/<str:code>/", account_views.area_list, name="area_detail"),
    path("staff/", account_views.staff_list, name="staff"),
    path("staff/end-sessions/", account_views.staff_sessions_end, name="staff_sessions_end"),
    # The roster of child directors and supervisors and their trainings (domain §10).
    path("roster/", roster_views.roster_list, name="roster"),
    path("roster/people/<str:username>/", roster_views.roster_person, name="roster_person"),
    path("roster/people/<str:username>/edit/", roster_views.roster_edit, name="roster_edit"),
    path("roster/trainings/", roster_views.training_list, name="trainings"),
    path("roster/trainings/new/", roster_views.training_create, name="training_create"),
    path(
        "roster/trainings/<uuid:training_id>/",
        roster_views.training_detail,
        name="training_detail",
    ),
    path(
        "roster/trainings/<uuid:training_id>/certificate/",
        roster_views.training_certificate,
        name="training_certificate",
    ),
    # The registry of organisations children are referred to (accounts.organisation_views).
    path("organisations/", organisation_views.organisation_list, name="organisations"),
    path("organisations/new/", organisation_views.organisation_create, name="organisation_create"),
    path(
        "organisations/<int:organisation>/edit/",
        organisation_views.organisation_edit,
        name="organisation_edit",
    ),
    path("audit/", account_views.audit_list, name="audit"),
    path("audit/export.csv", account_views.audit_export, name="audit_export"),
    path("security/", security_views.security_home, name="security"),
    path("security/reset-device/", security_views.security_mfa_reset, name="security_mfa_reset"),
    path("security/accounts/", security_views.security_account, name="security_account"),
    path(
        "security/enrolment-code/",
        security_views.security_enrolment_code,
        name="security_enrolment_code",
    ),
    path(
        "security/clear-lockout/",
        security_views.security_lockout_clear,
        name="security_lockout_clear",
    ),
    path(
        "security/lift-import-lock/",
        security_views.security_import_lock_lift,
        name="security_import_lock_lift",
    ),
    path("children/", include((children_urls, "children"))),
    path("children/", include((benefits_urls, "benefits"))),
    # Reminders and the area settings keep the addresses they had under /visits/.
    path("visits/reminders/", include((reminders_urls, "reminders"))),
    path("visits/settings/", policy_views.area_policy, name="area_policy"),
    path("visits/", include((visits_urls, "visits"))),
    path("reports/", include((reporting_urls, "reporting"))),
    path("dashboard/", include((dashboards_urls, "dashboard"))),
    path(
        "accounts/login/",
        LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", security_views.mfa_verify, name="mfa_verify"),
    path("accounts/two-factor/set-up/", security_views.mfa_enrol, name="mfa_enrol"),
    path("accounts/security/", security_views.account_security, name="account_security"),
    path(
        "accounts/password/",
        account_views.OwnPasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", healthz, name="healthz"),
    # The installable web app (visits.offline_views): at the root, the service worker's scope.
    path("sw.js", offline_views.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline_views.web_manifest, name="web_manifest"),
    path("offline/", offline_views.offline, name="offline"),
    path("api/v1/", api.urls),
    path("manage/", admin.site.urls),
]

admin.site.site_header = _("Shouwang administration")
admin.site.site_title = _("Shouwang")
