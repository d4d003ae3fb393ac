"""Printable documents: records as PDF vouchers (``render.record_pdf``), per-form print templates."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Here, not at the top: importing the package for its services must not load its page and command.
    from .cli import print_cli
    from .views import documents_bp

    app.register_blueprint(documents_bp)
    app.cli.add_command(print_cli)
