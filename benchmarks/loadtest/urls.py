"""URLs of the load test (config.settings.loadtest): the application's, plus the bare view."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

BARE_BODY = b"ok"


def bare(request: HttpRequest) -> HttpResponse:
    """A constant answer: no database, no session, no template. Only the middleware runs."""
    return HttpResponse(BARE_BODY, content_type="text/plain")


urlpatterns = [
    path("_bare/", bare, name="loadtest_bare"),
    path("", include("config.urls")),
]
