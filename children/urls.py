from django.urls import path

from . import views

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
    path("<uuid:child_id>/family/new/", views.family_member_edit, name="family_add"),
    path("<uuid:child_id>/family/<uuid:member_id>/", views.family_member_edit, name="family_edit"),
    path("<uuid:child_id>/assess/", views.assessment_create, name="assess"),
]
