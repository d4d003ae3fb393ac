"""Inbox benchmark: one person's 500 open tasks among 1,000,000 tasks.

    .venv/bin/python tests/benchmarks/bench_inbox.py [--database URL] [--keep] [--quick]

PostgreSQL by default (``postgresql://postgres@127.0.0.1:5432/formwork_bench_inbox``; the
database is created when missing). Builds the demo organisation and definitions, then 2,000
more people, 250,000 claims under way and 1,000,000 tasks (bob holds 500 open ones; the rest
belong to others, nine in ten of them already decided) with set-based SQL, so the setup takes
seconds, and runs ANALYZE. It then measures the median server time (Flask's test client: server
time plus a small constant in-process overhead) of bob's inbox — ``GET /api/tasks`` (bearer
token) and the ``/inbox`` page — first page with the default sort, and with a search and the
"due" sort, and prints the plan of the inbox query (``EXPLAIN ANALYZE``) so the index use shows.
Target: median under 30 ms. The data lives in a private schema that is dropped afterwards;
``--keep`` keeps it and reuses it on the next run. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import private_schema  # noqa: E402
from bench_forms import formwork_app, median_ms, page_form  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from formwork.definitions import store  # noqa: E402
from formwork.extensions import db  # noqa: E402
from formwork.org.models import User  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_inbox"
PG_SCHEMA = "formwork_bench_inbox"
TARGET_MS = 30.0
PEOPLE = 2_000
# About four tasks per request (steps, CC copies, reassignments), as a live system would have:
# the records table is then as large as it would be beside a million tasks, which decides
# whether the planner probes records by key or scans them for a search.
TASKS_PER_RECORD = 4
MINE = 500


def _numbers(n: int) -> str:
    """A ``g(n)`` relation of 0..n-1 that PostgreSQL and SQLite both understand."""
    return "WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < " + str(n) + ") "


def populate(total_tasks: int) -> dict[str, Any]:
    """People, claims, processes and tasks in bulk; returns what the measurements need."""
    records = total_tasks // TASKS_PER_RECORD
    postgres = db.engine.dialect.name == "postgresql"
    json_empty = "CAST('{}' AS JSONB)" if postgres else "'{}'"
    now = "CURRENT_TIMESTAMP"
    bob = db.session.scalar(select(User).where(User.username == "bob"))
    alice = db.session.scalar(select(User).where(User.username == "alice"))
    form = store.current("form", "expense_claim")
    route = store.current("route", "expense_claim")
    if route is None:
        raise SystemExit("the demo expense claim route is not published")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                _numbers(PEOPLE) + "INSERT INTO users (username, display_name, active, created_at) "
                "SELECT 'bench' || n, 'Bench person ' || n, TRUE, " + now + " FROM g"
            )
        )
        first_person = conn.execute(text("SELECT MIN(id) FROM users WHERE username LIKE 'bench%'")).scalar()
        conn.execute(
            text(
                _numbers(records)
                + "INSERT INTO records (form_key, definition_id, form_version, data, status, title, "
                "search_text, owner_id, created_at, updated_at, submitted_at, lock_version) "
                "SELECT 'expense_claim', :form_id, :form_version, "
                + json_empty
                + ", 'in_review', 'Claim ' || n, "
                "'claim ' || n || ' trip', :owner, " + now + ", " + now + ", " + now + ", 1 FROM g"
            ),
            {"form_id": form.id, "form_version": form.version, "owner": alice.id},
        )
        first_record = conn.execute(text("SELECT MIN(id) FROM records WHERE title = 'Claim 0'")).scalar()
        conn.execute(
            text(
                "INSERT INTO processes (record_id, route_id, status, state, started_by_id, "
                "started_at, lock_version) "
                "SELECT id, :route, 'running', "
                + json_empty
                + ", owner_id, "
                + now
                + ", 1 FROM records WHERE id >= :first"
            ),
            {"route": route.id, "first": first_record},
        )
        first_process = conn.execute(
            text("SELECT MIN(id) FROM processes WHERE record_id >= :first"), {"first": first_record}
        ).scalar()
        # Task n: bob's open task for n < MINE, one he decided for n < 3 × MINE; otherwise someone
        # else's, decided unless n % 10 == 0.
        # Ages spread over a year (n minutes ago), due dates on a third of them.
        age = (
            "CURRENT_TIMESTAMP - (n * INTERVAL '1 minute')"
            if postgres
            else "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || n || ' minutes')"
        )
        due = (
            "CURRENT_TIMESTAMP + ((n % 97 - 48) * INTERVAL '1 hour')"
            if postgres
            else "strftime('%Y-%m-%d %H:%M:%f', 'now', (n % 97 - 48) || ' hours')"
        )
        decided = (
            "CURRENT_TIMESTAMP - (n * INTERVAL '1 minute') + INTERVAL '1 hour'"
            if postgres
            else "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || n || ' minutes', '+1 hours')"
        )
        # bob: MINE open tasks, then 2 × MINE he decided; everyone else: one in ten open.
        still_open = "(n < :mine OR (n >= 3 * :mine AND n % 10 = 0))"
        conn.execute(
            text(
                _numbers(total_tasks)
                + "INSERT INTO tasks (process_id, record_id, step_key, round, kind, status, "
                "assignee_id, created_at, due_at, decided_by_id, decided_at, decision, "
                "reminders_sent, lock_version) "
                "SELECT :p0 + (n % :records), :r0 + (n % :records), 'department_head', 1, 'approval', "
                "CASE WHEN " + still_open + " THEN 'open' ELSE 'approved' END, "
                "CASE WHEN n < 3 * :mine THEN :bob ELSE :u0 + (n % :people) END, " + age + ", "
                "CASE WHEN n % 3 = 0 THEN " + due + " END, "
                "CASE WHEN "
                + still_open
                + " THEN NULL WHEN n < 3 * :mine THEN :bob ELSE :u0 + (n % :people) END, "
                "CASE WHEN " + still_open + " THEN NULL ELSE " + decided + " END, "
                "CASE WHEN " + still_open + " THEN NULL ELSE 'approve' END, 0, 1 FROM g"
            ),
            {
                "p0": first_process,
                "r0": first_record,
                "records": records,
                "mine": MINE,
                "bob": bob.id,
                "u0": first_person,
                "people": PEOPLE,
            },
        )
        if postgres:
            conn.execute(text("ANALYZE"))
    return {"bob": bob}


def inbox_plan(app: Any, call: Callable[[], Any]) -> list[str]:
    """``EXPLAIN ANALYZE`` of the inbox page query exactly as the application sends it during ``call``."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "assignee_id" in statement and "ORDER BY" in statement and "LIMIT" in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    if not captured:
        raise SystemExit("the inbox request sent no paged query on tasks")
    statement, parameters = captured[0]
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]


