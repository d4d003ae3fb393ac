"""``formwork print check [NAME...]``: find problems in print templates before anyone prints."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..printing.templates import check_print_template, print_directory


@click.group("print", help="Print templates for PDF vouchers.")
def print_cli() -> None:
    pass


@print_cli.command("check")
@click.argument("names", nargs=-1)
@with_appcontext
def check(names: tuple[str, ...]) -> None:
    """Check print templates (all under the print directory when no NAME is given); exit 1 on problems."""
    wanted = list(names) or sorted(p.name for p in print_directory().glob("*.html"))
    problems = [problem for name in wanted for problem in check_print_template(name)]
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(wanted)} print template(s) OK")
