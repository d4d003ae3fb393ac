"""``audit_entries``: one row per audited event, each carrying the hash of the one before it.

Rows are only ever added (``audit.trail``). On PostgreSQL the table refuses UPDATE, DELETE and
TRUNCATE at the database level (the trigger below, created with the table and by migration
aud1); anyone able to get round it (a superuser disabling triggers) is still caught by
``formwork audit verify``, which recomputes the chain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, BigInteger, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import Timestamp
from ..extensions import Model


class AuditEntry(Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_actor", "actor_label", "id"),
        Index("ix_audit_entries_action", "action", "id"),
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_department", "department_id", "id"),
    )

    # Given by the appender (the previous entry's id + 1, under the chain lock), never by a
    # sequence: ids are dense, so a gap is a deleted entry, not a rolled-back transaction.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(Timestamp())
    # No foreign keys: the trail outlives what it names (and must never block a change to it).
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    # The user name at the time, kept when the person is renamed or removed.
    actor_label: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(120))
    # The object's department, for administrators limited to a department.
    department_id: Mapped[int | None] = mapped_column(BigInteger)
    # Canonical JSON text, hashed as stored: no round trip through a JSON type can change it.
    details: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# The same statements as migration aud1 (a migration keeps its own copy: it must not change later).
APPEND_ONLY_FUNCTION = DDL(
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_entries is append-only: %% refused', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END $$"
)
# Statement-level, so even an UPDATE or DELETE that matches no row is refused.
APPEND_ONLY_TRIGGER = DDL(
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
)

# A transaction's entries appended in one round trip: the chain's lock, its head, the hashes and
# the inserts (``audit.trail``). Each statement of a PL/pgSQL function reads a fresh snapshot, so
# the head is read after the lock is held, never from before it. The hash is
# ``audit.chain.chained_hash``: SHA-256 of ``[id,<body>,"prev_hash"]``, the body being computed
# by the application when the entry is noted.
APPEND_FUNCTION = DDL(
    "CREATE OR REPLACE FUNCTION audit_append(entries json, chain_lock bigint) RETURNS void "
    "LANGUAGE plpgsql AS $$ "
    "DECLARE item json; last_id bigint; last_hash text; new_hash text; "
    "BEGIN "
    "PERFORM pg_advisory_xact_lock(chain_lock); "
    "SELECT e.id, e.hash INTO last_id, last_hash FROM audit_entries e ORDER BY e.id DESC LIMIT 1; "
    "IF last_id IS NULL THEN last_id := 0; last_hash := repeat('0', 64); END IF; "
    "FOR item IN SELECT value FROM json_array_elements(entries) WITH ORDINALITY ORDER BY ordinality LOOP "
    "last_id := last_id + 1; "
    "new_hash := encode(sha256(convert_to("
    "'[' || last_id || ',' || (item->>'body') || ',\"' || last_hash || '\"]', 'UTF8')), 'hex'); "
    "INSERT INTO audit_entries (id, at, actor_id, actor_label, address, action, object_type, "
    "object_id, department_id, details, prev_hash, hash) VALUES (last_id, "
    "CAST(item->>'at' AS timestamptz), CAST(item->>'actor_id' AS bigint), item->>'actor_label', "
    "item->>'address', item->>'action', item->>'object_type', item->>'object_id', "
    "CAST(item->>'department_id' AS bigint), item->>'details', last_hash, new_hash); "
    "last_hash := new_hash; "
    "END LOOP; "
    "END $$"
)

_table = AuditEntry.__table__
for _ddl in (APPEND_ONLY_FUNCTION, APPEND_ONLY_TRIGGER, APPEND_FUNCTION):
    event.listen(_table, "after_create", _ddl.execute_if(dialect="postgresql"))