def populated(total: int) -> bool:
    """A kept dataset of the same size from an earlier ``--keep`` run."""
    people = db.session.scalar(text("SELECT COUNT(*) FROM users WHERE username LIKE 'bench%'"))
    return bool(people) and db.session.scalar(text("SELECT COUNT(*) FROM tasks")) == total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the dataset (and reuse a kept one)")
    parser.add_argument("--quick", action="store_true", help="100,000 tasks and fewer requests (a smoke run)")
    args = parser.parse_args()
    total = 100_000 if args.quick else 1_000_000
    count = 50 if args.quick else 200

    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA, keep=args.keep, fresh=not args.keep) as (
            url,
            engine_options,
            described,
        ),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        started = time.perf_counter()
        with app.app_context():
            reused = args.keep and populated(total)
            if not reused:
                if db.session.scalar(text("SELECT COUNT(*) FROM tasks")):
                    raise SystemExit(f"schema {PG_SCHEMA} holds another dataset; run once without --keep")
                populate(total)
            from formwork.org.tokens import create_token

            bob = db.session.scalar(select(User).where(User.username == "bob"))
            token = create_token(bob, "bench")
            db.session.commit()
            db.session.remove()
        setup = "reused" if reused else f"built in {time.perf_counter() - started:.1f} s, ANALYZEd"
        print(f"Formwork inbox benchmark on {described}")
        print(f"{total:,} tasks, {PEOPLE:,} extra people, bob holds {MINE} open ({setup})\n")

        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        browser = app.test_client()
        html = browser.get("/login").get_data(as_text=True)
        form = dict(page_form(html, "/login").fields)
        form.update(username="bob", password="demo-password")
        if browser.post("/login", data=form).status_code not in (302, 303):
            raise SystemExit("signing in as bob failed")

        cases: list[tuple[str, Callable[[], Any]]] = [
            ("GET /api/tasks", lambda: api.get("/api/tasks", headers=headers)),
            (
                "GET /api/tasks?sort=due&q=trip&page=7",
                lambda: api.get("/api/tasks?sort=due&q=trip&page=7", headers=headers),
            ),
            ("GET /api/tasks/decided?page=3", lambda: api.get("/api/tasks/decided?page=3", headers=headers)),
            ("GET /inbox (page)", lambda: browser.get("/inbox")),
            ("GET /inbox?sort=newest&page=25 (page)", lambda: browser.get("/inbox?sort=newest&page=25")),
        ]
        plan = inbox_plan(app, lambda: api.get("/api/tasks", headers=headers))
        print(
            "The inbox page query as GET /api/tasks sends it (bob, first page), EXPLAIN (ANALYZE, BUFFERS):"
        )
        for line in plan:
            print("    " + line)
        print()
        check = api.get("/api/tasks", headers=headers).get_json()
        if check.get("total") != MINE:
            raise SystemExit(f"bob's inbox holds {check.get('total')} tasks, expected {MINE}")
        failed = False
        for name, call in cases:
            median, p90 = median_ms(call, 200, count, warmup=10)
            ok = median < TARGET_MS
            failed |= not ok
            print(
                f"  {name:<42} median {median:6.2f} ms   p90 {p90:6.2f} ms   {'ok' if ok else 'MISSED'} "
                f"(target < {TARGET_MS:.0f} ms)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
