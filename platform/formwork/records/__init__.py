"""Records: the data people enter through generated forms."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    # Here, not at the top: importing the package for its models must not load its pages and command.
    from .cli import attachments_cli
    from .views import records_bp

    app.register_blueprint(records_bp)
    app.cli.add_command(attachments_cli)
