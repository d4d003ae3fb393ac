"""Approvals benchmark: deciding tasks over HTTP against a bare Flask + SQLAlchemy endpoint.

    .venv/bin/python tests/benchmarks/bench_approvals.py [--database URL] [--quick]
        [--workers N] [--worker-class gthread|sync] [--threads N] [--clients N] [--seconds S]

PostgreSQL by default (``postgresql://postgres@127.0.0.1:5432/formwork_bench_approvals``; the
database is created when missing, the run uses a private schema that is dropped afterwards).
Open tasks are prepared beforehand through the records service (each record is submitted,
so the workflow starts it the way a user's submission does). Then:

(a) one process, Flask's test client: ``POST /api/tasks/{id}/decision`` ``{"action": "approve"}``
    with a bearer token — load the task, authorise, evaluate the route, transition, write the
    notifications and outbox, the trail, commit — against a bare endpoint that updates one row
    per request on the same database: the server time alone, reported. Measured on
    three routes: a one-step route (each approval ends the request); the demo expense claim's
    first step (department head, bob), which activates finance review for the role's holders;
    and its finance review (carol), where the CFO step's ``total >= 50000`` condition goes
    through the rules engine and the CFO, or the cashier with a copy to finance, is assigned.
    A further 100
    approvals are timed statement by statement to show where the time goes.
(a') the same three comparisons end to end over HTTP: each app served by its own one-process
    gunicorn (one gthread worker, one thread) on 127.0.0.1, driven sequentially over one
    keep-alive connection each, in alternating batches, both with a deployed Formwork's connection
    pool settings (``formwork.config.ENGINE_OPTIONS``). Target: at least 40 % of the bare
    throughput, end to end over HTTP in one process.
(b) the absolute figure: ``gunicorn -w 3 -k gthread --threads 2 wsgi:app`` (options below) on
    127.0.0.1 at a free port, on the same schema, driven from this process by 12 client
    threads with keep-alive ``http.client`` connections, each approving distinct one-step
    tasks (at most ``--seconds``). Goal: at least 300 approvals per second.

Test-client times are server time plus a small, constant in-process overhead that the bare
endpoint pays too. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_forms import ensure_database, formwork_app, timed  # noqa: E402
from flask import Flask, jsonify  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from sqlalchemy import String, create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column  # noqa: E402

from formwork.config import normalise_database_url  # noqa: E402
from formwork.db_types import Timestamp, utcnow  # noqa: E402
from formwork.extensions import db  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_approvals"
PG_SCHEMA = "formwork_bench_approvals"

TARGET_RATIO = 0.40
TARGET_PER_SECOND = 300.0
PROFILED = 100  # approvals timed statement by statement for the breakdown

# A one-step route on a small form of its own: every approval finishes a request.
BENCH_FORM: dict[str, Any] = {
    "kind": "form",
    "key": "bench_request",
    "title": {"zh-CN": "基准申请", "en": "Benchmark request"},
    "title_field": "subject",
    "fields": [
        {
            "key": "subject",
            "type": "text",
            "label": {"zh-CN": "事项", "en": "Subject"},
            "required": True,
            "max_length": 200,
        },
        {
            "key": "amount",
            "type": "money",
            "label": {"zh-CN": "金额", "en": "Amount"},
            "required": True,
            "currency": "CNY",
            "min": 0.01,
            "max": 1000000,
        },
    ],
}
BENCH_ROUTE: dict[str, Any] = {
    "kind": "route",
    "key": "bench_request",
    "form": "bench_request",
    "title": {"zh-CN": "基准审批", "en": "Benchmark approval"},
    "steps": [
        {"key": "approve", "name": {"zh-CN": "审批", "en": "Approval"}, "approvers": [{"user": "bob"}]},
    ],
}


# ----------------------------------------------------------------------------- the database


@contextmanager
def private_schema(
    url: str, schema: str, *, keep: bool = False, fresh: bool = True
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(URL with the schema as search path, engine options, description) of a PostgreSQL schema.

    The schema is created empty (``fresh``) or reused, and dropped afterwards unless ``keep``.
    The URL carries ``options=-csearch_path=...`` so another process (gunicorn) lands in it too.
    """
    url = normalise_database_url(url)
    if not url.startswith("postgresql"):
        raise SystemExit("this benchmark needs PostgreSQL (--database postgresql://...)")
    ensure_database(url)
    admin = create_engine(url)
    with admin.begin() as conn:
        if fresh:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield (
            scoped.render_as_string(hide_password=False),
            {},
            f"PostgreSQL {make_url(url).database} (schema "
            f"{schema}{', kept' if keep else ', dropped afterwards'})",
        )
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


