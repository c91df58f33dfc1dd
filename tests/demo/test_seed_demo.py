"""seed_demo: the demo county, its staff and their published password and second-factor secret,
and the network's demo (issue 21); idempotent, and refused under production settings."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import rules
from accounts.models import Area, AuditRecord, Organisation, Role, User
from children.models import DropoutList, DropoutRow, ReturnToSchoolCase, ReturnToSchoolContact
from dashboards.models import SpotCheck, SpotCheckCorrection, SpotCheckItem
from demo.accounts import DEMO_AREAS_CSV, DEMO_PASSWORD, DEMO_TOTP_KEY
from demo.network import CORRECTION_DAYS, SPOT_CHECK_SEED
from reporting.models import MandatoryReport, Referral, ReferralEvent, Source
from visits import verification_rules
from visits.models import QuarterlyVerification, VerificationItem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_session_cache")]

NOW = "2026-11-24 09:00:00 +0800"


def test_seed_demo_is_idempotent_and_complete(client):
    call_command("seed_demo")
    counts = (Area.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert (Area.objects.count(), User.objects.count()) == counts
    for village in Area.objects.filter(level="village"):
        assert village.staff.filter(role=Role.DIRECTOR).exists(), village
    for township in Area.objects.filter(level="township"):
        assert township.staff.filter(role=Role.SUPERVISOR).exists(), township
    for role in Role.values:
        assert User.objects.filter(role=role).exists(), role
    response = client.post("/accounts/login/", {"username": "zr_chaji", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_seed_demo_refuses_production_settings(settings):
    settings.SETTINGS_MODULE = "config.settings.production"
    with pytest.raises(CommandError, match="published demo password"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_demo_areas_fixture_is_a_real_county():
    lines = DEMO_AREAS_CSV.read_text(encoding="utf-8").splitlines()[1:]
    levels = [rules.parse_level(line.split(",")[0]) for line in lines]
    assert levels.count("county") == 1
    assert levels.count("township") >= 3
    assert levels.count("village") >= 12


def test_demo_users_sign_in_with_the_published_secret(client):
    call_command("seed_demo")
    assert TOTPDevice.objects.filter(user__username="dd_taohuatan", key=DEMO_TOTP_KEY).exists()
    assert not TOTPDevice.objects.filter(user__username="zr_chaji").exists()
    for username in ("admin", "mz_jingxian", "aq_province", "sj_province"):
        assert TOTPDevice.objects.filter(user__username=username, confirmed=True).exists()
    with time_machine.travel(NOW, tick=False):
        client.post("/accounts/login/", {"username": "dd_taohuatan", "password": DEMO_PASSWORD})
        totp = TOTP(bytes.fromhex(DEMO_TOTP_KEY))
        totp.time = timezone.now().timestamp()
        response = client.post("/accounts/two-factor/", {"token": f"{totp.token():06d}"})
        assert response.status_code == 302
        assert client.get("/children/").status_code == 200


def _network_counts() -> dict[str, int]:
    models = [
        Organisation,
        Referral,
        ReferralEvent,
        MandatoryReport,
        QuarterlyVerification,
        VerificationItem,
        SpotCheck,
        SpotCheckItem,
        SpotCheckCorrection,
        DropoutList,
        DropoutRow,
        ReturnToSchoolCase,
        ReturnToSchoolContact,
        AuditRecord,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_fills_the_network_pages(client_for):
    """Issue 21's demo (demo/network.py): the registry, referrals answered and waiting, the
    12355 and police reports, 查济村's verifications, the county's spot check, the out-of-school
    list and its cases; a second run adds nothing; each page has something for its demo user."""
    call_command("seed_demo")
    counts = _network_counts()
    call_command("seed_demo")
    assert _network_counts() == counts
    today = timezone.localdate()
    users = {u.username: u for u in User.objects.all()}

    # 1. The registry: the partner's organisation described, and three more of the county.
    registry = {o.name: o for o in users["mz_jingxian"].area.organisations.all()}
    partner_org = users["jg_yangguang"].organisation
    assert partner_org.name == "泾县阳光社会工作服务中心"
    assert partner_org.kind == "social_work" and partner_org.services and partner_org.phone
    assert {o.kind for o in registry.values()} >= {"social_work", "protection_agency", "hospital"}
    assert len(registry) >= 4

    # 2. Referrals from 桃花潭镇: accepted, waiting and service given by the partner.
    referrals = Referral.objects.filter(child__village__code__startswith="341823103")
    assert {"accepted", "sent", "service_given"} <= set(
        referrals.filter(organisation=partner_org).values_list("status", flat=True)
    )
    assert referrals.filter(report__isnull=False).exists()
    waiting = referrals.filter(organisation=partner_org, status="sent").first()

    # 3. Intake: the line's report with its number, the police's with a detained parent.
    hotline = MandatoryReport.objects.get(reporter=users["rx_jingxian"])
    assert hotline.source == Source.HOTLINE and hotline.incident_number.startswith("12355-")
    police = MandatoryReport.objects.get(reporter=users["jc_taohuatan"])
    assert police.source == Source.POLICE and police.parent_detained
    assert police.area_id == users["zr_chaji"].area_id and police.detention_checked_at is None

    # 4. The verification: last quarter submitted, this one a draft with some children confirmed.
    year, quarter = verification_rules.quarter_of(today)
    last_year, last_quarter = verification_rules.previous_quarter(year, quarter)
    village = users["zr_chaji"].area_id
    current = QuarterlyVerification.objects.get(village=village, year=year, quarter=quarter)
    assert current.status == "draft" and current.items.exists()
    previous = QuarterlyVerification.objects.get(
        village=village, year=last_year, quarter=last_quarter
    )
    assert previous.status == "submitted"

    # 5. The spot check of the year, with a fixed seed, findings and one correction due.
    check = SpotCheck.objects.get(area=users["mz_jingxian"].area, year=today.year)
    assert check.seed == SPOT_CHECK_SEED and check.drawn_by == users["mz_jingxian"]
    assert check.items.filter(checked_at__isnull=False).count() >= 3
    (correction,) = [c for item in check.items.all() for c in item.corrections.all()]
    assert correction.due_on == today + timedelta(days=CORRECTION_DAYS)
    # The seed's draw on these files (new ids each run): a file of 桃花潭镇, stratified by
    # township; 查济村's when one is drawn.
    assert correction.item.village_id.startswith("341823103")

    # 6. The out-of-school list: by ID number, by name and birth date, one not matched; cases.
    dropout_list = DropoutList.objects.get(imported_by=users["mz_jingxian"])
    rows = list(dropout_list.rows.all())
    matched = [r for r in rows if r.result == "matched"]
    assert any(r.id_number_hash for r in matched) and any(not r.id_number_hash for r in matched)
    assert [r.result for r in rows if r.result != "matched"] == ["no_file"]
    cases = ReturnToSchoolCase.objects.filter(source_list=dropout_list, status="open")
    assert cases.count() == len(matched)
    followed = cases.get(contacts__isnull=False)
    assert followed.plan and followed.child.village_id == village

    pages = {
        "mz_jingxian": [
            "/organisations/",
            "/visits/verification/",
            "/dashboard/spot-checks/",
            f"/dashboard/spot-checks/{check.pk}/",
            f"/dashboard/spot-checks/{check.pk}/summary/",
            "/children/dropouts/",
            f"/children/dropouts/{dropout_list.pk}/",
            "/children/dropouts/follow-up/",
            "/children/return-to-school/",
        ],
        "zr_chaji": [
            f"/visits/verification/{village}/{year}/{quarter}/",
            f"/visits/verification/{village}/{last_year}/{last_quarter}/",
            f"/reports/{police.pk}/",
            "/reports/referrals/",
            f"/children/return-to-school/{followed.pk}/",
            "/organisations/",
        ],
        "dd_taohuatan": [
            "/visits/verification/",
            f"/reports/{hotline.pk}/",
            "/reports/referrals/",
            "/dashboard/spot-checks/corrections/",
            "/children/dropouts/follow-up/",
            "/children/return-to-school/",
        ],
        "jg_yangguang": ["/reports/referrals/", f"/reports/referrals/{waiting.pk}/"],
        "rx_jingxian": [f"/reports/{hotline.pk}/"],
        "jc_taohuatan": [f"/reports/{police.pk}/"],
    }
    for username, urls in pages.items():
        browser = client_for(users[username])
        for url in urls:
            assert browser.get(url).status_code == 200, (username, url)
    # Something on them: the registry's organisations, the partner's referral to answer, the
    # director's check to make, the case's plan.
    assert "泾县人民医院" in client_for(users["zr_chaji"]).get("/organisations/").text
    assert waiting.child.name in client_for(users["jg_yangguang"]).get("/reports/referrals/").text
    detention = client_for(users["zr_chaji"]).get(f"/reports/{police.pk}/").text
    assert "汪小虎" in detention and f"/reports/{police.pk}/detention-check/" in detention
    unmatched = client_for(users["dd_taohuatan"]).get("/children/dropouts/follow-up/").text
    assert "孙浩宇" in unmatched
    corrections = client_for(users["dd_taohuatan"]).get("/dashboard/spot-checks/corrections/")
    assert correction.description in corrections.text
    assert followed.child.name in (
        client_for(users["mz_jingxian"]).get("/children/return-to-school/").text
    )
