"""Served load benchmark: the demo under gunicorn and many clients against a bare Flask app served alike.

    .venv/bin/python tests/benchmarks/bench_load.py [--database URL] [--quick] [--keep]
        [--seed N] [--clients N] [--seconds S] [--rounds N]
        [--workers N] [--worker-class gthread|sync] [--threads N] [--client-processes N]

PostgreSQL (default ``postgresql://postgres@127.0.0.1:5432/formwork_bench_load``, created when
missing; the run works in a private schema that is dropped afterwards unless ``--keep``, which also
reuses a kept dataset of the same size).

Before anything is measured the database gets the demo organisation and definitions and
``--seed`` existing expense claims (default 100,000) with their processes, tasks, trail,
notifications and record events (``seed_claims.py``: set-based SQL, realistic spread over the
demo users and departments, 6 % still under review), and the bare app's tables get the same
claims and tasks. Then VACUUM ANALYZE, once, as autovacuum would after a bulk insert (which also
merges the GIN pending list of the records' data); nothing refreshes statistics during the
measurement (this PostgreSQL runs with autovacuum off, and a busy deployment's statistics
always lag the newest rows).

Each side is served by its own gunicorn with the same options (``-w 3 -k gthread --threads 2``
by default) and connection pool settings (``formwork.config.ENGINE_OPTIONS``), and driven by
the same clients: ``--clients`` keep-alive ``http.client`` connections (threads spread over
``--client-processes`` processes) on 127.0.0.1, each repeating a claim's whole life:

1. the owner (alice, frank, erin, henry or ivan) submits an expense claim (which starts its route:
   the head of their department, finance review, the CFO from 50,000 — one claim in ten — and
   the cashier);
2. the owner lists their requests (``GET /api/requests``) and sees who holds it;
3. the owner opens the record (``GET /api/records/{id}``);
4. at each step the holder opens their inbox (``GET /api/tasks?sort=newest``; a search by the
   claim's title when it is not on the first page), opens the task (``GET /api/tasks/{id}``) and
   approves it (``POST /api/tasks/{id}/decision``), each user with their own bearer token, until
   the claim is approved.

The bare app (``bare_wsgi`` below) answers the same requests with the minimal SQL a hand-written
app would send: the claim row, its invoice numbers in an indexed table (the duplicate check is
one index lookup), the approver from the department or role, a task row per step; lists are one
page and a count; no tokens (the user id travels in a header), no definitions, no rules, no
history. The two sides are measured in alternating rounds (``--rounds``, each ``--seconds`` /
``--rounds`` long per side, after a warm-up round each). Reported per side: requests and whole
claims per second, p50 and p99 latency (all requests, and per kind of request), CPU per request
of the gunicorn processes and of the PostgreSQL backends serving them (``/proc``, Linux), and the
ratios. Every claim a client finished is checked in the database to be approved. Exits 1 when a
request fails; the figures are reported, not judged (the targets are in the README).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import gunicorn_server, private_schema  # noqa: E402
from bench_forms import formwork_app  # noqa: E402
from flask import Flask, abort, jsonify, request  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from seed_claims import Organisation, seed_claims, settle  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from formwork.extensions import db  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_load"
PG_SCHEMA = "formwork_bench_load"
SUBMITTERS = ("alice", "frank", "erin", "henry", "ivan")
APPROVERS = ("bob", "carol", "dave", "grace", "admin")
APP_NAME = {"formwork": "bench_load_formwork", "bare": "bench_load_bare"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ----------------------------------------------------------------------------- the bare baseline

BARE_TABLES = """
CREATE TABLE IF NOT EXISTS bare_claims (
    id BIGSERIAL PRIMARY KEY, owner_id INTEGER NOT NULL, department_id INTEGER, title TEXT,
    status TEXT NOT NULL, data JSONB NOT NULL, total NUMERIC(14, 2) NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS ix_bare_claims_owner ON bare_claims (owner_id, submitted_at);
CREATE TABLE IF NOT EXISTS bare_invoices (invoice_no TEXT NOT NULL, claim_id BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS ix_bare_invoices_no ON bare_invoices (invoice_no);
CREATE TABLE IF NOT EXISTS bare_tasks (
    id BIGSERIAL PRIMARY KEY, claim_id BIGINT NOT NULL, step_key TEXT NOT NULL,
    assignee_id INTEGER NOT NULL, status TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at TIMESTAMPTZ);
CREATE INDEX IF NOT EXISTS ix_bare_tasks_inbox ON bare_tasks (assignee_id, status, created_at);
CREATE INDEX IF NOT EXISTS ix_bare_tasks_claim ON bare_tasks (claim_id);
"""

# The bare route: the demo expense claim's steps and who holds each (a role, or the department head).
BARE_STEPS = ("department_head", "finance_review", "cfo", "cashier")
BARE_ROLES = {"finance_review": "finance_reviewer", "cfo": "cfo", "cashier": "cashier"}


def copy_to_bare(conn: Any) -> None:
    """The seeded claims and their approval tasks into the bare tables (same sizes, same spread)."""
    conn.execute(
        text(
            "INSERT INTO bare_claims (id, owner_id, department_id, title, status, data, total, submitted_at) "
            "SELECT id, owner_id, department_id, title, status, data, CAST(data->>'total' AS NUMERIC), "
            "COALESCE(submitted_at, created_at) FROM records WHERE form_key = 'expense_claim'"
        )
    )
    conn.execute(
        text(
            "INSERT INTO bare_invoices (invoice_no, claim_id) "
            "SELECT line->>'invoice_no', r.id FROM records r "
            "CROSS JOIN LATERAL jsonb_array_elements(r.data->'lines') AS line "
            "WHERE r.form_key = 'expense_claim' AND line ? 'invoice_no'"
        )
    )
    conn.execute(
        text(
            "INSERT INTO bare_tasks (id, claim_id, step_key, assignee_id, status, created_at, decided_at) "
            "SELECT id, record_id, step_key, assignee_id, status, created_at, decided_at FROM tasks "
            "WHERE kind = 'approval'"
        )
    )
    for table in ("bare_claims", "bare_tasks"):
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        )


def bare_wsgi() -> Flask:
    """The bare app gunicorn serves (``bench_load:bare_wsgi()``): the database from
    ``BENCH_BARE_DATABASE_URL``, the pool settings a deployed Formwork uses."""
    from formwork.config import ENGINE_OPTIONS

    app = Flask("bare")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ["BENCH_BARE_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=dict(ENGINE_OPTIONS),
    )
    bare = SQLAlchemy()
    bare.init_app(app)

    def sql(statement: str, **params: Any) -> Any:
        return bare.session.execute(text(statement), params)

    def me() -> int:
        return int(request.headers["X-User"])

    def holder(step: str, owner: int) -> int:
        if step == "department_head":  # the head of the owner's department, or one up for a head
            return sql(
                "SELECT CASE WHEN d.head_id = u.id THEN p.head_id ELSE d.head_id END FROM users u "
                "JOIN departments d ON d.id = u.department_id LEFT JOIN departments p ON p.id = d.parent_id "
                "WHERE u.id = :u",
                u=owner,
            ).scalar_one()
        return sql(
            "SELECT ra.user_id FROM role_assignments ra JOIN roles r ON r.id = ra.role_id "
            "WHERE r.key = :role ORDER BY ra.user_id LIMIT 1",
            role=BARE_ROLES[step],
        ).scalar_one()

    @app.get("/bare/ping")
    def ping():
        return jsonify({"ok": True})

    @app.post("/bare/forms/expense_claim/records")
    def submit():
        owner = me()
        data = json.loads(request.get_data(), parse_float=Decimal)["data"]
        numbers = [line["invoice_no"] for line in data["lines"] if line.get("invoice_no")]
        total = sum(Decimal(line["amount"]) for line in data["lines"])
        data["total"] = str(total)
        duplicate = sql(
            "SELECT 1 FROM bare_invoices WHERE invoice_no = ANY(:numbers) LIMIT 1", numbers=numbers
        ).first()
        claim = sql(
            "INSERT INTO bare_claims (owner_id, department_id, title, status, data, total) "
            "SELECT id, department_id, :title, 'in_review', CAST(:data AS JSONB), :total FROM users "
            "WHERE id = :owner RETURNING id",
            owner=owner,
            title=data["reason"],
            data=json.dumps(data, default=str),
            total=total,
        ).scalar_one()
        sql(
            "INSERT INTO bare_invoices (invoice_no, claim_id) "
            "SELECT unnest(CAST(:numbers AS TEXT[])), :claim",
            numbers=numbers,
            claim=claim,
        )
        sql(
            "INSERT INTO bare_tasks (claim_id, step_key, assignee_id, status) "
            "VALUES (:claim, 'department_head', :holder, 'open')",
            claim=claim,
            holder=holder("department_head", owner),
        )
        bare.session.commit()
        return jsonify({"id": claim, "status": "in_review", "duplicate": duplicate is not None}), 201

    @app.get("/bare/requests")
    def my_requests():
        owner = me()
        rows = sql(
            "SELECT id, title, status, submitted_at FROM bare_claims WHERE owner_id = :u "
            "ORDER BY submitted_at DESC, id DESC LIMIT 20",
            u=owner,
        ).all()
        total = sql("SELECT COUNT(*) FROM bare_claims WHERE owner_id = :u", u=owner).scalar_one()
        holders: dict[int, list[int]] = {}
        for claim_id, assignee in sql(
            "SELECT claim_id, assignee_id FROM bare_tasks WHERE claim_id = ANY(:ids) AND status = 'open'",
            ids=[row.id for row in rows],
        ):
            holders.setdefault(claim_id, []).append(assignee)
        bare.session.commit()
        return jsonify(
            {
                "items": [
                    {
                        "record": {"id": row.id, "title": row.title},
                        "status": row.status,
                        "submitted_at": row.submitted_at.isoformat(),
                        "current": [{"holders": [{"id": h} for h in holders.get(row.id, [])]}],
                    }
                    for row in rows
                ],
                "total": total,
            }
        )

    @app.get("/bare/records/<int:claim_id>")
    def open_record(claim_id: int):
        row = sql(
            "SELECT id, title, status, data FROM bare_claims c WHERE id = :id AND (owner_id = :u OR EXISTS "
            "(SELECT 1 FROM bare_tasks t WHERE t.claim_id = c.id AND t.assignee_id = :u))",
            id=claim_id,
            u=me(),
        ).first()
        bare.session.commit()
        if row is None:
            abort(404)
        return jsonify({"id": row.id, "title": row.title, "status": row.status, "data": row.data})

    @app.get("/bare/tasks")
    def inbox():
        user = me()
        search = request.args.get("q")
        rows = sql(
            "SELECT t.id, t.step_key, t.created_at, c.id AS claim_id, c.title FROM bare_tasks t "
            "JOIN bare_claims c ON c.id = t.claim_id WHERE t.assignee_id = :u AND t.status = 'open' "
            + ("AND c.title = :q " if search else "")
            + "ORDER BY t.created_at DESC, t.id DESC LIMIT 20",
            u=user,
            q=search,
        ).all()
        total = sql(
            "SELECT COUNT(*) FROM bare_tasks WHERE assignee_id = :u AND status = 'open'", u=user
        ).scalar_one()
        bare.session.commit()
        return jsonify(
            {
                "items": [
                    {
                        "id": row.id,
                        "kind": "approval",
                        "step_key": row.step_key,
                        "created_at": row.created_at.isoformat(),
                        "record": {"id": row.claim_id, "title": row.title},
                    }
                    for row in rows
                ],
                "total": total,
            }
        )

    @app.get("/bare/tasks/<int:task_id>")
    def open_task(task_id: int):
        row = sql(
            "SELECT t.id, t.step_key, t.status, c.id AS claim_id, c.title, c.data FROM bare_tasks t "
            "JOIN bare_claims c ON c.id = t.claim_id WHERE t.id = :id AND t.assignee_id = :u",
            id=task_id,
            u=me(),
        ).first()
        if row is None:
            abort(404)
        trail = sql(
            "SELECT step_key, assignee_id, status, decided_at FROM bare_tasks "
            "WHERE claim_id = :c ORDER BY id",
            c=row.claim_id,
        ).all()
        bare.session.commit()
        return jsonify(
            {
                "id": row.id,
                "step_key": row.step_key,
                "status": row.status,
                "record": {"id": row.claim_id, "title": row.title, "data": row.data},
                "trail": [{"step": t.step_key, "user": t.assignee_id, "status": t.status} for t in trail],
            }
        )

    @app.post("/bare/tasks/<int:task_id>/decision")
    def decide(task_id: int):
        user = me()
        row = sql(
            "SELECT t.id, t.claim_id, t.step_key, t.status, t.assignee_id, c.total, c.owner_id "
            "FROM bare_tasks t JOIN bare_claims c ON c.id = t.claim_id WHERE t.id = :id FOR UPDATE OF t",
            id=task_id,
        ).first()
        if row is None or row.assignee_id != user:
            bare.session.rollback()
            abort(404)
        if row.status != "open":
            bare.session.rollback()
            abort(409)
        sql("UPDATE bare_tasks SET status = 'approved', decided_at = now() WHERE id = :id", id=task_id)
        following = [
            step
            for step in BARE_STEPS[BARE_STEPS.index(row.step_key) + 1 :]
            if step != "cfo" or row.total >= 50000
        ]
        current = []
        if following:
            nxt = holder(following[0], row.owner_id)
            sql(
                "INSERT INTO bare_tasks (claim_id, step_key, assignee_id, status) "
                "VALUES (:c, :s, :h, 'open')",
                c=row.claim_id,
                s=following[0],
                h=nxt,
            )
            current = [{"key": following[0], "holder_ids": [nxt]}]
        else:
            sql("UPDATE bare_claims SET status = 'approved' WHERE id = :c", c=row.claim_id)
        bare.session.commit()
        return jsonify(
            {
                "process": {"status": "running" if following else "approved", "current": current},
                "task": {"id": task_id, "status": "approved"},
            }
        )

    return app


# ----------------------------------------------------------------------------- the clients


@dataclass(frozen=True)
class Side:
    """How the clients talk to one server: path prefix and each user's authentication header."""

    name: str
    port: int
    prefix: str
    headers: dict[str, dict[str, str]]  # username -> headers
    user_ids: dict[int, str]  # user id -> username


def claim_body(serial: int) -> dict[str, Any]:
    """A travel claim; one in ten over 50,000 (the CFO step). Invoice numbers start with 7: never a seed's."""
    day = (date.today() - timedelta(days=2)).isoformat()
    lines = 1 + serial % 4
    return {
        "category": "travel",
        "reason": f"Load claim {serial}",
        "trip_destination": "Shanghai",
        "trip_start": day,
        "trip_end": day,
        "lines": [
            {
                "date": day,
                "type": ("transport", "hotel", "meals", "other")[i],
                "amount": "52000.00" if serial % 10 == 5 and i == 0 else f"{120 + (serial + i) % 700}.50",
                "invoice_no": f"7{serial * 4 + i:011d}",
            }
            for i in range(lines)
        ],
        "payee_name": "Payee",
        "payee_bank": "Bank of Shanghai",
        "payee_account": "6222020200112233445",
    }


class Failure(Exception):
    pass


class Connection:
    """One keep-alive connection that records (kind, milliseconds) of each request."""

    def __init__(self, port: int, samples: list[tuple[str, float]]):
        self.port, self.samples = port, samples
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, kind: str, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body)
        sent = {**headers, "Content-Type": "application/json"} if payload else headers
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers=sent)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):  # the server closed an idle connection: reopen once
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=payload, headers=sent)
            response = self.conn.getresponse()
        data = response.read()
        self.samples.append((kind, (time.perf_counter() - started) * 1000))
        if response.will_close:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        if response.status not in (200, 201):
            raise Failure(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data)


