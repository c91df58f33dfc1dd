from django.urls import path

from . import agreement_views, lifecycle_views, views

app_name = "children"

urlpatterns = [
    path("", views.child_list, name="list"),
    path("new/", views.child_create, name="create"),
    path("export.xlsx", views.child_export, name="export"),
    path("import/", views.child_import, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("<uuid:child_id>/", views.child_detail, name="detail"),
    path("<uuid:child_id>/edit/<slug:section>/", views.child_edit, name="edit"),
    path("<uuid:child_id>/close/", views.child_close, name="close"),
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
    path("<uuid:child_id>/family/new/", views.family_member_edit, name="family_add"),
    path("<uuid:child_id>/family/<uuid:member_id>/", views.family_member_edit, name="family_edit"),
    path(
        "<uuid:child_id>/family/<uuid:member_id>/evidence/",
        views.family_member_evidence,
        name="family_evidence",
    ),
    path("<uuid:child_id>/assess/", views.assessment_create, name="assess"),
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
]
