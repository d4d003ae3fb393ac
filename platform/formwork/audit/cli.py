"""``formwork audit verify``: walk the audit trail's hash chain and report the first broken link."""

from __future__ import annotations

import time

import click

from .verify import BATCH, BROKEN_LINK, CHANGED, MISSING, verify

audit_cli = click.Group("audit", help="Check the audit trail.")

_PROBLEMS = {
    MISSING: "entry {id} is missing (deleted, or the entries after it renumbered)",
    CHANGED: "entry {id} was changed: its content no longer matches its hash",
    BROKEN_LINK: "entry {id} does not link to entry {before}: an entry was removed, reordered or rewritten",
}


@audit_cli.command("verify")
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=1_000_000),
    default=BATCH,
    show_default=True,
    help="Entries read per query.",
)
def verify_command(batch: int) -> None:
    """Recompute the chain in id order; exit 1 at the first changed, missing or reordered entry."""
    started = time.perf_counter()
    verdict = verify(batch)
    seconds = time.perf_counter() - started
    if verdict.intact:
        click.echo(
            f"audit trail intact: {verdict.checked} entries checked in {seconds:.1f} s; "
            f"last hash {verdict.last_hash}"
        )
        return
    broken = verdict.broken_id or 0
    what = _PROBLEMS[verdict.problem or BROKEN_LINK].format(id=broken, before=broken - 1)
    click.echo(f"audit trail BROKEN: {what}; the {verdict.checked} entries before it are intact", err=True)
    raise SystemExit(1)
