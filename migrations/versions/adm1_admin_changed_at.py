"""Departments, users and roles remember when an administrator changed them, so that loading the
organisation file again does not overwrite what was changed in the browser

Revision ID: adm1
Revises: aud1
Create Date: 2026-12-04 16:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "adm1"
down_revision = "aud1"
branch_labels = None
depends_on = None

TABLES = ("departments", "users", "roles")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("admin_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("admin_changed_at")
