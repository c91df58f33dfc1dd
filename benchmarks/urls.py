"""URLs of the page benchmarks: the application's, plus the bare view they are measured against.

``/_bare/session/`` runs what every signed-in page runs — the whole middleware, the session and
the user (login_required) — and answers a constant: no query of its own, no template. A page's
time over this one's is what the page itself costs (issue 20: the worklist ≤ 3×)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_required
def bare_session(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("_bare/session/", bare_session, name="bench_bare_session"),
    path("", include("config.urls")),
]
