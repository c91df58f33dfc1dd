"""The JSON API (django-ninja), mounted at /api/v1/. Each app contributes a router."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI

from accounts.api import router as accounts_router
from accounts.auth import ActiveSessionAuth, BearerTokenAuth

api = NinjaAPI(
    title="Shouwang 守望 API",
    version="1",
    description="Case management for left-behind children and children in difficulty.",
    auth=[BearerTokenAuth(), ActiveSessionAuth()],
    urls_namespace="api",
)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found"}, status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


api.add_router("/", accounts_router)
