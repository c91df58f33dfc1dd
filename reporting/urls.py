from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.report_queue, name="queue"),
    path("new/", views.report_create, name="create"),
    path("new/<uuid:child_id>/", views.report_create, name="create_for_child"),
    path("<uuid:report_id>/", views.report_detail, name="detail"),
    path("<uuid:report_id>/child/new/", views.report_child_create, name="create_child"),
    path("<uuid:report_id>/move/", views.report_move, name="move"),
    path("<uuid:report_id>/attach/", views.report_attach, name="attach"),
    path(
        "<uuid:report_id>/attachments/<uuid:attachment_id>/",
        views.report_attachment,
        name="attachment",
    ),
    path("<uuid:report_id>/interventions/", views.report_intervene, name="intervene"),
]
