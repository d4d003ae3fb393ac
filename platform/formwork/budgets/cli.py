"""``formwork budgets set|list``: budget lines from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db, transaction
from ..org.models import Department
from .service import BudgetError, budget_lines, budget_status, set_budget

budgets_cli = AppGroup("budgets", help="Budget lines per department, category and quarter.")


@budgets_cli.command("set")
@click.argument("department")
@click.argument("category")
@click.argument("period")
@click.argument("amount")
@click.option("--currency", default="CNY", show_default=True)
def set_command(department: str, category: str, period: str, amount: str, currency: str) -> None:
    """Set the budget of DEPARTMENT (code) for CATEGORY in PERIOD (e.g. 2026-Q4) to AMOUNT."""
    try:
        with transaction():
            line = set_budget(department, category, period, amount, currency)
    except BudgetError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"budget {department} {category} {period}: {line.amount} {line.currency}")


@budgets_cli.command("list")
@click.option("--period", default=None, help="Only this quarter, e.g. 2026-Q4.")
def list_command(period: str | None) -> None:
    """Show budget lines with what is used and what remains."""
    try:
        lines = budget_lines(period)
    except BudgetError as exc:
        raise click.ClickException(exc.message) from None
    if not lines:
        click.echo("no budget lines")
        return
    for line in lines:
        status = budget_status(line.department_id, line.category, line.period)
        code = db.session.get_one(Department, line.department_id).code
        click.echo(
            f"{line.period:<8} {code:<10} {line.category:<20} budget {status.amount:>14} "
            f"used {status.used:>14} remaining {status.remaining:>14} {line.currency}"
        )
