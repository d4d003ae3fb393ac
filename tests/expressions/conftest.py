"""Databases for the SQL back end: SQLite always, PostgreSQL with FORMWORK_TEST_DATABASE_URL."""

from __future__ import annotations

import pytest

from .sql_harness import PG_URL, Database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL: run with ./dev test --postgres URL")
    db = Database(request.param)
    yield db
    db.dispose()
