"""Existing expense claims in bulk, shaped like what the demo route leaves behind (PostgreSQL only).

Used by ``bench_load.py`` and ``bench_growth.py`` to give the database the history of a company
that has been filing claims for two years, before anything is measured. Everything is set-based
SQL (``INSERT ... SELECT`` over ``generate_series``), so 100,000 claims with their processes,
tasks, trail, notifications and record events take seconds rather than the hours it would take
through the application; the rows are the ones the application writes for a claim (checked
against a claim submitted and approved through the API when this was written):

* claim ``n`` belongs to one of the demo employees (Sales twice as often as the others; a head's
  own claim goes to the head of Head Office, as ``self_approval: send_up`` does) and carries one
  to four lines with invoice numbers of its own (``9`` and 11 digits: no live claim's number
  starts with 9, so the seed never raises the duplicate alert on a measured claim), projected into
  ``record_values`` as the application keeps them;
* one claim in ten is over 50,000 and so also went through the CFO;
* 92 % are approved and paid (every approval task decided, the cashier's copy to finance read,
  all notifications read), 6 % are under review (open at the head step, finance review or the
  cashier, earlier steps decided, their notifications unread), 2 % are drafts;
* creation times spread over the two years before now, the same way at every seed size.

Claims are numbered across calls (``start``), so a dataset can grow in steps: 10,000, then
90,000 more, and so on. Row ids are given explicitly (and the sequences moved past them), which
keeps every dependent row a join on arithmetic instead of a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, text

SPAN_DAYS = 730  # claims spread over two years before now
# Claim n's owner: Sales (alice, frank) twice as often as each other department.
OWNERS = ("alice", "frank", "alice", "frank", "erin", "henry", "ivan", "grace", "alice", "frank")
SLOTS_TASKS = 5  # head, finance review, CFO, cashier, the cashier's copy to finance
SLOTS_TRAIL = 11
SLOTS_NOTIFICATIONS = 6
SLOTS_EVENTS = 2


@dataclass(frozen=True)
class Organisation:
    """The ids the seed needs: the demo users, who approves whose claim, the published versions."""

    form_id: int
    form_version: int
    route_id: int
    owners: list[int]  # OWNERS as user ids
    departments: list[int]  # each owner's department
    heads: list[int]  # who approves each owner's claim at the head step
    names: list[str]  # each owner's display name (the payee)
    finance: int  # carol, finance reviewer
    cfo: int  # dave
    cashier: int  # grace

    @staticmethod
    def read(conn: Connection) -> Organisation:
        users = {
            row.username: row
            for row in conn.execute(
                text(
                    "SELECT u.id, u.username, u.display_name, u.department_id, d.head_id, "
                    "p.head_id AS parent_head FROM users u JOIN departments d ON d.id = u.department_id "
                    "LEFT JOIN departments p ON p.id = d.parent_id"
                )
            )
        }
        versions = {
            row.kind: row
            for row in conn.execute(
                text(
                    "SELECT DISTINCT ON (kind) id, kind, version FROM definition_versions "
                    "WHERE key = 'expense_claim' ORDER BY kind, version DESC"
                )
            )
        }
        if "form" not in versions or "route" not in versions:
            raise SystemExit("the demo expense claim and its route are not published")

        def head_for(name: str) -> int:
            user = users[name]
            return user.parent_head if user.head_id == user.id else user.head_id

        return Organisation(
            form_id=versions["form"].id,
            form_version=versions["form"].version,
            route_id=versions["route"].id,
            owners=[users[name].id for name in OWNERS],
            departments=[users[name].department_id for name in OWNERS],
            heads=[head_for(name) for name in OWNERS],
            names=[users[name].display_name for name in OWNERS],
            finance=users["carol"].id,
            cfo=users["dave"].id,
            cashier=users["grace"].id,
        )


def _next_id(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")).scalar_one())


def _move_sequence(conn: Connection, table: str) -> None:
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )
    )


# One row per claim with everything the inserts below derive from it. ``k`` is the claim's
# position in this batch, so ids are base + k * slots; ``decided`` is how many approval steps
# were decided (all of them when the claim is approved).
CLAIMS = """
CREATE TEMPORARY TABLE seed_claim AS
SELECT k, n, rid, pid, owner_id, department_id, head_id, payee, kind, large, lines, created,
       CASE WHEN large THEN ARRAY['department_head', 'finance_review', 'cfo', 'cashier']
            ELSE ARRAY['department_head', 'finance_review', 'cashier'] END AS steps,
       CASE WHEN large THEN ARRAY[head_id, CAST(:finance AS INTEGER), CAST(:cfo AS INTEGER),
                                  CAST(:cashier AS INTEGER)]
            ELSE ARRAY[head_id, CAST(:finance AS INTEGER), CAST(:cashier AS INTEGER)] END AS approvers,
       CASE kind WHEN 'approved' THEN (CASE WHEN large THEN 4 ELSE 3 END)
                 WHEN 'in_review' THEN (CASE WHEN CAST(:open_only AS BOOLEAN) THEN 0 ELSE n % 3 END)
                 ELSE -1 END
           AS decided
