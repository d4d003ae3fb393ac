"""users.search_key: what a person picker finds someone by (name, user name, pinyin, initials)

Filled for existing users here; kept by formwork.org.people on every write of a user.

Revision ID: h7a1
Revises: h9a1
Create Date: 2026-12-04 06:10:00.000000

"""

import re

import sqlalchemy as sa
from alembic import op
from pypinyin import Style, lazy_pinyin

# revision identifiers, used by Alembic.
revision = "h7a1"
down_revision = "h9a1"
branch_labels = None
depends_on = None

_HAN = re.compile(r"[\u3400-\u9fff]")


def _search_key(username, display_name):
    # The rule of formwork.org.people.search_key as of this revision (a migration does not import
    # application code, which changes after it).
    name = (display_name or "").strip()
    words = [(username or "").lower(), name.lower()]
    han = "".join(_HAN.findall(name))
    if han:
        syllables = lazy_pinyin(han, style=Style.NORMAL, errors="ignore")
        words += ["".join(syllables), "".join(s[:1] for s in syllables)]
    latin = re.findall(r"[A-Za-z]+", name)
    if len(latin) > 1:
        words.append("".join(w[0] for w in latin).lower())
    return " ".join(dict.fromkeys(w for w in words if w))[:300]


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("search_key", sa.String(length=300), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("display_name", sa.String),
        sa.column("search_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(users.c.id, users.c.username, users.c.display_name)).all()
    for user_id, username, display_name in rows:
        bind.execute(
            users.update().where(users.c.id == user_id).values(search_key=_search_key(username, display_name))
        )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("search_key")
