"""Growth benchmark: the same routed submission and approval as the claims and tasks pile up.

    .venv/bin/python tests/benchmarks/bench_growth.py [--database URL] [--quick] [--million]
        [--levels 10000,100000] [--inbox 20000] [--count 200]

PostgreSQL (default ``postgresql://postgres@127.0.0.1:5432/formwork_bench_growth``, created when
missing; a private schema, dropped afterwards). After the demo organisation and definitions, bob
gets an inbox of ``--inbox`` open head-step tasks (default 20,000: claims of alice's under review).
Then the database grows in steps to each level of existing claims (default 10,000 and 100,000;
``--million`` adds 1,000,000, which takes about ten minutes to seed), with ``seed_claims.py``: the
claims, processes, tasks (about four per claim), trail, notifications and record events the demo
route leaves. After each step VACUUM ANALYZE runs once, as autovacuum would after a bulk insert
(``seed_claims.settle``: without it a level's duplicate-invoice search scans the GIN pending
list the bulk load left, and the first level looks slower than the last). At each
level, in one process through Flask's test client (server time plus a small constant overhead):

* ``--count`` routed submissions of the demo expense claim by alice (``POST
  /api/forms/expense_claim/records``, submit: the record, its route started, the first task, the
  duplicate-invoice search over every claim);
* bob approving those claims at the head step (``POST /api/tasks/{id}/decision``), with his
  inbox of ``--inbox`` open tasks and all the level's tasks in the table;
* bob's inbox, first page (``GET /api/tasks``), and alice's records (``GET /api/records``).

Each measured request is followed by an insert of a claim's JSON by a bare Flask endpoint into a
table of its own (``bench_forms.bare_app``), whose cost does not depend on the claims: a yardstick
of how fast the shared machine is at that moment. It prints the median of each per level and the
growth from the first level to the last, raw and relative to the yardstick (the median of each
request's ratio to the bare insert right after it). Target (issue 14): the submission and the approval
grow by at most 10 % from the first level to the last, judged relative to the bare insert (the
raw figure also holds whatever else the shared machine did meanwhile); exits 1 when either grows
more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import private_schema, tokens  # noqa: E402
from bench_forms import bare_app, formwork_app, timed  # noqa: E402
from seed_claims import Organisation, open_at_head, seed_claims, settle  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from formwork.extensions import db  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_growth"
PG_SCHEMA = "formwork_bench_growth"
TARGET_GROWTH = 0.10
WARM_UP = 20
INBOX_CLAIMS_FROM = 50_000_000  # claim numbers of bob's inbox: apart from the levels' claims


def live_claim(serial: int) -> dict[str, Any]:
    """A travel claim with three lines; invoice numbers start with 7, never a seeded claim's."""
    day = (date.today() - timedelta(days=2)).isoformat()
    return {
        "category": "travel",
        "reason": f"Growth claim {serial}",
        "trip_destination": "Shanghai",
        "trip_start": day,
        "trip_end": day,
        "lines": [
            {
                "date": day,
                "type": kind,
                "amount": f"{150 + serial % 300}.50",
                "invoice_no": f"7{serial * 3 + i:011d}",
            }
            for i, kind in enumerate(("transport", "hotel", "meals"))
        ],
        "payee_name": "Alice Wang",
        "payee_bank": "Bank of Shanghai",
        "payee_account": "6222020200112233445",
    }


def grow(app: Any, org: Organisation, have: int, want: int) -> float:
    """Seed claims ``have`` .. ``want - 1`` and settle them as autovacuum would; seconds taken."""
    started = time.perf_counter()
    with app.app_context():
        engine = db.engine
        db.session.remove()
    with engine.begin() as conn:
        seed_claims(conn, org, have, want - have)
    settle(engine)
    return time.perf_counter() - started


def table_sizes(app: Any) -> tuple[int, int, int]:
    """(claims, tasks, bob's open tasks)."""
    from formwork.org.models import User

    with app.app_context():
        bob = db.session.scalar(select(User.id).where(User.username == "bob"))
        claims = db.session.scalar(text("SELECT COUNT(*) FROM records WHERE form_key = 'expense_claim'"))
        tasks = db.session.scalar(text("SELECT COUNT(*) FROM tasks"))
        inbox = db.session.scalar(
            text("SELECT COUNT(*) FROM tasks WHERE assignee_id = :bob AND status = 'open'"), {"bob": bob}
        )
        db.session.remove()
    return int(claims), int(tasks), int(inbox)


def open_head_task(app: Any, record_id: int) -> int:
    with app.app_context():
        task_id = db.session.scalar(
            text(
                "SELECT id FROM tasks WHERE record_id = :r AND status = 'open' AND kind = 'approval' "
                "AND step_key = 'department_head'"
            ),
            {"r": record_id},
        )
        db.session.remove()
    if task_id is None:
        raise SystemExit(f"claim {record_id} has no open head-step task")
    return int(task_id)


