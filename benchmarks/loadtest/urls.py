"""URLs of the load test (config.settings.loadtest) and of the page benchmarks
(``@pytest.mark.urls``): the application's, plus the bare views they are measured against."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

BARE_BODY = b"ok"


def bare(request: HttpRequest) -> HttpResponse:
    """A constant answer: no database, no session, no template. Only the middleware runs."""
    return HttpResponse(BARE_BODY, content_type="text/plain")


@login_required
def bare_session(request: HttpRequest) -> HttpResponse:
    """What every signed-in page runs — the whole middleware, the session and the user — and a
    constant answer: no query of its own, no template. A page's time over this one's is what the
    page itself costs (issue 20: the worklist ≤ 3×)."""
    return HttpResponse(BARE_BODY, content_type="text/plain")


urlpatterns = [
    path("_bare/", bare, name="loadtest_bare"),
    path("_bare/session/", bare_session, name="loadtest_bare_session"),
    path("", include("config.urls")),
]
