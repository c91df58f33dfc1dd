"""Pages of benefits, mounted under /children/ beside the child file's pages (config/urls.py):
their paths are what they were when benefits lived in children."""

from django.urls import path

from . import admin_views, views

app_name = "benefits"

urlpatterns = [
    path("<uuid:child_id>/subsidies/", views.subsidy_apply, name="subsidies"),
    path("<uuid:child_id>/subsidies/apply/", views.subsidy_submit, name="subsidy_submit"),
    path("<uuid:child_id>/subsidies/check/", views.subsidy_check, name="subsidy_check"),
    path(
        "<uuid:child_id>/subsidies/education/",
        views.education_record_add,
        name="education_add",
    ),
    path("subsidies/queue/", views.subsidy_queue, name="subsidy_queue"),
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
        views.application_detail,
        name="subsidy_application",
    ),
    path(
        "subsidies/<uuid:application_id>/resubmit/",
        views.subsidy_resubmit,
        name="subsidy_resubmit",
    ),
    path(
        "subsidies/<uuid:application_id>/evidence/",
        views.evidence_upload,
        name="subsidy_evidence_upload",
    ),
    path(
        "subsidies/<uuid:application_id>/public-notice/",
        views.public_notice_update,
        name="public_notice_update",
    ),
    path(
        "subsidies/<uuid:application_id>/objections/",
        views.notice_objection_add,
        name="notice_objection_add",
    ),
    path(
        "subsidies/<uuid:application_id>/objections/<uuid:objection_id>/handling/",
        views.notice_objection_handle,
        name="notice_objection_handle",
    ),
    path(
        "subsidies/evidence/<uuid:evidence_id>/",
        views.evidence_file,
        name="subsidy_evidence",
    ),
    path(
        "subsidies/enrolments/<uuid:enrolment_id>/<slug:action>/",
        views.enrolment_action,
        name="enrolment_action",
    ),
    path(
        "subsidies/<uuid:application_id>/decide/",
        views.subsidy_decide,
        name="subsidy_decide",
    ),
]
