"""Record lists and counts at scale: each against a bare hand-written indexed query, same run.

    .venv/bin/python tests/benchmarks/bench_lists.py [--database URL] [--claims 100000] [--count 30]
        [--plans] [--no-before]

PostgreSQL (default ``postgresql://postgres@127.0.0.1:5432/formwork_bench_lists``, created when
missing; a private schema, dropped afterwards). The demo organisation, forms, routes and
permission definitions, then ``--claims`` existing claims from ``seed_claims.py`` (default
100,000; about three in ten are alice's, one in five of Sales are drafts or open, carol the
finance reviewer has a task on nearly every one), then VACUUM ANALYZE once, as autovacuum would.

Measured, each the median of ``--count`` runs, in one process (the statements as the application
sends them, the read policy's work included):

* alice (employee) — "my records", first page (20 rows), and page 500 by cursor;
* bob (head of Sales: his department's requests by data scope), first page;
* carol (finance reviewer: every submitted claim by scope, and a task on most), first page;
* each one's count (capped at 1,000);
* "my requests": alice's own page (with its capped count, current steps and amounts), and bob's
  *All I can see*;
* the same lists through ``GET /api/records`` (serialisation and field rights included);
* the same lists the way they were read before (the visibility OR over the table, an offset,
  an exact count), for comparison.

Each is set against the bare query a person would write by hand over the same indexes (``WHERE
owner_id = ... ORDER BY created_at DESC, id DESC LIMIT 21`` and the like) in the same run.
``--plans`` prints each list's EXPLAIN ANALYZE; the run always checks that no plan reads
``records`` or ``tasks`` with a sequential scan and exits 1 when one does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import private_schema, tokens  # noqa: E402
from bench_forms import formwork_app  # noqa: E402
from seed_claims import Organisation, seed_claims, settle  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from formwork.extensions import db  # noqa: E402
from formwork.org.models import User  # noqa: E402
from formwork.records import access, listing  # noqa: E402
from formwork.records.models import Record  # noqa: E402
from formwork.workflow.my_requests import Filters, my_requests  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_lists"
PG_SCHEMA = "formwork_bench_lists"
PAGE = 20
DEEP_PAGE = 500
NEWEST = "ORDER BY created_at DESC, id DESC LIMIT 21"


def median_ms(run: Callable[[], Any], count: int) -> float:
    run()  # warm: the statement cache, the pages it reads
    times = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def explain(statement: Any) -> str:
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    rows = db.session.connection().exec_driver_sql(
        f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}", compiled.params
    )
    return "\n".join(row[0] for row in rows)


def scans_a_table(plan: str) -> list[str]:
    return [
        line.strip()
        for line in plan.splitlines()
        if "Seq Scan on records" in line or "Seq Scan on tasks" in line
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument(
        "--claims", type=int, default=100_000, help="existing claims to seed (default 100,000)"
    )
    parser.add_argument("--count", type=int, default=30, help="runs of each measurement (default 30)")
    parser.add_argument("--plans", action="store_true", help="print each list's EXPLAIN ANALYZE")
    parser.add_argument(
        "--no-before",
        action="store_true",
        help="leave out the old way (at 1,000,000 claims it takes minutes a run)",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA) as (url, engine_options, described),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        keys = tokens(app, "alice", "bob", "carol")
        with app.app_context():
            engine = db.engine
            db.session.remove()
        started = time.perf_counter()
        with engine.begin() as conn:
            org = Organisation.read(conn)
            seed_claims(conn, org, 0, args.claims)
        settle(engine)
        seeded = time.perf_counter() - started
        failed = False
        with app.test_request_context(headers={"Accept-Language": "en"}):
            people = {name: db.session.scalar(select(User).where(User.username == name)) for name in keys}
            alice, bob, carol = people["alice"], people["bob"], people["carol"]
            claims = db.session.scalar(select(func.count()).select_from(Record))
            tasks = db.session.scalar(text("SELECT count(*) FROM tasks"))
            carols = db.session.scalar(
                text("SELECT count(*) FROM tasks WHERE assignee_id = :u"), {"u": carol.id}
            )
            alices = db.session.scalar(select(func.count()).where(Record.owner_id == alice.id))
            print(f"Formwork record lists on {described}")
            print(
                f"{claims:,} records ({alices:,} of them alice's), {tasks:,} tasks ({carols:,} assigned to "
                f"carol); seeded and settled in {seeded:.0f} s; median of {args.count} runs, ms\n"
            )
            # Where page 500 of alice's list starts: the 10,000th of her records, newest first.
            deep = db.session.execute(
                select(Record.created_at, Record.id)
                .where(Record.owner_id == alice.id)
                .order_by(Record.created_at.desc(), Record.id.desc())
                .offset(min((DEEP_PAGE - 1) * PAGE, alices - PAGE) - 1)
                .limit(1)
            ).one()
            after = listing.After(deep.created_at, deep.id)
            cursor = listing.encode_cursor(after)
            sales = bob.department_id

            def run(stmt: Any) -> Callable[[], Any]:
                return lambda: db.session.execute(stmt).all()

            def page_of(user: User, at: listing.After | None = None) -> Callable[[], Any]:
                return lambda: db.session.execute(
                    listing.newest_visible(user, [], Record.id, after=at, limit=PAGE + 1)
                ).all()

            def requests_of(user: User, scope: str) -> Callable[[], Any]:
                return lambda: my_requests(user, Filters(scope=scope), per_page=PAGE)

            def count_of(user: User) -> Callable[[], Any]:
                return lambda: listing.capped_count(user, [])

            def before(user: User, page: int = 1) -> Callable[[], Any]:
                stmt = access.visible_records(user)

                def both() -> None:
                    db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
                    db.session.execute(
                        stmt.order_by(Record.created_at.desc(), Record.id.desc())
                        .limit(PAGE)
                        .offset((page - 1) * PAGE)
                    ).all()

                return both

            bare = {
                "alice": text(f"SELECT * FROM records WHERE owner_id = :u {NEWEST}").bindparams(u=alice.id),
                "alice500": text(
                    f"SELECT * FROM records WHERE owner_id = :u AND (created_at, id) < (:c, :i) {NEWEST}"
                ).bindparams(u=alice.id, c=after.key, i=after.id),
                "bob": text(
                    f"SELECT * FROM records WHERE department_id = :d AND status <> 'draft' {NEWEST}"
                ).bindparams(d=sales),
                "carol": text(
                    f"SELECT * FROM records WHERE form_key = 'expense_claim' AND status <> 'draft' {NEWEST}"
                ).bindparams(),
                "mine": text(
                    "SELECT * FROM records WHERE owner_id = :u "
                    "ORDER BY coalesce(submitted_at, created_at) DESC, id DESC LIMIT 21"
                ).bindparams(u=alice.id),
                "count": text(
                    "SELECT count(*) FROM (SELECT 1 FROM records WHERE owner_id = :u LIMIT 1001) s"
                ).bindparams(u=alice.id),
            }
            client = app.test_client()

            def api(name: str, query: str = "") -> Callable[[], Any]:
                headers = {"Authorization": f"Bearer {keys[name]}"}

                def get() -> None:
                    answer = client.get(f"/api/records?per_page={PAGE}{query}", headers=headers)
                    if answer.status_code != 200:
                        raise SystemExit(f"/api/records as {name}: {answer.status_code}")

                return get

            rows = [
                (
                    "alice: my records, page 1",
                    page_of(alice),
                    run(bare["alice"]),
                    api("alice"),
                    before(alice),
                ),
                (
                    f"alice: page {DEEP_PAGE} (cursor)",
                    page_of(alice, after),
                    run(bare["alice500"]),
                    api("alice", f"&cursor={cursor}"),
                    before(alice, DEEP_PAGE),
                ),
                ("bob (head of Sales), page 1", page_of(bob), run(bare["bob"]), api("bob"), before(bob)),
                ("carol (finance), page 1", page_of(carol), run(bare["carol"]), api("carol"), before(carol)),
                (
                    "alice: my requests page (+count)",
                    requests_of(alice, "mine"),
                    run(bare["mine"]),
                    None,
                    None,
                ),
                ("bob: all requests he may see", requests_of(bob, "all"), None, None, None),
                ("alice: count (cap 1,000)", count_of(alice), run(bare["count"]), None, None),
                ("bob: count (cap 1,000)", count_of(bob), None, None, None),
                ("carol: count (cap 1,000)", count_of(carol), None, None, None),
            ]
            print(f"{'':34} {'list':>8} {'bare':>8} {'ratio':>6} | {'API':>8} | {'before':>9}")
            for label, ours, hand, through_api, old in rows:
                ours_ms = median_ms(ours, args.count)
                hand_ms = median_ms(hand, args.count) if hand else None
                api_ms = median_ms(through_api, args.count) if through_api else None
                old_ms = median_ms(old, max(3, args.count // 10)) if old and not args.no_before else None
                print(
                    f"{label:34} {ours_ms:8.2f} "
                    + (f"{hand_ms:8.2f} {ours_ms / hand_ms:5.1f}x" if hand_ms else f"{'':8} {'':6}")
                    + (f" | {api_ms:8.2f}" if api_ms else f" | {'':8}")
                    + (f" | {old_ms:9.2f}" if old_ms else ""),
                    flush=True,
                )
            print(
                "\n(list: the page's statement as the application sends it, read policy included; bare: the"
            )
            print(
                " hand-written query over the same index; API: GET /api/records with that page and its count;"
            )
            print(" before: the visibility OR over the table with an offset and an exact count)\n")
            plans = {
                "alice page 1": listing.newest_visible(alice, [], limit=PAGE + 1),
                f"alice page {DEEP_PAGE}": listing.newest_visible(alice, [], after=after, limit=PAGE + 1),
                "bob page 1": listing.newest_visible(bob, [], limit=PAGE + 1),
                "carol page 1": listing.newest_visible(carol, [], limit=PAGE + 1),
            }
            for label, statement in plans.items():
                plan = explain(statement)
                bad = scans_a_table(plan)
                failed |= bool(bad)
                verdict = "SEQUENTIAL SCAN: " + "; ".join(bad) if bad else "index scans only"
                print(f"plan of {label}: {verdict} ({plan.splitlines()[-1].strip()})")
                if args.plans:
                    print(plan + "\n")
            db.session.remove()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
