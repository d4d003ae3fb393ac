"""Published definition versions: immutable, numbered per (kind, key), stored only when changed.

Publishing checks first (schema, then semantics); an invalid definition never
becomes a version. A version's content never changes afterwards, so anything
derived from it (the compiled form) is cached per version for the life of the
process and can never go stale: a publish makes a *new* version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from ..extensions import db, transaction
from .loader import SourceDocument, exact_decimal_text
from .models import DefinitionVersion
from .pipeline import batch, check, check_files, discover, publishing_order
from .problems import DefinitionError, Problem

R = TypeVar("R")
log = logging.getLogger(__name__)

PUBLISH_ATTEMPTS = 5  # retries when a concurrent publisher took the same version number
COMPILED_CACHE_SIZE = 256
_CACHE_KEY = "formwork.definitions.compiled"


# --- content and checksum ----------------------------------------------------------------------


def json_ready(value: Any, pointer: str = "") -> Any:
    """``value`` as plain JSON data; decimals (and floats from Python callers) become exact text.

    This is the same form the loader produces, so a definition published from a
    file and the same definition passed as a dict get the same checksum.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        return exact_decimal_text(value)
    if isinstance(value, float):
        # repr() is the shortest text that reads back as the same float: 0.1 → "0.1".
        return exact_decimal_text(Decimal(repr(value)))
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DefinitionError([Problem(f"keys must be text, got {key!r}", pointer)])
            result[key] = json_ready(item, f"{pointer}/{key}")
        return result
    if isinstance(value, (list, tuple)):
        return [json_ready(item, f"{pointer}/{index}") for index, item in enumerate(value)]
    raise DefinitionError([Problem(f"{type(value).__name__} values cannot appear in a definition", pointer)])