def lifecycle(side: Side, conn: Connection, owner: str, serial: int, stop_at: float) -> int | None:
    """One claim from submission to approval; its id, or None when the round ended first."""
    p, auth = side.prefix, side.headers
    record = conn.call(
        "submit",
        "POST",
        f"{p}/forms/expense_claim/records",
        auth[owner],
        {"data": claim_body(serial), "submit": True},
    )
    claim_id = record["id"]
    mine = conn.call("list my requests", "GET", f"{p}/requests", auth[owner])
    found = [item for item in mine["items"] if item["record"]["id"] == claim_id]
    if not found or not found[0]["current"]:
        raise Failure(f"claim {claim_id} is not among {owner}'s latest requests with a current step")
    holders = [h["id"] for h in found[0]["current"][0]["holders"]]
    conn.call("open record", "GET", f"{p}/records/{claim_id}", auth[owner])
    while holders:
        if time.monotonic() >= stop_at:
            return None
        approver = side.user_ids[holders[0]]
        inbox = conn.call("inbox", "GET", f"{p}/tasks?sort=newest", auth[approver])
        tasks = [t["id"] for t in inbox["items"] if t["record"]["id"] == claim_id and t["kind"] == "approval"]
        if not tasks:  # not on the first page of a busy inbox: search for it
            title = f"Load claim {serial}"
            inbox = conn.call("inbox search", "GET", f"{p}/tasks?q={quote(title)}", auth[approver])
            tasks = [
                t["id"] for t in inbox["items"] if t["record"]["id"] == claim_id and t["kind"] == "approval"
            ]
            if not tasks:
                raise Failure(f"{approver} cannot find the task on claim {claim_id}")
        conn.call("open task", "GET", f"{p}/tasks/{tasks[0]}", auth[approver])
        decided = conn.call(
            "approve", "POST", f"{p}/tasks/{tasks[0]}/decision", auth[approver], {"action": "approve"}
        )
        holders = [h for step in decided["process"]["current"] for h in step["holder_ids"]]
    return claim_id


