"""A reminder's detail in the reader's language.

The sweep writes ``Notification.detail`` in SQL, in Chinese (the default language: digests and
text messages go out in Chinese). Pages read it back through shown_detail(), which recognises the
sweep's few sentences and says them again in the active language; anything else shows as stored.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

_DATE = r"(\d{4}-\d{2}-\d{2})"
# (the sweep's Chinese sentence, what it says) — each pattern one sentence of reminders.services.
_SENTENCES = (
    (re.compile(_DATE + r" 年满18周岁"), gettext_lazy("Turns 18 on %(a)s")),
    (
        re.compile(r"红色评估（" + _DATE + r"），请会同评估"),
        gettext_lazy("Red assessment (%(a)s): assess together"),
    ),
    (re.compile(r"强制报告：(.*)"), gettext_lazy("Mandatory report: %(a)s")),
    (
        re.compile(r"人身安全保护令申请于" + _DATE),
        gettext_lazy("Personal safety protection order applied for on %(a)s"),
    ),
    (
        re.compile(r"告诫书" + _DATE + r"送达后入户走访"),
        gettext_lazy("Home visit after the warning letter of %(a)s"),
    ),
    (re.compile(r"转移申请待处理"), gettext_lazy("Transfer request waiting")),
    (re.compile(r"转介至(.*)逾期未答复"), gettext_lazy("Not answered in time by %(a)s")),
    (
        re.compile(r"年度抽查发现的问题待整改"),
        gettext_lazy("A correction asked by the yearly spot check of files"),
    ),
    (
        re.compile(r"每年至少参加一次培训"),
        gettext_lazy("Take part in a training at least once a year"),
    ),
    (
        re.compile(r"困境儿童季度核查（截至" + _DATE + r"）"),
        gettext_lazy("Quarterly verification of children in difficulty, quarter ending %(a)s"),
    ),
    (
        re.compile(r"转移申请(\d+)天未处理"),
        gettext_lazy("Transfer request unanswered for %(a)s days"),
    ),
    (
        re.compile(r"父母被羁押，请于(\d{4}-\d{2}-\d{2} \d{2}:\d{2})前核查子女情况"),
        gettext_lazy("A parent was detained: check on the children by %(a)s"),
    ),
    (
        re.compile(r"父母被羁押，子女(\d+)小时内未获核查"),
        gettext_lazy("A parent was detained: the children were not checked within %(a)s hours"),
    ),
    (
        re.compile(r"迁入前享受的(.*)已停发，请重新申请"),
        gettext_lazy("%(a)s received before moving in has stopped: apply again"),
    ),
)


def shown_detail(detail: str) -> str:
    if not detail or translation.get_language() == settings.LANGUAGE_CODE:
        return detail
    for pattern, sentence in _SENTENCES:
        found = pattern.fullmatch(detail)
        if found:
            return sentence % {"a": found.group(1)} if found.groups() else str(sentence)
    return detail
