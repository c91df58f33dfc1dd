from django.urls import path

from . import views

app_name = "reminders"

# Mounted at /visits/reminders/ (the address from when reminders lived in visits).
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read/", views.mark_read, name="read"),
]
