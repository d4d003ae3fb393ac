"""The audit trail: audit_entries, hash-chained, append-only on PostgreSQL

Revision ID: aud1
Revises: h4a1
Create Date: 2026-12-04 17:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "aud1"
down_revision = "h4a1"
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = (
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END $$"
)
APPEND_ONLY_TRIGGER = (
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
)

APPEND_FUNCTION = (
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


def upgrade():
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_label", sa.String(length=80), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=120), nullable=True),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"], unique=False)
    op.create_index("ix_audit_entries_actor", "audit_entries", ["actor_label", "id"], unique=False)
    op.create_index("ix_audit_entries_action", "audit_entries", ["action", "id"], unique=False)
    op.create_index("ix_audit_entries_object", "audit_entries", ["object_type", "object_id"], unique=False)
    op.create_index("ix_audit_entries_department", "audit_entries", ["department_id", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)
        op.execute(APPEND_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_append(json, bigint)")
    for name in ("department", "object", "action", "actor", "at"):
        op.drop_index(f"ix_audit_entries_{name}", table_name="audit_entries")
    op.drop_table("audit_entries")
