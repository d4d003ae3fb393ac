"""``formwork due run``: the due-time work of approval tasks that cron or a systemd timer runs."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .. import business_time
from ..db_types import utcnow
from ..extensions import db
from ..notifications import kpi_alerts
from ..org import grants
from ..records.attachments import prune_unclaimed
from ..records.cli import describe
from .due import run_due

due_cli = click.Group("due", help="Due-time work: reminders, deadlines, escalations, KPI alerts.")


@due_cli.command("run")
@click.option(
    "--limit",
    default=500,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Handle at most this many due tasks in this run.",
)
@with_appcontext
def due_run_command(limit: int) -> None:
    """Send reminders and act on passed deadlines (safe to run on several hosts at once)."""
    moment = utcnow()
    report = run_due(limit=limit, now=moment)
    # Deadlines are business time to the people who set and read them; say which moment this run was.
    click.echo(f"due work as of {business_time.text(moment)}")
    click.echo(
        f"reminders {report.reminders}, escalated {report.escalated}, "
        f"auto-approved {report.approved}, auto-rejected {report.rejected}, overdue notices {report.overdue}"
    )
    click.echo(describe(prune_unclaimed()))  # uploads of failed or abandoned submissions
    ended = grants.expire_due(moment)  # time-limited roles whose last day has passed
    db.session.commit()
    click.echo(f"role grants ended: {ended}")
    alerts = kpi_alerts.run(moment)
    click.echo(
        f"KPI alerts: checked {alerts.checked}, raised {alerts.raised}, back to normal {alerts.cleared}"
    )
    errors = [*report.errors, *alerts.errors]
    for line in errors:
        click.echo(f"  failed: {line}", err=True)
    if errors:
        raise SystemExit(1)
