"""records.request_digest: a client token is bound to the request that first carried it

Revision ID: h5a1
Revises: 5d2e8c41a7b9
Create Date: 2026-12-04 05:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h5a1"
down_revision = "5d2e8c41a7b9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("records") as batch_op:
        batch_op.add_column(sa.Column("request_digest", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_column("request_digest")
