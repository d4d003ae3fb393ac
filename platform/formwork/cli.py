"""The ``formwork`` command: Flask's CLI bound to the application factory."""

from __future__ import annotations

from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


def build_cli() -> FlaskGroup:
    from .definitions.cli import definitions_cli

    group = FlaskGroup(create_app=_create_app, help="Formwork administration commands.")
    # Found without building the application, so `formwork definitions validate` needs no
    # database, secret key or instance folder; its other commands load the application.
    group.add_command(definitions_cli)
    return group


def main() -> None:
    build_cli()(prog_name="formwork")
