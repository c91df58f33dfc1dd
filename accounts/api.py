"""API: the current user and areas."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from . import selectors

router = Router(tags=["accounts"])


class AreaOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None


class AreaBrief(Schema):
    code: str
    name: str
    level: str


class MeOut(Schema):
    username: str
    name: str
    role: str
    area: AreaBrief | None


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict:
    user = request.auth
    area = user.area
    return {
        "username": user.username,
        "name": user.display_name,
        "role": user.role,
        "area": {"code": area.code, "name": area.name, "level": area.level} if area else None,
    }


@router.get("/areas/{code}", response=AreaOut)
def area_detail(request: HttpRequest, code: str) -> dict:
    area = selectors.area_for_user_or_404(user=request.auth, code=code)
    return {
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "parent_code": area.parent_code,
    }
