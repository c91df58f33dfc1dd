"""Demo benefits for seed_demo: standards, applications in every state with their decisions,
enrolments with a ledger and one ended benefit, in the demo county's child files."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from benefits import rules, selectors, services
from benefits.models import (
    ApplicationStatus,
    Enrolment,
    PublicNotice,
    SubsidyApplication,
    SubsidyDecision,
)
from children import services as child_services
from children.models import Child
from core import clock

from .accounts import COUNTY_CODE

PROVINCE_CODE = "340000000000"  # 安徽省
# 元/月 (temporary assistance: the one-off sum). Demo figures of the right size, not published ones.
PROVINCE_STANDARDS = {
    "orphan_allowance": 1200,
    "de_facto_unsupported_allowance": 1200,  # 事实无人抚养: the dispersed-orphan rate
    "hiv_affected_allowance": 1200,
    "minimum_living": 760,
    "extreme_poverty_support": 990,
    "medical_assistance": 300,
    "disability_rehabilitation": 1500,
    "education_aid": 125,
}
# 泾县 pays orphans and de facto unsupported children more from January of this year, raises 低保
# from July (a change mid-year) and sets the one-off temporary assistance.
COUNTY_STANDARDS = [
    ("orphan_allowance", 1, 1350),
    ("de_facto_unsupported_allowance", 1, 1350),
    ("hiv_affected_allowance", 1, 1350),
    ("minimum_living", 7, 800),
]
TEMPORARY_ASSISTANCE = 1000
PAYEE_GIVEN = ["桂英", "秀珍", "德明", "长林"]


def seed(stdout=None) -> None:
    """Standards, applications in every state with their decisions, enrolments with a ledger and
    one ended benefit. Runs after the visit demo, whose registration dates the history follows;
    does nothing once the county has any application."""
    county_children = Child.objects.filter(
        village__code__startswith=COUNTY_CODE[:6], status="active"
    )
    if SubsidyApplication.objects.filter(child__village__code__startswith=COUNTY_CODE[:6]).exists():
        return
    staff = list(
        User.objects.filter(is_active=True).filter(
            Q(area__code__startswith=COUNTY_CODE[:6]) | Q(username="mz_anhui")
        )
    )
    by_name = {u.username: u for u in staff}
    county_officer, province_officer = by_name.get("mz_jingxian"), by_name.get("mz_anhui")
    directors = {u.area_id: u for u in staff if u.role == Role.DIRECTOR}
    supervisors = {u.area_id: u for u in staff if u.role == Role.SUPERVISOR}
    if county_officer is None or province_officer is None or not county_children.exists():
        return
    today = clock.today()
    with transaction.atomic():
        _standards(province_officer, county_officer, today)
        _confirm_categories(county_officer, county_children)
        plan = _BenefitPlan(today, directors, supervisors, county_officer, county_children)
        plan.run()
        month, this_month = plan.first_month(), rules.first_of_month(today)
        entitlements = 0
        while month is not None and month <= this_month:
            # As the nightly job would have, month by month.
            entitlements += services.entitlements_generate(month=month)
            month = rules.next_month(month)
    if stdout is not None:
        stdout.write(
            f"演示补贴申请 {len(plan.applications)} 件、发放台账 {entitlements} 条 / "
            f"{len(plan.applications)} demo benefit applications, {entitlements} entitlements\n"
        )


def _confirm_categories(county_officer: User, county_children) -> None:
    """County civil affairs have confirmed most HIV-affected and de facto unsupported children the
    directors typed; every third still waits (待民政确认), and typed orphans wait for their
    allowance's approval, which confirms them."""
    waiting = county_children.exclude(categories_pending=[]).order_by("village_id", "name", "id")
    for number, child in enumerate(waiting):
        for category in child.categories_pending:
            if category == "orphan" or number % 3 == 2:
                continue
            child_services.category_decide(
                user=county_officer,
                child=child,
                category=category,
                decision="confirm",
                note="经核实（疾控机构证明、家庭情况调查），确认类别",
            )


