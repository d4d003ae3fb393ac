"""record_readers: people told about a record (an alert's recipients) may open it

Revision ID: h5a2
Revises: h5a1
Create Date: 2026-12-04 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h5a2"
down_revision = "h5a1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "record_readers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "user_id"),
    )
    with op.batch_alter_table("record_readers") as batch_op:
        batch_op.create_index(batch_op.f("ix_record_readers_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_record_readers_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("record_readers") as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_readers_user_id"))
        batch_op.drop_index(batch_op.f("ix_record_readers_record_id"))
    op.drop_table("record_readers")
