"""Demo data of the child-protection network (issue 21, domain §10) for seed_demo, all in 泾县 and
all through the apps' services: the registry of organisations, referrals from 桃花潭镇 answered by
the partner, reports of the 12355 line and the police (a detained parent's children to check),
查济村's quarterly verification, the county's spot check of the year, and the education
department's out-of-school list with its return-to-school cases. Dates follow today. Each part is
guarded on its own: a second run creates nothing."""

from __future__ import annotations

from datetime import date, timedelta
from io import BytesIO

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook

from accounts import organisations as registry
from accounts.models import Area, Organisation, OrganisationKind, User
from children import dropouts, idcard
from children.models import Child, DropoutList, ReturnToSchoolCase
from children.rules import age_on
from core import crypto
from dashboards import spot_check_rules, spot_checks
from dashboards.models import SpotCheck, SpotCheckItem
from reporting import intake, referrals
from reporting.models import MandatoryReport, Referral, Source
from visits import verification_rules, verification_selectors, verification_services

from .accounts import COUNTY_CODE, DEMO_ORGANISATIONS

TOWNSHIP_CODE = "341823103000"  # 桃花潭镇
VILLAGE_CODE = "341823103201"  # 查济村, zr_chaji's
OTHER_VILLAGES = ("341823103202", "341823103203", "341823103204")
PARTNER_ORGANISATION = DEMO_ORGANISATIONS["jg_yangguang"]
PROTECTION_AGENCY = "泾县未成年人救助保护中心"
HOSPITAL = "泾县人民医院"
LEGAL_AID = "泾县法律援助中心"
# A fixed seed: the demo's draw is the same whenever it runs on the same files.
SPOT_CHECK_SEED = 20260021
SPOT_CHECK_SIZE = 20
CORRECTION_DAYS = 20

# (name, kind, services, contact person, phone, address)
ORGANISATIONS = [
    (
        PARTNER_ORGANISATION,
        OrganisationKind.SOCIAL_WORK,
        "心理疏导、家庭教育指导、课业辅导、留守儿童关爱小组活动",
        "孙婷",
        "0563-5128801",
        "泾县泾川镇城东社区幸福路18号",
    ),
    (
        PROTECTION_AGENCY,
        OrganisationKind.PROTECTION_AGENCY,
        "临时监护、紧急庇护、生活照料、监护能力评估",
        "何建华",
        "0563-5021355",
        "泾县泾川镇园林路66号",
    ),
    (
        HOSPITAL,
        OrganisationKind.HOSPITAL,
        "儿科及心理门诊、伤情检查、重病儿童医疗救助对接",
        "儿科 刘敏",
        "0563-5022120",
        "泾县泾川镇北门路9号",
    ),
    (
        LEGAL_AID,
        OrganisationKind.OTHER,
        "未成年人法律援助、撤销监护资格诉讼代理、法治宣传进校园",
        "章律师",
        "0563-5023148",
        "泾县泾川镇人民路120号",
    ),
]


def seed(stdout=None) -> None:
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=[
                "mz_jingxian",
                "zr_chaji",
                "dd_taohuatan",
                "jg_yangguang",
                "rx_jingxian",
                "jc_taohuatan",
            ]
        ).select_related("area")
    }
    county = Area.objects.filter(code=COUNTY_CODE).first()
    if len(users) < 6 or county is None:
        return
    done = [
        _organisations(users, county),
        _intake(users),
        _referrals(users),
        _verification(users["zr_chaji"]),
        _spot_check(users, county),
        _dropouts(users),
    ]
    if stdout is not None:
        for line in filter(None, done):
            stdout.write(line + "\n")


# --- 1. The registry of organisations ---------------------------------------------------------


def _organisations(users: dict[str, User], county: Area) -> str:
    officer = users["mz_jingxian"]
    made = 0
    with transaction.atomic():
        for name, kind, services, contact, phone, address in ORGANISATIONS:
            values = {
                "kind": kind,
                "services": services,
                "contact_name": contact,
                "phone": phone,
                "address": address,
            }
            found = Organisation.objects.filter(area=county, name=name).first()
            if found is None:
                registry.organisation_create(user=officer, area=county, name=name, **values)
                made += 1
            elif not found.services:
                # Registered bare when its partner's login was made (staff_add): described once.
                registry.organisation_update(user=officer, organisation=found, **values)
    return f"演示转介机构 {made} 家 / {made} demo organisations" if made else ""


# --- 2. Intake: the 12355 line and the police -------------------------------------------------


