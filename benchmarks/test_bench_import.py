"""Census import of BENCH_IMPORT_ROWS valid rows (10,000 in `make bench`, 300 by default, as
`make test` runs it) with an area tree of BENCH_AREAS codes loaded besides the test's own (the
national-sized list of benchmarks/test_bench_areas.py: 664,000 in `make bench`, 2,000 by default);
prints the wall time (issue 20: 10,000 rows ≤ 20 s with the national tree loaded)."""

import io
import os
import random
import time
from datetime import date, timedelta

from django.db import connection
from openpyxl import Workbook

from accounts.models import Area
from accounts.rules import parent_code, parse_level
from children.idcard import check_digit
from children.imports import HEADERS, import_children
from children.models import Child

from .test_bench_areas import AREAS, national_list

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "300"))


def load_national_tree(size: int) -> int:
    """COPY about ``size`` synthetic area codes (every level) into the area table, besides the
    test's own; inside the test's transaction, so rolled back with it. Returns how many."""
    have = set(Area.objects.values_list("code", flat=True))
    rows = [(code, name) for code, name in national_list(size) if code not in have]
    with connection.cursor() as cursor:
        with cursor.copy("COPY accounts_area (code, name, level, parent_id) FROM STDIN") as copy:
            for code, name in rows:
                copy.write_row((code, name, parse_level(code), parent_code(code)))
        cursor.execute("ANALYZE accounts_area")
    return len(rows)


def census_file(village_code: str) -> io.BytesIO:
    rng = random.Random(7)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    used = set()
    for i in range(ROWS):
        birth = date(2009, 1, 1) + timedelta(days=rng.randrange(0, 16 * 365))
        gender = rng.choice(["男", "女"])
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if gender == "男" else 0)
            first17 = f"341823{birth:%Y%m%d}{seq:03d}"
            if first17 not in used:
                used.add(first17)
                break
        values = {
            "姓名": f"儿童{i}",
            "性别": gender,
            "出生日期": birth.isoformat(),
            "身份证号": first17 + check_digit(first17),
            "村（社区）代码": village_code,
            "就学状态": "在校",
            "父亲姓名": f"父{i}",
            "父亲状况": rng.choice(["外出务工", "在家"]),
            "父亲外出时间": "2024-01-01",
            "母亲姓名": f"母{i}",
            "母亲状况": rng.choice(["外出务工", "在家", "已故"]),
            "母亲外出时间": "2024-02-01",
        }
        sheet.append([values.get(h, "") for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def test_import_10000_rows(director_a):
    started = time.perf_counter()
    loaded = load_national_tree(AREAS)
    villages = Area.objects.filter(level="village").count()
    print(
        f"\nBENCH import_children: area tree of {loaded} codes loaded in "
        f"{time.perf_counter() - started:.1f} s ({villages} villages)"
    )
    source = census_file(director_a.area_id)
    started = time.perf_counter()
    report = import_children(source=source, user=director_a)
    elapsed = time.perf_counter() - started
    assert report.ok, report.errors[:5]
    assert Child.objects.count() == ROWS
    left_behind = Child.objects.filter(categories__contains=["left_behind"]).count()
    print(
        f"BENCH import_children: {ROWS} rows in {elapsed:.1f} s "
        f"({ROWS / elapsed:.0f} rows/s; {left_behind} left-behind derived)"
    )