FROM (
    SELECT k, n, :records_base + k AS rid, :processes_base + k AS pid,
           (CAST(:owners AS INTEGER[]))[1 + n % :slots] AS owner_id,
           (CAST(:departments AS INTEGER[]))[1 + n % :slots] AS department_id,
           (CAST(:heads AS INTEGER[]))[1 + n % :slots] AS head_id,
           (CAST(:names AS TEXT[]))[1 + n % :slots] AS payee,
           CASE WHEN CAST(:open_only AS BOOLEAN) THEN 'in_review' WHEN n % 50 = 0 THEN 'draft'
                WHEN n % 50 <= 3 THEN 'in_review' ELSE 'approved' END AS kind,
           n % 10 = 5 AS large, 1 + n % 4 AS lines,
           now() - (:span * INTERVAL '1 day') * (1 - ((n * 7919) % 1000003) / 1000003.0)
               - INTERVAL '3 days' AS created
    FROM (SELECT g - CAST(:start AS BIGINT) AS k, g AS n
          FROM generate_series(CAST(:start AS BIGINT), CAST(:start AS BIGINT) + :count - 1) AS g) AS numbered
) AS claims
"""


def seed_claims(
    conn: Connection, org: Organisation, start: int, count: int, *, open_at_head: bool = False
) -> dict[str, int]:
    """Insert claims ``start`` .. ``start + count - 1`` with everything the route left behind.

    Returns the rows added per table. Does not ANALYZE: the caller decides when statistics are
    refreshed, as autovacuum would in a deployment.
    """
    bases = {
        table: _next_id(conn, table)
        for table in ("records", "processes", "tasks", "trail_entries", "notifications", "record_events")
    }
    params: dict[str, Any] = {
        "start": start,
        "count": count,
        "owners": org.owners,
        "departments": org.departments,
        "heads": org.heads,
        "names": org.names,
        "slots": len(OWNERS),
        "finance": org.finance,
        "cfo": org.cfo,
        "cashier": org.cashier,
        "form_id": org.form_id,
        "form_version": org.form_version,
        "route_id": org.route_id,
        "span": SPAN_DAYS,
        "open_only": open_at_head,
        **{f"{table}_base": base for table, base in bases.items()},
    }
    conn.execute(text("DROP TABLE IF EXISTS seed_claim"))
    conn.execute(text(CLAIMS), params)
    added: dict[str, int] = {}

    def run(table: str, sql: str) -> None:
        added[table] = conn.execute(text(sql), params).rowcount

    run(
        "records",
        """
INSERT INTO records (id, form_key, definition_id, form_version, data, status, title, search_text,
                     owner_id, department_id, created_at, updated_at, submitted_at, voucher_number,
                     lock_version)
