"""``formwork definitions validate|publish|list``: the definition pipeline from the command line.

``validate`` never writes to the database, so analysts can run it in their own CI
on a checkout of the definitions folder.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from . import store
from .pipeline import check_files, discover
from .problems import DefinitionError

definitions_cli = AppGroup("definitions", help="Validate, publish and list definitions.")


def _target(path: str | None) -> Path:
    return Path(path) if path else Path(current_app.config["FORMWORK_DEFINITIONS_DIR"])


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _files(target: Path) -> list[Path]:
    try:
        files = discover(target)
    except FileNotFoundError:
        raise click.ClickException(f"{target}: no such file or folder") from None
    if not files:
        raise click.ClickException(f"{target}: no definition files (*.yaml, *.yml, *.json) found")
    return files


def _print_problems(problems) -> None:
    for problem in problems:
        click.echo(str(problem))


@definitions_cli.command("validate")
@click.argument("path", required=False, type=click.Path())
def validate_command(path: str | None) -> None:
    """Check every definition under PATH (default: the definitions folder) without publishing.

    Prints one line per problem, ``file:line: /pointer: message``, and exits 1 if there is any.
    """
    files = _files(_target(path))
    checked = check_files(files, display=_display)
    problems = [p for item in checked for p in item.problems]
    if problems:
        _print_problems(problems)
        bad = sum(1 for item in checked if item.problems)
        click.echo(f"{len(problems)} problem(s) in {bad} of {len(checked)} file(s)", err=True)
        raise SystemExit(1)
    click.echo(f"{len(checked)} definition(s) valid")


@definitions_cli.command("publish")
@click.argument("path", required=False, type=click.Path())
def publish_command(path: str | None) -> None:
    """Check and publish every definition under PATH, all or nothing.

    A definition equal to its current version is left alone; a changed one becomes a new version.
    """
    target = _target(path)
    _files(target)  # a clear message for a missing or empty folder
    try:
        results = store.publish_path(target, display=_display)
    except DefinitionError as exc:
        _print_problems(exc.problems)
        click.echo(f"{len(exc.problems)} problem(s); nothing was published", err=True)
        raise SystemExit(1) from None
    for result in results:
        d = result.definition
        state = "published" if result.created else "unchanged"
        click.echo(f"{state}: {d.kind} {d.key} version {d.version} ({result.source})")
    created = sum(1 for r in results if r.created)
    click.echo(f"{created} published, {len(results) - created} unchanged")


@definitions_cli.command("list")
@click.option("--kind", default=None, help="Only this kind (for example: form).")
def list_command(kind: str | None) -> None:
    """Show the current version of every published definition."""
    rows = store.list_current(kind)
    if not rows:
        click.echo("no definitions published")
        return
    for d in rows:
        title = d.content.get("title") if isinstance(d.content, dict) else None
        name = (title.get("en") or title.get("zh-CN") or "") if isinstance(title, dict) else ""
        when = d.published_at.strftime("%Y-%m-%d %H:%M") if d.published_at else ""
        click.echo(f"{d.kind:<8} {d.key:<30} v{d.version:<4} {when:<16} {name}")
