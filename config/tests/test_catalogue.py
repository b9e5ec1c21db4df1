"""The Vietnamese catalogue is complete and compiled, whatever the change."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "vi" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _entries(po: polib.POFile) -> dict[tuple[str | None, str], polib.POEntry]:
    return {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}


def test_every_entry_of_the_vietnamese_catalogue_is_translated():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []


def test_the_compiled_catalogue_matches_the_source_catalogue():
    po = {
        key: (e.msgstr or e.msgstr_plural.get(0))
        for key, e in _entries(polib.pofile(str(PO))).items()
    }
    mo = {
        key: (e.msgstr or e.msgstr_plural.get(0))
        for key, e in _entries(polib.mofile(str(MO))).items()
        if e.msgid
    }
    assert mo == po, "run `make messages` to compile locale/vi"


def test_every_source_string_is_in_the_catalogue(tmp_path):
    """makemessages on a copy of the tree finds no msgid the catalogue lacks."""
    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "staticfiles", "*.sqlite3", "__pycache__"),
    )
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "vi",
            "--no-obsolete",
            "--ignore=scripts",
            "--ignore=staticfiles",
        ],
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "true", "SQLITE_PATH": str(tmp_path / "x.db")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    fresh = set(_entries(polib.pofile(str(copy / "locale" / "vi" / "LC_MESSAGES" / "django.po"))))
    known = set(_entries(polib.pofile(str(PO))))
    assert fresh - known == set(), "new source strings: run `make messages` and translate them"
