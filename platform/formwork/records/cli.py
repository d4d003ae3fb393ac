"""``formwork attachments prune``: remove uploads that no record claimed; ``formwork projections
rebuild``: rewrite the searched values of records from their data."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from ..extensions import db
from .attachments import prune_unclaimed
from .projections import rebuild

attachments_cli = click.Group("attachments", help="Uploaded files.")


def describe(report) -> str:
    text = f"unclaimed uploads removed {report.removed} ({report.bytes} bytes)"
    if report.missing_files:
        text += f", {report.missing_files} already without a file"
    if report.partial_files:
        text += f", unfinished upload files removed {report.partial_files}"
    return text


@attachments_cli.command("prune")
@click.option(
    "--older-than-hours",
    type=click.FloatRange(min=0),
    default=None,
    help="Age after which an unclaimed upload is removed (default: FORMWORK_UNCLAIMED_UPLOAD_HOURS, 24).",
)
@with_appcontext
def prune_command(older_than_hours: float | None) -> None:
    """Delete files uploaded for a submission that failed or was abandoned (safe anywhere, any time)."""

    age = timedelta(hours=older_than_hours) if older_than_hours is not None else None
    click.echo(describe(prune_unclaimed(age)))


projections_cli = click.Group("projections", help="Record values copied out for indexed searches.")


@projections_cli.command("rebuild")
@click.option("--form", "form_key", default=None, help="Only this form's records (default: every form's).")
@with_appcontext
def rebuild_command(form_key: str | None) -> None:
    """Rewrite the projected values of records from their data, for the paths searched now (run after
    publishing a route that reads another field; safe any time, one transaction)."""

    counts = rebuild(form_key)
    db.session.commit()
    if not counts:
        click.echo("no records")
    for key, rows in counts.items():
        click.echo(f"{key}: {rows} values")
