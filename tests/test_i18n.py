"""The UI is Chinese first; every UI string also has an English translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def test_every_ui_string_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "N_",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (ROOT / "fieldapp/translations/en/LC_MESSAGES/messages.po").open("rb") as fh:
        have = {m.id for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    assert sorted(wanted - have) == [], "run scripts/i18n.sh and translate the new entries"