def _intake(users: dict[str, User]) -> str:
    hotline, police = users["rx_jingxian"], users["jc_taohuatan"]
    in_county = MandatoryReport.objects.filter(area__code__startswith=COUNTY_CODE[:6])
    now = timezone.now()
    today = timezone.localdate(now)
    made = 0
    with transaction.atomic():
        if not in_county.filter(source=Source.HOTLINE).exists():
            intake.report_submit(
                user=hotline,
                situation="living_alone",
                discovered_at=now - timedelta(hours=5),
                description="12355来电：邻居反映一名约8岁男孩连续三天独自在家，"
                "父母外出务工，家中无大人照看，晚上也无人做饭。",
                location="桃花潭镇万村附近",
                child_name="程小宇",
                area=Area.objects.get(code=TOWNSHIP_CODE),
                incident_number=f"12355-{today:%Y%m%d}-0017",
                source=Source.HOTLINE,
            )
            made += 1
        if not in_county.filter(source=Source.POLICE, parent_detained=True).exists():
            # The children's check (the director's, within 24 hours) is left to do.
            intake.report_submit(
                user=police,
                discovered_at=now - timedelta(hours=3),
                description="父亲汪某因涉嫌盗窃被刑事拘留，母亲常年在外务工联系不上，"
                "家中有两名未成年子女（汪小虎10岁、汪小丽7岁），目前由邻居临时照看。",
                location="桃花潭镇查济村",
                child_name="汪小虎",
                area=Area.objects.get(code=VILLAGE_CODE),
                incident_number=f"110-{today:%Y%m%d}-0031",
                parent_detained=True,
                source=Source.POLICE,
            )
            made += 1
    return f"演示来电与警情报告 {made} 份 / {made} demo intake reports" if made else ""


# --- 3. Referrals -----------------------------------------------------------------------------


def _referrals(users: dict[str, User]) -> str:
    in_township = Child.objects.filter(village__code__startswith=TOWNSHIP_CODE[:9])
    if Referral.objects.filter(child__in=in_township).exists():
        return ""
    organisations = {
        o.name: o
        for o in Organisation.objects.filter(
            area_id=COUNTY_CODE, name__in=[PARTNER_ORGANISATION, PROTECTION_AGENCY]
        )
    }
    if len(organisations) < 2:
        return ""
    reports = {
        r.situation: r
        for r in MandatoryReport.objects.filter(
            area__code__startswith=TOWNSHIP_CODE[:9], child__status="active"
        ).select_related("child")
    }
    supervisor, director, partner = users["dd_taohuatan"], users["zr_chaji"], users["jg_yangguang"]
    referred = {r.child_id for r in reports.values()}
    file_child = (
        in_township.filter(village_id=VILLAGE_CODE, status="active")
        .exclude(pk__in=referred)
        .filter(categories__contains=["left_behind"])
        .order_by("name", "birth_date")
        .first()
    )
    partner_org = organisations[PARTNER_ORGANISATION]
    # (who refers, the report or None, the child, the organisation, the reason, the answers)
    plan = []
    if report := reports.get("domestic_violence"):
        plan.append(
            (
                supervisor,
                report,
                report.child,
                partner_org,
                "孩子称被继父打伤，近来情绪低落、夜里做噩梦，需要心理疏导和家庭关系辅导。",
                [("accepted", "已接案，社工孙婷本周内入户评估，先做三次心理疏导。")],
            )
        )
    if file_child is not None:
        plan.append(
            (
                director,
                None,
                file_child,
                partner_org,
                "父母均在外务工，孩子近期情绪低落、不愿与人交流，请安排社工陪伴和课业辅导。",
                [],  # waiting for the organisation's answer
            )
        )
    if report := reports.get("guardian_incapable"):
        plan.append(
            (
                supervisor,
                report,
                report.child,
                partner_org,
                "父亲长期酗酒、不履行监护职责，已发出告诫书；请对父亲开展家庭教育指导。",
                [
                    ("accepted", "已接案，与村儿童主任约定每两周入户一次。"),
                    ("service_given", "已完成四次家庭教育指导，父亲一个月未饮酒，孩子按时上学。"),
                ],
            )
        )
    if report := reports.get("abandonment"):
        plan.append(
            (
                supervisor,
                report,
                report.child,
                organisations[PROTECTION_AGENCY],
                "祖母住院期间孩子无人照料，现暂住亲戚家；请评估是否需要临时监护。",
                [],
            )
        )
    with transaction.atomic():
        for referrer, report, child, organisation, reason, answers in plan:
            referral = referrals.referral_create(
                user=referrer, child=child, organisation=organisation, reason=reason, report=report
            )
            for status, note in answers:
                referral = referrals.referral_answer(
                    user=partner, referral=referral, status=status, note=note
                )
    return f"演示转介 {len(plan)} 件 / {len(plan)} demo referrals"