SELECT c.rid, 'expense_claim', :form_id, :form_version,
       jsonb_build_object(
           'category', CASE WHEN c.n % 3 = 0 THEN 'office' ELSE 'travel' END,
           'reason', 'Claim ' || c.n,
           'trip_destination', CASE WHEN c.n % 3 = 0 THEN NULL ELSE 'Shanghai' END,
           'trip_start', to_char(c.created - INTERVAL '2 days', 'YYYY-MM-DD'),
           'trip_end', to_char(c.created - INTERVAL '1 day', 'YYYY-MM-DD'),
           'lines', l.lines, 'total', l.total::text, 'total_in_words', '',
           'payee_name', c.payee, 'payee_bank', 'Bank of Shanghai',
           'payee_account', '6222020200112233445') ,
       CASE c.kind WHEN 'approved' THEN 'approved' WHEN 'in_review' THEN 'in_review' ELSE 'draft' END,
       'Claim ' || c.n, 'Claim ' || c.n || E'\\nShanghai\\n' || l.numbers || E'\\n' || c.payee,
       c.owner_id, c.department_id, c.created,
       c.created + INTERVAL '1 hour' * GREATEST(c.decided, 0),
       CASE WHEN c.kind = 'draft' THEN NULL ELSE c.created END,
       CASE WHEN c.kind = 'draft' THEN NULL ELSE 'SEED-' || c.n END,
       1 + GREATEST(c.decided, 0)
FROM seed_claim c
CROSS JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'date', to_char(c.created - INTERVAL '1 day', 'YYYY-MM-DD'),
               'type', (ARRAY['transport', 'hotel', 'meals', 'other'])[1 + i % 4],
               'amount', amount::text,
               'invoice_no', '9' || lpad((c.n * 4 + i)::text, 11, '0')) ORDER BY i) AS lines,
           SUM(amount) AS total,
           string_agg('9' || lpad((c.n * 4 + i)::text, 11, '0'), E'\\n' ORDER BY i) AS numbers
    FROM (SELECT i, CASE WHEN c.large AND i = 0 THEN 52000.00
                         ELSE (80 + (c.n * 37 + i * 11) % 900)::numeric + 0.50 END AS amount
          FROM generate_series(0, c.lines - 1) AS i) AS line
) AS l
""",
    )
    run(
        "record_values",
        """
INSERT INTO record_values (record_id, form_key, path, text_value)
SELECT c.rid, 'expense_claim', 'lines.invoice_no', '9' || lpad((c.n * 4 + i)::text, 11, '0')
FROM seed_claim c CROSS JOIN LATERAL generate_series(0, c.lines - 1) AS i
""",
    )
    run(
        "record_events",
        """
INSERT INTO record_events (id, record_id, actor_id, action, changes, at)
SELECT :record_events_base + c.k * 2 + e.j, c.rid, c.owner_id, e.action,
       CASE e.j WHEN 0 THEN CAST('{"fields": ["category", "lines", "payee_account", "payee_bank",
           "payee_name", "reason", "total", "total_in_words", "trip_destination", "trip_end",
           "trip_start"]}' AS JSONB) ELSE CAST('null' AS JSONB) END,
       c.created
FROM seed_claim c
CROSS JOIN (VALUES (0, 'created'), (1, 'submitted')) AS e(j, action)
WHERE e.j = 0 OR c.kind <> 'draft'
""",
    )
    run(
        "processes",
        """
INSERT INTO processes (id, record_id, route_id, status, state, started_by_id, started_at, finished_at,
                       lock_version)
SELECT c.pid, c.rid, :route_id, CASE c.kind WHEN 'approved' THEN 'approved' ELSE 'running' END,
       jsonb_build_object('after', CAST('{}' AS JSONB), 'round', 1, 'tasks', CAST('{}' AS JSONB),
                          'branch', CAST('{}' AS JSONB), 'handed', CAST('[]' AS JSONB),
                          'parallel', CAST('{}' AS JSONB), 'steps', st.steps, 'approvals', st.approvals)
           || CASE WHEN c.decided > 0 THEN CAST('{"acted": true}' AS JSONB) ELSE CAST('{}' AS JSONB) END,
       c.owner_id, c.created,
       CASE WHEN c.kind = 'approved' THEN c.created + INTERVAL '1 hour' * c.decided END, 1 + c.decided
