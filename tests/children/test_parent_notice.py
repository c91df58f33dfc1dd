"""Telling the parents when the caregiver can no longer care (domain §5): a text message through
the configured provider (local fake servers that check the signature), or — with no channel, a
number that cannot be texted, or a text that failed for good — 待电话通知, a phone call the
director ticks done on the agreement page. Nothing is shown as sent unless a provider took it."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from accounts.models import Delivery
from children.models import ParentNotice
from children.parent_notices import NO_MOBILE_NOTE, agreement_text_parents
from children.services import (
    care_agreement_caregiver_unable,
    family_member_add,
)
from core.messaging import SendError

from ..core.fake_providers import aliyun_sms, tencent_sms, use_aliyun, use_tencent
from ..factories import make_agreement, make_child

pytestmark = pytest.mark.django_db

FATHER, MOTHER = "13812345678", "13700000002"


@pytest.fixture
def flagged(director_a):
    """An agreement whose caregiver can no longer care (replacement due 2026-12-07); the father's
    and the mother's mobiles, and a landline, which no text reaches."""
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        child = make_child(director_a, name="查小雨", gender="female", birth_date=date(2016, 3, 8))
        for relation, name, phone in (("father", "查建国", FATHER), ("mother", "王芳", MOTHER)):
            family_member_add(
                user=director_a,
                child=child,
                relation=relation,
                name=name,
                status="working_away",
                has_guardian_capacity=True,
                away_since=date(2025, 1, 1),
                phone=phone,
            )
        agreement = make_agreement(director_a, child, parent_phone="0563-5012345")
        return care_agreement_caregiver_unable(user=director_a, agreement=agreement, reason="住院")


def notices(agreement) -> dict[str, ParentNotice]:
    return {n.phone: n for n in agreement.parent_notices.select_related("delivery")}


def test_no_channel_means_a_phone_call_pending_never_a_text_sent(flagged, settings):
    assert settings.SMS_BACKEND == ""
    assert agreement_text_parents(flagged.pk) == 0
    assert agreement_text_parents(flagged.pk) == 0  # the outbox delivers at least once
    found = notices(flagged)
    assert set(found) == {FATHER, MOTHER}  # the landline is no mobile: not listed to text
    for notice in found.values():
        assert (notice.status, notice.channel, notice.automatic) == ("pending_call", "phone", True)
        assert notice.delivery is None and notice.notified_by is None
    assert not Delivery.objects.exists()


def test_the_logging_backend_does_not_count_as_telling_the_parents(flagged, settings):
    settings.SMS_BACKEND = "logging"
    agreement_text_parents(flagged.pk)
    assert {n.status for n in notices(flagged).values()} == {"pending_call"}


def test_no_mobile_on_file_still_asks_for_a_call(director_a, settings):
    with time_machine.travel("2026-11-23 10:00 +0800", tick=False):
        child = make_child(director_a, name="查小雨", birth_date=date(2016, 3, 8))
        agreement = make_agreement(director_a, child, parent_phone="0563-5012345")
        care_agreement_caregiver_unable(user=director_a, agreement=agreement, reason="住院")
    agreement_text_parents(agreement.pk)
    notice = agreement.parent_notices.get()
    assert (notice.status, notice.phone, notice.note) == ("pending_call", "", NO_MOBILE_NOTE)


def test_aliyun_texts_each_parent_once_with_the_template(flagged, settings):
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        assert agreement_text_parents(flagged.pk) == 2
        assert agreement_text_parents(flagged.pk) == 0  # run again: nothing sent twice
    assert fake.problems() == []
    assert sorted(s["phone"] for s in fake.sent) == [MOTHER, FATHER]
    assert {s["template"] for s in fake.sent} == {"SMS_456"}
    assert fake.sent[0]["params"] == {"child": "查小雨", "caregiver": "查德明", "due": "2026-12-07"}
    for notice in notices(flagged).values():
        assert (notice.status, notice.channel) == ("texted", "sms")
        assert notice.delivery.status == "sent" and notice.delivery.attempts == 1
        assert notice.delivery.provider == "aliyun" and notice.delivery.provider_id.endswith("^0")


