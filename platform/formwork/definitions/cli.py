"""``formwork definitions validate|publish|list``: the definition pipeline from the command line.

``validate`` checks the files against each other and the organisation files beside
them, with no database and nothing written (``definitions.offline``), so analysts can
run it in their own CI on a checkout of the definitions folder; ``--database`` checks
against what is published instead.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import click
from flask import current_app, has_app_context
from flask.cli import AppGroup, ScriptInfo

from .. import business_time
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


@definitions_cli.command("validate", with_appcontext=False)
@click.argument("path", required=False, type=click.Path())
@click.option(
    "--org",
    "org_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Organisation file to check user, role and department names against (repeatable; "
    "default: every kind: organisation file in the folder's org/).",
)
@click.option(
    "--database",
    is_flag=True,
    help="Check against the published definitions and the organisation in the database instead.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.pass_context
def validate_command(
    ctx: click.Context, path: str | None, org_paths: tuple[str, ...], database: bool, strict: bool
) -> None:
    """Check every definition under PATH (default: the definitions folder) without publishing.

    By default nothing but the files is read: no database, nothing written, so it runs in
    any CI. Prints one line per problem, ``file:line: /pointer: message``; exits 1 if there
    is any (warnings only with --strict), 2 if the check itself failed.
    """
    try:
        if database:
            if has_app_context():
                _validate_against_database(path)
            else:
                with ctx.ensure_object(ScriptInfo).load_app().app_context():
                    _validate_against_database(path)
        else:
            _validate_offline(path, [Path(p) for p in org_paths], strict)
    except (click.ClickException, click.exceptions.Exit, SystemExit):
        raise
    except Exception as exc:  # one clear line, never a traceback
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
        click.echo(f"error: the definitions could not be checked: {detail}", err=True)
        raise SystemExit(2) from None


def _validate_offline(path: str | None, org_paths: list[Path], strict: bool) -> None:
    from .. import config
    from ..plugins import current_registry
    from ..wiring import build_registry  # the command line is wiring too: it needs every built-in
    from .offline import validate_offline

    if has_app_context():
        target, registry = _target(path), current_registry()
    else:
        target = Path(path) if path else config.definitions_dir()
        registry = build_registry(config.plugin_dirs(), config.safe_mode())
    try:
        result = validate_offline(target, registry, org_paths=org_paths, display=_display)
    except FileNotFoundError:
        raise click.ClickException(f"{target}: no such file or folder") from None
    if not result.checked:
        raise click.ClickException(f"{target}: no definition files (*.yaml, *.yml, *.json) found")
    _print_problems(result.problems)
    errors = result.errors if not strict else result.problems
    if result.internal_errors:
        click.echo(
            f"{result.internal_errors} definition(s) could not be checked because of an internal error",
            err=True,
        )
        raise SystemExit(2)
    org = ", ".join(result.organisation.sources) or "none"
    if errors:
        bad = len({p.source for p in errors})
        total = len(result.checked) + len(result.organisation.sources)
        click.echo(f"{len(errors)} problem(s) in {bad} of {total} file(s) (organisation: {org})", err=True)
        raise SystemExit(1)
    warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
    click.echo(f"{len(result.checked)} definition(s) valid{warned} (organisation: {org})")


def _validate_against_database(path: str | None) -> None:
    files = _files(_target(path))
    with store.reading_current_once():  # every check asks about the published routes: one read
        checked = check_files(files, display=_display)
    problems = [p for item in checked for p in item.problems]
    _print_problems(problems)
    errors = store.errors_only(problems)
    if errors:
        bad = len({p.source for p in errors})
        click.echo(f"{len(errors)} problem(s) in {bad} of {len(checked)} file(s)", err=True)
        raise SystemExit(1)
    warned = len(problems) - len(errors)
    click.echo(f"{len(checked)} definition(s) valid" + (f", {warned} warning(s)" if warned else ""))


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
        click.echo(f"{len(store.errors_only(exc.problems))} problem(s); nothing was published", err=True)
        raise SystemExit(1) from None
    _print_problems([w for result in results for w in result.warnings])
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
        when = business_time.local(d.published_at).strftime("%Y-%m-%d %H:%M") if d.published_at else ""
        click.echo(f"{d.kind:<8} {d.key:<30} v{d.version:<4} {when:<16} {name}")
