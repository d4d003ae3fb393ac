"""``formwork plugins list``: what loaded, from where, what each adds, what failed and why."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from . import current_registry

plugins_cli = click.Group("plugins", help="Plugins: expression functions, field types, channels, facts.")


@plugins_cli.command("list")
@with_appcontext
def list_command() -> None:
    """Show every plugin found and what it adds; exits 1 when one failed to load (for deploy checks)."""

    registry = current_registry()
    click.echo(f"safe mode: {'on (no plugin is loaded)' if registry.safe_mode else 'off'}")
    folders = ", ".join(str(p) for p in registry.plugin_dirs) or "none"
    click.echo(f"plugin folders: {folders}; entry point group: formwork.plugins")
    if not registry.plugins:
        click.echo("no plugins loaded" if registry.safe_mode else "no plugins found")
        return
    for info in registry.plugins:
        if info.loaded:
            adds = ", ".join(f"{what} {name}" for what, name in info.adds) or "nothing"
            click.echo(f"loaded  {info.name}  ({info.source})  adds: {adds}")
        else:
            click.echo(f"FAILED  {info.name}  ({info.source})  skipped: {info.error}")
    failed = [info for info in registry.plugins if not info.loaded]
    click.echo(f"{len(registry.plugins) - len(failed)} loaded, {len(failed)} failed")
    if failed:
        raise SystemExit(1)
