"""Duplicate-invoice check benchmark: its time at 10,000 and 100,000 existing claims (PostgreSQL).

    .venv/bin/python tests/benchmarks/bench_duplicates.py [--database URL] [--levels 10000,100000]
        [--count 300]

PostgreSQL (default ``postgresql://postgres@127.0.0.1:5432/formwork_bench_duplicates``, created
when missing; a private schema, dropped afterwards). The demo is seeded, then the claims grow to
each level with ``seed_claims.py`` (claims with one to four invoice numbers each, their projected
``record_values`` as the application keeps them). Each level is measured twice: straight after the
bulk load, with the statistics stale as they are until autovacuum comes round, and after VACUUM
ANALYZE. At each, the median of ``--count`` calls of:

* the check: ``routes.facts.duplicate_invoice_claims`` for a claim with three invoice numbers, one
  of them on a seeded claim (an index lookup on ``record_values`` joined to the records);
* a bare indexed lookup in the same session: one record by primary key, the yardstick;
* for reference, the search the check replaced: JSONB containment on ``records.data``.

It prints the check's time relative to the yardstick at each level and its growth from the first
level to the last (target: flat, within 10 % relative to the yardstick); exits 1 when it grows more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_approvals import private_schema  # noqa: E402
from bench_forms import formwork_app  # noqa: E402
from seed_claims import Organisation, seed_claims, settle  # noqa: E402
from sqlalchemy import text  # noqa: E402

from formwork.extensions import db  # noqa: E402
from formwork.routes.facts import duplicate_invoice_claims  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_duplicates"
PG_SCHEMA = "formwork_bench_duplicates"
TARGET_GROWTH = 0.10
FIRST_SEEDED = 1_000_000  # claim numbers of the seed (its invoice numbers follow from them)


def seeded_invoice(n: int) -> str:
    return "9" + str(n * 4).rjust(11, "0")  # claim n's first line (seed_claims)


def ms(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def paired(check: Callable[[], Any], bare: Callable[[], Any], count: int) -> tuple[float, float, float]:
    """Medians of the check, of the bare lookup right after it, and of each pair's ratio."""
    for _ in range(20):
        check(), bare()
    pairs = [(ms(check), ms(bare)) for _ in range(count)]
    return (
        statistics.median(c for c, _ in pairs),
        statistics.median(b for _, b in pairs),
        statistics.median(c / b for c, b in pairs),
    )


def measure(have: int, count: int) -> dict[str, float]:
    # A claim in the middle of what was seeded: one of its numbers is already on file.
    target = FIRST_SEEDED + have // 2 + 1
    claim = SimpleNamespace(
        id=None,
        form_key="expense_claim",
        data={
            "lines": [
                {"invoice_no": seeded_invoice(target)},
                {"invoice_no": "71234567890"},
                {"invoice_no": "7999"},
            ]
        },
    )
    found = duplicate_invoice_claims(claim)
    if list(found) != [seeded_invoice(target)]:
        raise SystemExit(f"the check found {found}, not the seeded claim {target}'s invoice")
    record_id = db.session.execute(text("SELECT min(id) FROM records")).scalar_one()
    containment = text(
        "SELECT id, title FROM records WHERE form_key = 'expense_claim' "
        "AND status NOT IN ('draft', 'withdrawn') AND data @> CAST(:probe AS jsonb)"
    )
    probe = '{"lines": [{"invoice_no": "%s"}]}' % seeded_invoice(target)
    bare = text("SELECT id, title FROM records WHERE id = :id")
    check_ms, bare_ms, ratio = paired(
        lambda: duplicate_invoice_claims(claim),
        lambda: db.session.execute(bare, {"id": record_id}).all(),
        count,
    )
    before_ms, _, _ = paired(
        lambda: db.session.execute(containment, {"probe": probe}).all(),
        lambda: db.session.execute(bare, {"id": record_id}).all(),
        count,
    )
    figures = {"check": check_ms, "bare": bare_ms, "ratio": ratio, "containment": before_ms}
    db.session.rollback()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument("--levels", default="10000,100000", help="comma-separated claim counts")
    parser.add_argument("--count", type=int, default=300, help="calls measured per figure (default 300)")
    args = parser.parse_args()
    levels = [int(level.replace("_", "")) for level in args.levels.split(",")]
    if levels != sorted(set(levels)) or levels[0] <= 0:
        raise SystemExit("--levels must grow: e.g. 10000,100000")

    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA) as (url, engine_options, described),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        with app.app_context():
            engine = db.engine
            with engine.begin() as conn:
                org = Organisation.read(conn)
            print(f"Duplicate-invoice check on {described}; median of {args.count} calls, ms\n")
            print(
                f"{'claims':>10} {'statistics':>10} | {'check':>7} {'bare':>7} {'ratio':>6} | "
                f"{'containment (before)':>20}"
            )
            have, rows = 0, []
            for level in levels:
                with engine.begin() as conn:
                    seed_claims(conn, org, FIRST_SEEDED + have, level - have)
                have = level
                for label in ("stale", "analysed"):
                    if label == "analysed":
                        settle(engine, "record_values")
                    figures = measure(have, args.count)
                    rows.append((level, label, figures))
                    print(
                        f"{level:>10,} {label:>10} | {figures['check']:7.3f} {figures['bare']:7.3f} "
                        f"{figures['ratio']:5.1f}x | {figures['containment']:20.3f}",
                        flush=True,
                    )
            db.session.remove()
            failed = False
            for label in ("stale", "analysed"):
                first = next(f for lvl, lab, f in rows if lab == label)
                last = [f for lvl, lab, f in rows if lab == label][-1]
                growth = last["ratio"] / first["ratio"] - 1
                ok = growth <= TARGET_GROWTH
                failed |= not ok
                print(
                    f"\n{label}: check {last['check'] / first['check'] - 1:+.1%} raw, "
                    f"{growth:+.1%} relative to the bare lookup, "
                    f"from {levels[0]:,} to {levels[-1]:,} claims: "
                    f"{'ok' if ok else 'MISSED'} (target <= +{TARGET_GROWTH:.0%})"
                )
            engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
