"""Schemathesis, an outside fuzzer, against /api/openapi.json through the WSGI app (no server).

Every operation gets generated requests that fit the document (positive) and requests that do
not (negative), as an employee and as an administrator with a bearer token, on the suite's
database (SQLite, or PostgreSQL with ``./dev test --postgres URL``). The bar: no 5xx, and no
answer that contradicts the document (status code, content type, body schema).

Bounded in time: ``EXAMPLES`` per operation and mode, no shrinking (each failure is reported as
generated), and ``BUDGET_SECONDS`` for the whole run of one user; ``FORMWORK_FUZZ_EXAMPLES`` raises
the count for a longer local run.
"""

from __future__ import annotations

import os
import time
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from formwork.extensions import db

EXAMPLES = int(os.environ.get("FORMWORK_FUZZ_EXAMPLES", "12"))
BUDGET_SECONDS = float(os.environ.get("FORMWORK_FUZZ_BUDGET", "120"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture
def world(app, demo_org):
    """The demo definitions, and one claim under way with a task, a file, a notification, a period."""
    from pathlib import Path

    from formwork.definitions import store
    from formwork.org.users import user_by_username
    from formwork.workflow import delegation, submission

    root = Path(__file__).resolve().parents[2] / "definitions"
    store.publish_path(root / "forms")
    store.publish_path(root / "routes")
    line = {"date": date.today().isoformat(), "type": "meals", "amount": "120.00", "invoice_no": "12345678"}
    data = {
        "category": "other",
        "reason": "Workshop",
        "lines": [line],
        "payee_name": "Alice",
        "payee_bank": "ICBC",
        "payee_account": "6222020200112233",
    }
    submission.create_record("expense_claim", data, user_by_username("alice"), submit=True)
    submission.create_record("expense_claim", data, user_by_username("alice"), submit=False)
    db.session.commit()
    delegation.set_period(user_by_username("admin"), "dave", "2099-01-01", "2099-01-02")
    return demo_org


def _known_ids() -> dict[str, list[int]]:
    """Ids that exist, so generated path parameters reach the handlers, not only their 404."""
    from formwork.notifications.models import Notification
    from formwork.records.models import Attachment, Record
    from formwork.workflow.models import Delegation, Task

    def ids(model) -> list[int]:
        return list(db.session.scalars(select(model.id).order_by(model.id)))

    return {
        "record_id": ids(Record),
        "task_id": ids(Task),
        "attachment_id": ids(Attachment),
        "notification_id": ids(Notification),
        "delegation_id": ids(Delegation),
        "number": [1],
    }


@pytest.mark.parametrize("username", ["alice", "admin"])
def test_the_api_keeps_its_document_under_fuzzing(app, world, bearer, username):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    auth = bearer(username)
    known = _known_ids()
    failures: dict[str, str] = {}
    calls = 0
    started = time.monotonic()

    def run(operation, mode) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # report as generated: shrinking costs minutes
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case) -> None:
            nonlocal calls
            if time.monotonic() - started > BUDGET_SECONDS:
                return
            for name, value in (case.path_parameters or {}).items():
                choices = known.get(name)
                if choices and isinstance(value, int) and value % 4:
                    case.path_parameters[name] = choices[value % len(choices)]
            calls += 1
            try:
                case.call_and_validate(headers=auth, checks=CHECKS)
            except (AssertionError, FailureGroup) as exc:  # one failed check, or several
                parts = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
                kinds = tuple(sorted(getattr(part, "title", type(part).__name__) for part in parts))
                key = f"{operation.label} {kinds}"
                if key not in failures:  # the first example of each kind of failure per operation
                    failures[key] = "\n".join(
                        [f"{mode.value} {operation.label}: {case.as_curl_command()}"]
                        + [
                            f"  {getattr(part, 'title', '')}: {getattr(part, 'message', part)}"[:700]
                            for part in parts
                        ]
                    )
            finally:
                db.session.rollback()  # a request that failed midway leaves nothing for the next

        fuzz()

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            run(operation, mode)
    assert not failures, f"{len(failures)} failure(s) in {calls} calls:\n\n" + "\n\n".join(failures.values())
    assert calls > 100
