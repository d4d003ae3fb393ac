"""Record lists read a page, not the table: indexes by owner, department, form and date, and the
records of the tasks assigned to a person

Revision ID: h4a1
Revises: h3a1
Create Date: 2026-12-04 14:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h4a1"
down_revision = "h3a1"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_records_owner_created", "records", ["owner_id", "created_at", "id"]),
    ("ix_records_owner_form_created", "records", ["owner_id", "form_key", "created_at", "id"]),
    ("ix_records_department_created", "records", ["department_id", "created_at", "id"]),
    ("ix_records_form_created", "records", ["form_key", "created_at", "id"]),
    ("ix_records_created", "records", ["created_at", "id"]),
    ("ix_tasks_assignee_record", "tasks", ["assignee_id", "record_id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_index(
        "ix_records_owner_newest",
        "records",
        ["owner_id", sa.text("coalesce(submitted_at, created_at)"), "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_records_owner_newest", table_name="records")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
