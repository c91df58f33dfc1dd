import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Area

GOOD = """code,name
340000000000,安徽省
341800000000,宣城市
341823000000,泾县
341823103000,桃花潭镇
341823103201,查济村民委员会
341823103202,厚岸村民委员会
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "areas.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.django_db
def test_load_derives_level_and_parent(tmp_path, capsys):
    call_command("load_areas", str(write(tmp_path, GOOD)))
    village = Area.objects.get(code="341823103201")
    assert village.level == "village"
    assert village.parent_id == "341823103000"
    assert Area.objects.get(code="341823000000").parent_id == "341800000000"
    assert Area.objects.get(code="340000000000").parent is None
    assert "6 created" in capsys.readouterr().out


@pytest.mark.django_db
def test_load_is_idempotent_and_updates_names(tmp_path):
    path = write(tmp_path, GOOD)
    call_command("load_areas", str(path))
    call_command("load_areas", str(path))
    assert Area.objects.count() == 6
    path.write_text(GOOD.replace("查济村民委员会", "查济村"), encoding="utf-8")
    call_command("load_areas", str(path))
    assert Area.objects.count() == 6
    assert Area.objects.get(code="341823103201").name == "查济村"


@pytest.mark.django_db
def test_bad_lines_are_all_reported_and_nothing_is_loaded(tmp_path, capsys):
    text = GOOD + "34182310320,缺一位\n341823103203,\n340000000201,层级断开\n341823103201,重复\n"
    with pytest.raises(CommandError) as excinfo:
        call_command("load_areas", str(write(tmp_path, text)))
    err = capsys.readouterr().err
    assert "第8行" in err and "line 8" in err and "12位数字" in err
    assert "第9行" in err and "名称为空" in err
    assert "第10行" in err and "层级" in err
    assert "第11行" in err and "重复" in err and "line 6" in err
    assert "nothing was loaded" in str(excinfo.value)
    assert Area.objects.count() == 0


@pytest.mark.django_db
def test_bad_header_is_refused(tmp_path, capsys):
    with pytest.raises(CommandError):
        call_command("load_areas", str(write(tmp_path, "代码,名称\n340000000000,安徽省\n")))
    assert "code,name" in capsys.readouterr().err
    assert Area.objects.count() == 0


@pytest.mark.django_db
def test_gbk_file_from_excel_is_accepted(tmp_path):
    call_command("load_areas", str(write(tmp_path, GOOD, encoding="gb18030")))
    assert Area.objects.get(code="341823103000").name == "桃花潭镇"


@pytest.mark.django_db
def test_parent_loaded_later_is_linked(tmp_path):
    call_command("load_areas", str(write(tmp_path, "code,name\n341823103201,查济村\n")))
    assert Area.objects.get(code="341823103201").parent is None
    call_command("load_areas", str(write(tmp_path, "code,name\n341823103000,桃花潭镇\n")))
    assert Area.objects.get(code="341823103201").parent_id == "341823103000"


@pytest.mark.django_db
def test_valid_dates_are_kept_not_deleted(tmp_path):
    text = (
        "code,name,valid_from,valid_to\n"
        "340000000000,安徽省,2020-01-01,\n"
        "341800000000,旧市,2020-01-01,2024-12-31\n"
    )
    call_command("load_areas", str(write(tmp_path, text)))
    old = Area.objects.get(code="341800000000")
    assert str(old.valid_to) == "2024-12-31"


def test_command_exits_1_on_bad_input(tmp_path):
    """Through the real command line, as an operator would run it."""
    path = write(tmp_path, "code,name\nbad,坏\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "load_areas", str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 1
    assert "第2行" in result.stderr and "line 2" in result.stderr


# --- Issue 20: the national list, set-based --------------------------------------------------

DONGGUAN = """code,name
440000000000,广东省
441900000000,东莞市
441900003000,东城街道
441900003001,东城社区
441900101000,石碣镇
441900101201,石碣村
"""


@pytest.mark.django_db
def test_a_city_without_counties_loads_its_towns_under_the_city(tmp_path, capsys):
    """东莞 has no counties: its towns are 4419 00 TTT 000 and hang under the city (domain §1)."""
    call_command("load_areas", str(write(tmp_path, DONGGUAN)))
    town = Area.objects.get(code="441900101000")
    assert (town.level, town.parent_id) == ("township", "441900000000")
    village = Area.objects.get(code="441900101201")
    assert (village.level, village.parent_id) == ("village", "441900101000")
    assert Area.objects.get(code="441900000000").parent_id == "440000000000"
    assert "6 created, 0 updated, 0 unchanged" in capsys.readouterr().out


def row_versions() -> dict[str, str]:
    """Each area's row version (xmin): a row written again gets a new one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT code, xmin::text FROM accounts_area")
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_reloading_the_same_list_writes_nothing_and_says_so(tmp_path, capsys):
    path = write(tmp_path, GOOD + DONGGUAN.split("\n", 1)[1])
    call_command("load_areas", str(path))
    before = row_versions()
    capsys.readouterr()
    call_command("load_areas", str(path))
    assert "0 created, 0 updated, 12 unchanged" in capsys.readouterr().out
    assert row_versions() == before
    # One name changed: that row alone is written.
    path.write_text(path.read_text(encoding="utf-8").replace("石碣村", "石碣村委会"), "utf-8")
    call_command("load_areas", str(path))
    assert "0 created, 1 updated, 11 unchanged" in capsys.readouterr().out
    after = row_versions()
    assert [code for code in after if after[code] != before[code]] == ["441900101201"]


@pytest.mark.django_db
def test_a_township_loaded_later_becomes_the_parent_of_its_villages(tmp_path):
    """A village loaded before its township hangs under the county; the township's arrival
    moves it to the nearest area above it."""
    call_command(
        "load_areas", str(write(tmp_path, "code,name\n341823000000,泾县\n341823103201,查济村\n"))
    )
    assert Area.objects.get(code="341823103201").parent_id == "341823000000"
    call_command("load_areas", str(write(tmp_path, "code,name\n341823103000,桃花潭镇\n")))
    assert Area.objects.get(code="341823103201").parent_id == "341823103000"
    assert Area.objects.get(code="341823103000").parent_id == "341823000000"


@pytest.mark.django_db
def test_hostile_lines_are_reported_and_nothing_is_loaded(tmp_path, capsys):
    text = GOOD + "341823103203,含\x00字符\n" + '341823103204,"没有结束的引号\n'
    with pytest.raises(CommandError):
        call_command("load_areas", str(write(tmp_path, text)))
    err = capsys.readouterr().err
    assert "第8行" in err and "NUL" in err
    assert "第9行" in err and "无法读取此行" in err  # a quote never closed
    assert Area.objects.count() == 0