def client_process(
    side: Side, threads: int, first_client: int, stride: int, base: int, stop_at: float, out: Any
) -> None:
    """``threads`` clients in this process; sends (samples, finished claim ids, failures) back."""
    samples: list[tuple[str, float]] = []
    finished: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        mine: list[tuple[str, float]] = []
        done: list[int] = []
        conn = Connection(side.port, mine)
        serial = base + number  # unique across clients, rounds and (kept) runs: titles, invoice numbers
        try:
            while time.monotonic() < stop_at:
                owner = SUBMITTERS[serial % len(SUBMITTERS)]
                claim_id = lifecycle(side, conn, owner, serial, stop_at)
                if claim_id is not None:
                    done.append(claim_id)
                serial += stride
        except Exception as exc:  # reported by the parent; one failure stops this client only
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            conn.conn.close()
            with lock:
                samples.extend(mine)
                finished.extend(done)

    running = [threading.Thread(target=client, args=(first_client + i,)) for i in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    out.send((samples, finished, failures))
    out.close()


# ----------------------------------------------------------------------------- CPU from /proc


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


@dataclass
class CpuMeter:
    """CPU seconds of a gunicorn (master and workers) and of the PostgreSQL backends it connected."""

    master: int
    application_name: str
    admin: Any  # an engine on the same database, for pg_stat_activity

    def backends(self) -> list[int]:
        with self.admin.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": self.application_name},
                ).scalars()
            )

    def read(self) -> tuple[dict[int, float], dict[int, float]]:
        app = {pid: process_cpu(pid) for pid in [self.master, *children(self.master)]}
        database = {pid: process_cpu(pid) for pid in self.backends()}
        return app, database


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two readings; a process born in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


