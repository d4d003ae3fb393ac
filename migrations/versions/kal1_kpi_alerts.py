"""KPI alerts: when each KPI was checked, every change of level, records by form and change time

Revision ID: kal1
Revises: kpi1
Create Date: 2026-12-04 20:15:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "kal1"
down_revision = "kpi1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kpi_watch",
        sa.Column("kpi_key", sa.String(length=100), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("kpi_key"),
    )
    op.create_table(
        "kpi_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_key", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("previous_level", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=True),
        sa.Column("threshold", sa.String(length=60), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kpi_alerts_latest", "kpi_alerts", ["kpi_key", "department_id", "id"])
    # "Has a record of this form changed since the last check?" is one index probe.
    op.create_index("ix_records_form_updated", "records", ["form_key", "updated_at"])


def downgrade():
    op.drop_index("ix_records_form_updated", table_name="records")
    op.drop_index("ix_kpi_alerts_latest", table_name="kpi_alerts")
    op.drop_table("kpi_alerts")
    op.drop_table("kpi_watch")
