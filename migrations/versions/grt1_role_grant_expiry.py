"""Time-limited role grants and their history (role_assignments.expires_at, reason; role_grant_events)

Revision ID: grt1
Revises: kal1
Create Date: 2026-12-04 20:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "grt1"
down_revision = "kal1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("role_assignments") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
    op.create_table(
        "role_grant_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_role_grant_events_user_id", "role_grant_events", ["user_id"])


def downgrade():
    op.drop_index("ix_role_grant_events_user_id", table_name="role_grant_events")
    op.drop_table("role_grant_events")
    with op.batch_alter_table("role_assignments") as batch:
        batch.drop_column("reason")
        batch.drop_column("expires_at")
