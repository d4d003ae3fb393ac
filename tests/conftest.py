"""Fixtures: an application with a fresh database per test, on SQLite or PostgreSQL.

Set ``FORMWORK_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run
the whole suite on PostgreSQL; without it every test gets its own SQLite file.

``./dev test`` runs the suite in parallel processes (pytest-xdist). On PostgreSQL each process
works in its own database, named after the given one and the process (``test_gw0``, ...), which
is created when missing; every module that reads the URL reads it after this file has set it.
"""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import formwork.models  # noqa: F401  (every table, for the schema template below)
from formwork import create_app
from formwork.config import normalise_database_url
from formwork.extensions import db


def _database_per_process() -> str | None:
    """The PostgreSQL URL this test process uses: the given one, or a sibling database per worker."""
    url = os.environ.get("FORMWORK_TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    given = make_url(normalise_database_url(url))
    own = given.set(database=f"{given.database}_{worker}")
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    own_url = own.render_as_string(hide_password=False)
    os.environ["FORMWORK_TEST_DATABASE_URL"] = own_url
    return own_url


PG_URL = _database_per_process()
DEMO_PASSWORD = "demo-password"
_pg_schema_ready = False


def _reset_postgres() -> None:
    """Create the schema once per run, then empty every table before each test.

    DELETE with foreign-key triggers off empties the few rows a test leaves in about 2 ms;
    TRUNCATE of every table costs 70 ms, which over the suite is minutes. Sequences restart so
    ids are as predictable as on a fresh database.
    """
    global _pg_schema_ready
    if not _pg_schema_ready:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.create_all()
        _pg_schema_ready = True
        return
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in db.metadata.sorted_tables:
            conn.execute(table.delete())
        conn.execute(
            text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = 'public'"
            )
        )


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory):
    """A SQLite file with the full schema, made once per process; each test gets a copy of it
    (a copy takes well under a millisecond, create_all 80 ms)."""
    template = tmp_path_factory.mktemp("schema") / "schema.db"
    engine = create_engine(f"sqlite:///{template}")
    db.metadata.create_all(engine)
    engine.dispose()
    return template


@pytest.fixture
def app(tmp_path, monkeypatch, sqlite_schema):
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    if PG_URL:
        url = normalise_database_url(PG_URL)
    else:
        shutil.copyfile(sqlite_schema, tmp_path / "test.db")
        url = f"sqlite:///{tmp_path / 'test.db'}"
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
