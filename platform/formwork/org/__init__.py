"""The organisation: departments, users, roles, sign-in and API tokens."""

from __future__ import annotations

from flask import Flask

from .access import has_any_role, roles_required
from .tokens import create_token

__all__ = ["create_token", "has_any_role", "init_app", "roles_required"]


def init_app(app: Flask) -> None:
    from . import auth, cli, errors, people, security

    security.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    app.register_blueprint(people.people_bp)
    app.cli.add_command(cli.users_cli)
    app.cli.add_command(cli.tokens_cli)
