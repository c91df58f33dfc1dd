"""zh-hans is complete and compiled; English is the source language."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_every_string_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    assert len(po.translated_entries()) > 50


def test_committed_mo_matches_the_po():
    po = {
        (e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0)
        for e in polib.pofile(str(PO)).translated_entries()
    }
    mo = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in polib.mofile(str(MO))}
    assert po == mo


def test_translation_is_active_by_default():
    with translation.override("zh-hans"):
        assert translation.gettext("Log in") == "登录"
        assert translation.gettext("Child director") == "儿童主任"


def _sources(directory: str, names: list[str]) -> set[str]:
    """What makemessages reads: the checkout less its environment, data, tests and caches."""
    skipped = {"__pycache__", ".ruff_cache", ".pytest_cache", ".hypothesis"}
    if Path(directory) == ROOT:
        skipped |= {".git", ".venv", "var", "tests"}
    return skipped & set(names)


def test_makemessages_finds_no_new_strings(tmp_path):
    """Every marked string is in the catalogue (needs GNU gettext, which `make test` installs).

    makemessages rewrites the catalogue it updates, so it runs on a copy of the sources: the
    shared django.po is never touched, whatever runs beside this test (xdist workers, other runs).
    """
    assert shutil.which("xgettext"), "GNU gettext is required; `make test` installs it"
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=_sources, symlinks=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "--ignore=.venv/*",
            "--ignore=var/*",
            "--ignore=tests/*",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
    )
    fresh = polib.pofile(str(copy / PO.relative_to(ROOT)))
    assert len(fresh.translated_entries()) > 50
    missing = [
        e.msgid for e in fresh if not e.obsolete and not (e.msgstr or e.msgstr_plural.get(0))
    ]
    assert missing == []