# ----------------------------------------------------------------------------- a round


@dataclass
class Totals:
    samples: list[tuple[str, float]] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    seconds: float = 0.0
    app_cpu: float = 0.0
    db_cpu: float = 0.0


def run_round(side: Side, meter: CpuMeter, clients: int, processes: int, seconds: float) -> Totals:
    context = multiprocessing.get_context("fork")
    processes = max(1, min(processes, clients))
    share = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    before = meter.read()
    started = time.perf_counter()
    stop_at = time.monotonic() + seconds
    pipes, workers, first = [], [], 0
    base = (int(time.time()) % 1_000_000) * 10_000  # rounds start seconds apart
    for threads in share:
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=client_process, args=(side, threads, first, clients, base, stop_at, send)
        )
        worker.start()
        send.close()
        pipes.append(receive)
        workers.append(worker)
        first += threads
    totals = Totals()
    failures: list[str] = []
    for receive in pipes:
        samples, finished, failed = receive.recv()
        totals.samples.extend(samples)
        totals.finished.extend(finished)
        failures.extend(failed)
    for worker in workers:
        worker.join()
    totals.seconds = time.perf_counter() - started
    after = meter.read()
    totals.app_cpu = cpu_spent(before[0], after[0])
    totals.db_cpu = cpu_spent(before[1], after[1])
    if failures:
        raise SystemExit(f"{side.name}: {len(failures)} client(s) failed, first: {failures[0]}")
    return totals


