"""What every API router shares: the bounded page parameters and slicing a page."""

from __future__ import annotations

from django.db.models import QuerySet
from ninja import Field, Schema


class PageParams(Schema):
    # Bounded so the offset stays a PostgreSQL bigint: a larger page would be a 500, not a 422.
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def page_of(queryset: QuerySet, params: PageParams) -> tuple[list, int]:
    """The rows of the requested page and the total count."""
    start = (params.page - 1) * params.page_size
    return list(queryset[start : start + params.page_size]), queryset.count()


def attributes(obj: object, names: str) -> dict:
    """The attributes ``names`` (separated by spaces) of ``obj`` as they are: the plain part of an
    answer whose other fields are converted or masked."""
    return {name: getattr(obj, name) for name in names.split()}
