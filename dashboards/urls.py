from django.urls import path

from . import export_views, performance_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("<str:code>/directors/", performance_views.directors, name="directors"),
    path("<str:code>/exports/", export_views.exports_page, name="exports"),
    path("<str:code>/exports/<str:kind>.xlsx", export_views.export_xlsx, name="export"),
    path("<str:code>/progress-report/", export_views.progress_report, name="progress_report"),
    path("<str:code>/handover.jsonl", export_views.handover, name="handover"),
    path("<str:code>/", views.dashboard, name="area"),
]
