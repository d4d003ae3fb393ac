"""The chain's arithmetic: the canonical form of an entry and its SHA-256.

An entry's hash is SHA-256 over the canonical form of its fields and the previous entry's hash:
the JSON array of ``FIELDS`` in that order (no spaces, UTF-8 unescaped, the time in UTC to the
microsecond, the details as their own canonical JSON text with sorted keys), so changing any
field, removing an entry or putting two in another order breaks the chain from there on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

#: The ``prev_hash`` of the first entry.
GENESIS = "0" * 64


def canonical_details(details: Any) -> str | None:
    """``details`` as the text stored and hashed: canonical JSON (decimals, dates as their text)."""
    if details is None:
        return None
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def time_text(moment: datetime) -> str:
    """The instant in UTC to the microsecond; a naive value (SQLite reads them so) is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: The hashed fields, in the order of the canonical form (a JSON array of their values).
FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "address",
    "action",
    "object_type",
    "object_id",
    "department_id",
    "details",
    "prev_hash",
)


def entry_body(fields: Mapping[Any, Any]) -> str:
    """The canonical JSON of the fields between ``id`` and ``prev_hash``, without the brackets: the part
    of the canonical form known before the entry takes its place in the chain."""
    return body_of([fields[name] for name in FIELDS[1:-1]])


def body_of(values: Sequence[Any]) -> str:
    """``entry_body`` of the values of ``FIELDS[1:-1]`` in that order (``at`` first, a datetime)."""
    return _dumps([time_text(values[0]), *values[1:]])[1:-1]


def chained_hash(entry_id: int, body: str, prev_hash: str) -> str:
    """SHA-256 (hex) of ``[id,<body>,"prev_hash"]``: the canonical JSON array of an entry's ``FIELDS``.

    PostgreSQL's ``audit_append`` computes the same from the same three parts (``audit.models``)."""
    return hashlib.sha256(f'[{entry_id},{body},"{prev_hash}"]'.encode("utf-8")).hexdigest()


def entry_hash(fields: Mapping[Any, Any]) -> str:
    """SHA-256 (hex) of the canonical form of an entry's ``FIELDS`` (``at`` as ``time_text``)."""
    return chained_hash(int(fields["id"]), entry_body(fields), str(fields["prev_hash"]))
