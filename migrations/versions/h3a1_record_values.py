"""record_values: the record values checks search (invoice numbers), copied out and indexed

Filled here for the forms whose current route reads $duplicate_invoices (the field it names, or
lines.invoice_no); kept by formwork.records.projections on every write of a record's data.
``formwork projections rebuild`` rewrites them later the same way.

Revision ID: h3a1
Revises: h11a1
Create Date: 2026-12-04 14:40:00.000000

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h3a1"
down_revision = "h11a1"
branch_labels = None
depends_on = None

MAX_VALUE = 500


def _searched_paths(bind):
    # The rule of formwork.routes.projected as of this revision, read from the stored route content
    # (a migration does not import application code, which changes after it): a form's current route
    # that mentions $duplicate_invoices searches the field its settings name, else lines.invoice_no.
    versions = sa.table(
        "definition_versions",
        sa.column("kind", sa.String),
        sa.column("key", sa.String),
        sa.column("version", sa.Integer),
        sa.column("content", sa.JSON),
    )
    newest = {}
    for key, version, content in bind.execute(
        sa.select(versions.c.key, versions.c.version, versions.c.content).where(versions.c.kind == "route")
    ):
        if key not in newest or version > newest[key][0]:
            newest[key] = (version, content)
    found = {}
    for _version, content in newest.values():
        if isinstance(content, str):
            content = json.loads(content)
        if not isinstance(content, dict) or "$duplicate_invoices" not in json.dumps(
            content, ensure_ascii=False
        ):
            continue
        facts = content.get("facts") if isinstance(content.get("facts"), dict) else {}
        settings = (
            facts.get("duplicate_invoices") if isinstance(facts.get("duplicate_invoices"), dict) else {}
        )
        path = settings.get("field") or "lines.invoice_no"
        if isinstance(content.get("form"), str) and isinstance(path, str):
            found.setdefault(content["form"], set()).add(path)
    return found


def _fill(bind, form_key, path):
    head, _, sub = path.replace("[*]", "").partition(".")
    if bind.dialect.name == "postgresql":
        value = "e.value ->> :sub" if sub else "r.data ->> :head"
        source = (
            "records r CROSS JOIN LATERAL jsonb_array_elements("
            "CASE WHEN jsonb_typeof(r.data -> :head) = 'array' THEN r.data -> :head ELSE '[]'::jsonb END) e"
            if sub
            else "records r"
        )
        typed = (
            "jsonb_typeof(e.value -> :sub) = 'string'" if sub else "jsonb_typeof(r.data -> :head) = 'string'"
        )
        blank = f"btrim({value}, E' \\t\\r\\n\\f\\v') <> ''"
    else:
        value = (
            "json_extract(e.value, '$.\"' || :sub || '\"')"
            if sub
            else "json_extract(r.data, '$.\"' || :head || '\"')"
        )
        source = (
            "records r, json_each(CASE WHEN json_type(r.data, '$.\"' || :head || '\"') = 'array' "
            "THEN json_extract(r.data, '$.\"' || :head || '\"') ELSE '[]' END) e"
            if sub
            else "records r"
        )
        typed = (
            "json_type(e.value, '$.\"' || :sub || '\"') = 'text'"
            if sub
            else "json_type(r.data, '$.\"' || :head || '\"') = 'text'"
        )
        blank = f"trim({value}, ' ' || char(9, 13, 10, 12, 11)) <> ''"
    bind.execute(
        sa.text(
            "INSERT INTO record_values (record_id, form_key, path, text_value) "
            f"SELECT DISTINCT r.id, r.form_key, :path, {value} FROM {source} "
            f"WHERE r.form_key = :form_key AND {typed} AND {blank} AND length({value}) <= {MAX_VALUE}"
        ),
        {"path": path, "head": head, "sub": sub, "form_key": form_key},
    )


def upgrade():
    op.create_table(
        "record_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("form_key", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("text_value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_values_record_id", "record_values", ["record_id"], unique=False)
    op.create_index(
        "ix_record_values_lookup", "record_values", ["text_value", "path", "form_key"], unique=False
    )
    bind = op.get_bind()
    for form_key, paths in sorted(_searched_paths(bind).items()):
        for path in sorted(paths):
            _fill(bind, form_key, path)


def downgrade():
    op.drop_index("ix_record_values_lookup", table_name="record_values")
    op.drop_index("ix_record_values_record_id", table_name="record_values")
    op.drop_table("record_values")
