"""Compiling published permission versions, with the lines of their source when it is still at hand.

A stored version keeps its content and the name of the file it was published from. Explain
names lines only when that file still holds exactly the published content (same checksum):
a line of a file edited since would point at the wrong place, so then it names none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..definitions.loader import read_source
from ..definitions.models import DefinitionVersion
from ..definitions.problems import DefinitionError
from ..definitions.store import checksum, json_ready
from .model import Policy, compile_policy


def source_lines(definition: DefinitionVersion, roots: tuple[Path, ...] = ()) -> Mapping[str, int] | None:
    """Pointer → line of ``definition``'s source file, or None when it is gone or has changed."""
    if not definition.source:
        return None
    name = Path(definition.source)
    candidates = [name] if name.is_absolute() else [name, *(root / name for root in roots)]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            document = read_source(path, definition.source)
            same = checksum(json_ready(document.content)) == definition.checksum
        except DefinitionError:
            continue
        if same:
            return document.lines
    return None


def compile_version(
    definition: DefinitionVersion,
    *,
    form: Any = None,
    functions: Mapping[str, Any] | None = None,
    roots: tuple[Path, ...] = (),
) -> Policy:
    """The ``Policy`` of a stored permission version (``form``: its compiled form, None for ``*``).

    ``roots`` are folders a relative source name may be relative to (the project folder, the
    definitions folder's parent). Callers cache the result per version id: a version never changes.
    """
    return compile_policy(
        definition.content,
        version=definition.version,
        form=form,
        functions=functions,
        lines=source_lines(definition, roots),
        source=definition.source,
        definition_id=definition.id,
    )
