"""The JSON API (django-ninja), mounted at /api/v1/. Each app contributes a router."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from accounts.api import router as accounts_router
from accounts.auth import ActiveSessionAuth, BearerTokenAuth
from children.api import router as children_router
from children.services import Conflict
from reporting.api import router as reporting_router
from visits.api import router as visits_router


class ReadableJSONRenderer(JSONRenderer):
    # Chinese as characters, not \u escapes: easier for the people who read these answers.
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ReadableJSONRenderer(),
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


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """422 naming each bad field, in django-ninja's shape."""
    if hasattr(exc, "error_dict"):
        detail = [
            {"loc": ["body", field], "msg": str(message), "type": "value_error"}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        detail = [{"loc": ["body"], "msg": str(m), "type": "value_error"} for m in exc.messages]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "field": exc.field}, status=409)


api.add_router("/", accounts_router)
api.add_router("/", children_router)
api.add_router("/", visits_router)
api.add_router("/", reporting_router)
