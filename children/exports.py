"""台账 export of the filtered child list (.xlsx): IDs masked unless the role may see them."""

from __future__ import annotations

import io

from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.models import User
from accounts.services import ExportAudit
from core import cells, crypto

from . import rules, selectors
from .models import Category, Child, ChildStatus, FocusFlag, Gender, RiskLevel, SchoolStatus

HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "年龄",
    "身份证号",
    "村（社区）",
    "村（社区）代码",
    "家庭住址",
    "就读学校",
    "年级",
    "就学状态",
    "类别",
    "重点标记",
    "留守原因",
    "风险等级",
    "档案状态",
    "建档时间",
]
CATEGORY_ZH = {
    "left_behind": "留守儿童",
    "orphan": "孤儿",
    "de_facto_unsupported": "事实无人抚养儿童",
    "hiv_affected": "艾滋病病毒感染儿童",
    "severe_disability": "重残儿童",
    "serious_illness": "重病儿童",
    "low_income_family": "低保/特困/低收入家庭",
    "guardian_abuse": "受监护人侵害",
    "street_child": "流浪儿童",
    "emergency_affected": "遭遇突发事件",
    "single_parent": "单亲家庭儿童",
}
FLAG_ZH = {
    "unsupervised": "无人监护",
    "one_parent_away_other_incapable": "一方外出另一方无监护能力",
    "out_of_school": "失学辍学",
    "no_hukou": "无户籍",
    "ill": "患病",
    "disabled": "残疾",
}
GENDER_ZH = {"male": "男", "female": "女"}
SCHOOL_ZH = {
    "preschool": "学前",
    "in_school": "在校",
    "not_enrolled": "未入学",
    "dropped_out": "辍学",
    "suspended": "休学",
    "graduated": "毕业",
}
RISK_ZH = {"low": "绿（低）", "medium": "黄（中）", "high": "红（高）"}
STATUS_ZH = {"active": "在档", "closed": "已结案"}

# Fail loudly if a code is added to the models without a Chinese label here.
assert set(CATEGORY_ZH) == set(Category.values) and set(FLAG_ZH) == set(FocusFlag.values)
assert set(GENDER_ZH) == set(Gender.values) and set(SCHOOL_ZH) == set(SchoolStatus.values)
assert set(RISK_ZH) == set(RiskLevel.values) and set(STATUS_ZH) == set(ChildStatus.values)


def export_filename() -> str:
    return f"children-{timezone.localdate():%Y%m%d}.xlsx"


def children_xlsx(*, user: User, queryset: QuerySet[Child], request=None) -> tuple[bytes, int]:
    """The list as .xlsx bytes; one audit record per child exported."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("儿童台账")
    header_font = Font(bold=True)
    sheet.append([cells.xlsx_cell(sheet, h, font=header_font) for h in HEADERS])
    today = timezone.localdate()
    count = 0
    audit = ExportAudit(user=user, request=request, detail={"export": "children_xlsx"})
    for child in queryset.select_related("village").iterator(chunk_size=2000):
        full = selectors.can_see_full_id(user, child)
        sheet.append(
            cells.xlsx_row(
                sheet,
                [
                    child.name,
                    GENDER_ZH[child.gender],
                    child.birth_date,
                    rules.age_on(child.birth_date, today),
                    crypto.decrypt(child.id_number_encrypted) if full else child.id_number_masked,
                    child.village.name,
                    child.village_id,
                    child.address,
                    child.school_name,
                    child.grade,
                    SCHOOL_ZH[child.school_status],
                    "、".join(CATEGORY_ZH[c] for c in child.categories),
                    "、".join(FLAG_ZH[f] for f in child.focus_flags),
                    "；".join(child.left_behind_reasons),
                    RISK_ZH[child.risk_level],
                    STATUS_ZH[child.status],
                    timezone.localtime(child.created_at).strftime("%Y-%m-%d %H:%M"),
                ],
            )
        )
        count += 1
        audit.add(child.pk, child.village_id)
    audit.flush()
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count
