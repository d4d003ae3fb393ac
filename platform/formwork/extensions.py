"""Flask extension objects, created unbound and attached in the application factory."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, cast

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import CursorResult, Executable, MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay loaded after commit: a request commits and then renders what it wrote,
# and reloading every row and relationship after each commit doubled the queries of a save.
# Sessions live for one request, so nothing stale outlives it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# The base class of every table. Flask-SQLAlchemy builds ``db.Model`` at run time (a subclass of Base
# bound to ``db``), which a type checker cannot follow; to it the tables are plain declarative classes.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def rows_affected(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the current session; how many rows it changed."""
    # Session.execute is typed to return a plain Result; for DML it is always a CursorResult.
    result = cast(CursorResult[Any], db.session.execute(statement))
    return int(result.rowcount or 0)


@contextmanager
def transaction() -> Iterator[None]:
    """One unit of work in the current session: committed when the block ends, rolled back on any
    exception (which is re-raised), so a refusal or a failure half-way leaves nothing written.

    BaseException, not Exception: a worker timeout or an interrupt in the middle must not leave
    half of the changes pending in the session for whatever uses it next.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
