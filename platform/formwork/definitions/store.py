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
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

from ..audit import actions, trail
from ..extensions import db, transaction
from . import in_force
from .cache import compiled_cache as _cache
from .in_force import current_statement
from .loader import SourceDocument, exact_decimal_text
from .models import DefinitionVersion
from .pipeline import batch, check, check_files, discover, identity_of, publishing_order
from .print_sources import embed_print_template
from .problems import DefinitionError, Problem

R = TypeVar("R")
log = logging.getLogger(__name__)

PUBLISH_ATTEMPTS = 5  # retries when a concurrent publisher took the same version number


# --- content and checksum ----------------------------------------------------------------------


def json_ready(value: Any, pointer: str = "") -> Any:
    """``value`` as plain JSON data; decimals (and floats from Python callers) become exact text.

    This is the same form the loader produces, so a definition published from a
    file and the same definition passed as a dict get the same checksum.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, (Decimal, float)):
        # repr() is the shortest text that reads back as the same float: 0.1 → "0.1".
        number = value if isinstance(value, Decimal) else Decimal(repr(value))
        try:
            return exact_decimal_text(number)
        except ValueError as exc:  # 1e+239 and the like: a problem with the definition, not a crash
            raise DefinitionError([Problem(str(exc), pointer)]) from exc
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
    """The newest version of ``kind``/``key``, or None if it was never published.

    In a request, answered from the published set (``in_force``): no statement per question."""
    if in_force.usable():
        return in_force.current(kind, key)
    return db.session.scalar(
        select(DefinitionVersion)
        .where(DefinitionVersion.kind == kind, DefinitionVersion.key == key)
        .order_by(DefinitionVersion.version.desc())
        .limit(1)
    )


def get(version_id: int) -> DefinitionVersion | None:
    return db.session.get(DefinitionVersion, version_id)


def get_one(version_id: int) -> DefinitionVersion:
    """A version that a foreign key guarantees exists (a record's form, a process's route)."""
    return db.session.get_one(DefinitionVersion, version_id)


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


def list_current(kind: str | None = "form") -> list[DefinitionVersion]:
    """The newest version of every definition of ``kind`` (every kind when None), by kind and key."""
    return list(db.session.scalars(current_statement(kind)))


# --- the current definitions, read once per publish ------------------------------------------------


class _CurrentSet:
    """The current version of every definition, content included, read in one statement when first needed."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], DefinitionVersion] | None = None

    def versions(self) -> dict[tuple[str, str], DefinitionVersion]:
        if self._versions is None:
            rows = db.session.scalars(current_statement(None).options(undefer(DefinitionVersion.content)))
            self._versions = {(version.kind, version.key): version for version in rows}
        return self._versions


_CURRENT_SET: ContextVar[_CurrentSet | None] = ContextVar("formwork_current_definitions", default=None)


@contextmanager
def reading_current_once() -> Iterator[None]:
    """While checking a set of definitions, every question about what is published now (the routes
    of a form, the form of a route) is answered from one read of all current versions, not one
    statement per question. For checks only: the store re-reads under its locks before writing."""
    if _CURRENT_SET.get() is not None:
        yield
        return
    token = _CURRENT_SET.set(_CurrentSet())
    try:
        yield
    finally:
        _CURRENT_SET.reset(token)


def current_versions(kind: str) -> list[DefinitionVersion]:
    """The newest version of every definition of ``kind``, by key, with its content loaded."""
    found = _CURRENT_SET.get()
    if found is None:
        return list(db.session.scalars(current_statement(kind).options(undefer(DefinitionVersion.content))))
    return [version for (k, _), version in sorted(found.versions().items()) if k == kind]


def current_version(kind: str, key: str) -> DefinitionVersion | None:
    """``current(kind, key)``, answered from the current set when one is being read."""
    found = _CURRENT_SET.get()
    return current(kind, key) if found is None else found.versions().get((kind, key))