def merge(into: Totals, more: Totals) -> None:
    into.samples.extend(more.samples)
    into.finished.extend(more.finished)
    into.seconds += more.seconds
    into.app_cpu += more.app_cpu
    into.db_cpu += more.db_cpu


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----------------------------------------------------------------------------- setup


def users_and_tokens(app: Flask) -> tuple[dict[str, int], dict[str, str]]:
    from sqlalchemy import select

    from formwork.org.models import User
    from formwork.org.tokens import create_token

    with app.app_context():
        ids, tokens = {}, {}
        for name in (*SUBMITTERS, *APPROVERS):
            user = db.session.scalar(select(User).where(User.username == name))
            ids[name] = user.id
            tokens[name] = create_token(user, "load benchmark")
        db.session.commit()
        db.session.remove()
    return ids, tokens


def seeded(conn: Any) -> int:
    return int(conn.execute(text("SELECT COUNT(*) FROM records WHERE title LIKE 'Claim %'")).scalar_one())


def prepare(app: Flask, count: int, reuse: bool) -> str:
    """Seed ``count`` claims (and the bare copy) unless a kept dataset of that size is there; settle."""
    with app.app_context():
        engine = db.engine
        db.session.remove()
    with engine.begin() as conn:
        if reuse and seeded(conn) == count:
            conn.execute(text("DELETE FROM api_tokens WHERE name = 'load benchmark'"))
            return "reused"
        if seeded(conn):
            raise SystemExit(f"schema {PG_SCHEMA} holds another dataset; run once without --keep")
        started = time.perf_counter()
        added = seed_claims(conn, Organisation.read(conn), 0, count)
        conn.execute(text(BARE_TABLES))
        copy_to_bare(conn)
    settle(engine, "bare_claims", "bare_invoices", "bare_tasks")
    rows = ", ".join(f"{n:,} {table}" for table, n in added.items())
    return f"seeded in {time.perf_counter() - started:.0f} s ({rows}), then VACUUM ANALYZE"


