"""The ``formwork`` command: Flask's CLI bound to the application factory."""
from __future__ import annotations

from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


def main() -> None:
    FlaskGroup(create_app=_create_app, help="Formwork administration commands.")(prog_name="formwork")
