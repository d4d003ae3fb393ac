"""The compiled-form catalogue: each published form version as a ``FormModel``, compiled once.

A version that cannot be compiled in this installation (a plugin it needs is not loaded)
is ``FormUnavailable``: lists show why, opening it answers 503.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from ..definitions import store
from ..definitions.models import DefinitionVersion
from ..definitions.problems import DefinitionError, Problem
from ..i18n import localized
from ..plugins import current_registry
from .model import compile_form

log = logging.getLogger(__name__)

_UNKNOWN_FUNCTION = re.compile(r"unknown function '([A-Za-z_][A-Za-z0-9_]*)'")
_UNKNOWN_FIELD_TYPE = re.compile(r'unknown field type "([A-Za-z_][A-Za-z0-9_]*)"')


class FormUnavailable(DefinitionError):
    """A published form version that cannot be compiled in this installation.

    It was valid when published; typically a plugin it needs (an expression function
    or a field type) is not loaded now, e.g. in safe mode. Lists show the form as
    unavailable with ``reason()``; opening it answers 503 with the same text.
    """

    def __init__(self, definition: DefinitionVersion, problems: list[Problem]):
        super().__init__(problems)
        self.key = definition.key
        self.version = definition.version
        self.definition_id = definition.id
        found = [p.message for p in problems]
        self.missing_functions = sorted({m for text in found for m in _UNKNOWN_FUNCTION.findall(text)})
        self.missing_field_types = sorted({m for text in found for m in _UNKNOWN_FIELD_TYPE.findall(text)})

    def reason(self) -> str:
        """Why the form cannot be used, in the interface language."""
        parts = []
        if self.missing_functions:
            parts.append(
                _(
                    "needs plugin function %(names)s, which is not loaded",
                    names=", ".join(self.missing_functions),
                )
            )
        if self.missing_field_types:
            parts.append(
                _(
                    "needs plugin field type %(names)s, which is not loaded",
                    names=", ".join(self.missing_field_types),
                )
            )
        if not parts:
            first = self.problems[0] if self.problems else None
            detail = f"{first.pointer or '/'}: {first.message}" if first is not None else ""
            parts.append(_("its definition cannot be compiled here (%(detail)s)", detail=detail[:300]))
        return "; ".join(parts)

    def message(self) -> str:
        return _(
            'The form "%(key)s" (version %(version)s) is unavailable: %(reason)s.',
            key=self.key,
            version=self.version,
            reason=self.reason(),
        )


def compiled_form(definition: DefinitionVersion) -> Any:
    """The ``FormModel`` of a form version, compiled once per process.

    Keyed by id *and* checksum, so a cache can never hand one database's form
    to another that reuses the id. A version that cannot be compiled here (a
    plugin it needs is not loaded) raises ``FormUnavailable``; the failure is
    cached and logged once, like a success.
    """
    if definition.kind != "form":
        raise ValueError(f"{definition.kind} {definition.key} is not a form")
    result = store.compiled(definition, _compile)
    if isinstance(result, _Failed):
        raise FormUnavailable(definition, list(result.problems))  # a fresh exception per caller
    return result


@dataclass(frozen=True)
class _Failed:
    problems: tuple[Problem, ...]


def _compile(definition: DefinitionVersion) -> Any:
    try:
        return compile_form(definition.content, current_registry())
    except DefinitionError as exc:
        log.error(
            "form %s version %s is unavailable (a plugin it needs may not be loaded): %s",
            definition.key,
            definition.version,
            exc,
        )
        return _Failed(tuple(exc.problems))


def form_or_unavailable(definition: DefinitionVersion) -> tuple[Any, FormUnavailable | None]:
    """``(form, None)``, or ``(None, why)`` for a version that cannot be compiled here."""
    try:
        return compiled_form(definition), None
    except FormUnavailable as exc:
        return None, exc


def form_title(definition: DefinitionVersion, locale: str | None = None) -> str:
    """The title of a form version; read from its content when the form cannot be compiled."""
    form, _unavailable = form_or_unavailable(definition)
    if form is not None:
        return form.title(locale)
    content = definition.content if isinstance(definition.content, dict) else {}
    return localized(content.get("title"), locale or "en") or definition.key