@contextmanager
def served(url: str, instance: Path, args: argparse.Namespace, which: str) -> Iterator[tuple[int, int]]:
    """(port, master pid) of a gunicorn serving one side, tagged in pg_stat_activity."""
    tagged = make_url(url).update_query_dict({"application_name": APP_NAME[which]})
    options: dict[str, Any] = (
        {} if which == "formwork" else {"app": "bench_load:bare_wsgi()", "probe": "/bare/ping"}
    )
    with gunicorn_server(
        tagged.render_as_string(hide_password=False),
        instance,
        args.workers,
        args.worker_class,
        args.threads,
        **options,
    ) as (port, server):
        yield port, server.pid


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument(
        "--quick", action="store_true", help="10,000 claims, 6 clients, 12 s per side (a smoke run)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the dataset (and reuse a kept one of the same size)"
    )
    parser.add_argument("--seed", type=int, help="existing claims before the run (default 100,000)")
    parser.add_argument("--clients", type=int, help="concurrent keep-alive clients (default 12)")
    parser.add_argument(
        "--seconds", type=float, help="measured seconds per side, over all rounds (default 48)"
    )
    parser.add_argument("--rounds", type=int, help="alternating rounds per side (default 4)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per side (default 3)")
    parser.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker (default 2)")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes the clients run in (default 2)"
    )
    args = parser.parse_args()
    if not args.database.startswith(("postgres://", "postgresql")):
        raise SystemExit("this benchmark needs PostgreSQL (--database postgresql://...)")
    if not os.path.exists("/proc/self/stat"):
        raise SystemExit("this benchmark reads CPU times from /proc (Linux)")
    seed = args.seed if args.seed is not None else (10_000 if args.quick else 100_000)
    clients = args.clients or (6 if args.quick else 12)
    seconds = args.seconds or (12.0 if args.quick else 48.0)
    rounds = args.rounds or (2 if args.quick else 4)

    with ExitStack() as stack:
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="formwork-bench-instance-")))
        url, engine_options, described = stack.enter_context(
            private_schema(args.database, PG_SCHEMA, keep=args.keep, fresh=not args.keep)
        )
        app = formwork_app(
            url, engine_options, instance
        )  # demo seed and publish: idempotent on a kept schema
        setup = prepare(app, seed, args.keep)
        ids, tokens = users_and_tokens(app)
        with app.app_context():
            db.engine.dispose()
        admin = stack.enter_context(_engine(url))
        print(f"Formwork served load benchmark on {described}")
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {seed:,} existing claims ({setup})")
        worker = f"{args.workers} {args.worker_class} workers" + (
            f" x {args.threads} threads" if args.worker_class == "gthread" else ""
        )
        print(
            f"each side: gunicorn {worker}; {clients} keep-alive clients in {args.client_processes} "
            f"processes; {rounds} alternating rounds of {seconds / rounds:.0f} s per side\n"
        )

        by_id = {user_id: name for name, user_id in ids.items()}
        formwork_port, formwork_pid = stack.enter_context(served(url, instance, args, "formwork"))
        bare_port, bare_pid = stack.enter_context(served(url, instance, args, "bare"))
        sides = {
            "formwork": (
                Side(
                    "Formwork",
                    formwork_port,
                    "/api",
                    {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()},
                    by_id,
                ),
                CpuMeter(formwork_pid, APP_NAME["formwork"], admin),
            ),
            "bare": (
                Side(
                    "bare Flask",
                    bare_port,
                    "/bare",
                    {name: {"X-User": str(user_id)} for name, user_id in ids.items()},
                    by_id,
                ),
                CpuMeter(bare_pid, APP_NAME["bare"], admin),
            ),
        }
        for side, meter in sides.values():  # warm-up: every worker imports, compiles, opens connections
            run_round(side, meter, clients, args.client_processes, min(5.0, seconds / rounds))
        results = {name: Totals() for name in sides}
        for _ in range(rounds):
            for name, (side, meter) in sides.items():
                merge(results[name], run_round(side, meter, clients, args.client_processes, seconds / rounds))
        verify_approved(admin, results["formwork"].finished, "records")
        verify_approved(admin, results["bare"].finished, "bare_claims")
        report(results)
    return 0