def settled(contents: Iterable[Any]) -> set[tuple[str, str]]:
    """The definitions of a set that equal their current version and whose semantic checks depend
    on nothing that changes with this set: they are checked against their schema only.

    A form's checks depend on itself (and on the routes attached to it, which are checked
    against it when they change); a route's also on its form, so an unchanged route whose form
    changes in the same set is checked again. Print templates must be embedded already.
    """
    found = _CURRENT_SET.get() or _CurrentSet()
    current_now = found.versions()
    identities: dict[tuple[str, str], dict] = {}
    for content in contents:
        identity = identity_of(content)
        if identity is not None:
            identities.setdefault(identity, content)
    unchanged = set()
    for identity, content in identities.items():
        latest = current_now.get(identity)
        if latest is not None and latest.checksum == checksum(content):
            unchanged.add(identity)
    changed_forms = {key for kind, key in identities if kind == "form" and (kind, key) not in unchanged}
    return {
        (kind, key)
        for kind, key in unchanged
        if not (kind == "route" and identities[(kind, key)].get("form") in changed_forms)
    }


# --- compiled artefacts ----------------------------------------------------------------------------


def compiled(definition: DefinitionVersion, build: Callable[[DefinitionVersion], R]) -> R:
    """What ``build`` makes of a version, made once per process (``forms.catalogue`` compiles forms so).

    Keyed by id *and* checksum, so a cache can never hand one database's artefact to another
    that reuses the id. A version never changes, so the entry never goes stale.
    """
    return _cache().get_or_build((definition.id, definition.checksum), lambda: build(definition))


# --- publishing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What publishing one definition did."""

    definition: DefinitionVersion
    created: bool
    source: str | None = None
    warnings: tuple[Problem, ...] = ()  # found while checking; they never stop publishing


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a definition (warnings aside)."""
    return [p for p in problems if not p.warning]


def _warnings_by_source(problems: Iterable[Problem]) -> dict[str | None, tuple[Problem, ...]]:
    found: dict[str | None, list[Problem]] = {}
    for problem in problems:
        if problem.warning:
            found.setdefault(problem.source, []).append(problem)
    return {source: tuple(items) for source, items in found.items()}


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
    result = publish_one(content, source=source, user=user, registry=registry, document=document)
    return result.definition, result.created


def publish_one(
    content: Any,
    *,
    source: str | None = None,
    user: Any = None,
    registry: Any = None,
    document: SourceDocument | None = None,
) -> Published:
    """As ``publish``, answering with the warnings found too (they do not stop publishing)."""
    content = json_ready(content)
    with reading_current_once():
        embed_print_template(content, document.path if document is not None else None)
        semantic = identity_of(content) not in settled([content])
        found = check(content, registry, document, semantic=semantic)
    problems = [p.located(source, p.line) if p.source is None else p for p in found]
    if errors_only(problems):
        raise DefinitionError(problems)
    (result,) = _transaction(lambda: _store_all([(content, source)], user))
    return replace(result, warnings=tuple(problems))


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
    with reading_current_once(), batch(content for content, _ in prepared):
        for content, _ in prepared:
            embed_print_template(content)  # as ``check`` does, so that the checksum covers it
        skip = settled(content for content, _ in prepared)
        for content, source in prepared:
            semantic = identity_of(content) not in skip
            problems.extend(p.located(source, p.line) for p in check(content, registry, semantic=semantic))
    for content, source in prepared:
        identity = (content.get("kind"), content.get("key")) if isinstance(content, dict) else None
        if identity is not None and identity in seen:
            problems.append(
                Problem(f"{identity[0]} {identity[1]!r} is also defined in {seen[identity]}", "/key", source)
            )
        elif identity is not None:
            seen[identity] = source
    if errors_only(problems):
        raise DefinitionError(problems)
    warned = _warnings_by_source(problems)
    prepared.sort(key=lambda item: publishing_order(item[0]))  # forms before the routes that use them
    published = _transaction(lambda: _store_all(prepared, user))
    return [replace(item, warnings=warned.get(item.source, ())) for item in published]


def publish_path(
    path: Path, *, user: Any = None, registry: Any = None, display: Callable[[Path], str] = str
) -> list[Published]:
    """Publish a definition file or a definitions folder, all or nothing."""
    with reading_current_once():
        checked = check_files(discover(path), registry, display, settled=settled)
    problems = [p for item in checked for p in item.problems]
    if errors_only(problems):
        raise DefinitionError(problems)
    warned = _warnings_by_source(problems)
    prepared = [(item.content, display(item.path)) for item in checked]
    prepared.sort(key=lambda item: publishing_order(item[0]))  # forms before the routes that use them
    published = _transaction(lambda: _store_all(prepared, user))
    return [replace(item, warnings=warned.get(item.source, ())) for item in published]


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


def _lock(identities: Iterable[tuple[str, str]]) -> None:
    """Serialise publishers of these definitions until the transaction ends (PostgreSQL only).

    One statement for the whole set; the locks are taken in one order (sorted ids) by every
    publisher, so two publishers of overlapping sets cannot deadlock.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(kind, key) for kind, key in identities})
    if ids:
        db.session.execute(
            text(
                "SELECT pg_advisory_xact_lock(id) FROM "
                "(SELECT unnest(CAST(:ids AS bigint[])) AS id ORDER BY 1) AS ordered"
            ),
            {"ids": ids},
        )


