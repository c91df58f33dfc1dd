"""Demo child files for seed_demo: about 300 children across every category, flag and colour,
with their families, care agreements and parent contacts (their benefits: demo/benefits.py)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction

from accounts.models import Area, Role, User
from children import idcard, services
from children.models import Child
from core import clock

from .accounts import COUNTY_CODE

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗查汪方叶潘章翟程曹"
GIVEN = [
    "子涵",
    "雨桐",
    "浩然",
    "欣怡",
    "梓萱",
    "宇轩",
    "思彤",
    "俊杰",
    "佳怡",
    "子轩",
    "诗涵",
    "博文",
    "一诺",
    "可馨",
    "明轩",
    "语嫣",
    "晨曦",
    "嘉怡",
    "天佑",
    "若曦",
    "皓轩",
    "梦琪",
    "乐乐",
    "小雨",
    "文博",
    "静怡",
    "家豪",
    "欣然",
    "志远",
    "雅琪",
    "俊熙",
    "紫涵",
]
FATHER_GIVEN = ["建国", "志强", "海涛", "文军", "德明", "国庆", "永刚", "春生", "立新", "红兵"]
MOTHER_GIVEN = ["秀兰", "丽华", "桂芳", "春梅", "玉兰", "海燕", "小燕", "晓红", "雪梅", "红英"]
WORK_PLACES = [
    "浙江省杭州市",
    "江苏省苏州市",
    "上海市",
    "广东省东莞市",
    "浙江省宁波市",
    "江苏省南京市",
]
SCHOOLS = [
    "泾县桃花潭镇中心小学",
    "泾县茂林中学",
    "泾县云岭中心小学",
    "泾县城关小学",
    "泾县榔桥中心小学",
]
PER_VILLAGE = 19


def _id_number(rng: random.Random, birth: date, gender: str) -> str:
    sequence = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
    first17 = f"341823{birth:%Y%m%d}{sequence:03d}"
    return first17 + idcard.check_digit(first17)


def _family_plan(rng: random.Random, today: date) -> list[dict]:
    """A realistic mix: both away, one away and the other unable, both home, orphans…"""
    roll = rng.random()
    father_name = rng.choice(SURNAMES) + rng.choice(FATHER_GIVEN)
    mother_name = rng.choice(SURNAMES) + rng.choice(MOTHER_GIVEN)

    def away(days_min: int, days_max: int) -> dict:
        return {
            "status": "working_away",
            "away_since": today - timedelta(days=rng.randint(days_min, days_max)),
            "work_place": rng.choice(WORK_PLACES),
            "phone": f"13{rng.randint(100000000, 999999999)}",
        }

    home = {"status": "at_home", "phone": f"15{rng.randint(100000000, 999999999)}"}
    if roll < 0.40:  # both parents away long enough: 留守
        father, mother = away(120, 1500), away(95, 1500)
    elif roll < 0.47:  # both away, one only recently (not yet 90 days)
        father, mother = away(200, 900), away(20, 80)
    elif roll < 0.57:  # father away, mother unable to care
        father = away(100, 1200)
        mother = rng.choice(
            [
                {"status": "deceased"},
                {"status": "at_home", "has_guardian_capacity": False},
                {"status": "missing"},
                {"status": "imprisoned"},
            ]
        )
    elif roll < 0.62:  # orphan-like: both parents deceased or missing
        father, mother = (
            {"status": "deceased"},
            rng.choice([{"status": "deceased"}, {"status": "declared_missing"}]),
        )
    elif roll < 0.80:  # one parent away, the other at home
        father, mother = away(100, 1000), dict(home)
    else:  # both at home
        father, mother = dict(home), dict(home)
    return [
        {"relation": "father", "name": father_name, "has_guardian_capacity": True, **father},
        {"relation": "mother", "name": mother_name, "has_guardian_capacity": True, **mother},
    ]


def _siblings(
    rng: random.Random, rows: list, village: Area, today: date, used_ids: set[str]
) -> list[tuple[dict, list[dict]]]:
    """A younger brother or sister for each of these children: the father's ID number is
    recorded, so the census import's rule puts them in one household (shared family)."""
    siblings = []
    for values, family in rows:
        father = next(m for m in family if m["relation"] == "father")
        born = today - timedelta(days=rng.randint(40 * 365, 45 * 365))
        father["id_number"] = _id_number(rng, born, "male")
        sibling = _child_values(rng, village, today, used_ids)
        sibling["address"] = values["address"]
        sibling["name"] = values["name"][0] + sibling["name"][1:]  # the family's surname
        if "orphan" in values["categories"] and "orphan" not in sibling["categories"]:
            sibling["categories"].append("orphan")
        siblings.append((sibling, [dict(m) for m in family]))
    return siblings


