"""records.data GIN index on PostgreSQL

JSONB containment on a record's data (the duplicate-invoice fact looks for one invoice
number among every claim of a form) becomes an index lookup instead of a table scan.
PostgreSQL only: other databases keep the data as JSON text, which such an index cannot serve.

Revision ID: 5d2e8c41a7b9
Revises: 03bd92a25b63
Create Date: 2026-11-22 08:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5d2e8c41a7b9"
down_revision = "03bd92a25b63"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_records_data",
            "records",
            ["data"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"data": "jsonb_path_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_records_data", table_name="records", postgresql_using="gin")
