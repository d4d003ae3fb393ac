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


# ---- Organisation and sign-in fixtures -------------------------------------------------

_CSRF_META = __import__("re").compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def demo_org(app):
    """The demo organisation from CONTRACT.md, every user with the demo password: ``{username: User}``."""
    from formwork.demo import seed_demo_org

    return seed_demo_org(demo_passwords=True)


def _fetch_csrf_token(client, path: str = "/login") -> str:
    """Read the token from ``<meta name="csrf-token">`` of a page, as a browser script would."""
    response = client.get(path, follow_redirects=True)
    match = _CSRF_META.search(response.get_data(as_text=True))
    assert match, f"no csrf-token meta tag on {path} (status {response.status_code})"
    return match.group(1)


@pytest.fixture
def csrf_token():
    """``csrf_token(client, path="/login") -> str``: a CSRF token valid for the client's session."""
    return _fetch_csrf_token


@pytest.fixture
def login():
    """``login(client, username, password=DEMO_PASSWORD)``: sign in through /login; returns the client."""

    def _login(client, username: str, password: str = DEMO_PASSWORD):
        token = _fetch_csrf_token(client, "/login")
        response = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 302, f"sign-in as {username} failed ({response.status_code})"
        return client

    return _login


@pytest.fixture
def bearer(app):
    """``bearer(username) -> {"Authorization": "Bearer fw_..."}`` with a fresh API token."""
    from formwork.org.tokens import create_token
    from formwork.org.users import user_by_username

    def _bearer(username: str, *, days: int | None = None) -> dict[str, str]:
        user = user_by_username(username)
        assert user is not None, f"no user {username!r} (did you use the demo_org fixture?)"
        return {"Authorization": f"Bearer {create_token(user, 'test', days)}"}

    return _bearer
