"""Printable documents: records as PDF vouchers (``render.record_pdf``), per-form print templates."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # GET /api/records/<id>/pdf joins the API blueprint through api/modules.py.
    from .cli import print_cli
    from .views import documents_bp

    app.register_blueprint(documents_bp)
    app.cli.add_command(print_cli)
