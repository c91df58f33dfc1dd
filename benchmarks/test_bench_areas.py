"""Issue 20 point 4: the national area list. A synthetic list shaped like the real one (31
provinces, their cities and counties, towns and villages; a city without counties, 东莞, whose
towns are coded PPCC00TTT000) of BENCH_AREAS codes — 664,000 in `make bench`, 2,000 as `make test`
runs it — loaded by `load_areas` in a process of its own (its peak memory read from the kernel),
then loaded again unchanged (nothing may be written), then with one name changed.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from accounts.models import Area

AREAS = int(os.environ.get("BENCH_AREAS", "2000"))
BASE_DIR = Path(__file__).resolve().parents[1]


def national_list(size: int) -> list[tuple[str, str]]:
    """(code, name) of about ``size`` areas, every level present, parents before children."""
    rows: list[tuple[str, str]] = [("440000000000", "广东省"), ("441900000000", "东莞市")]
    # 东莞: towns and villages straight under the city.
    for town in range(1, 34):
        rows.append((f"441900{town:03d}000", f"东莞{town}镇"))
        rows += [(f"441900{town:03d}{v:03d}", f"东莞{town}镇{v}村") for v in range(1, 21)]
    villages = max(1, size // (31 * 14 * 9 * 14))
    for province in range(11, 42):
        rows.append((f"{province}0000000000", f"省{province}"))
        for city in range(1, 15):
            rows.append((f"{province}{city:02d}00000000", f"市{province}{city}"))
            for county in range(1, 10):
                prefix = f"{province}{city:02d}{county:02d}"
                rows.append((f"{prefix}000000", f"县{prefix}"))
                for town in range(1, 15):
                    rows.append((f"{prefix}{town:03d}000", f"镇{prefix}{town}"))
                    rows += [
                        (f"{prefix}{town:03d}{v:03d}", f"村{prefix}{town}-{v}")
                        for v in range(1, villages + 1)
                    ]
                    if len(rows) >= size:
                        return rows
    return rows


def database_url() -> str:
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    user = quote(settings["USER"] or "")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{settings['NAME']}?host={host}"
    return f"postgres://{user}{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


def load(path: Path) -> tuple[float, int, str]:
    """load_areas PATH in a process of its own: (seconds, peak resident MB, what it printed).
    The peak is the process's own high-water mark (VmHWM, read until it exits): getrusage's
    ru_maxrss would count this pytest process too, which a fork carries over an exec."""
    env = {**os.environ, "DATABASE_URL": database_url()}
    env.pop("TEST_DATABASE_NAME", None)
    output = path.with_suffix(".out")
    started = time.perf_counter()
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "load_areas", str(path)],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    said = output.read_text()
    assert process.returncode == 0, said
    return seconds, peak_kb // 1024, said.strip().splitlines()[-1]


def _high_water_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # it has just ended
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def versions() -> int:
    """A checksum of every row's version (xmin): it changes if any row is written again."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(hashtext(xmin::text)) FROM accounts_area")
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_the_national_list_loads_and_reloads_writing_nothing(tmp_path):
    assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_area CASCADE")
    rows = national_list(AREAS)
    path = tmp_path / "areas.csv"
    path.write_text("code,name\n" + "".join(f"{c},{n}\n" for c, n in rows), encoding="utf-8")

    first, first_mb, said = load(path)
    assert Area.objects.count() == len(rows)
    print(f"\nBENCH areas: {len(rows)} codes loaded in {first:.1f} s, peak {first_mb} MB ({said})")
    before = versions()
    again, again_mb, said = load(path)
    assert versions() == before, "re-loading the same list wrote rows"
    print(f"BENCH areas: the same list again in {again:.1f} s, peak {again_mb} MB ({said})")
    assert Area.objects.get(code="441900001001").parent_id == "441900001000"
    assert Area.objects.get(code="441900001000").parent_id == "441900000000"