def test_a_number_the_provider_refuses_for_good_becomes_a_call(
    flagged, settings, client_for, director_a
):
    with aliyun_sms() as fake:
        use_aliyun(settings, fake)
        fake.refuse[MOTHER] = ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        assert agreement_text_parents(flagged.pk) == 1  # permanent: no retry raised
    found = notices(flagged)
    assert found[FATHER].status == "texted"
    mother = found[MOTHER]
    assert (mother.status, mother.channel) == ("pending_call", "phone")
    assert (mother.delivery.status, mother.delivery.error_code) == (
        "failed",
        "isv.MOBILE_NUMBER_ILLEGAL",
    )
    page = client_for(director_a).get(f"/children/agreements/{flagged.pk}/").content.decode()
    assert "isv.MOBILE_NUMBER_ILLEGAL" in page and "非法手机号" in page
    # Only the notice waiting for a call has the tick.
    assert f"/children/agreements/notices/{mother.pk}/called/" in page
    assert f"/children/agreements/notices/{found[FATHER].pk}/called/" not in page


def test_tencent_rate_limit_is_retried_and_counted_then_sent(flagged, settings):
    with tencent_sms() as fake:
        use_tencent(settings, fake)
        fake.refuse[FATHER] = ("LimitExceeded.PhoneNumberThirtySecondLimit", "30秒内超限")
        with pytest.raises(SendError):  # the task retries it
            agreement_text_parents(flagged.pk)
        father = notices(flagged)[FATHER]
        assert father.status == "texting"
        assert (father.delivery.status, father.delivery.attempts) == ("retrying", 1)
        assert father.delivery.error_code == "LimitExceeded.PhoneNumberThirtySecondLimit"
        del fake.refuse[FATHER]
        assert agreement_text_parents(flagged.pk) == 1  # the retry: only the father again
    assert fake.problems() == []
    assert [s["phone"] for s in fake.sent] == [MOTHER, FATHER]
    assert fake.sent[0]["params"] == ["查小雨", "查德明", "2026-12-07"]  # {1} {2} {3}
    father = notices(flagged)[FATHER]
    assert (father.status, father.delivery.status, father.delivery.attempts) == (
        "texted",
        "sent",
        2,
    )
    assert [a["code"] for a in father.delivery.attempt_log] == [
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "",
    ]


def test_the_last_attempt_failing_turns_to_a_call(flagged, settings):
    with tencent_sms() as fake:
        use_tencent(settings, fake)
        fake.refuse[FATHER] = fake.refuse[MOTHER] = (
            "LimitExceeded.PhoneNumberThirtySecondLimit",
            "",
        )
        with pytest.raises(SendError):
            agreement_text_parents(flagged.pk)
        agreement_text_parents(flagged.pk, final=True)
    for notice in notices(flagged).values():
        assert notice.status == "pending_call"
        assert (notice.delivery.status, notice.delivery.attempts) == ("failed", 2)


def test_director_ticks_the_call_done(flagged, client_for, director_a, director_b, viewer):
    agreement_text_parents(flagged.pk)
    father = notices(flagged)[FATHER]
    url = f"/children/agreements/notices/{father.pk}/called/"
    page = client_for(director_a).get(f"/children/agreements/{flagged.pk}/").content.decode()
    assert url in page and f'id="notice-{father.pk}"' in page
    assert client_for(director_b).post(url, {"note": "x"}).status_code == 404  # another village
    assert client_for(viewer).post(url, {"note": "x"}).status_code == 403
    response = client_for(director_a).post(url, {"note": "父亲已知晓，周末回家"})
    assert response.status_code == 302 and response.url == f"/children/agreements/{flagged.pk}/"
    father.refresh_from_db()
    assert (father.status, father.channel, father.notified_by) == ("done", "phone", director_a)
    assert father.note == "父亲已知晓，周末回家"
    # A second tick changes nothing and says so.
    response = client_for(director_a).post(url, {"note": "again"}, follow=True)
    assert "该通知已处理" in response.content.decode()
    father.refresh_from_db()
    assert father.note == "父亲已知晓，周末回家"
    page = client_for(director_a).get(f"/children/agreements/{flagged.pk}/").content.decode()
    assert url not in page
