"""The database the SQL back end is tested on: the one the suite runs on.

``./dev test`` checks the SQLite translation and ``./dev test --postgres URL`` the PostgreSQL
one; each run compares the database with the Python back end, so the two runs together show
that both databases agree with Python and so with each other.
"""

from __future__ import annotations

import pytest

from .sql_harness import PG_URL, Database


@pytest.fixture(scope="module", params=["postgresql" if PG_URL else "sqlite"])
def database(request):
    db = Database(request.param)
    yield db
    db.dispose()
