"""Per-form print templates: sandboxed Jinja files under ``definitions/print/``.

A form names its template with ``print_template: expense_claim.html``. The template
is rendered in a child process (``sandbox_worker.py``) by Jinja's immutable sandbox,
with autoescaping, a loader that reads only ``definitions/print/``, and limits on
size, loops, CPU time and memory. It sees only the plain voucher data (texts, numbers,
lists) — never an application object. Any failure raises ``PrintTemplateError``;
the caller falls back to the default voucher.

The template belongs to the form version: publishing reads it and every template it
includes (``load_print_template``), checks them, and stores their sources inside the
version's content (``print_template_files``), so a changed file makes a new version and a
record already made prints with the template of its own version (``sources=`` below).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import current_app
from jinja2 import TemplateSyntaxError
from jinja2.meta import find_referenced_templates

from ..config import PROJECT_ROOT
from .sandbox_worker import PrintSandbox

WORKER = Path(__file__).with_name("sandbox_worker.py")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\.html$")
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_OUTPUT_CHARS = 2 * 1024 * 1024
TIMEOUT_SECONDS = 10


class PrintTemplateError(Exception):
    """A print template that is missing, too large, broken, or that tried something not allowed."""

    def __init__(self, name: str, message: str, line: int | None = None):
        self.name = name
        self.message = message
        self.line = line
        where = f"{name}:{line}" if line else name
        super().__init__(f"print template {where}: {message}")


def print_directory() -> Path:
    """Where print templates live (``FORMWORK_PRINT_DIR``, default ``definitions/print``)."""
    configured = current_app.config.get("FORMWORK_PRINT_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "definitions" / "print"


def template_path(name: str, directory: Path | None = None) -> Path:
    """The file of template ``name``, refusing names that could leave the print directory."""
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise PrintTemplateError(
            str(name)[:100], "a print template name is a file name ending in .html, without folders"
        )
    directory = (directory or print_directory()).resolve()
    path = (directory / name).resolve()
    if path.parent != directory:
        raise PrintTemplateError(name, "the template must be directly inside the print directory")
    if not path.is_file():
        raise PrintTemplateError(name, f"no such file in {directory}")
    if path.stat().st_size > MAX_TEMPLATE_BYTES:
        raise PrintTemplateError(name, f"the template is larger than {MAX_TEMPLATE_BYTES // 1024} KB")
    return path


MAX_TEMPLATE_FILES = 20  # a template and the files it includes


def _parse(name: str, source: str) -> Any:
    """The template's syntax tree in the print sandbox's own environment, or ``PrintTemplateError``."""

    try:
        return PrintSandbox(autoescape=True).parse(source, name=name)
    except TemplateSyntaxError as exc:
        raise PrintTemplateError(name, f"syntax error: {exc.message}", exc.lineno) from None


def load_print_template(name: str, directory: Path | None = None) -> dict[str, str]:
    """Read template ``name`` and every file it includes, imports or extends, each checked.

    Returns ``{file name: source}``, the main template first. Raises ``PrintTemplateError``
    for a bad name, a missing or oversized file, text that is not UTF-8, a syntax error, or an
    include that does not name its file literally (then nobody could tell what it prints).
    """

    sources: dict[str, str] = {}
    waiting = [name]
    while waiting:
        current = waiting.pop(0)
        if current in sources:
            continue
        if len(sources) >= MAX_TEMPLATE_FILES:
            raise PrintTemplateError(name, f"a print template may use at most {MAX_TEMPLATE_FILES} files")
        try:
            path = template_path(current, directory)
        except PrintTemplateError as exc:
            if current == name:
                raise
            raise PrintTemplateError(name, f"the included template {current!r}: {exc.message}") from None
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PrintTemplateError(current, "the file is not UTF-8 text") from None
        tree = _parse(current, source)
        sources[current] = source
        for included in find_referenced_templates(tree):
            if included is None:
                raise PrintTemplateError(
                    current, "an include, import or extends must name its file literally"
                )
            waiting.append(included)
    return sources


def render_print_template(name: str, context: dict[str, Any], sources: dict[str, str] | None = None) -> str:
    """HTML of print template ``name`` for ``context`` (plain JSON data), or ``PrintTemplateError``.

    ``sources`` are the template files stored with the form version (``load_print_template``);
    without them (a version published before templates were stored) the print directory is read.
    """
    job: dict[str, Any] = {"name": name, "context": context, "max_output": MAX_OUTPUT_CHARS}
    if sources is not None:
        if name not in sources:
            raise PrintTemplateError(name, "the template is not stored with this form version")
        job["sources"] = sources
    else:
        job["directory"] = str(template_path(name).parent)
    request = json.dumps(job, ensure_ascii=False, default=str)
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(WORKER)],
            input=request.encode("utf-8"),
            capture_output=True,
            timeout=current_app.config.get("FORMWORK_PRINT_TIMEOUT", TIMEOUT_SECONDS),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PrintTemplateError(name, "rendering took too long and was stopped") from None
    except OSError as exc:
        raise PrintTemplateError(name, f"the template renderer could not start: {exc}") from None
    if done.returncode != 0:
        # Killed by the CPU or memory limit, or crashed: say which without leaking internals.
        reason = "it used too much CPU time or memory" if done.returncode < 0 else "the renderer failed"
        raise PrintTemplateError(name, f"rendering was stopped: {reason}")
    try:
        result = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PrintTemplateError(name, "the renderer gave no readable answer") from None
    if "error" in result:
        raise PrintTemplateError(name, str(result["error"])[:500], result.get("line"))
    return str(result["html"])


def check_print_template(name: str, directory: Path | None = None) -> list[str]:
    """Problems of template ``name`` found without data (missing file, size, syntax, includes), or ``[]``."""
    try:
        load_print_template(name, directory)
    except PrintTemplateError as exc:
        return [str(exc)]
    return []
