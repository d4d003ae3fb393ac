"""definition_versions.form_key: the form a route version is for, indexed

A submission looks up the route of its form by this column instead of reading the
content of every current route. Existing route versions are filled in from their content.

Revision ID: h9a1
Revises: h1a1
Create Date: 2026-12-04 06:30:00.000000

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h9a1"
down_revision = "h1a1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("definition_versions") as batch:
        batch.add_column(sa.Column("form_key", sa.String(length=100), nullable=True))
        batch.create_index("ix_definition_versions_form_key", ["form_key"], unique=False)
    bind = op.get_bind()
    versions = sa.table(
        "definition_versions",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("content", sa.Text),
        sa.column("form_key", sa.String),
    )
    rows = bind.execute(sa.select(versions.c.id, versions.c.content).where(versions.c.kind == "route")).all()
    for version_id, content in rows:
        data = json.loads(content) if isinstance(content, (str, bytes)) else content
        form = data.get("form") if isinstance(data, dict) else None
        if isinstance(form, str):
            bind.execute(versions.update().where(versions.c.id == version_id).values(form_key=form))


def downgrade():
    with op.batch_alter_table("definition_versions") as batch:
        batch.drop_index("ix_definition_versions_form_key")
        batch.drop_column("form_key")