def _child_values(rng: random.Random, village: Area, today: date, used_ids: set[str]) -> dict:
    gender = rng.choice(["male", "female"])
    birth = today - timedelta(days=rng.randint(365, 17 * 365))
    age = (today - birth).days // 365
    no_hukou = rng.random() < 0.03
    id_number = None
    while not no_hukou and (id_number is None or id_number in used_ids):
        id_number = _id_number(rng, birth, gender)
    if id_number:
        used_ids.add(id_number)
    school_status = (
        "preschool"
        if age < 6
        else rng.choices(["in_school", "dropped_out", "not_enrolled"], [0.92, 0.05, 0.03])[0]
    )
    categories = []
    if rng.random() < 0.08:
        categories.append("low_income_family")
    if rng.random() < 0.05:
        categories.append("single_parent")
    if rng.random() < 0.06:
        categories.append(
            rng.choice(
                [
                    "hiv_affected",
                    "guardian_abuse",
                    "street_child",
                    "emergency_affected",
                    "de_facto_unsupported",
                ]
            )
        )
    illness = rng.choice(["", "", "", "", "", "", "", "", "哮喘", "先天性心脏病"])
    if illness == "先天性心脏病":
        categories.append("serious_illness")
    disability = rng.choices(["", "physical", "intellectual", "hearing"], [0.9, 0.04, 0.04, 0.02])[
        0
    ]
    if disability and rng.random() < 0.5:
        categories.append("severe_disability")
    place = village.name.replace("村民委员会", "村").replace("居民委员会", "")
    return {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "gender": gender,
        "birth_date": birth,
        "id_number": id_number,
        "hukou_registered": not no_hukou,
        "village_code": village.code,
        "address": f"{place}{rng.randint(1, 12)}组{rng.randint(1, 60)}号",
        "school_name": "" if age < 6 else rng.choice(SCHOOLS),
        "grade": "" if age < 6 else f"{min(max(age - 6, 1), 9)}年级",
        "school_status": school_status,
        "illness": illness,
        "disability_type": disability,
        "disability_grade": rng.choice([1, 2, 3, 4]) if disability else None,
        "categories": categories,
    }


ASSESSMENT_SCORES = [
    (0, 0, 0, 0),
    (1, 0, 1, 0),
    (1, 1, 1, 0),
    (2, 1, 0, 1),
    (2, 2, 1, 1),
    (3, 1, 1, 0),
]


def seed(stdout=None) -> None:
    villages = list(Area.objects.filter(level="village", code__startswith=COUNTY_CODE[:6]))
    if not villages or Child.objects.filter(village__in=villages).exists():
        return
    rng = random.Random(20261123)
    today = clock.today()
    directors = {u.area_id: u for u in User.objects.filter(role=Role.DIRECTOR, area__in=villages)}
    by_code = {v.code: v for v in villages}
    used_ids: set[str] = set()
    created = 0
    with transaction.atomic():
        for village in villages:
            director = directors.get(village.code)
            if director is None:
                continue
            rows = []
            for _ in range(PER_VILLAGE):
                values = _child_values(rng, village, today, used_ids)
                family = _family_plan(rng, today)
                if all(m["status"] in ("deceased", "declared_missing") for m in family):
                    values["categories"].append("orphan")
                rows.append((values, family))
            rows += _siblings(random.Random(village.code), rows[:2], village, today, used_ids)
            children = services.children_bulk_create(user=director, rows=rows, villages=by_code)
            for child in children:
                if rng.random() < 0.35:
                    g, s, h, b = rng.choice(ASSESSMENT_SCORES)
                    services.assessment_record(
                        user=director,
                        child=child,
                        assessed_on=today - timedelta(days=rng.randint(5, 200)),
                        guardianship=g,
                        safety=s,
                        health=h,
                        behaviour=b,
                    )
            created += len(children)
            _agreements_and_contacts(rng, director, children, today)
    if stdout is not None:
        stdout.write(f"演示儿童档案 {created} 份 / {created} demo child files\n")


CAREGIVER_GIVEN = ["德明", "桂英", "秀珍", "国华", "玉梅", "长林"]


def _agreements_and_contacts(
    rng: random.Random, director: User, children: list, today: date
) -> None:
    """Most left-behind children have an agreement; some expired, some needing a new caregiver,
    some none. Most have a recent parent contact logged."""
    for child in Child.objects.filter(
        pk__in=[c.pk for c in children], categories__contains=["left_behind"]
    ):
        roll = rng.random()
        if roll < 0.85:
            expired = roll < 0.10
            start = today - timedelta(
                days=rng.randint(400, 700) if expired else rng.randint(10, 300)
            )
            end = start + timedelta(days=365)
            agreement = services.care_agreement_create(
                user=director,
                child=child,
                caregiver_name=rng.choice(SURNAMES) + rng.choice(CAREGIVER_GIVEN),
                caregiver_relation=rng.choice(["grandparent", "grandparent", "other_relative"]),
                caregiver_phone=f"139{rng.randint(10000000, 99999999)}",
                caregiver_birth_date=date(
                    rng.randint(1950, 1975), rng.randint(1, 12), rng.randint(1, 28)
                ),
                start_date=start,
                end_date=end,
                parent_work_place=rng.choice(WORK_PLACES),
                parent_phone=f"138{rng.randint(10000000, 99999999)}",
                signed_on=start,
                filed_on=start + timedelta(days=3),
            )
            if not expired and roll > 0.77:
                services.care_agreement_caregiver_unable(
                    user=director, agreement=agreement, reason="照护人年老体弱，无法继续照护"
                )
        if rng.random() < 0.8:
            services.parent_contact_record(
                user=director,
                child=child,
                contacted_on=today - timedelta(days=rng.randint(0, 20)),
                channel=rng.choice(["phone", "video", "wechat"]),
            )
