"""Walking the chain: every entry, in id order, in batches, checked against the one before it.

An intact chain has ids 1, 2, 3, … with no gap; each entry's ``prev_hash`` is the previous
entry's ``hash`` (the first one's is ``GENESIS``); each ``hash`` is the SHA-256 of the entry's
own fields (``audit.chain``). The first entry that breaks one of these is reported:

* a changed entry no longer matches its own hash;
* a deleted entry leaves a gap in the ids (or, renumbered, a ``prev_hash`` that does not match);
* entries put in another order link to the wrong predecessor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from .chain import FIELDS, GENESIS, body_of, chained_hash
from .models import AuditEntry

BATCH = 20_000

CHANGED = "changed"
MISSING = "missing"
BROKEN_LINK = "broken link"

_COLUMNS = [getattr(AuditEntry, name) for name in FIELDS] + [AuditEntry.hash]


@dataclass(frozen=True)
class Verdict:
    checked: int  # entries found intact before the first problem (all of them when intact)
    last_hash: str  # the hash of the last intact entry (GENESIS for an empty trail)
    broken_id: int | None = None  # the id at which the chain breaks
    problem: str | None = None  # CHANGED, MISSING or BROKEN_LINK

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify(batch: int = BATCH) -> Verdict:
    """Check the whole chain; stops at the first broken or missing link."""
    expected_id, previous, checked = 1, GENESIS, 0
    while True:
        rows = db.session.execute(
            select(*_COLUMNS).where(AuditEntry.id >= expected_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return Verdict(checked, previous)
        for row in rows:
            entry_id, prev_hash, stored = row[0], row[-2], row[-1]
            if entry_id != expected_id:
                return Verdict(checked, previous, expected_id, MISSING)
            if prev_hash != previous:
                return Verdict(checked, previous, expected_id, BROKEN_LINK)
            if chained_hash(entry_id, body_of(row[1:-2]), prev_hash) != stored:
                return Verdict(checked, previous, expected_id, CHANGED)
            previous = stored
            expected_id, checked = expected_id + 1, checked + 1
