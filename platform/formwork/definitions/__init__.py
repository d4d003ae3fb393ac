"""The definition language: parsing, schema and semantic validation, immutable versions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import definitions_cli

    app.cli.add_command(definitions_cli)
