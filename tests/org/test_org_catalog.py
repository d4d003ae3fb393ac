"""The Chinese catalog covers every interface string and is compiled.

Strict on both ends: every message the code marks for translation has a Chinese translation
(not a copy of the English), and no message a person can see is left unmarked - a refusal raised
with a plain English literal would reach the Chinese interface untranslated.
"""

from __future__ import annotations

import ast
import builtins
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


# Messages that never reach the people using the interface: definition authors and operators read
# these (expression and rule errors, loader problems, command-line output), in English by design.
_NOT_SHOWN_IN_THE_INTERFACE = (
    "expressions/",
    "rules/",
    "definitions/",
    "demo/",
    "plugins/",
    "printing/sandbox_worker.py",
    "budgets/",
    "notifications/channels.py",
    "org/users.py",
    "api/openapi.py",  # a route without a declaration: a programming error, found by the tests
    "input_limits.py",  # malformed request bodies: told to API clients, like the API's plain messages
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_BUILTIN_ERRORS = {name for name in dir(builtins) if name.endswith(("Error", "Exception"))}


def _literal_message(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_no_message_a_person_sees_is_left_untranslatable():
    """``raise SomeRefusal("english text")`` shows English in the Chinese interface; wrap it in ``_()``."""
    package = ROOT / "platform" / "formwork"
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(_NOT_SHOWN_IN_THE_INTERFACE) or relative.endswith("cli.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in _BUILTIN_ERRORS or name.startswith("_"):
                continue  # programming errors and internal signals, never shown
            if node.exc.args and _literal_message(node.exc.args[0]):
                found.append(f"{relative}:{node.lineno}: {ast.unparse(node.exc.args[0])[:80]}")
    assert not found, "messages shown to people but not translatable (wrap them in _()):\n" + "\n".join(found)


def test_every_translation_is_chinese():
    """A msgstr that only repeats the English (or holds no Chinese) is untranslated."""
    with open(PO, "rb") as handle:
        po = read_po(handle)
    copied = []
    for message in po:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        words = re.sub(r"[^A-Za-z]+", " ", re.sub(r"%\(\w+\)[sd]", " ", " ".join(ids))).split()
        if words and not all(_CJK.search(text or "") for text in strings):
            copied.append(message.id)
    assert not copied, "not translated to Chinese: " + repr(copied)
