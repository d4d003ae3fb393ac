"""Alembic environment: runs migrations against the application's database.

The database URL and the model metadata come from the Flask application, so
``formwork db upgrade`` migrates whatever ``FORMWORK_DATABASE_URL`` names.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from formwork.db_types import include_for_dialect

config = context.config

# Callers embedding migrations (tests) set configure_logger=False so their own logging stays intact.
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def _engine():
    return target_db.engine


def _metadata():
    return target_db.metadata


config.set_main_option(
    "sqlalchemy.url", _engine().url.render_as_string(hide_password=False).replace("%", "%%")
)

# SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
# compare_type makes autogenerate (and the drift test) notice changed column types.
COMMON_OPTIONS = {"render_as_batch": True, "compare_type": True}


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of touching a database (``formwork db upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=_metadata(),
        literal_binds=True,
        **COMMON_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context, revision, directives):
        # ``formwork db migrate`` with no model changes should not write an empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    options = dict(COMMON_OPTIONS)
    options.update(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty_autogenerate)

    connection = config.attributes.get("connection")
    if connection is not None:
        # A caller (the migration test) passed its own connection, e.g. one bound to a private schema.
        context.configure(
            connection=connection,
            target_metadata=_metadata(),
            include_object=include_for_dialect(connection.dialect.name),
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=_metadata(),
            include_object=include_for_dialect(connection.dialect.name),
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