def _standards(province_officer: User, county_officer: User, today: date) -> None:
    # The province's civil affairs enter the province's published rates.
    last_january, this_year = date(today.year - 1, 1, 1), today.year
    for programme, amount in PROVINCE_STANDARDS.items():
        services.subsidy_standard_set(
            user=province_officer,
            area_code=PROVINCE_CODE,
            programme=programme,
            month=last_january,
            amount=Decimal(amount),
        )
    for programme, from_month, amount in COUNTY_STANDARDS:
        services.subsidy_standard_set(
            user=county_officer,
            area_code=COUNTY_CODE,
            programme=programme,
            month=date(this_year, from_month, 1),
            amount=Decimal(amount),
        )
    services.subsidy_standard_set(
        user=county_officer,
        area_code=COUNTY_CODE,
        programme="temporary_assistance",
        month=last_january,
        amount=Decimal(TEMPORARY_ASSISTANCE),
    )


class _BenefitPlan:
    """Applications taken through the real services today, then dated back to when each step
    happened (the services stamp today; the history they write is otherwise what a user makes)."""

    def __init__(self, today: date, directors, supervisors, county_officer, children) -> None:
        self.today = today
        self.directors = directors
        self.supervisors = supervisors
        self.county = county_officer
        # Under 16, so nobody turns 18 within the history; the longest-registered first, so the
        # history never starts before the file was opened.
        self.candidates = [
            c
            for c in children.filter(
                birth_date__gt=_years_before(today, 16),
                birth_date__lt=_years_before(today, 1),
            ).order_by("created_at", "pk")
            if c.village_id in directors and _township(c.village_id) in supervisors
        ]
        self.used: set = set()
        self.applications: list[SubsidyApplication] = []

    def run(self) -> None:
        day = self.day
        # approved, paid for three months, with the payee recorded
        orphan = self.pick("orphan_allowance")
        application = self.apply(
            orphan,
            "orphan_allowance",
            day(95),
            [
                ("approve", "township", day(90), "父母死亡证明、失踪证明已核验"),
                ("approve", "county", day(85), "同意纳入"),
            ],
        )
        self.payee(application)
        # approved, then ended: adopted by an uncle, so the allowance stops that month
        adopted = self.pick("orphan_allowance")
        application = self.apply(
            adopted,
            "orphan_allowance",
            day(100),
            [
                ("approve", "township", day(96), "材料齐全"),
                ("approve", "county", day(92), "同意纳入"),
            ],
        )
        ended_on = day(25)
        services.enrolment_end(
            user=self.county,
            enrolment=application.enrolment,
            reason="adopted",
            note="由叔父依法收养，已办理收养登记",
            on=ended_on,
        )
        self.date_last_decision(application, ended_on)
        # approved 事实无人抚养 (e.g. mother deceased, father in prison)
        de_facto = self.pick("de_facto_unsupported_allowance", fit=_fit_de_facto)
        application = self.apply(
            de_facto,
            "de_facto_unsupported_allowance",
            day(70),
            [
                ("approve", "township", day(66), "父母情况已核验，证明材料齐全"),
                ("approve", "county", day(60), "同意纳入"),
            ],
        )
        self.payee(application)
        # 低保 approved after its 7-day public notice
        low_income = self.pick("minimum_living", prefer="low_income_family")
        self.apply(
            low_income,
            "minimum_living",
            day(62),
            [
                ("approve", "township", day(56), "经入户调查，家庭收入低于当地低保标准，已公示"),
                ("approve", "county", day(45), "公示期满无异议，同意纳入"),
            ],
        )
        # one-off temporary assistance, paid once
        emergency = self.pick("temporary_assistance", prefer="emergency_affected")
        self.apply(
            emergency,
            "temporary_assistance",
            day(40),
            [
                ("approve", "township", day(38), "经核实，家庭遭遇突发困难"),
                ("approve", "county", day(35), "同意一次性临时救助"),
            ],
        )
        # rejected by the county with its reason
        ill = self.pick("medical_assistance")
        self.apply(
            ill,
            "medical_assistance",
            day(30),
            [
                ("approve", "township", day(26), "患儿长期治疗，家庭负担较重"),
                (
                    "reject",
                    "county",
                    day(20),
                    "医保和大病保险报销后，个人自付部分未达到医疗救助起付标准",
                ),
            ],
        )
        # returned by the township for evidence
        returned = self.pick("orphan_allowance")
        self.apply(
            returned,
            "orphan_allowance",
            day(15),
            [("return", "township", day(10), "请补充父母死亡证明或人民法院宣告失踪判决书")],
        )
        # returned, resubmitted with the evidence, approved by the township: waiting at the county
        pupil = self.pick("education_aid")
        self.apply(
            pupil,
            "education_aid",
            day(20),
            [
                ("return", "township", day(16), "请补充学校出具的在读证明"),
                ("resubmit", "director", day(12), "已补充在读证明"),
                ("approve", "township", day(6), "在读证明已核验"),
            ],
        )
        # 低保 approved by the township three days ago: inside its 7-day public notice
        notice = self.pick("minimum_living", prefer="low_income_family")
        self.apply(
            notice,
            "minimum_living",
            day(8),
            [("approve", "township", day(3), "经入户调查符合条件，已在村务公开栏公示")],
        )
        # just submitted
        newcomer = self.pick("orphan_allowance")
        self.apply(newcomer, "orphan_allowance", day(2), [])

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    def first_month(self) -> date | None:
        months = Enrolment.objects.filter(application__in=self.applications).values_list(
            "start_month", flat=True
        )
        return min(months, default=None)

    def pick(self, programme: str, prefer: str = "", fit=None) -> Child:
        """The longest-registered unused child who passes the programme's rule (preferring a
        category); failing that, one whose family ``fit`` can make pass, changed through the
        services as a director would record it."""
        ordered = sorted(self.candidates, key=lambda c: prefer not in c.categories)
        for child in ordered:
            if child.pk not in self.used and not services.subsidy_eligibility(
                child=child, programme=programme
            ):
                self.used.add(child.pk)
                return child
        for child in ordered:
            if child.pk not in self.used and fit is not None:
                director = self.directors[child.village_id]
                if fit(director, child) and not services.subsidy_eligibility(
                    child=child, programme=programme
                ):
                    self.used.add(child.pk)
                    return child
        raise RuntimeError(f"演示数据中没有符合 {programme} 条件的儿童")

    def apply(self, child: Child, programme: str, submitted_on: date, steps) -> SubsidyApplication:
        director = self.directors[child.village_id]
        township = self.supervisors[_township(child.village_id)]
        deciders = {"township": township, "county": self.county, "director": director}
        application = services.subsidy_apply(
            user=director, child=child, programme=programme, note=_apply_note(programme)
        )
        # Brought with the application, or after a return (the county approves only with them).
        if any(
            (decision == "approve" and who == "county") or decision == "resubmit"
            for decision, who, _on, _note in steps
        ):
            _attach_documents(director, application)
        days = [submitted_on]
        for decision, who, on, note in steps:
            if decision == "resubmit":
                application = services.subsidy_resubmit(
                    user=deciders[who], application=application, note=note
                )
            else:
                application = services.subsidy_decide(
                    user=deciders[who], application=application, decision=decision, note=note
                )
            if application.status == ApplicationStatus.TOWNSHIP_APPROVED:
                # Before the county decides, so a public notice runs from the real date.
                SubsidyApplication.objects.filter(pk=application.pk).update(township_approved_on=on)
                PublicNotice.objects.filter(application=application).update(
                    starts_on=on, ends_on=rules.notice_default_end(on)
                )
            days.append(on)
        self._date_history(application, days)
        application.refresh_from_db()
        self.applications.append(application)
        return application

    def _date_history(self, application: SubsidyApplication, days: list[date]) -> None:
        decisions = list(application.decisions.order_by("id"))
        for step, (decision, on) in enumerate(zip(decisions, days, strict=True)):
            SubsidyDecision.objects.filter(pk=decision.pk).update(at=_at(on, step))
        final = days[-1] if application.status in ("approved", "rejected") else None
        SubsidyApplication.objects.filter(pk=application.pk).update(
            submitted_at=_at(days[0], 0), decided_on=final
        )
        # The documents came with the application; the notice was recorded the day it went up.
        application.evidence.update(uploaded_at=_at(days[0], 0))
        PublicNotice.objects.filter(application=application).update(
            recorded_at=models.F("starts_on") + timedelta(hours=2)  # 10:00 in Shanghai
        )
        if application.status == ApplicationStatus.APPROVED:
            start = rules.next_month(final)
            enrolment = Enrolment.objects.filter(application=application)
            if rules.PROGRAMMES[application.programme].one_off:
                enrolment.update(start_month=start, end_month=start, ended_on=final)
            else:
                enrolment.update(
                    start_month=start,
                    next_review_on=final
                    + timedelta(days=services.subsidy_review_days(application.child.village_id)),
                )

    def date_last_decision(self, application: SubsidyApplication, on: date) -> None:
        decisions = list(application.decisions.order_by("id"))
        SubsidyDecision.objects.filter(pk=decisions[-1].pk).update(at=_at(on, len(decisions) - 1))

    def payee(self, application: SubsidyApplication) -> None:
        child = application.child
        services.enrolment_set_payee(
            user=self.county,
            enrolment=application.enrolment,
            name=child.name[0] + PAYEE_GIVEN[len(self.applications) % len(PAYEE_GIVEN)],
            account=f"62170036{child.pk.int % 10**11:011d}",
        )


