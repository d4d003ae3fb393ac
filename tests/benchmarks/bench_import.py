"""Bulk onboarding benchmark: importing 10,000 people, against a bare insert of the same rows.

    .venv/bin/python tests/benchmarks/bench_import.py [--database URL] [--users N]

PostgreSQL by default (``postgresql://postgres@127.0.0.1:5432/formwork_bench_import``; the
database is created when missing, the run uses a private schema dropped afterwards);
``--database sqlite`` runs on a temporary SQLite file instead. On the demo organisation, a
generated upload (a .zip of departments.csv, users.csv and grants.csv) of 100 new departments,
``--users`` (10,000) new people — each with a new department and, but for the tenth who are
managers, a manager of the same file — and a role grant per person goes through the API
as an administrator would send it (``POST /api/admin/import``, Flask's test client, a bearer
token: reading, every check, the writes, the audit entries, the commit):

- the dry run (``?dry_run=1``): reads and checks everything, writes nothing;
- the import: checks the file again and writes it. Target: under 30 seconds;
- the same file again: every row unchanged, nothing written;

and, in the same run and database, the baseline: a plain ``executemany`` INSERT of the same
people and grants into two bare tables (no checks, no references, no audit). Prints the times
and the ratio of the import to the baseline. Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import private_schema, tokens  # noqa: E402
from bench_forms import formwork_app  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select  # noqa: E402

from formwork.extensions import db  # noqa: E402
from formwork.org.models import User  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_import"
PG_SCHEMA = "formwork_bench_import"
TARGET_SECONDS = 30.0
DEPARTMENTS = 100


def organisation(users: int) -> bytes:
    """A .zip of the three sections: departments under Head Office, people, one grant each."""
    departments = ["code,name_zh,name_en,parent,head"]
    departments += [f"BD{n:03d},部门{n},Department {n},HQ," for n in range(DEPARTMENTS)]
    people = ["username,display_name,email,department,manager,active"]
    grants = ["username,role,department"]
    managers = max(1, users // 10)
    for n in range(users):
        # The first tenth are managers; everyone else reports to one of them.
        manager = "" if n < managers else f"user{(n % managers):05d}"
        people.append(f"user{n:05d},员工{n},user{n}@example.com,BD{n % DEPARTMENTS:03d},{manager},yes")
        grants.append(f"user{n:05d},employee,")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, lines in (("departments", departments), ("users", people), ("grants", grants)):
            archive.writestr(f"{name}.csv", "\ufeff" + "\r\n".join(lines) + "\r\n")
    return out.getvalue()


def post(app: Flask, token: str, data: bytes, query: str) -> tuple[float, dict[str, Any]]:
    client = app.test_client()
    start = time.perf_counter()
    response = client.post(
        f"/api/admin/import{query}",
        data={"file": (io.BytesIO(data), "organisation.zip")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"import answered {response.status_code}: {response.get_data(as_text=True)[:800]}")
    return elapsed, response.get_json()


def baseline(app: Flask, users: int) -> float:
    """The same people and grants by a plain executemany INSERT into bare tables."""
    meta = MetaData()
    people = Table(
        "bare_people",
        meta,
        Column("id", Integer, primary_key=True),
        Column("username", String(80)),
        Column("display_name", String(200)),
        Column("email", String(254)),
        Column("department", String(64)),
        Column("manager", String(80)),
    )
    grants = Table(
        "bare_grants",
        meta,
        Column("id", Integer, primary_key=True),
        Column("username", String(80)),
        Column("role", String(64)),
    )
    managers = max(1, users // 10)
    rows = [
        {
            "username": f"user{n:05d}",
            "display_name": f"员工{n}",
            "email": f"user{n}@example.com",
            "department": f"BD{n % DEPARTMENTS:03d}",
            "manager": None if n < managers else f"user{(n % managers):05d}",
        }
        for n in range(users)
    ]
    with app.app_context():
        meta.create_all(db.engine)
        start = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(insert(people), rows)
            conn.execute(insert(grants), [{"username": row["username"], "role": "employee"} for row in rows])
        elapsed = time.perf_counter() - start
        meta.drop_all(db.engine)
    return elapsed


@contextmanager
def database(url: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    if url == "sqlite":
        with tempfile.TemporaryDirectory(prefix="formwork-bench-import-") as folder:
            yield f"sqlite:///{folder}/bench.db", {}, "SQLite (a temporary file)"
    else:
        with private_schema(url, PG_SCHEMA) as found:
            yield found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="PostgreSQL URL, or sqlite")
    parser.add_argument("--users", type=int, default=10_000, help="people to import (default 10,000)")
    args = parser.parse_args()
    data = organisation(args.users)
    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        database(args.database) as (url, engine_options, described),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        print(f"Formwork bulk onboarding benchmark on {described}")
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; file of {len(data):,} bytes")
        token = tokens(app, "admin")["admin"]
        checked, plan = post(app, token, data, "?dry_run=1")
        counts = plan["counts"]
        if counts["users"]["create"] != args.users or plan["problems"]:
            raise SystemExit(f"the dry run did not plan {args.users} new people: {plan['problems'][:5]}")
        imported, plan = post(app, token, data, f"?token={plan['token']}")
        with app.app_context():
            made = db.session.scalar(
                select(func.count()).select_from(User).where(User.username.like("user%"))
            )
        if made != args.users or not plan["applied"]:
            raise SystemExit(f"{made} people imported, {args.users} expected")
        again, plan = post(app, token, data, "")
        if plan["changes_total"]:
            raise SystemExit(f"importing the same file again changed {plan['changes_total']} rows")
        bare = baseline(app, args.users)
    print(f"dry run (read and check):        {checked:7.2f} s")
    print(f"import (check again and write):  {imported:7.2f} s   target < {TARGET_SECONDS:.0f} s")
    print(f"the same file again (no change): {again:7.2f} s")
    print(f"bare executemany INSERT:         {bare:7.2f} s")
    print(f"ratio import / bare insert:      {imported / bare:7.1f}x")
    if imported >= TARGET_SECONDS:
        print("FAILED: the import took longer than the target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