# --- 4. The quarterly verification of 查济村 --------------------------------------------------

# What the director found, child by child, in turn.
CONFIRMATIONS = [
    {"family_ok": True, "guardianship_ok": True, "schooling_ok": True, "benefits_received": "yes"},
    {
        "family_ok": False,
        "guardianship_ok": True,
        "schooling_ok": True,
        "benefits_received": "yes",
        "changes_found": "母亲本季度已返乡务农，与孩子同住；请乡镇核实后更新家庭情况。",
    },
    {
        "family_ok": True,
        "guardianship_ok": True,
        "schooling_ok": True,
        "benefits_received": "no",
        "changes_found": "本季度基本生活费未到账，已向镇民政办反映。",
    },
    {
        "family_ok": True,
        "guardianship_ok": True,
        "schooling_ok": True,
        "benefits_received": "none_due",
    },
]


def _verification(director: User) -> str:
    """The last quarter confirmed and submitted (late, as the service allows: it opens the
    quarter under way and the one before); this quarter's started, a few children confirmed."""
    today = timezone.localdate()
    village = director.area
    current = verification_rules.quarter_of(today)
    previous = verification_rules.previous_quarter(*current)
    made = []
    with transaction.atomic():
        for (year, quarter), submit in ((previous, True), (current, False)):
            verification, created = verification_services.verification_open(
                user=director, village=village, year=year, quarter=quarter
            )
            if not created:
                continue
            children = list(
                verification_selectors.checklist_children(
                    village_code=village.code,
                    as_of=verification_rules.as_of(year, quarter, today),
                )
            )
            # This quarter: the last two children still to see.
            to_confirm = children if submit else children[: max(len(children) - 2, 1)]
            for index, child in enumerate(to_confirm):
                verification_services.verification_item_confirm(
                    user=director,
                    verification=verification,
                    child=child,
                    **CONFIRMATIONS[index % len(CONFIRMATIONS)],
                )
            if submit:
                verification_services.verification_submit(user=director, verification=verification)
            made.append(f"{year}Q{quarter}")
    return f"演示季度核查 {' '.join(made)} / demo verifications {' '.join(made)}" if made else ""


# --- 5. The spot check of the year ------------------------------------------------------------

# Findings of the files checked after the one to correct: (file, visits, benefits, note).
FINDINGS = [
    ("yes", "yes", "yes", ""),
    ("yes", "yes", "na", "未享受补贴，不适用。"),
    ("yes", "yes", "yes", "走访记录与入户核实一致。"),
    ("yes", "yes", "yes", ""),
    ("yes", "yes", "na", ""),
]


def _spot_check(users: dict[str, User], county: Area) -> str:
    officer = users["mz_jingxian"]
    today = timezone.localdate()
    if SpotCheck.objects.filter(area=county, year=today.year).exists():
        return ""
    with transaction.atomic():
        check = spot_checks.spot_check_draw(
            user=officer,
            area=county,
            year=today.year,
            strata=spot_check_rules.STRATA_TOWNSHIP,
            size_value=SPOT_CHECK_SIZE,
            seed=SPOT_CHECK_SEED,
        )
        items = list(SpotCheckItem.objects.filter(spot_check=check).order_by("position"))
        # The file to correct: one of 查济村 if drawn (its director sees the correction), else
        # of 桃花潭镇 (stratified by township, the sample holds some), for dd_taohuatan.
        target = next(
            (i for i in items if i.village_id == VILLAGE_CODE),
            next((i for i in items if i.village_id.startswith(TOWNSHIP_CODE[:9])), items[0]),
        )
        spot_checks.spot_check_findings_record(
            user=officer,
            item=target,
            file_complete="no",
            visits_real="yes",
            benefits_right="yes",
            note="监护协议未上传扫描件；最近一次走访缺少照片。",
        )
        spot_checks.spot_check_correction_add(
            user=officer,
            item=target,
            description="补传监护协议扫描件，补录最近一次走访的照片。",
            due_on=today + timedelta(days=CORRECTION_DAYS),
        )
        others = [i for i in items if i.pk != target.pk][: len(FINDINGS)]
        for item, (file_complete, visits_real, benefits_right, note) in zip(
            others, FINDINGS, strict=False
        ):
            spot_checks.spot_check_findings_record(
                user=officer,
                item=item,
                file_complete=file_complete,
                visits_real=visits_real,
                benefits_right=benefits_right,
                note=note,
            )
    checked = 1 + len(others)
    return (
        f"演示抽查 {today.year} 年：抽取 {len(items)} 份，已查 {checked} 份 / "
        f"demo spot check: {len(items)} drawn, {checked} checked"
    )


