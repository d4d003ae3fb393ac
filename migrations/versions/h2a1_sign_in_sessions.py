"""sign-in sessions kept in the database

Each browser sign-in gets a row keyed by the digest of a random key that its session
cookie carries; signing out deletes the row, and a password change, a leaver or "sign
out everywhere" deletes every row of that person, so copied cookies stop working.
Cookies from before this revision carry no key: those people sign in once more.

Revision ID: h2a1
Revises: h5a2
Create Date: 2026-12-04 06:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h2a1"
down_revision = "h5a2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sign_in_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index(op.f("ix_sign_in_sessions_user_id"), "sign_in_sessions", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_sign_in_sessions_user_id"), table_name="sign_in_sessions")
    op.drop_table("sign_in_sessions")
