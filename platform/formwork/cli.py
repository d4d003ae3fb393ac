"""The ``formwork`` command: Flask's CLI bound to the application factory."""

from __future__ import annotations

from flask.cli import FlaskGroup

from . import create_app
from .definitions.cli import definitions_cli


def _create_app():

    return create_app()


def build_cli() -> FlaskGroup:

    group = FlaskGroup(create_app=_create_app, help="Formwork administration commands.")
    # Found without building the application, so `formwork definitions validate` needs no
    # database, secret key or instance folder; its other commands load the application.
    group.add_command(definitions_cli)
    return group


def main() -> None:
    build_cli()(prog_name="formwork")