@contextmanager
def _engine(url: str) -> Iterator[Any]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def verify_approved(engine: Any, claim_ids: list[int], table: str) -> None:
    """Every claim a client took through its route is approved in the database."""
    if not claim_ids:
        raise SystemExit(f"no claim was taken through its route ({table})")
    with engine.connect() as conn:
        approved = conn.execute(
            text(f"SELECT COUNT(*) FROM {table} WHERE id = ANY(:ids) AND status = 'approved'"),
            {"ids": claim_ids},
        ).scalar_one()
    if approved != len(claim_ids):
        raise SystemExit(f"{len(claim_ids) - approved} of {len(claim_ids)} finished claims are not approved")


def report(results: dict[str, Totals]) -> None:
    rows: dict[str, dict[str, float]] = {}
    for name, totals in results.items():
        latencies = [ms for _, ms in totals.samples]
        n = len(latencies)
        rows[name] = {
            "requests": n,
            "rate": n / totals.seconds,
            "claims": len(totals.finished) / totals.seconds,
            "p50": statistics.median(latencies),
            "p99": percentile(latencies, 0.99),
            "app_cpu": 1000 * totals.app_cpu / n,
            "db_cpu": 1000 * totals.db_cpu / n,
        }
    f, b = rows["formwork"], rows["bare"]
    print(f"{'':34}{'Formwork':>12}{'bare Flask':>12}{'ratio':>9}")
    lines = [
        ("requests measured", "requests", "{:12,.0f}", None),
        ("requests per second", "rate", "{:12.1f}", "up"),
        ("claims through the route / s", "claims", "{:12.2f}", "up"),
        ("p50 latency, ms", "p50", "{:12.1f}", "down"),
        ("p99 latency, ms", "p99", "{:12.1f}", "down"),
        ("app CPU per request, ms", "app_cpu", "{:12.2f}", "down"),
        ("PostgreSQL CPU per request, ms", "db_cpu", "{:12.2f}", "down"),
    ]
    for label, key, fmt, better in lines:
        ratio = ""
        if better == "up":
            ratio = f"{f[key] / b[key]:8.1%}"
        elif better == "down":
            ratio = f"{f[key] / b[key]:7.1f}x"
        print(f"  {label:32}{fmt.format(f[key])}{fmt.format(b[key])} {ratio}")
    print("\n  per kind of request: count, p50 / p99 ms (Formwork | bare)")
    kinds = sorted({kind for totals in results.values() for kind, _ in totals.samples})
    for kind in kinds:
        cells = []
        for name in ("formwork", "bare"):
            values = [ms for k, ms in results[name].samples if k == kind]
            cells.append(
                f"{len(values):6,} {statistics.median(values):7.1f} / {percentile(values, 0.99):7.1f}"
                if values
                else f"{'-':>23}"
            )
        print(f"    {kind:18}{cells[0]}   | {cells[1]}")
    print("\n(ratio: Formwork's throughput as a share of the bare app's; latency and CPU as multiples of it)")


if __name__ == "__main__":
    sys.exit(main())
