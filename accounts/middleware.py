"""Audit of refusals (等保 三级 安全审计): every authorization refusal (403) and every request with
a bad API token (401) is recorded, with the client's address kept for audit records written by code
that has no request at hand."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .services import CURRENT_IP, audit_refusal, client_ip


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = CURRENT_IP.set(client_ip(request))
        try:
            response = self.get_response(request)
            if response.status_code == 403 or (
                response.status_code == 401 and "HTTP_AUTHORIZATION" in request.META
            ):
                user = getattr(request, "user", None)
                known = user if user is not None and user.is_authenticated else None
                audit_refusal(
                    user=known,
                    request=request,
                    reason="forbidden" if response.status_code == 403 else "bad_token",
                    object_type="request",
                    object_id=request.path[:64],
                    area_code=(known.area_id or "") if known is not None else "",
                    detail={"method": request.method, "status": response.status_code},
                )
            return response
        finally:
            CURRENT_IP.reset(token)