def measure_level(app: Any, bare: Any, keys: dict[str, str], count: int, serial: int) -> dict[str, float]:
    """Median milliseconds of each measured request at the current size."""
    api, floor = app.test_client(), bare.test_client()
    alice = {"Authorization": f"Bearer {keys['alice']}"}
    bob = {"Authorization": f"Bearer {keys['bob']}"}
    submitted: list[int] = []

    def submit() -> Any:
        nonlocal serial
        serial += 1
        response = api.post(
            "/api/forms/expense_claim/records",
            json={"data": live_claim(serial), "submit": True},
            headers=alice,
        )
        if response.status_code == 201:
            submitted.append(response.get_json()["id"])
        return response

    def insert() -> Any:
        return floor.post("/bare/forms/expense_claim/records", json={"data": live_claim(0), "submit": True})

    def paired(call: Callable[[], Any], expected: int) -> tuple[float, float]:
        """(ms of ``call``, its ratio to a bare insert right after): the pair shares the machine's moment."""
        ms = timed(call, expected)
        return ms, ms / timed(insert, 201)

    for _ in range(WARM_UP):  # first requests compile, fill caches, open connections
        paired(submit, 201)
    submits = [paired(submit, 201) for _ in range(count)]
    approvals = []
    for i, record_id in enumerate(submitted):
        task_id = open_head_task(app, record_id)
        pair = paired(
            lambda t=task_id: api.post(f"/api/tasks/{t}/decision", json={"action": "approve"}, headers=bob),
            200,
        )
        if i >= WARM_UP:  # the warm-up claims' approvals warm the approval path up
            approvals.append(pair)

    def sample(call: Callable[[], Any], n: int) -> list[tuple[float, float]]:
        for _ in range(3):
            timed(call, 200)
        return [paired(call, 200) for _ in range(n)]

    lists = max(10, count // 5)
    measured = {
        "submit": submits,
        "approve": approvals,
        "inbox": sample(lambda: api.get("/api/tasks", headers=bob), lists),
        "records": sample(lambda: api.get("/api/records", headers=alice), lists),
    }
    figures = {key: statistics.median(ms for ms, _ in pairs) for key, pairs in measured.items()}
    figures.update({f"{key}/bare": statistics.median(r for _, r in pairs) for key, pairs in measured.items()})
    figures["bare"] = statistics.median(ms / ratio for ms, ratio in submits)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument(
        "--quick", action="store_true", help="levels 2,000 and 10,000, inbox 2,000 (a smoke run)"
    )
    parser.add_argument("--million", action="store_true", help="add the 1,000,000 level (about ten minutes)")
    parser.add_argument("--levels", help="comma-separated claim counts (default 10000,100000)")
    parser.add_argument("--inbox", type=int, help="bob's open tasks (default 20,000)")
    parser.add_argument("--count", type=int, help="submissions (and approvals) per level (default 200)")
    args = parser.parse_args()
    if not args.database.startswith(("postgres://", "postgresql")):
        raise SystemExit("this benchmark needs PostgreSQL (--database postgresql://...)")
    if args.levels:
        levels = [int(level.replace("_", "")) for level in args.levels.split(",")]
    else:
        levels = [2_000, 10_000] if args.quick else [10_000, 100_000]
    if args.million:
        levels.append(1_000_000)
    if levels != sorted(set(levels)) or levels[0] <= 0:
        raise SystemExit("--levels must grow: e.g. 10000,100000")
    inbox = args.inbox if args.inbox is not None else (2_000 if args.quick else 20_000)
    count = args.count or (50 if args.quick else 200)

    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA) as (url, engine_options, described),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        keys = tokens(app, "alice", "bob")
        with app.app_context():
            engine = db.engine
            db.session.remove()
        with engine.begin() as conn:
            org = Organisation.read(conn)
            open_at_head(conn, org, INBOX_CLAIMS_FROM, inbox, "alice")
        bare = bare_app(url, engine_options, org.owners[0])
        print(f"Formwork growth benchmark on {described}")
        print(f"bob's inbox: {inbox:,} open head-step tasks; {count} submissions and approvals per level")
        print("level: seeded claims; claims, tasks: all in the tables (bob's inbox, the measured ones too)\n")
        print(
            f"{'level':>10} {'claims':>10} {'tasks':>10} {'seeded':>8} | "
            f"{'submit':>8} {'bare':>7} {'ratio':>6} | "
            f"{'approve':>8} | {'inbox':>7} {'records':>8}   (median ms)"
        )
        rows: list[tuple[int, dict[str, float]]] = []
        have, serial = 0, 0
        for level in levels:
            seconds = grow(app, org, have, level)
            have = level
            figures = measure_level(app, bare, keys, count, serial)
            serial += count + WARM_UP
            claims, tasks, _ = table_sizes(app)
            rows.append((level, figures))
            print(
                f"{level:>10,} {claims:>10,} {tasks:>10,} {seconds:>7.0f}s | "
                f"{figures['submit']:8.2f} {figures['bare']:7.2f} "
                f"{figures['submit/bare']:5.1f}x | {figures['approve']:8.2f} | "
                f"{figures['inbox']:7.2f} {figures['records']:8.2f}",
                flush=True,
            )
        first, last = rows[0][1], rows[-1][1]
        print(f"\ngrowth from {rows[0][0]:,} to {rows[-1][0]:,} seeded claims (last / first - 1):")
        failed = False
        for key, label in (
            ("submit", "routed submission"),
            ("approve", "approval (head step)"),
            ("inbox", "bob's inbox, first page"),
            ("records", "alice's records, first page"),
        ):
            raw = last[key] / first[key] - 1
            relative = last[f"{key}/bare"] / first[f"{key}/bare"] - 1
            targeted = key in ("submit", "approve")
            ok = relative <= TARGET_GROWTH if targeted else True
            failed |= not ok
            verdict = (
                f"{'ok' if ok else 'MISSED'} (target <= +{TARGET_GROWTH:.0%})" if targeted else "(reported)"
            )
            print(f"  {label:30} {raw:+8.1%}   relative to the bare insert {relative:+8.1%}   {verdict}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with bare.app_context():
            bare.extensions["sqlalchemy"].engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
