"""KPI benchmark: a department head's scoped KPI by department × month against a hand-written query.

    .venv/bin/python tests/benchmarks/bench_kpis.py [--database URL] [--keep] [--quick] [--claims N]

PostgreSQL (``postgresql://postgres@127.0.0.1:5432/formwork_bench_kpis``; the database is created
when missing). Builds the demo organisation and definitions (with the demo KPIs), the department
tree of ``bench_scopes`` (200 departments, Sales holding a quarter of it), 10,000 people and
1,000,000 expense claims with four lines each over 24 months (``--quick``: 100,000), with
set-based SQL: the records, their typed values in ``record_facts`` as the application keeps them
(every line's amount and date), and the same lines in a flat typed table
``bench_claim_lines(department_id, owner_id, status, line_date, amount)`` with its own indexes.
ANALYZE, then, in one run, alternating:

- the demo KPI ``expense_total`` (approved claims' lines, by each line's date) for bob, head of
  Sales, ``by=department,month`` through ``kpis.service.compute`` — his scope inside the query,
  the roll-up along the tree, the overall row — against the hand-written query over the flat
  table: the same scope (his claims, or Sales' tree and not a draft), the same roll-up through a
  recursive CTE, grouped by department and month, and the overall value (the KPI answers both).
  Both must give the same numbers. JIT compilation is off for both (as ``kpis.service`` runs). Targets:
  within 1.3× of the hand-written query and under 1 second.

Prints the medians and the ratio; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))

from bench_approvals import private_schema  # noqa: E402
from bench_forms import formwork_app  # noqa: E402
from bench_scopes import NOT_DRAFT, PEOPLE, STATUSES, alternate, build_tree  # noqa: E402
from sqlalchemy import bindparam, select, text  # noqa: E402

from formwork.definitions import store  # noqa: E402
from formwork.extensions import db  # noqa: E402
from formwork.kpis import service  # noqa: E402
from formwork.kpis.published import current_kpis  # noqa: E402
from formwork.kpis.query import Builder, Request  # noqa: E402
from formwork.org.models import Department, User  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/formwork_bench_kpis"
PG_SCHEMA = "formwork_bench_kpis"
LINES = 4
MONTHS = 24
RATIO_TARGET = 1.3
SECONDS_TARGET = 1.0
# Nine claims in ten approved, the rest spread over the other statuses.
STATUS = (
    "CASE WHEN n % 10 < 9 THEN 'approved' ELSE (ARRAY["
    + ",".join(f"'{s}'" for s in STATUSES)
    + "])[1 + (n % "
    + str(len(STATUSES))
    + ")] END"
)


def populate(total: int) -> None:
    """The claims, their facts and the flat table, set-based."""
    ids = build_tree()
    form = store.current("form", "expense_claim")
    pick = "(ARRAY[" + ",".join(map(str, ids)) + "])[1 + (n % " + str(len(ids)) + ")]"
    day = f"(DATE '2025-01-01' + ((n * 7 + k * 3) % ({MONTHS} * 30)))"
    amount = "(((n * 37 + k * 101) % 500000) / 100.0)::numeric(18, 2)"
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, active, created_at, department_id) "
                "SELECT 'bench' || n, 'Bench person ' || n, TRUE, CURRENT_TIMESTAMP, "
                + pick
                + f" FROM generate_series(0, {PEOPLE - 1}) n"
            )
        )
        first = conn.execute(text("SELECT MIN(id) FROM users WHERE username LIKE 'bench%'")).scalar()
        start = conn.execute(text("SELECT COALESCE(MAX(id), 0) + 1 FROM records")).scalar()
        conn.execute(
            text(
                "INSERT INTO records (id, form_key, definition_id, form_version, data, status, title, "
                "owner_id, department_id, created_at, updated_at, lock_version) "
                "SELECT :start + n, 'expense_claim', :form_id, :version, CAST('{}' AS JSONB), "
                + STATUS
                + ", 'Claim ' || n, :first + (n % :people), "
                + pick
                + f", CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 FROM generate_series(0, {total - 1}) n"
            ),
            {"start": start, "form_id": form.id, "version": form.version, "first": first, "people": PEOPLE},
        )
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('records', 'id'), (SELECT MAX(id) FROM records))")
        )
        lines = f"generate_series(0, {total - 1}) n CROSS JOIN generate_series(1, {LINES}) k"
        # Each line's amount with its date in one row, as ``records.facts`` keeps them.
        conn.execute(
            text(
                "INSERT INTO record_facts (record_id, form_key, path, row_no, number_value, date_value) "
                "SELECT :start + n, 'expense_claim', 'lines.amount@lines.date', k, "
                f"{amount}, {day} FROM {lines}"
            ),
            {"start": start},
        )
        conn.execute(
            text(
                "CREATE TABLE bench_claim_lines (record_id integer, department_id integer, owner_id integer, "
                "status varchar(20), line_date date, amount numeric(18, 2))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO bench_claim_lines SELECT r.id, r.department_id, r.owner_id, r.status, "
                f"{day}, {amount} FROM {lines} JOIN records r ON r.id = :start + n"
            ),
            {"start": start},
        )
        conn.execute(text("CREATE INDEX ix_bench_lines_dept ON bench_claim_lines (department_id, status)"))
        conn.execute(text("CREATE INDEX ix_bench_lines_owner ON bench_claim_lines (owner_id)"))
        conn.execute(text("ANALYZE"))


HAND_WRITTEN = text(
    """
    WITH RECURSIVE tree(ancestor, descendant) AS (
        SELECT id, id FROM departments
        UNION ALL SELECT t.ancestor, d.id FROM tree t JOIN departments d ON d.parent_id = t.descendant
    ), sales(id) AS (SELECT descendant FROM tree WHERE ancestor = :sales),
    scoped AS (
        SELECT f.department_id, f.line_date, f.amount FROM bench_claim_lines f
        WHERE f.status = 'approved'
          AND (f.owner_id = :bob OR (f.department_id IN (SELECT id FROM sales) AND f.status IN :statuses))
    )
    SELECT t.ancestor AS department, to_char(f.line_date, 'YYYY-MM') AS month, SUM(f.amount) AS value
    FROM scoped f JOIN tree t ON t.descendant = f.department_id
    GROUP BY t.ancestor, to_char(f.line_date, 'YYYY-MM')
    UNION ALL SELECT NULL, NULL, SUM(amount) FROM scoped
    """
).bindparams(bindparam("statuses", expanding=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help=f"PostgreSQL URL (default: {DEFAULT_DATABASE})"
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--quick", action="store_true", help="100,000 claims and fewer runs (a smoke run)")
    parser.add_argument("--explain", action="store_true", help="print the plan of the KPI's statement")
    parser.add_argument("--claims", type=int, default=None, help="how many claims (default 1,000,000)")
    args = parser.parse_args()
    total = args.claims or (100_000 if args.quick else 1_000_000)
    count = 5 if args.quick else 10
    with (
        tempfile.TemporaryDirectory(prefix="formwork-bench-instance-") as instance,
        private_schema(args.database, PG_SCHEMA, keep=args.keep) as (url, engine_options, described),
    ):
        app = formwork_app(url, engine_options, Path(instance))
        with app.app_context():
            started = time.perf_counter()
            populate(total)
            print(f"Formwork KPI benchmark on {described}")
            print(
                f"{total:,} claims with {LINES} lines each over {MONTHS} months, 200 departments, "
                f"{PEOPLE:,} people (built in {time.perf_counter() - started:.1f} s, ANALYZEd)\n"
            )
            bob = db.session.scalar(select(User).where(User.username == "bob"))
            sales = db.session.scalar(select(Department.id).where(Department.code == "SALES"))
            kpis = current_kpis()
            kpi = kpis["expense_total"]
            request = Request(("department", "month"))

            def scoped() -> dict[tuple, Decimal]:
                result = service.compute(kpi, kpis, request, bob)
                found = {
                    (row.dimensions["department"], row.dimensions["month"]): row.value for row in result.rows
                }
                return {**found, (None, None): result.total.value}

            params = {"sales": sales, "bob": bob.id, "statuses": tuple(NOT_DRAFT)}

            def by_hand() -> dict[tuple, Decimal]:
                db.session.execute(text("SET LOCAL jit = off"))  # as the KPIs run (kpis.service)
                rows = db.session.execute(HAND_WRITTEN, params).all()
                return {(row.department, row.month): row.value for row in rows}

            ours, theirs = scoped(), by_hand()
            if not ours or ours != theirs:
                raise SystemExit(
                    f"the KPI and the hand-written query disagree ({len(ours)} / {len(theirs)} cells)"
                )
            kpi_ms, hand_ms = alternate(scoped, by_hand, count)
            ratio = kpi_ms / hand_ms
            print(
                f"expense_total for bob by department × month ({len(ours) - 1} cells and the overall value):"
            )
            print(f"  KPI (record_facts, scope in the query) {kpi_ms:8.1f} ms")
            print(f"  hand-written over a flat typed table   {hand_ms:8.1f} ms")
            print(
                f"  ratio {ratio:.2f}× (target {RATIO_TARGET}×); "
                f"under {SECONDS_TARGET:.0f} s: {kpi_ms < SECONDS_TARGET * 1000}"
            )
            if args.explain:
                statement = Builder(request, bob, "postgresql").statement(service.leaf_measures(kpi, kpis))
                compiled = statement.compile(
                    dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
                )
                plan = db.session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
                print("\n".join(row[0] for row in plan))
            return 0 if ratio <= RATIO_TARGET and kpi_ms < SECONDS_TARGET * 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
