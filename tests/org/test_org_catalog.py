"""The Chinese catalog covers every interface string and is compiled."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "platform" / "formwork" / "translations"
PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"


def _ids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_every_interface_string_is_in_the_catalog(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            "platform/formwork",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as handle:
        wanted = _ids(read_po(handle))
    with open(PO, "rb") as handle:
        have = _ids(read_po(handle))
    missing = sorted(wanted - have)
    assert not missing, "untranslated (see platform/formwork/translations/README.md): " + repr(missing)


def test_catalog_is_translated_and_compiled():
    with open(PO, "rb") as handle:
        po = read_po(handle)
    empty = [m.id for m in po if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert not empty
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert not fuzzy
    for message in po:
        if message.id and isinstance(message.id, str):
            assert sorted(re.findall(r"%\((\w+)\)", message.id)) == sorted(
                re.findall(r"%\((\w+)\)", message.string)
            )
    with open(MO, "rb") as handle:
        mo = read_mo(handle)
    assert {m.id: m.string for m in mo if m.id} == {m.id: m.string for m in po if m.id}
