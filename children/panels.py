"""The child file's part of pages it does not own, registered at start-up
(accounts.extensions): the transfers waiting for the person's answer on their first page."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import selectors


def home_transfers(request: HttpRequest) -> list[dict]:
    count = selectors.transfers_to_answer(user=request.user).count()
    if not count:
        return []
    text = ngettext(
        "%(n)s transfer of a child's file waits for your answer.",
        "%(n)s transfers of children's files wait for your answer.",
        count,
    ) % {"n": count}
    return [{"text": text, "url": reverse("children:transfers"), "link": _("Answer")}]