def _lock_id(kind: str, key: str) -> int:
    digest = hashlib.sha256(f"formwork.definition:{kind}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _newest(identities: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DefinitionVersion]:
    """The newest stored version of each of ``identities``, in one statement."""
    wanted = set(identities)
    if not wanted:
        return {}
    newest = (
        select(
            DefinitionVersion.kind,
            DefinitionVersion.key,
            func.max(DefinitionVersion.version).label("version"),
        )
        .where(DefinitionVersion.key.in_(sorted({key for _, key in wanted})))
        .group_by(DefinitionVersion.kind, DefinitionVersion.key)
        .subquery()
    )
    rows = db.session.scalars(
        select(DefinitionVersion).join(
            newest,
            (DefinitionVersion.kind == newest.c.kind)
            & (DefinitionVersion.key == newest.c.key)
            & (DefinitionVersion.version == newest.c.version),
        )
    )
    return {(row.kind, row.key): row for row in rows if (row.kind, row.key) in wanted}


def _store_all(prepared: Sequence[tuple[dict, str | None]], user: Any) -> list[Published]:
    """Store each changed definition of a checked set as a new version, in one flush.

    Under the locks the newest versions are read again (one statement), so an unchanged
    definition is recognised, and a new one numbered, against what is stored now.
    """
    identities = [(content["kind"], content["key"]) for content, _ in prepared]
    _lock(identities)
    latest_of = _newest(identities)
    results: list[Published] = []
    for (content, source), identity in zip(prepared, identities, strict=True):
        digest = checksum(content)
        latest = latest_of.get(identity)
        if latest is not None and latest.checksum == digest:
            results.append(Published(latest, False, source))
            continue
        definition = DefinitionVersion(
            kind=identity[0],
            key=identity[1],
            version=(latest.version + 1) if latest is not None else 1,
            content=content,
            checksum=digest,
            source=source[-500:] if source else None,
            published_by_id=getattr(user, "id", None),
        )
        db.session.add(definition)
        results.append(Published(definition, True, source))
    if any(result.created for result in results):
        db.session.flush()
    for result in results:
        if result.created:
            version = result.definition
            trail.append(
                actions.DEFINITION_PUBLISH,
                actor=user,
                object_type=version.kind,
                object_id=version.key,
                details={"version": version.version, "checksum": version.checksum, "source": version.source},
            )
    return results
