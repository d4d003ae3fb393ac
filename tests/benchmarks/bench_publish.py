"""Publishing benchmark: re-publishing a definitions folder costs what changed, not forms × routes.

    .venv/bin/python tests/benchmarks/bench_publish.py [--database URL] [--count N]

Generates ``--count`` forms and a route for each (default 200 + 200 = 400 files) in a temporary
folder and publishes it with ``formwork definitions publish PATH`` three times: new (every file
stored), unchanged (nothing stored), and with one changed route. For each it prints the SQL
statements sent (counted with SQLAlchemy's ``before_cursor_execute``) and the seconds taken,
beside a bare baseline measured in the same run on the same database: reading and hashing the
files, and one select of the current versions with their content (what publishing must at least
do to know that nothing changed). Runs on a throwaway SQLite file by default; with
``--database postgresql://...`` in a private schema that is dropped afterwards.

Target: re-publishing the unchanged folder in under 2 s, with a statement count that does not
depend on the number of files. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import undefer  # noqa: E402

from formwork import create_app  # noqa: E402
from formwork.config import normalise_database_url  # noqa: E402
from formwork.definitions import store  # noqa: E402
from formwork.definitions.models import DefinitionVersion  # noqa: E402
from formwork.extensions import db  # noqa: E402

PG_SCHEMA = "formwork_bench_publish"
TARGET_UNCHANGED_SECONDS = 2.0

FORM = """\
kind: form
key: form_{n}
title: {{zh-CN: 表单{n}, en: Form {n}}}
fields:
  - {{key: amount, type: money, label: {{zh-CN: 金额, en: Amount}}, min: 0.01}}
  - {{key: category, type: choice, label: {{zh-CN: 类别, en: Category}},
      options: [{{value: a, label: {{zh-CN: 甲, en: A}}}}, {{value: b, label: {{zh-CN: 乙, en: B}}}}]}}
  - {{key: note, type: text, label: {{zh-CN: 说明, en: Note}}, max_length: 200}}
"""

ROUTE = """\
kind: route
key: route_{n}
form: form_{n}
title: {{zh-CN: 审批{n}, en: Approval {n}}}
no_approver: skip
steps:
  - key: manager
    name: {{zh-CN: 经理审批, en: Manager approval}}
    approvers: [{{manager: true}}]
  - key: large
    name: {{zh-CN: 大额审批, en: Large amounts}}
    when: amount > {limit} and category == 'a'
    approvers: [{{manager: true}}]
"""


def write_definitions(root: Path, count: int) -> Path:
    (root / "forms").mkdir(parents=True)
    (root / "routes").mkdir(parents=True)
    for n in range(count):
        (root / "forms" / f"form_{n}.yaml").write_text(FORM.format(n=n), encoding="utf-8")
        (root / "routes" / f"route_{n}.yaml").write_text(ROUTE.format(n=n, limit=1000), encoding="utf-8")
    return root


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


@contextmanager
def database(url: str | None) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(SQLAlchemy URL, engine options, description) of an empty database, cleaned up afterwards."""
    if not url:
        with tempfile.TemporaryDirectory(prefix="formwork-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db", {}, "SQLite (temporary file)"
        return
    url = normalise_database_url(url)
    if not url.startswith("postgresql"):
        yield url, {}, url.split(":", 1)[0]
        return
    ensure_database(url)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    try:
        options = {"connect_args": {"options": f"-csearch_path={PG_SCHEMA}"}}
        yield url, options, f"PostgreSQL (schema {PG_SCHEMA}, dropped afterwards)"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def formwork_app(url: str, engine_options: dict[str, Any], instance: Path) -> Flask:
    import os

    os.environ["FORMWORK_INSTANCE_PATH"] = str(instance)
    app = create_app(
        {
            "SECRET_KEY": "bench-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "FORMWORK_UPLOAD_DIR": instance / "uploads",
        }
    )
    with app.app_context():
        db.create_all()
    return app


def measured(app: Flask, work: Callable[[], Any]) -> tuple[int, float, Any]:
    """(statements sent, seconds, result) of ``work`` in a fresh application context."""
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            result = work()
            seconds = time.perf_counter() - started
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return statements, seconds, result


def publish_cli(app: Flask, folder: Path) -> Callable[[], str]:
    """``formwork definitions publish FOLDER``, as an operator runs it."""

    def run() -> str:
        result = app.test_cli_runner().invoke(args=["definitions", "publish", str(folder)])
        if result.exit_code != 0:
            raise SystemExit(f"publishing failed:\n{result.output}{result.exception or ''}")
        return result.output.strip().splitlines()[-1]

    return run


def bare_baseline(folder: Path) -> Callable[[], int]:
    """Read and hash every file, and select every current version with its content: the least a
    publisher must do to find that nothing changed."""

    def run() -> int:
        digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.rglob("*.yaml"))]
        rows = db.session.scalars(
            store.current_statement(None).options(undefer(DefinitionVersion.content))
        ).all()
        db.session.rollback()
        return len(digests) + len(rows)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--count", type=int, default=200, help="forms, and as many routes (default 200)")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-publish-") as folder,
        database(args.database) as (url, options, described),
    ):
        root = write_definitions(Path(folder) / "definitions", args.count)
        app = formwork_app(url, options, Path(folder) / "instance")
        files = 2 * args.count
        print(f"Publishing {args.count} forms + {args.count} routes ({files} files) on {described}")

        rows = []
        statements, seconds, summary = measured(app, publish_cli(app, root))
        rows.append(("first publish (all new)", statements, seconds, summary))
        statements, seconds, summary = measured(app, publish_cli(app, root))
        unchanged = (statements, seconds)
        rows.append(("re-publish, unchanged", statements, seconds, summary))
        (root / "routes" / "route_7.yaml").write_text(ROUTE.format(n=7, limit=5000), encoding="utf-8")
        statements, seconds, summary = measured(app, publish_cli(app, root))
        rows.append(("re-publish, one route changed", statements, seconds, summary))
        form = (root / "forms" / "form_9.yaml").read_text(encoding="utf-8")
        (root / "forms" / "form_9.yaml").write_text(
            form.replace("max_length: 200", "max_length: 300"), "utf-8"
        )
        statements, seconds, summary = measured(app, publish_cli(app, root))
        rows.append(("re-publish, one form changed", statements, seconds, summary))
        baseline_statements, baseline_seconds, _ = min(
            (measured(app, bare_baseline(root)) for _ in range(5)), key=lambda item: item[1]
        )
        rows.append(("bare: read + hash files, one select", baseline_statements, baseline_seconds, ""))

        print(f"{'':38} {'statements':>10} {'seconds':>9}  result")
        for label, statements, seconds, summary in rows:
            print(f"{label:38} {statements:>10} {seconds:>9.3f}  {summary}")
        ratio = unchanged[1] / baseline_seconds if baseline_seconds else float("inf")
        print(f"unchanged re-publish: {unchanged[1]:.3f} s = {ratio:.1f} x the bare baseline")
        ok = unchanged[1] < TARGET_UNCHANGED_SECONDS
        verdict = "met" if ok else "MISSED"
        print(f"target: unchanged re-publish under {TARGET_UNCHANGED_SECONDS:.0f} s — {verdict}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
