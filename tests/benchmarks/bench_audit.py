"""Audit trail benchmark: what writing the trail costs an approval, and how fast the chain is verified.

    .venv/bin/python tests/benchmarks/bench_audit.py [--database URL] [--quick] [--entries N]

PostgreSQL by default (``postgresql://postgres@127.0.0.1:5432/formwork_bench_audit``; the database
is created when missing, the run uses a private schema that is dropped afterwards).

(a) Approvals with the audit trail against approvals without it, in one run: open one-step tasks
    are prepared through the records service, then approved through
    ``POST /api/tasks/{id}/decision`` (Flask's test client, a bearer token: the whole request —
    authorisation, the route, the trail, notifications, the commit) in alternating batches, with
    ``FORMWORK_AUDIT_ENABLED`` on and off. With it on, each approval also appends its
    ``task.decide`` entry at the commit (one call of ``audit_append``: the chain's lock, the head,
    the insert). Target: at most 10 % more time per approval, by the ratio of the mean times with
    the slowest 2 % of each side left out (bursts of other processes on a shared machine); the
    plain means and the medians are printed beside it.
(b) ``formwork audit verify`` over ``--entries`` (1,000,000) entries: they are seeded set-based
    (one COPY, each entry chained to the one before, with the kinds of details the application
    writes), then the command walks the whole chain. Target: under 60 seconds.

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import (  # noqa: E402
    open_task_ids,
    private_schema,
    publish_bench_route,
    submit_records,
    tokens,
    verify_closed,
)
from bench_forms import formwork_app, timed  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from formwork import business_time  # noqa: E402
from formwork.audit import actions  # noqa: E402
from formwork.audit.chain import GENESIS, canonical_details, entry_hash  # noqa: E402
from formwork.audit.models import AuditEntry  # noqa: E402
from formwork.extensions import db  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_audit"
PG_SCHEMA = "formwork_bench_audit"
TARGET_RATIO = 1.10
WARMUP = 40
TRIM = 0.02  # the slowest 2 % of each side (another process's burst on a shared machine) left out
TARGET_VERIFY_SECONDS = 60.0
COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "address",
    "action",
    "object_type",
    "object_id",
    "department_id",
    "details",
    "prev_hash",
    "hash",
)


def approvals(app: Flask, token: str, task_ids: list[int], rounds: int) -> tuple[list[float], list[float]]:
    """Approve ``task_ids`` in ``rounds`` pairs of batches, the trail on in one and off in the other
    (which goes first alternates); milliseconds per approval with it on and off."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"action": "approve"}
    for index, task_id in enumerate(task_ids[:WARMUP]):  # compiling and caching: measured by neither
        app.config["FORMWORK_AUDIT_ENABLED"] = index % 2 == 0
        timed(lambda t=task_id: client.post(f"/api/tasks/{t}/decision", json=body, headers=headers), 200)
    task_ids = task_ids[WARMUP:]
    cuts = [len(task_ids) * r // (2 * rounds) for r in range(2 * rounds + 1)]
    on: list[float] = []
    off: list[float] = []
    for batch in range(2 * rounds):
        enabled = (batch % 2 == 0) == (batch // 2 % 2 == 0)
        app.config["FORMWORK_AUDIT_ENABLED"] = enabled
        for task_id in task_ids[cuts[batch] : cuts[batch + 1]]:
            elapsed = timed(
                lambda t=task_id: client.post(f"/api/tasks/{t}/decision", json=body, headers=headers), 200
            )
            (on if enabled else off).append(elapsed)
    app.config["FORMWORK_AUDIT_ENABLED"] = True
    return on, off


def trimmed_mean(times: list[float]) -> float:
    kept = sorted(times)[: max(1, int(len(times) * (1 - TRIM)))]
    return statistics.fmean(kept)


def decisions_logged(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == actions.TASK_DECIDE)
        )
        db.session.remove()
    return int(count or 0)


def seed_entries(app: Flask, count: int) -> float:
    """Append ``count`` chained entries after the current head in one COPY; seconds taken."""
    started = time.perf_counter()
    with app.app_context():
        head = db.session.execute(
            select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        ).first()
        last_id, last_hash = (head.id, head.hash) if head else (0, GENESIS)
        db.session.remove()
        moment = business_time.now() - timedelta(days=180)
        step = timedelta(days=180) / max(count, 1)
        kinds = [
            (actions.SIGN_IN, "user", None),
            (
                actions.RECORD_CHANGE,
                "record",
                {
                    "form": "expense_claim",
                    "status": "draft",
                    "changes": [
                        {"path": "reason", "before": "Customer visit", "after": "Customer visit to Acme"},
                        {"path": "lines[0].amount", "before": "120.50", "after": "180.50"},
                    ],
                },
            ),
            (actions.TASK_DECIDE, "record", {"decision": "approve", "task": 12345, "step": "finance"}),
            (
                actions.RECORD_CREATE,
                "record",
                {
                    "form": "expense_claim",
                    "status": "submitted",
                    "changes": [
                        {"path": "reason", "after": "Customer visit"},
                        {"path": "total", "after": "361.50"},
                    ],
                },
            ),
        ]
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY audit_entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for index in range(count):
                    action, object_type, details = kinds[index % len(kinds)]
                    last_id += 1
                    fields = {
                        "id": last_id,
                        "at": moment + step * index,
                        "actor_id": 2 + index % 9,
                        "actor_label": f"user{index % 9}",
                        "address": f"10.0.{index % 200}.{index % 250}",
                        "action": action,
                        "object_type": object_type,
                        "object_id": str(1 + index // 4),
                        "department_id": 1 + index % 6,
                        "details": canonical_details(details),
                        "prev_hash": last_hash,
                    }
                    last_hash = entry_hash(fields)
                    copy.write_row([*(fields[name] for name in COLUMNS[:-1]), last_hash])
            raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument("--quick", action="store_true", help="fewer approvals and entries (a smoke run)")
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="entries to verify (default 1,000,000)"
    )
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    tasks, rounds = int(1200 * scale) + WARMUP, int(120 * scale)
    entries = min(args.entries, 100_000) if args.quick else args.entries
    failed = False
    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA) as (url, engine_options, described),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        publish_bench_route(app)
        print(f"Formwork audit trail benchmark on {described}")
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"{'quick' if args.quick else 'full'} run\n"
        )

        submit_records(app, "bench_request", tasks)
        task_ids = open_task_ids(app, "bob", "approve")
        token = tokens(app, "bob")["bob"]
        before = decisions_logged(app)
        on, off = approvals(app, token, task_ids, rounds)
        verify_closed(app, task_ids)
        logged = decisions_logged(app) - before
        if logged != len(on) + WARMUP // 2:
            raise SystemExit(f"{logged} decisions in the trail, {len(on)} approved with it on")
        ratio = trimmed_mean(on) / trimmed_mean(off)
        print(
            f"(a) {len(on) + len(off)} approvals in {2 * rounds} alternating batches "
            f"after {WARMUP} unmeasured (test client, server time)"
        )
        for label, times in (("on ", on), ("off", off)):
            print(
                f"    trail {label}: mean {statistics.fmean(times):.2f} ms, trimmed mean "
                f"{trimmed_mean(times):.2f} ms, median {statistics.median(times):.2f} ms"
            )
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        means = statistics.fmean(on) / statistics.fmean(off)
        medians = statistics.median(on) / statistics.median(off)
        print(
            f"    on / off: {ratio:.3f} by the trimmed means (means {means:.3f}, medians {medians:.3f}); "
            f"target <= {TARGET_RATIO:.2f}: {verdict}\n"
        )
        failed |= ratio > TARGET_RATIO

        seeded = seed_entries(app, entries)
        with app.app_context():
            total = db.session.scalar(select(func.count()).select_from(AuditEntry))
            db.session.remove()
        print(f"(b) seeded {entries:,} chained entries in {seeded:.1f} s (one COPY)")
        runner = app.test_cli_runner()
        with app.app_context():  # as the ``formwork`` command gives it
            started = time.perf_counter()
            result = runner.invoke(args=["audit", "verify"])
            took = time.perf_counter() - started
            db.session.remove()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        said = (result.output + (result.stderr if result.stderr_bytes is not None else "")).strip()
        print(f"    formwork audit verify: exit {result.exit_code} in {took:.1f} s: {said[:160]}")
        intact = result.exit_code == 0 and f" {total} entries" in said
        verdict = "ok" if intact and took < TARGET_VERIFY_SECONDS else "MISSED"
        print(f"    target < {TARGET_VERIFY_SECONDS:.0f} s for {entries:,} entries: {verdict}")
        failed |= verdict != "ok"
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
