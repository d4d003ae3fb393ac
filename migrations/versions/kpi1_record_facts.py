"""Typed projections of the record fields KPIs read (record_facts)

Revision ID: kpi1
Revises: adm1
Create Date: 2026-12-04 17:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "kpi1"
down_revision = "adm1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "record_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("form_key", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("number_value", sa.Numeric().with_variant(sa.String(length=100), "sqlite"), nullable=True),
        sa.Column("date_value", sa.Date(), nullable=True),
        sa.Column("text_value", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_facts_read", "record_facts", ["form_key", "path", "record_id", "row_no"])
    op.create_index("ix_record_facts_record_id", "record_facts", ["record_id"])


def downgrade():
    op.drop_index("ix_record_facts_record_id", table_name="record_facts")
    op.drop_index("ix_record_facts_read", table_name="record_facts")
    op.drop_table("record_facts")
