"""A form's print template becomes part of the form version.

When a form names ``print_template``, checking it (validate or publish) reads that file and
every file it includes from the print folder, checks them (name, size, UTF-8, syntax in the
print sandbox's Jinja environment) and puts their sources into the content under
``print_template_files``. The sources are then covered by the version's checksum — a
changed template makes a new version — and a record prints with the template of the version
it was made with, whatever the folder holds later.

The print folder is ``print/`` beside the kind folder the form's file is in
(``definitions/forms/x.yaml`` → ``definitions/print/``); for a definition not read from a
file (the API, the editor, a Python caller), it is ``FORMWORK_PRINT_DIR`` — whatever name the
sender gave its text, since a name chosen by an API caller must not pick a folder to read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import PROJECT_ROOT
from ..printing.templates import PrintTemplateError, load_print_template, print_directory
from .problems import Problem

FILES_KEY = "print_template_files"
POINTER = "/print_template"


def print_folder(source: Path | None) -> Path:
    """Where the print templates of a definition read from file ``source`` (or from no file) live."""
    if isinstance(source, Path):
        folder = source.parent
        candidate = folder.parent / "print"
        if folder.name in ("forms", "routes") and candidate.is_dir():
            return candidate
    try:
        return print_directory()
    except RuntimeError:  # no application: the project's own folder
        return PROJECT_ROOT / "definitions" / "print"


def embed_print_template(content: Any, source: Path | None = None) -> list[Problem]:
    """Fill in (or drop) ``print_template_files`` of a form's content; problems point at /print_template.

    Anything a caller put under ``print_template_files`` is replaced by what the folder holds,
    so stored sources always come from checked files.
    """
    if not isinstance(content, dict) or content.get("kind") != "form":
        return []
    content.pop(FILES_KEY, None)
    name = content.get("print_template")
    if not isinstance(name, str) or not name:
        return []  # the schema reports a print_template that is not text
    try:
        content[FILES_KEY] = load_print_template(name, print_folder(source))
    except PrintTemplateError as exc:
        return [Problem(str(exc), POINTER)]
    return []
