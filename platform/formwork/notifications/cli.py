"""``formwork outbox ...``: the commands cron or systemd timers run to send the outbox."""

from __future__ import annotations

import signal
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ..extensions import db
from .delivery import deliver, requeue
from .models import OutboxMessage

outbox_cli = click.Group("outbox", help="The outbox of e-mails and webhook messages.")


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
    click.echo(f"requeued {requeue(list(message_ids) or None)}")
