"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

Each test upgrades an empty database to the newest revision, compares the result with the
models (any difference means someone changed a model without generating a migration:
``formwork db migrate -m "..."``), and downgrades back to nothing.

On PostgreSQL the check runs in a private schema of the ``FORMWORK_TEST_DATABASE_URL``
database, so it never disturbs the tables the other tests' fixture keeps in ``public``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import create_engine, inspect, text

from formwork import create_app
from formwork.config import normalise_database_url
from formwork.db_types import include_for_dialect
from formwork.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
PG_URL = os.environ.get("FORMWORK_TEST_DATABASE_URL")
PG_SCHEMA = "formwork_migration_check"


def _alembic_config(app: Flask) -> Config:
    config = app.extensions["migrate"].migrate.get_config(str(MIGRATIONS))
    # Keep pytest's logging set-up: env.py would otherwise load alembic.ini's logging config.
    config.attributes["configure_logger"] = False
    return config


def _make_app(tmp_path: Path, url: str, engine_options: dict) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "FORMWORK_UPLOAD_DIR": tmp_path / "uploads",
        }
    )


def _sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    yield _make_app(tmp_path, f"sqlite:///{tmp_path / 'migrated.db'}", {})


def _postgres_app(tmp_path: Path) -> Iterator[Flask]:
    url = normalise_database_url(PG_URL)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    try:
        # Every connection of the app sees only the private schema, so Alembic creates and
        # reflects the tables (and its version table) there.
        yield _make_app(tmp_path, url, {"connect_args": {"options": f"-csearch_path={PG_SCHEMA}"}})
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


BACKENDS = [pytest.param(_sqlite_app, id="sqlite")]
if PG_URL:
    BACKENDS.append(pytest.param(_postgres_app, id="postgresql"))


@pytest.fixture(params=BACKENDS)
def empty_app(request, tmp_path, monkeypatch) -> Iterator[Flask]:
    monkeypatch.setenv("FORMWORK_INSTANCE_PATH", str(tmp_path / "instance"))
    for app in request.param(tmp_path):
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def _table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_migrations_have_a_single_head():
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1, "migrations branched: merge them with `formwork db merge heads`"


def test_upgrade_from_empty_matches_the_models(empty_app):
    config = _alembic_config(empty_app)
    assert _table_names() == set()

    command.upgrade(config, "head")

    assert set(db.metadata.tables) <= _table_names()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_for_dialect(conn.dialect.name)}
        )
        drift = compare_metadata(context, db.metadata)
    assert drift == [], (
        "the models and the migrations disagree; generate a migration with "
        f'`formwork db migrate -m "..."` and review it. Differences: {drift}'
    )


def test_downgrade_to_base_removes_every_table(empty_app):
    config = _alembic_config(empty_app)
    command.upgrade(config, "head")

    command.downgrade(config, "base")

    assert _table_names() <= {"alembic_version"}


def test_upgraded_database_accepts_data(empty_app):
    """A migrated database is usable by the application, not merely shaped right."""
    from formwork.org.models import Department, User

    command.upgrade(_alembic_config(empty_app), "head")
    department = Department(code="hq", name_zh="总公司", name_en="Head Office")
    db.session.add(department)
    db.session.flush()
    user = User(username="someone", display_name="Someone", department_id=department.id)
    db.session.add(user)
    db.session.flush()
    department.head_id = user.id
    db.session.commit()

    assert db.session.get(Department, department.id).head_id == user.id


def test_upgrade_fills_the_projected_invoice_numbers(empty_app):
    """h3a1 copies the invoice numbers of existing claims into record_values, for the forms whose
    current route reads $duplicate_invoices (and only the field it names)."""
    import json

    from formwork.definitions.models import DefinitionVersion

    config = _alembic_config(empty_app)
    command.upgrade(config, "h11a1")
    # People in plain SQL: the models may hold columns that later revisions add.
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO departments (code, name_zh, name_en, active, created_at) "
                "VALUES ('hq', '总公司', 'Head Office', true, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, active, created_at) "
                "VALUES ('someone', 'Someone', true, CURRENT_TIMESTAMP)"
            )
        )
        owner_id = conn.execute(text("SELECT id FROM users WHERE username = 'someone'")).scalar_one()
    form = DefinitionVersion(kind="form", key="claim", version=1, content={"key": "claim"}, checksum="f")
    route = {"key": "claim_route", "form": "claim", "alerts": [{"when": "$duplicate_invoices > 0"}]}
    old_route = {**route, "facts": {"duplicate_invoices": {"field": "lines.other"}}}
    db.session.add_all([form])
    db.session.flush()
    db.session.add_all(
        [
            DefinitionVersion(kind="route", key="claim_route", version=1, content=old_route, checksum="r1"),
            DefinitionVersion(kind="route", key="claim_route", version=2, content=route, checksum="r2"),
        ]
    )
    db.session.commit()
    claims = [
        {"lines": [{"invoice_no": "1001", "other": "x"}, {"invoice_no": "1002"}, {"invoice_no": "1001"}]},
        {"lines": [{"invoice_no": "  "}, {"invoice_no": 5}, {}], "invoice_no": "top"},
        {"lines": "not a list"},
        {},
    ]
    with db.engine.begin() as conn:
        for index, data in enumerate(claims, start=1):
            conn.execute(
                text(
                    "INSERT INTO records (id, form_key, definition_id, form_version, data, status, owner_id, "
                    "lock_version, created_at, updated_at) VALUES (:id, 'claim', :definition, 1, :data, "
                    "'submitted', :owner, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": index, "definition": form.id, "data": json.dumps(data), "owner": owner_id},
            )

    command.upgrade(config, "h3a1")

    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT record_id, form_key, path, text_value FROM record_values "
                "ORDER BY record_id, text_value"
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (1, "claim", "lines.invoice_no", "1001"),
        (1, "claim", "lines.invoice_no", "1002"),
    ]
