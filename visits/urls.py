from django.urls import path

from . import views

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
]
