"""tasks.intended_id indexed: who may read a record no longer scans every task

Revision ID: h11a1
Revises: h7a1
Create Date: 2026-12-04 11:10:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "h11a1"
down_revision = "h7a1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tasks_intended_record", "tasks", ["intended_id", "record_id"], unique=False)


def downgrade():
    op.drop_index("ix_tasks_intended_record", table_name="tasks")