FROM seed_claim c
CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(s.step, jsonb_build_object(
               'need', 1, 'round', 1, 'reject_at', 1,
               'slots', jsonb_build_array(:tasks_base + c.k * 5 + s.j - 1),
               'votes', CASE WHEN s.j - 1 < c.decided
                             THEN jsonb_build_object((:tasks_base + c.k * 5 + s.j - 1)::text, 'approve')
                             ELSE CAST('{}' AS JSONB) END,
               'status', CASE WHEN s.j - 1 < c.decided THEN 'approved' ELSE 'active' END))
           || CASE WHEN NOT c.large AND c.decided >= 2
                   THEN CAST('{"cfo": {"round": 1, "status": "skipped"}}' AS JSONB)
                   ELSE CAST('{}' AS JSONB) END AS steps,
           COALESCE(jsonb_agg(jsonb_build_array(s.approver, s.step) ORDER BY s.j)
                    FILTER (WHERE s.j - 1 < c.decided), CAST('[]' AS JSONB)) AS approvals
    FROM unnest(c.steps, c.approvers) WITH ORDINALITY AS s(step, approver, j)
    WHERE s.j - 1 <= c.decided
) AS st
WHERE c.kind <> 'draft'
""",
    )
    # Approval tasks: step j (1-based) exists when j - 1 <= decided; decided ones are approved.
    run(
        "tasks",
        """
INSERT INTO tasks (id, process_id, record_id, step_key, round, kind, status, assignee_id, intended_id,
                   created_at, due_at, remind_at, reminders_sent, decided_at, decided_by_id, decision,
                   lock_version)
SELECT :tasks_base + c.k * 5 + (s.j - 1)::int, c.pid, c.rid, s.step, 1, 'approval',
       CASE WHEN s.j - 1 < c.decided THEN 'approved' ELSE 'open' END, s.approver, s.approver,
       c.created + INTERVAL '1 hour' * (s.j - 1),
       CASE WHEN s.step <> 'cashier' THEN c.created + INTERVAL '1 hour' * (s.j - 1) + INTERVAL '48 hours' END,
       CASE WHEN s.step <> 'cashier' THEN c.created + INTERVAL '1 hour' * (s.j - 1) + INTERVAL '24 hours' END,
       0,
       CASE WHEN s.j - 1 < c.decided THEN c.created + INTERVAL '1 hour' * s.j END,
       CASE WHEN s.j - 1 < c.decided THEN s.approver END,
       CASE WHEN s.j - 1 < c.decided THEN 'approve' END,
       CASE WHEN s.j - 1 < c.decided THEN 2 ELSE 1 END
FROM seed_claim c
CROSS JOIN LATERAL unnest(c.steps, c.approvers) WITH ORDINALITY AS s(step, approver, j)
WHERE c.kind <> 'draft' AND s.j - 1 <= c.decided
UNION ALL
SELECT :tasks_base + c.k * 5 + 4, c.pid, c.rid, 'cashier', 1, 'cc', 'read', :finance, :finance,
       c.created + INTERVAL '1 hour' * (c.decided - 1), NULL, NULL, 0,
       c.created + INTERVAL '1 hour' * (c.decided + 2), :finance, NULL, 2
FROM seed_claim c WHERE c.kind = 'approved'
""",
    )
    # The trail: submitted; per decided step its approval and the step's end; the copy; the end.
    run(
        "trail_entries",
        """
INSERT INTO trail_entries (id, process_id, record_id, task_id, step_key, action, actor_id, details, at)
SELECT :trail_entries_base + c.k * 11, c.pid, c.rid, NULL, NULL, 'submitted', c.owner_id,
       CAST('{"route": "expense_claim", "route_version": 1}' AS JSONB), c.created
FROM seed_claim c WHERE c.kind <> 'draft'
UNION ALL
SELECT :trail_entries_base + c.k * 11 + 2 * s.j - 1 + half, c.pid, c.rid,
       CASE half WHEN 0 THEN :tasks_base + c.k * 5 + (s.j - 1)::int END, s.step,
       CASE half WHEN 0 THEN 'approve' ELSE 'step_approved' END,
       CASE half WHEN 0 THEN s.approver END,
       CASE half WHEN 1 THEN CAST('{"needed": 1, "approvals": 1, "rejections": 0}' AS JSONB)
                 ELSE CAST('null' AS JSONB) END,
       c.created + INTERVAL '1 hour' * s.j