def _fit_de_facto(director: User, child: Child) -> bool:
    """One parent dead or declared missing and the other in prison for more than 6 months:
    事实无人抚养. Only for a child whose mother is already gone; the father's sentence is
    recorded as a director would."""
    parents = {
        m.relation: m for m in child.family_members.filter(relation__in=("father", "mother"))
    }
    father, mother = parents.get("father"), parents.get("mother")
    if father is None or mother is None or mother.status not in rules.GONE:
        return False
    if father.status in rules.GONE:
        return False
    child_services.family_member_update(
        user=director,
        member=father,
        changes={
            "status": "imprisoned",
            "status_since": clock.today() - timedelta(days=730),
            "has_guardian_capacity": False,
            "work_place": "",
            "away_since": None,
        },
    )
    child_services.child_update(
        user=director,
        child=child,
        changes={"categories": [*child.categories, "de_facto_unsupported"]},
    )
    return True


APPLY_NOTES = {
    "orphan_allowance": "父母均已死亡或宣告失踪，由亲属照料，申请孤儿基本生活费",
    "de_facto_unsupported_allowance": "父母无法履行抚养义务，申请事实无人抚养儿童基本生活补贴",
    "minimum_living": "家庭无稳定收入，申请纳入最低生活保障",
    "temporary_assistance": "家中突发火灾，申请临时救助",
    "medical_assistance": "患病需长期治疗，医疗费用负担重，申请医疗救助",
    "education_aid": "家庭经济困难，申请教育资助",
}


# A one-page PDF standing for a scanned document (the upload check reads its first bytes).
DEMO_PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _attach_documents(director: User, application: SubsidyApplication) -> None:
    """The documents the county needs before approving (benefits.selectors.document_check): one
    of the first required kind, one per parent where the programme asks for each parent's."""
    requirement = selectors.evidence_requirements(application.child.village_id)[
        application.programme
    ]
    for kind in requirement.sufficient_kinds():
        services.subsidy_evidence_attach(
            user=director,
            application=application,
            upload=SimpleUploadedFile("scan.pdf", DEMO_PDF, content_type="application/pdf"),
            kind=kind,
        )


def _apply_note(programme: str) -> str:
    return APPLY_NOTES.get(programme, "")


def _township(village_code: str) -> str:
    return village_code[:9] + "000"


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _at(day: date, step: int) -> datetime:
    """A working-hours moment on ``day``; steps of one day keep their order."""
    moment = datetime.combine(day, time(9, 30), tzinfo=timezone.get_current_timezone())
    return moment + timedelta(minutes=17 * step)
