"""Budgets per department, category and period, and what routes and rules read of them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import budgets_cli

    app.cli.add_command(budgets_cli)