# ----------------------------------------------------------------------------- the bare baseline


class BareBase(DeclarativeBase):
    pass


class BareTask(BareBase):
    """What a hand-written endpoint would keep: a task row whose status a decision changes."""

    __tablename__ = "bench_bare_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignee_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[Any] = mapped_column(Timestamp(), nullable=True)


def bare_wsgi(url: str | None = None, engine_options: dict[str, Any] | None = None) -> Flask:
    """Flask + Flask-SQLAlchemy, no authentication, no rules: read one row, update it, commit.

    Also the WSGI app gunicorn serves for (a') (``bench_approvals:bare_wsgi()``, database from
    ``BENCH_BARE_DATABASE_URL``, the pool settings a deployed Formwork uses); the rows are made
    beforehand by ``bare_app``.
    """
    app = Flask("bare")
    if url is None:  # served like Formwork's wsgi:app, so with the same connection pool settings
        from formwork.config import ENGINE_OPTIONS

        url, engine_options = os.environ["BENCH_BARE_DATABASE_URL"], dict(ENGINE_OPTIONS)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options or {})
    bare_db = SQLAlchemy(model_class=BareBase)
    bare_db.init_app(app)

    @app.get("/bare/ping")
    def ping():
        return jsonify({"ok": True})

    @app.post("/bare/tasks/<int:task_id>/decision")
    def decide(task_id: int):
        row = bare_db.session.get(BareTask, task_id)
        row.status = "approved"
        row.decided_at = utcnow()
        bare_db.session.commit()
        return jsonify({"id": row.id, "status": row.status})

    return app


def bare_app(url: str, engine_options: dict[str, Any], tasks: int) -> Flask:
    """``bare_wsgi`` with its table made and ``tasks`` open rows in it."""
    app = bare_wsgi(url, engine_options)
    bare_db = app.extensions["sqlalchemy"]
    with app.app_context():
        BareBase.metadata.create_all(bare_db.engine)
        bare_db.session.execute(
            text(
                "INSERT INTO bench_bare_tasks (assignee_id, status) SELECT 1, 'open' "
                "FROM generate_series(1, :n)"
            ),
            {"n": tasks},
        )
        bare_db.session.commit()
    return app


# ----------------------------------------------------------------------------- preparing tasks


def claim(index: int, big: bool) -> dict[str, Any]:
    """An expense claim with three lines and invoice numbers of its own (no duplicate alert)."""
    day = (date.today() - timedelta(days=2)).isoformat()
    amount = "20000.00" if big else f"{120 + index % 50}.50"
    return {
        "category": "travel",
        "reason": f"Customer visit {index}",
        "trip_destination": "Shanghai",
        "trip_start": day,
        "trip_end": day,
        "lines": [
            {"date": day, "type": kind, "amount": amount, "invoice_no": f"{60000000 + index * 3 + n:08d}"}
            for n, kind in enumerate(("transport", "hotel", "meals"))
        ],
        "payee_name": "Alice Wang",
        "payee_bank": "Bank of Shanghai",
        "payee_account": "6222020200112233445",
    }


def submit_records(app: Flask, form_key: str, count: int, *, start: int = 0) -> None:
    """``count`` records of ``form_key`` submitted by alice through the records service."""
    from formwork.org.models import User
    from formwork.workflow.submission import create_record

    with app.app_context():
        alice = db.session.scalar(select(User).where(User.username == "alice"))
        for i in range(start, start + count):
            raw = (
                {"subject": f"Benchmark request {i}", "amount": f"{100 + i % 900}.00"}
                if form_key == "bench_request"
                else claim(i, big=i % 2 == 0)
            )
            create_record(form_key, raw, alice, submit=True)
        db.session.remove()


def open_task_ids(app: Flask, username: str, step_key: str) -> list[int]:
    from formwork.org.models import User
    from formwork.workflow.models import Task

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        ids = list(
            db.session.scalars(
                select(Task.id)
                .where(
                    Task.assignee_id == user.id,
                    Task.status == "open",
                    Task.kind == "approval",
                    Task.step_key == step_key,
                )
                .order_by(Task.id)
            )
        )
        db.session.remove()
    return ids


