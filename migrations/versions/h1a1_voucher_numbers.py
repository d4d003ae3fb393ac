"""voucher numbers: records.voucher_number and the yearly number_sequences

A form that defines ``numbering`` gives each record a voucher number (BX-2026-000001) at its
first submission, taken from ``number_sequences`` (one row per prefix and year).

Revision ID: h1a1
Revises: h2a1
Create Date: 2026-12-04 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h1a1"
down_revision = "h2a1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "number_sequences",
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_number_sequences")),
    )
    with op.batch_alter_table("records") as batch_op:
        batch_op.add_column(sa.Column("voucher_number", sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint("uq_records_voucher_number", ["voucher_number"])


def downgrade():
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_constraint("uq_records_voucher_number", type_="unique")
        batch_op.drop_column("voucher_number")
    op.drop_table("number_sequences")