def canonical_json(content: Any) -> str:
    """One text per meaning: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def checksum(content: Any) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# --- reading -----------------------------------------------------------------------------------


def current(kind: str, key: str) -> DefinitionVersion | None:
    """The newest version of ``kind``/``key``, or None if it was never published."""
    return db.session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.kind == kind, DefinitionVersion.key == key)
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )


def get(version_id: int) -> DefinitionVersion | None:
    return db.session.get(DefinitionVersion, version_id)


def version(kind: str, key: str, number: int) -> DefinitionVersion | None:
    return db.session.scalar(
        select(DefinitionVersion).where(
            DefinitionVersion.kind == kind, DefinitionVersion.key == key, DefinitionVersion.version == number
        )
    )


def versions(kind: str, key: str) -> list[DefinitionVersion]:
    """Every version of ``kind``/``key``, oldest first."""
    return list(
        db.session.scalars(
            select(DefinitionVersion)
            .where(DefinitionVersion.kind == kind, DefinitionVersion.key == key)
            .order_by(DefinitionVersion.version)
        )
    )


def current_statement(kind: str | None, *columns: Any) -> Any:
    """A ``SELECT`` of ``columns`` (default: the whole ``DefinitionVersion``) of the newest version of
    every definition of ``kind`` (every kind when None), ordered by kind and key."""
    newest = select(
        DefinitionVersion.kind, DefinitionVersion.key, func.max(DefinitionVersion.version).label("version")
    ).group_by(DefinitionVersion.kind, DefinitionVersion.key)
    if kind is not None:
        newest = newest.where(DefinitionVersion.kind == kind)
    latest = newest.subquery()
    return (
        select(*(columns or (DefinitionVersion,)))
        .join(
            latest,
            (DefinitionVersion.kind == latest.c.kind)
            & (DefinitionVersion.key == latest.c.key)
            & (DefinitionVersion.version == latest.c.version),
        )
        .order_by(DefinitionVersion.kind, DefinitionVersion.key)
    )


def list_current(kind: str | None = "form") -> list[DefinitionVersion]:
    """The newest version of every definition of ``kind`` (every kind when None), by kind and key."""
    return list(db.session.scalars(current_statement(kind)))


# --- compiled forms ----------------------------------------------------------------------------


class _CompiledCache:
    """A small LRU of compiled artefacts, one per application (so per registry and database)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_build(self, key: tuple[int, str], build: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = build()  # outside the lock: compiling twice in a race is harmless, blocking is not
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def _cache() -> _CompiledCache:
    cache = current_app.extensions.get(_CACHE_KEY)
    if cache is None:
        cache = current_app.extensions.setdefault(_CACHE_KEY, _CompiledCache(COMPILED_CACHE_SIZE))
    return cache


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
        from flask_babel import gettext as _

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
        from flask_babel import gettext as _

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
    result = _cache().get_or_build((definition.id, definition.checksum), lambda: _compile(definition))
    if isinstance(result, _Failed):
        raise FormUnavailable(definition, list(result.problems))  # a fresh exception per caller
    return result


@dataclass(frozen=True)
class _Failed:
    problems: tuple[Problem, ...]


def _compile(definition: DefinitionVersion) -> Any:
    from ..forms.model import compile_form
    from ..plugins import current_registry

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
    from ..forms.field_types import localized

    form, _unavailable = form_or_unavailable(definition)
    if form is not None:
        return form.title(locale)
    content = definition.content if isinstance(definition.content, dict) else {}
    return localized(content.get("title"), locale) or definition.key


# --- publishing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What publishing one definition did."""

    definition: DefinitionVersion
    created: bool
    source: str | None = None


def publish(
    content: Any,
    *,
    source: str | None = None,
    user: Any = None,
    registry: Any = None,
    document: SourceDocument | None = None,
) -> tuple[DefinitionVersion, bool]:
    """Check and store one definition; ``created`` is False when it equals the current version.

    Raises ``DefinitionError`` (nothing stored) when the definition has problems;
    ``document`` (from the loader) adds lines to them. Commits the session.
    """
    content = json_ready(content)
    problems = check(content, registry, document)
    if problems:
        raise DefinitionError([p.located(source, p.line) if p.source is None else p for p in problems])
    result = _transaction(lambda: _store(content, source, user))
    return result.definition, result.created


def publish_all(
    items: Iterable[tuple[Any, str | None]], *, user: Any = None, registry: Any = None
) -> list[Published]:
    """Publish several already-read definitions as one unit: all of them, or none.

    ``items`` are ``(content, source)`` pairs. Every problem of every item is
    collected before anything is written.
    """
    prepared = [(json_ready(content), source) for content, source in items]
    problems: list[Problem] = []
    seen: dict[tuple[Any, Any], str | None] = {}
    with batch(content for content, _ in prepared):
        for content, source in prepared:
            problems.extend(p.located(source, p.line) for p in check(content, registry))
    for content, source in prepared:
        identity = (content.get("kind"), content.get("key")) if isinstance(content, dict) else None
        if identity is not None and identity in seen:
            problems.append(
                Problem(f"{identity[0]} {identity[1]!r} is also defined in {seen[identity]}", "/key", source)
            )
        elif identity is not None:
            seen[identity] = source
    if problems:
        raise DefinitionError(problems)
    prepared.sort(key=lambda item: publishing_order(item[0]))  # forms before the routes that use them
    return _transaction(lambda: [_store(content, source, user) for content, source in prepared])


def publish_path(
    path: Path, *, user: Any = None, registry: Any = None, display: Callable[[Path], str] = str
) -> list[Published]:
    """Publish a definition file or a definitions folder, all or nothing."""
    checked = check_files(discover(path), registry, display)
    problems = [p for item in checked for p in item.problems]
    if problems:
        raise DefinitionError(problems)
    prepared = [(item.content, display(item.path)) for item in checked]
    prepared.sort(key=lambda item: publishing_order(item[0]))  # forms before the routes that use them
    return _transaction(lambda: [_store(content, source, user) for content, source in prepared])


def _transaction(work: Callable[[], R]) -> R:
    """Run ``work`` and commit; on a version-number collision roll back and run it again.

    On PostgreSQL an advisory lock per (kind, key) makes collisions rare; the
    unique constraint on (kind, key, version) is the guarantee on every
    database, and a retry simply re-reads the newest version.
    """
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            with transaction():
                result = work()
            return result
        except IntegrityError:
            if attempt == PUBLISH_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _lock(kind: str, key: str) -> None:
    """Serialise publishers of one definition until the transaction ends (PostgreSQL only)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"formwork.definition:{kind}:{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _store(content: dict, source: str | None, user: Any) -> Published:
    kind, key = content["kind"], content["key"]
    _lock(kind, key)
    digest = checksum(content)
    latest = current(kind, key)
    if latest is not None and latest.checksum == digest:
        return Published(latest, False, source)
    definition = DefinitionVersion(
        kind=kind,
        key=key,
        version=(latest.version + 1) if latest is not None else 1,
        content=content,
        checksum=digest,
        source=source[-500:] if source else None,
        published_by_id=getattr(user, "id", None),
    )
    db.session.add(definition)
    db.session.flush()
    return Published(definition, True, source)
