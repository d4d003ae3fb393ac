"""Fixtures: an application with a fresh database per test, on SQLite or PostgreSQL.

Set ``FORMWORK_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run
the whole suite on PostgreSQL; without it every test gets its own SQLite file.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from formwork import create_app
from formwork.config import normalise_database_url
from formwork.extensions import db

PG_URL = os.environ.get("FORMWORK_TEST_DATABASE_URL")
DEMO_PASSWORD = "demo-password"
_pg_schema_ready = False


def _reset_postgres() -> None:
    """Create the schema once per run, then empty every table before each test (much faster than DDL)."""
    global _pg_schema_ready
    if not _pg_schema_ready:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        _pg_schema_ready = True
        return
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    url = normalise_database_url(PG_URL) if PG_URL else f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "FORMWORK_UPLOAD_DIR": tmp_path / "uploads",
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        if PG_URL:
            _reset_postgres()
        else:
            db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
