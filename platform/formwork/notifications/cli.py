"""``formwork outbox ...`` and ``formwork due run``: the commands cron or systemd timers run."""

from __future__ import annotations

import signal
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from .. import business_time
from ..db_types import utcnow
from ..extensions import db
from .models import OutboxMessage

outbox_cli = click.Group("outbox", help="The outbox of e-mails and webhook messages.")
due_cli = click.Group("due", help="Due-time work: reminders, deadlines, escalations.")


@outbox_cli.command("deliver")
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Send at most this many messages per round.",
)
@click.option("--loop", is_flag=True, help="Keep running; deliver again every --interval seconds.")
@click.option(
    "--interval",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between rounds with --loop.",
)
@with_appcontext
def deliver_command(limit: int, loop: bool, interval: float) -> None:
    """Send pending messages that are due; failures are retried later with backoff."""
    from .delivery import deliver

    stopping = {"now": False}

    def _stop(signum, frame):  # finish the message in hand, then leave
        stopping["now"] = True

    if loop:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    while True:
        try:
            report = deliver(limit)
        except OperationalError as exc:  # the database is away: say so, and try again next round
            db.session.rollback()
            if not loop:
                raise click.ClickException(f"database unavailable: {exc.orig or exc}") from None
            click.echo(f"database unavailable, retrying in {interval:g}s", err=True)
        else:
            if report.handled or not loop:
                click.echo(f"sent {report.sent}, to retry {report.retried}, dead {report.dead}")
            for line in report.errors:
                click.echo(f"  failed: {line}", err=True)
            if loop and report.handled >= limit:
                continue  # more may be waiting: no pause
        if not loop or stopping["now"]:
            return
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stopping["now"]:
            time.sleep(min(0.5, interval))
        if stopping["now"]:
            return


@outbox_cli.command("status")
@with_appcontext
def status_command() -> None:
    """How many messages are pending, sent and dead."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
    ).all()
    counts = {status: count for status, count in rows}
    for status in ("pending", "sent", "dead"):
        click.echo(f"{status}: {counts.get(status, 0)}")


@outbox_cli.command("requeue")
@click.argument("message_ids", nargs=-1, type=int)
@with_appcontext
def requeue_command(message_ids: tuple[int, ...]) -> None:
    """Give dead messages (all, or the given ids) a fresh set of attempts."""
    from .delivery import requeue

    click.echo(f"requeued {requeue(list(message_ids) or None)}")


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
    from .due import run_due

    moment = utcnow()
    report = run_due(limit=limit, now=moment)
    # Deadlines are business time to the people who set and read them; say which moment this run was.
    click.echo(f"due work as of {business_time.text(moment)}")
    click.echo(
        f"reminders {report.reminders}, escalated {report.escalated}, "
        f"auto-approved {report.approved}, auto-rejected {report.rejected}, overdue notices {report.overdue}"
    )
    from ..records.attachments import prune_unclaimed
    from ..records.cli import describe

    click.echo(describe(prune_unclaimed()))  # uploads of failed or abandoned submissions
    for line in report.errors:
        click.echo(f"  failed: {line}", err=True)
    if report.errors:
        raise SystemExit(1)