def tokens(app: Flask, *usernames: str) -> dict[str, str]:
    from formwork.org.models import User
    from formwork.org.tokens import create_token

    with app.app_context():
        result = {}
        for name in usernames:
            result[name] = create_token(
                db.session.scalar(select(User).where(User.username == name)), "benchmark"
            )
        db.session.commit()
        db.session.remove()
    return result


def publish_bench_route(app: Flask) -> None:
    from formwork.definitions import store

    with app.app_context():
        store.publish(BENCH_FORM, source="bench_approvals")
        store.publish(BENCH_ROUTE, source="bench_approvals")
        db.session.commit()
        db.session.remove()


# ----------------------------------------------------------------------------- (a) one process


def compare(
    app: Flask, bare: Flask, token: str, task_ids: list[int], bare_ids: list[int], rounds: int
) -> tuple[float, float, list[float], list[float]]:
    """Approve ``task_ids`` (Formwork) and update ``bare_ids`` (bare) in alternating batches."""
    api, floor = app.test_client(), bare.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"action": "approve"}
    cuts = [len(task_ids) * r // rounds for r in range(rounds + 1)]  # every id in one of the rounds
    app_ms: list[float] = []
    bare_ms: list[float] = []
    for r in range(rounds):
        for task_id in task_ids[cuts[r] : cuts[r + 1]]:
            app_ms.append(
                timed(lambda t=task_id: api.post(f"/api/tasks/{t}/decision", json=body, headers=headers), 200)
            )
        for row_id in bare_ids[cuts[r] : cuts[r + 1]]:
            bare_ms.append(timed(lambda r=row_id: floor.post(f"/bare/tasks/{r}/decision", json=body), 200))
    return 1000 * len(app_ms) / sum(app_ms), 1000 * len(bare_ms) / sum(bare_ms), app_ms, bare_ms


class KeptAlive:
    """One keep-alive HTTP connection that POSTs JSON and checks the status."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port, self.headers = port, {**headers, "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: str, expected: int = 200) -> float:
        started = time.perf_counter()
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):  # the server closed an idle connection: reopen once
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request("POST", path, body=body, headers=self.headers)
            response = self.conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != expected:
            raise SystemExit(f"unexpected status {response.status} (wanted {expected}):\n{data[:800]!r}")
        if response.will_close:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return elapsed

    def close(self) -> None:
        self.conn.close()


def compare_http(
    app_port: int, bare_port: int, token: str, task_ids: list[int], bare_ids: list[int], rounds: int
) -> tuple[float, float, list[float], list[float]]:
    """``compare`` end to end over HTTP: one keep-alive connection to each server, one request at a time."""
    api = KeptAlive(app_port, {"Authorization": f"Bearer {token}"})
    floor = KeptAlive(bare_port, {})
    body = json.dumps({"action": "approve"})
    cuts = [len(task_ids) * r // rounds for r in range(rounds + 1)]  # every id in one of the rounds
    app_ms: list[float] = []
    bare_ms: list[float] = []
    try:
        for r in range(rounds):
            for task_id in task_ids[cuts[r] : cuts[r + 1]]:
                app_ms.append(api.post(f"/api/tasks/{task_id}/decision", body))
            for row_id in bare_ids[cuts[r] : cuts[r + 1]]:
                bare_ms.append(floor.post(f"/bare/tasks/{row_id}/decision", body))
    finally:
        api.close()
        floor.close()
    return 1000 * len(app_ms) / sum(app_ms), 1000 * len(bare_ms) / sum(bare_ms), app_ms, bare_ms


def verify_closed(app: Flask, task_ids: list[int]) -> None:
    """Every approved task is closed in the database (a benchmark of a no-op would be worthless)."""
    from formwork.workflow.models import Task

    with app.app_context():
        still_open = db.session.scalar(
            select(func.count()).where(Task.id.in_(task_ids), Task.status != "approved")
        )
        db.session.remove()
    if still_open:
        raise SystemExit(f"{still_open} of the approved tasks are not approved in the database")


def breakdown(app: Flask, token: str, task_ids: list[int]) -> dict[str, float]:
    """Where one approval's time goes: SQL statements (count, time), commits/rollbacks, the rest (Python)."""
    import psycopg
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    spent = {"statements": 0.0, "statement_time": 0.0, "transactions": 0.0, "transaction_time": 0.0}

    def before(conn: Any, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, *_: Any) -> None:
        spent["statements"] += 1
        spent["statement_time"] += time.perf_counter() - conn.info.pop("bench_started")

    def counted(method: Any) -> Any:
        def wrapper(self: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(self)
            finally:
                spent["transactions"] += 1
                spent["transaction_time"] += time.perf_counter() - started

        return wrapper

    commit, rollback = psycopg.Connection.commit, psycopg.Connection.rollback
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    psycopg.Connection.commit, psycopg.Connection.rollback = counted(commit), counted(rollback)  # type: ignore[method-assign]
    try:
        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        for task_id in task_ids:
            timed(
                lambda t=task_id: api.post(
                    f"/api/tasks/{t}/decision", json={"action": "approve"}, headers=headers
                ),
                200,
            )
        total = time.perf_counter() - started
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        psycopg.Connection.commit, psycopg.Connection.rollback = commit, rollback  # type: ignore[method-assign]
    n = len(task_ids)
    return {
        "total_ms": 1000 * total / n,
        "statements": spent["statements"] / n,
        "statement_ms": 1000 * spent["statement_time"] / n,
        "transactions": spent["transactions"] / n,
        "transaction_ms": 1000 * spent["transaction_time"] / n,
    }


# ----------------------------------------------------------------------------- (b) gunicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    url: str,
    instance: Path,
    workers: int,
    worker_class: str,
    threads: int,
    *,
    app: str = "wsgi:app",
    probe: str = "/api/tasks",
) -> Iterator[int]:
    """A gunicorn serving ``app`` (default Formwork's ``wsgi:app``) on the benchmark schema; yields its
    port; stopped afterwards."""
    with gunicorn_server(url, instance, workers, worker_class, threads, app=app, probe=probe) as (port, _):
        yield port


@contextmanager
def gunicorn_server(
    url: str,
    instance: Path,
    workers: int,
    worker_class: str,
    threads: int,
    *,
    app: str = "wsgi:app",
    probe: str = "/api/tasks",
) -> Iterator[tuple[int, subprocess.Popen]]:
    """``gunicorn``, yielding the port and the master process (whose children are the workers)."""
    port = free_port()
    env = dict(
        os.environ,
        FORMWORK_DATABASE_URL=url,
        FORMWORK_INSTANCE_PATH=str(instance),
        FORMWORK_SECRET_KEY="bench-secret",
        FORMWORK_DEMO="1",
        BENCH_BARE_DATABASE_URL=url,
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "benchmarks"), str(ROOT / "platform")]),
    )
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "-w",
        str(workers),
        "-k",
        worker_class,
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--keep-alive",
        "30",
    ]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    log_path = instance / f"gunicorn-{port}.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [*command, app], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log_path.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", probe)
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start within 60 s") from None
                time.sleep(0.2)
        yield port, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def load(
    port: int, token: str, task_ids: list[int], clients: int, seconds: float
) -> tuple[int, float, list[float], dict[int, int]]:
    """Approve distinct tasks from ``clients`` keep-alive connections until done or ``seconds`` pass."""
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for task_id in task_ids:
        work.put(task_id)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    body = json.dumps({"action": "approve"})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while time.monotonic() < stop_at:
            try:
                task_id = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                conn.request("POST", f"/api/tasks/{task_id}/decision", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()  # the server closed the idle connection; open a new one and try again
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", f"/api/tasks/{task_id}/decision", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            mine.append((time.perf_counter() - started) * 1000)
            seen[response.status] = seen.get(response.status, 0) + 1
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return statuses.get(200, 0), elapsed, latencies, statuses


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument("--quick", action="store_true", help="fewer tasks (a smoke run, noisier figures)")
    # gthread keeps connections alive and overlaps one thread's database wait with another's
    # Python; on 2 cores it measured about 2.5 times the throughput of sync workers.
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument(
        "--worker-class",
        default="gthread",
        choices=("sync", "gthread"),
        help="gunicorn worker class (default gthread)",
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker (default 2)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent client connections (default 12)")
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="longest load phase in seconds (default 15)"
    )
    args = parser.parse_args()
    if not args.database.startswith(("postgres://", "postgresql")):
        raise SystemExit("this benchmark needs PostgreSQL (--database postgresql://...)")
    scale = 0.25 if args.quick else 1.0
    one_step, demo, rounds = int(800 * scale), int(400 * scale), 4
    served = int(3000 * scale)
    over_http = int(300 * scale)  # approvals per comparison in (a')

    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA) as (url, engine_options, described),
    ):
        instance_path = Path(instance)
        app = formwork_app(url, engine_options, instance_path)
        publish_bench_route(app)
        print(f"Formwork approvals benchmark on {described}")
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"{'quick' if args.quick else 'full'} run\n"
        )

        started = time.perf_counter()
        submit_records(app, "bench_request", one_step + over_http + served + PROFILED)
        submit_records(app, "expense_claim", demo + over_http)
        prepared = time.perf_counter() - started
        simple = open_task_ids(app, "bob", "approve")
        heads = open_task_ids(app, "bob", "department_head")
        if len(simple) != one_step + over_http + served + PROFILED or len(heads) != demo + over_http:
            raise SystemExit(
                f"prepared {len(simple)} one-step and {len(heads)} department-head tasks, "
                f"expected {one_step + over_http + served + PROFILED} and {demo + over_http}"
            )
        print(
            f"prepared {len(simple) + len(heads)} open tasks through the records service in "
            f"{prepared:.1f} s\n"
        )
        keys = tokens(app, "bob", "carol")
        bare = bare_app(url, engine_options, one_step + 2 * demo + 3 * over_http + 100)
        bare_rows = iter(range(1, one_step + 2 * demo + 3 * over_http + 101))

        def next_bare(n: int) -> list[int]:
            return [next(bare_rows) for _ in range(n)]

        results: list[tuple[str, bool, str]] = []
        reported: list[tuple[str, str]] = []

        def report(
            tag: str,
            label: str,
            n: int,
            app_rate: float,
            bare_rate: float,
            app_ms: list[float],
            bare_ms: list[float],
        ) -> None:
            ratio = app_rate / bare_rate
            targeted = tag == "(a')"  # the target is stated end to end over HTTP; server time is reported
            print(f"{tag} {label}: {n} approvals")
            print(
                f"    Formwork API : {app_rate:8.1f} approvals/s   median {statistics.median(app_ms):6.2f} ms"
            )
            print(
                f"    bare Flask   : {bare_rate:8.1f} updates/s     median "
                f"{statistics.median(bare_ms):6.2f} ms"
            )
            print(
                f"    ratio        : {ratio:8.1%}   "
                + (f"(target >= {TARGET_RATIO:.0%})\n" if targeted else "(server time, reported)\n")
            )
            if targeted:
                results.append(
                    (f"{tag} {label.split(' (')[0]} vs bare", ratio >= TARGET_RATIO, f"{ratio:.1%}")
                )
            else:
                reported.append((f"{tag} {label.split(' (')[0]} vs bare (server time)", f"{ratio:.1%}"))

        # Warm both sides up (first requests compile routes, fill caches, open pool connections).
        compare(app, bare, keys["bob"], simple[:20], next_bare(20), 1)
        simple = simple[20:]
        one_step_ids, simple = simple[: one_step - 20], simple[one_step - 20 :]
        http_simple, simple = simple[:over_http], simple[over_http:]
        served_ids, profiled_ids = simple[:-PROFILED], simple[-PROFILED:]
        heads, http_heads = heads[:demo], heads[demo:]

        # (a) one process, Flask's test client: server time.
        ONE_STEP = "one-step route (each approval finishes the request)"
        HEAD = "expense claim, department head step (bob)"
        FINANCE = "expense claim, finance review step (carol; the CFO condition is evaluated)"
        for label, ids in ((ONE_STEP, one_step_ids), (HEAD, heads)):
            report("(a)", label, len(ids), *compare(app, bare, keys["bob"], ids, next_bare(len(ids)), rounds))
            verify_closed(app, ids)
        # The department head approvals moved those claims to finance review: carol's tasks now,
        # where the CFO step's condition is evaluated through the rules engine.
        finance = open_task_ids(app, "carol", "finance_review")
        if len(finance) != demo:
            raise SystemExit(f"carol holds {len(finance)} finance review tasks, expected {demo}")
        report(
            "(a)",
            FINANCE,
            len(finance),
            *compare(app, bare, keys["carol"], finance, next_bare(len(finance)), rounds),
        )
        verify_closed(app, finance)
        with app.app_context():
            from formwork.workflow.models import Task

            def waiting(step: str) -> int:
                return db.session.scalar(
                    select(func.count(func.distinct(Task.record_id))).where(
                        Task.step_key == step, Task.status == "open", Task.kind == "approval"
                    )
                )

            cfo, cashier = waiting("cfo"), waiting("cashier")
            db.session.remove()
        print(
            f"    routed on: {cfo} claims to the CFO (total >= 50,000), {cashier} straight to the cashier\n"
        )

        split = breakdown(app, keys["bob"], profiled_ids)
        verify_closed(app, profiled_ids)
        python_ms = split["total_ms"] - split["statement_ms"] - split["transaction_ms"]
        print(
            f"    where one approval's {split['total_ms']:.2f} ms go (one-step route, {PROFILED} approvals):"
        )
        print(f"      {split['statements']:5.1f} SQL statements      {split['statement_ms']:6.2f} ms")
        print(f"      {split['transactions']:5.1f} commits/rollbacks   {split['transaction_ms']:6.2f} ms")
        print(f"      Python (Flask, ORM, runtime) {python_ms:6.2f} ms\n")

        # (a') end to end over HTTP, one process each (one gthread worker with one thread).
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with bare.app_context():
            bare.extensions["sqlalchemy"].engine.dispose()
        with (
            gunicorn(url, instance_path, 1, "gthread", 1) as app_port,
            gunicorn(
                url, instance_path, 1, "gthread", 1, app="bench_approvals:bare_wsgi()", probe="/bare/ping"
            ) as bare_port,
        ):
            warm_http = http_simple[:20]
            compare_http(app_port, bare_port, keys["bob"], warm_http, next_bare(20), 1)
            ids = http_simple[20:]
            report(
                "(a')",
                ONE_STEP + " over HTTP",
                len(ids),
                *compare_http(app_port, bare_port, keys["bob"], ids, next_bare(len(ids)), rounds),
            )
            verify_closed(app, http_simple)
            report(
                "(a')",
                HEAD + " over HTTP",
                len(http_heads),
                *compare_http(
                    app_port, bare_port, keys["bob"], http_heads, next_bare(len(http_heads)), rounds
                ),
            )
            verify_closed(app, http_heads)
            finance = open_task_ids(app, "carol", "finance_review")
            if len(finance) != over_http:
                raise SystemExit(f"carol holds {len(finance)} finance review tasks, expected {over_http}")
            report(
                "(a')",
                FINANCE + " over HTTP",
                len(finance),
                *compare_http(app_port, bare_port, keys["carol"], finance, next_bare(len(finance)), rounds),
            )
            verify_closed(app, finance)

        # (b) gunicorn workers, driven over loopback by keep-alive client threads.
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with gunicorn(url, instance_path, args.workers, args.worker_class, args.threads) as port:
            load(port, keys["bob"], served_ids[:100], args.clients, 10)  # warm every worker up
            approved, elapsed, latencies, statuses = load(
                port, keys["bob"], served_ids[100:], args.clients, args.seconds
            )
        verify_closed(app, served_ids[: 100 + approved])
        rate = approved / elapsed
        worker = f"{args.workers} {args.worker_class} workers" + (
            f" x {args.threads} threads" if args.worker_class == "gthread" else ""
        )
        print(f"(b) gunicorn ({worker}), {args.clients} keep-alive clients over loopback, one-step route")
        print(
            f"    {approved} approvals in {elapsed:.1f} s: {rate:8.1f} approvals/s   "
            f"median {statistics.median(latencies):6.2f} ms   p90 "
            f"{statistics.quantiles(latencies, n=10)[-1]:6.2f} ms"
        )
        if set(statuses) != {200}:
            print(f"    statuses: {statuses}")
        print(f"    goal         : >= {TARGET_PER_SECOND:.0f} approvals/s\n")
        results.append(
            (
                "(b) gunicorn approvals/s",
                rate >= TARGET_PER_SECOND and set(statuses) == {200},
                f"{rate:.1f}/s",
            )
        )

        for name, figure in reported:
            print(f"    ----  {name}: {figure}")
        for name, ok, figure in results:
            print(f"    {'PASS' if ok else 'MISS'}  {name}: {figure}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with bare.app_context():
            bare.extensions["sqlalchemy"].engine.dispose()
        return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
