"""What is published now, without a statement per question.

Nearly every request asks what is in force: the current version of its form, the route that
form follows, the permission definitions. Definitions are versions added, never changed or
removed, so the published set is the same as long as its *stamp* is: the number of versions,
the newest id and the newest publishing time, read in one small statement once per request
(``request_memo``; a publish counts from the next request, in every worker). The heads of the
set — kind, key, version, checksum, the form a route is for — are read in one statement once
per stamp and kept per application (``definitions.cache``), a version's content once per version.

A version handed out is attached to the request's session without a statement (``merge`` with
``load=False``), so callers use it as if they had queried it. Outside a request (commands,
background work), and in a transaction that has itself written definitions (it must see its
own uncommitted versions), each question is a statement as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import has_request_context
from sqlalchemy import func, select
from sqlalchemy.orm import make_transient_to_detached

from ..extensions import db
from ..request_memo import once, written_in_transaction
from .cache import compiled_cache
from .models import DefinitionVersion

TABLE = DefinitionVersion.__tablename__
_COLUMNS = (
    DefinitionVersion.id,
    DefinitionVersion.kind,
    DefinitionVersion.key,
    DefinitionVersion.version,
    DefinitionVersion.checksum,
    DefinitionVersion.source,
    DefinitionVersion.published_at,
    DefinitionVersion.published_by_id,
    DefinitionVersion.form_key,
)


@dataclass(frozen=True)
class Head:
    """The columns of one current version (its content is read separately, once)."""

    id: int
    kind: str
    key: str
    version: int
    checksum: str
    source: str | None
    published_at: datetime | None
    published_by_id: int | None
    form_key: str | None


@dataclass(frozen=True)
class Heads:
    """The current version of every definition, and the current routes of each form."""

    by_identity: dict[tuple[str, str], Head]
    routes_by_form: dict[str, tuple[Head, ...]] = field(default_factory=dict)


def usable() -> bool:
    """Can questions be answered from the published set now (in a request that wrote no definitions)?"""
    return has_request_context() and not written_in_transaction((TABLE,))


def stamp() -> tuple[Any, ...]:
    """What identifies the published set, read once per request."""
    return once("published stamp", _read_stamp, tables=(TABLE,))


def _read_stamp() -> tuple[Any, ...]:
    row = db.session.execute(
        select(func.count(), func.max(DefinitionVersion.id), func.max(DefinitionVersion.published_at))
    ).one()
    return tuple(row)


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


def heads() -> Heads:
    """The heads of the published set (one statement per set and application)."""
    return compiled_cache().get_or_build(("published heads", *stamp()), _read_heads)


def _read_heads() -> Heads:
    by_identity: dict[tuple[str, str], Head] = {}
    routes: dict[str, list[Head]] = {}
    for row in db.session.execute(current_statement(None, *_COLUMNS)):
        head = Head(*row)
        by_identity[(head.kind, head.key)] = head
        if head.kind == "route" and head.form_key:
            routes.setdefault(head.form_key, []).append(head)
    return Heads(by_identity, {key: tuple(found) for key, found in routes.items()})


def current(kind: str, key: str) -> DefinitionVersion | None:
    """The current version of ``kind``/``key`` (None: never published). Only when ``usable()``."""
    head = heads().by_identity.get((kind, key))
    return attach(head) if head is not None else None


def route_for_form(form_key: str) -> DefinitionVersion | None:
    """The current route attached to ``form_key`` (the first by key), or None. Only when ``usable()``."""
    found = heads().routes_by_form.get(form_key)
    return attach(found[0]) if found else None


def attach(head: Head) -> DefinitionVersion:
    """The version ``head`` names, content loaded, in the request's session — without a statement
    once its content has been read in this application."""
    content = compiled_cache().get_or_build(("content", head.id, head.checksum), lambda: _content(head.id))
    version = DefinitionVersion(
        id=head.id,
        kind=head.kind,
        key=head.key,
        version=head.version,
        checksum=head.checksum,
        source=head.source,
        published_at=head.published_at,
        published_by_id=head.published_by_id,
        form_key=head.form_key,
        content=content,
    )
    make_transient_to_detached(version)
    return db.session.merge(version, load=False)


def _content(version_id: int) -> Any:
    return db.session.scalar(select(DefinitionVersion.content).where(DefinitionVersion.id == version_id))
