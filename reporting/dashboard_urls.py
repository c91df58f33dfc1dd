from django.urls import path

from . import dashboard_views, export_views, performance_views

app_name = "dashboard"

urlpatterns = [
    path("", dashboard_views.dashboard, name="home"),
    path("<str:code>/directors/", performance_views.directors, name="directors"),
    path("<str:code>/exports/", export_views.exports_page, name="exports"),
    path("<str:code>/exports/<str:kind>.xlsx", export_views.export_xlsx, name="export"),
    path("<str:code>/progress-report/", export_views.progress_report, name="progress_report"),
    path("<str:code>/handover.jsonl", export_views.handover, name="handover"),
    path("<str:code>/", dashboard_views.dashboard, name="area"),
]