# --- 6. The out-of-school list and the return-to-school cases ---------------------------------

HEADER = ["姓名", "身份证号", "出生日期", "学校", "年级", "状态", "乡镇"]
STATUSES = ["辍学", "休学", "辍学"]


def _dropouts(users: dict[str, User]) -> str:
    officer, director = users["mz_jingxian"], users["zr_chaji"]
    if DropoutList.objects.filter(area__code__startswith=COUNTY_CODE[:6]).exists():
        return ""
    today = timezone.localdate()
    pupils = (
        Child.objects.filter(status="active", school_status="in_school")
        .exclude(school_name="")
        # Not a child of a report or a referral, nor one of the same name: one story a child.
        .exclude(name__in=MandatoryReport.objects.filter(child__isnull=False).values("child__name"))
        .exclude(name__in=Referral.objects.values("child__name"))
        .order_by("name", "birth_date", "pk")
    )

    def pupil(village: str, *, with_id: bool) -> Child | None:
        for child in pupils.filter(village_id=village):
            if not 9 <= age_on(child.birth_date, today) <= 15:
                continue
            if child.id_number_encrypted if with_id else _pair_is_unique(child):
                return child
        return None

    # By ID number: a pupil of 查济村 and of two more villages; by name and birth date: one
    # more, its ID number left out of the list.
    by_id = [c for c in (pupil(v, with_id=True) for v in (VILLAGE_CODE, *OTHER_VILLAGES[:2])) if c]
    by_name = pupil(OTHER_VILLAGES[2], with_id=False)
    rows = [
        [
            c.name,
            crypto.decrypt(c.id_number_encrypted),
            c.birth_date,
            c.school_name,
            c.grade,
            status,
            "桃花潭镇",
        ]
        for c, status in zip(by_id, STATUSES, strict=False)
    ]
    if by_name is not None:
        rows.append(
            [
                by_name.name,
                "",
                by_name.birth_date,
                by_name.school_name,
                by_name.grade,
                "失学",
                "桃花潭镇",
            ]
        )
    # Not a child of the county's files: left to follow up.
    stranger_born = today - timedelta(days=13 * 365 + 40)
    rows.append(
        [
            "孙浩宇",
            _unused_id_number(stranger_born),
            stranger_born,
            "泾县桃花潭镇中心小学",
            "6年级",
            "辍学",
            "桃花潭镇",
        ]
    )
    sheet = Workbook()
    sheet.active.append(HEADER)
    for row in rows:
        sheet.active.append(row)
    upload = BytesIO()
    sheet.save(upload)
    upload.seek(0)
    term = "春季" if today.month < 7 else "秋季"
    with transaction.atomic():
        report = dropouts.dropout_list_import(
            user=officer,
            source=upload,
            source_note=f"泾县教育局 {today.year}年{term}学期控辍保学名单",
            file_name=f"控辍保学名单-{today:%Y%m%d}.xlsx",
            origin="seed_demo",
        )
        if not report.ok:
            raise RuntimeError("; ".join(str(e) for e in report.errors))
        saved = report.dropout_list
        # 查济村's director goes to see the family and writes the plan.
        case = (
            ReturnToSchoolCase.objects.filter(source_list=saved, child__village_id=VILLAGE_CODE)
            .select_related("child")
            .first()
        )
        if case is not None:
            dropouts.return_case_contact_add(
                user=director,
                case=case,
                contacted_on=today - timedelta(days=2),
                with_whom="祖母",
                channel="home_visit",
                note="孩子说学习跟不上、不想去学校，祖母劝不动；已约班主任下周一起家访。",
            )
            dropouts.return_case_plan_set(
                user=director,
                case=case,
                plan="1. 班主任和村儿童主任每周家访一次；2. 与在外务工的父母视频沟通，"
                "请父亲月底回家一趟；3. 学校安排课后辅导，争取两周内返校。",
            )
    return (
        f"演示控辍保学名单 {saved.rows_total} 行（匹配 {saved.matched_count}，"
        f"待跟进 {saved.unmatched_count}）/ demo out-of-school list"
    )


def _pair_is_unique(child: Child) -> bool:
    return (
        Child.objects.filter(
            name=child.name,
            birth_date=child.birth_date,
            village__code__startswith=COUNTY_CODE[:6],
        ).count()
        == 1
    )


def _unused_id_number(born: date) -> str:
    """A valid ID number (male) that no file holds."""
    for sequence in range(999, 0, -2):
        first17 = f"341823{born:%Y%m%d}{sequence:03d}"
        number = first17 + idcard.check_digit(first17)
        if not Child.objects.filter(id_number_hash=crypto.lookup_hash(number)).exists():
            return number
    raise RuntimeError("no free ID number")