FROM seed_claim c
CROSS JOIN LATERAL unnest(c.steps, c.approvers) WITH ORDINALITY AS s(step, approver, j)
CROSS JOIN (VALUES (0), (1)) AS h(half)
WHERE c.kind <> 'draft' AND s.j - 1 < c.decided
UNION ALL
SELECT :trail_entries_base + c.k * 11 + 9 + e.j, c.pid, c.rid, NULL, CASE e.j WHEN 0 THEN 'cashier' END,
       CASE e.j WHEN 0 THEN 'cc' ELSE 'approved' END, NULL,
       CASE e.j WHEN 0 THEN jsonb_build_object('users', jsonb_build_array(:finance))
                ELSE CAST('null' AS JSONB) END,
       c.created + INTERVAL '1 hour' * c.decided
FROM seed_claim c CROSS JOIN (VALUES (0), (1)) AS e(j) WHERE c.kind = 'approved'
""",
    )
    # Notifications: each task's assignment (read once decided), the copy (read), the outcome (read).
    run(
        "notifications",
        """
INSERT INTO notifications (id, user_id, kind, record_id, task_id, params, created_at, read_at)
SELECT :notifications_base + c.k * 6 + (s.j - 1)::int, s.approver, 'task_assigned', c.rid,
       :tasks_base + c.k * 5 + (s.j - 1)::int,
       jsonb_build_object('step', s.step, 'step_key', s.step, 'title', 'Claim ' || c.n,
                          'record_id', c.rid, 'form_key', 'expense_claim',
                          'task_id', :tasks_base + c.k * 5 + (s.j - 1)::int),
       c.created + INTERVAL '1 hour' * (s.j - 1),
       CASE WHEN s.j - 1 < c.decided THEN c.created + INTERVAL '1 hour' * s.j END
FROM seed_claim c
CROSS JOIN LATERAL unnest(c.steps, c.approvers) WITH ORDINALITY AS s(step, approver, j)
WHERE c.kind <> 'draft' AND s.j - 1 <= c.decided
UNION ALL
SELECT :notifications_base + c.k * 6 + 4 + e.j, CASE e.j WHEN 0 THEN :finance ELSE c.owner_id END,
       CASE e.j WHEN 0 THEN 'cc' ELSE 'approved' END, c.rid,
       CASE e.j WHEN 0 THEN :tasks_base + c.k * 5 + 4 END,
       jsonb_build_object('title', 'Claim ' || c.n, 'record_id', c.rid, 'form_key', 'expense_claim'),
       c.created + INTERVAL '1 hour' * c.decided, c.created + INTERVAL '1 hour' * (c.decided + 2)
FROM seed_claim c CROSS JOIN (VALUES (0), (1)) AS e(j) WHERE c.kind = 'approved'
""",
    )
    conn.execute(text("DROP TABLE seed_claim"))
    for table in bases:
        _move_sequence(conn, table)
    return added


def open_at_head(conn: Connection, org: Organisation, start: int, count: int, owner: str) -> dict[str, int]:
    """``count`` more claims of ``owner`` (one of ``OWNERS``), all under review at the head step.

    For an approver's inbox of a given size: the claims are those of ``seed_claims`` (numbers from
    ``start``), each waiting for the owner's department head.
    """
    slot = OWNERS.index(owner)
    one = replace(
        org,
        owners=[org.owners[slot]] * len(OWNERS),
        departments=[org.departments[slot]] * len(OWNERS),
        heads=[org.heads[slot]] * len(OWNERS),
        names=[org.names[slot]] * len(OWNERS),
    )
    return seed_claims(conn, one, start, count, open_at_head=True)


SEEDED_TABLES = (
    "records",
    "record_values",
    "record_events",
    "processes",
    "tasks",
    "trail_entries",
    "notifications",
)


def settle(engine: Any, *more_tables: str) -> None:
    """What autovacuum does after a bulk insert: VACUUM (insert-triggered since PostgreSQL 13) and ANALYZE.

    Nothing else refreshes statistics or cleans up during a measurement. The VACUUM matters beyond
    statistics: it merges the pending list of ``ix_records_data`` (GIN, fastupdate), which a bulk
    load leaves long and which every duplicate-invoice search would otherwise scan row by row.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join((*SEEDED_TABLES, *more_tables))}"))
