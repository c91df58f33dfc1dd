"""The JSON API (django-ninja), mounted at /api/v1/. Each app contributes a router."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, RawPostDataException
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from accounts.api import router as accounts_router
from accounts.auth import ActiveSessionAuth, BearerTokenAuth
from benefits.api import router as benefits_router
from children.api import router as children_router
from children.lifecycle_api import router as lifecycle_router
from core.errors import Conflict
from dashboards.api import router as dashboards_router
from reminders.api import router as reminders_router
from reporting.api import router as reporting_router
from visits.api import router as visits_router
from visits.verification_api import router as verification_router

from .security import ApiAnonymousThrottle, ApiAuthenticatedThrottle


class ReadableJSONRenderer(JSONRenderer):
    # Chinese as characters, not \u escapes: easier for the people who read these answers.
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ReadableJSONRenderer(),
    title="Shouwang 守望 API",
    version="1",
    description="Case management for left-behind children and children in difficulty.",
    auth=[BearerTokenAuth(), ActiveSessionAuth()],
    # Rates come from settings (API_RATE_LIMIT_*); past them the answer is 429 with Retry-After.
    throttle=[ApiAnonymousThrottle(), ApiAuthenticatedThrottle()],
    urls_namespace="api",
)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found"}, status=404)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """PostgreSQL restarting or unreachable: 503 with Retry-After, so a client retries the write
    (nothing was stored: the transaction did not commit) rather than giving up on a 500."""
    detail = "数据库暂时不可用，请稍后重试 / database unavailable, retry"
    response = api.create_response(request, {"detail": detail}, status=503)
    response["Retry-After"] = "5"
    return response


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


def _nul_locations(request: HttpRequest) -> list[list[str]]:
    """Where the request carries a NUL character (PostgreSQL text cannot hold one)."""
    import json

    found = [["path"]] if "\x00" in request.path else []
    found += [
        ["query", key] for key, values in request.GET.lists() if "\x00" in key + "".join(values)
    ]
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RawPostDataException):  # not JSON, or a multipart stream already read
        body = None
    if isinstance(body, dict):
        # json.dumps writes a NUL as the escape \u0000.
        found += [
            ["body", str(key)]
            for key, value in body.items()
            if "\\u0000" in json.dumps([key, value])
        ]
    return found


@api.exception_handler(DataError)
def data_refused(request: HttpRequest, exc: DataError) -> HttpResponse:
    """A value the database cannot store (a NUL character, a number beyond its range) is the
    client's mistake, not a server error: one answer for every field of every operation."""
    detail = [
        {"loc": loc, "msg": "不能包含空字符（NUL）/ must not contain NUL", "type": "value_error"}
        for loc in _nul_locations(request)
    ]
    if not detail:
        where = "query" if request.method == "GET" else "body"
        detail = [
            {"loc": [where], "msg": "数值超出范围 / value out of range", "type": "value_error"}
        ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, exc.as_json(), status=409)


api.add_router("/", accounts_router)
api.add_router("/", children_router)
api.add_router("/", lifecycle_router)
api.add_router("/", "children.dropout_api.router")
api.add_router("/", benefits_router)
api.add_router("/", visits_router)
api.add_router("/", verification_router)
api.add_router("/", reporting_router)
api.add_router("/", "reporting.referral_api.router")  # organisations and referrals
api.add_router("/", reminders_router)
api.add_router("/", dashboards_router)
api.add_router("/", "dashboards.spot_check_api.router")  # the yearly spot check of files
