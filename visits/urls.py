from django.urls import path

from . import offline_views, views

app_name = "visits"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("new/<uuid:child_id>/", views.visit_create, name="create"),
    path("<uuid:visit_id>/", views.visit_detail, name="detail"),
    path("<uuid:visit_id>/edit/", views.visit_edit, name="edit"),
    path("<uuid:visit_id>/amendments/", views.visit_amend, name="amend"),
    path("photos/<uuid:photo_id>/", views.photo, name="photo"),
    path("township/", views.township, name="township"),
    path("review/", views.review_queue, name="review"),
    path("patrol/", views.patrol, name="patrol"),
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
]
