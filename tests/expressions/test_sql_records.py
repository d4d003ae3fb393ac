"""The SQL back end over the real ``records`` table: records saved by the records service, the
published expense claim's field types, and scopes bound to demo users."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from formwork.definitions import store
from formwork.expressions import (
    SCOPE_CONTEXT,
    RecordColumns,
    TypeEnv,
    compile_expression,
    compile_sql_filter,
    install_sqlite_functions,
)
from formwork.extensions import db
from formwork.forms import catalogue
from formwork.records.models import Record
from formwork.workflow import submission

from .sql_harness import typed_value

ROOT = Path(__file__).resolve().parents[2]


def _claim(amounts: list[str], category: str = "office") -> dict[str, Any]:
    return {
        "category": category,
        "reason": "Printer toner for the Sales team",
        "lines": [
            {
                "date": date.today().replace(day=1).isoformat(),
                "type": "supplies",
                "amount": a,
                "invoice_no": f"{i}",
            }
            for i, a in enumerate(amounts, start=12345678)
        ],
        "payee_name": "Alice",
        "payee_bank": "ICBC Shanghai",
        "payee_account": "6222021234567890123",
    }


@pytest.fixture
def claims(app, demo_org):
    install_sqlite_functions(db.engine)
    db.engine.dispose()  # connections opened before the install have no fw_* functions
    content = yaml.safe_load((ROOT / "definitions" / "forms" / "expense_claim.yaml").read_text("utf-8"))
    version, _ = store.publish(content)
    users = list(demo_org.values())[:3]
    records = []
    for index, user in enumerate(users):
        records.append(submission.create_record("expense_claim", _claim(["0.10", "0.20"]), user, submit=True))
        records.append(
            submission.create_record("expense_claim", _claim([f"{index + 1}0000.00"]), user, submit=False)
        )
    db.session.commit()
    return version, users, records


SCOPES = [
    "total == 0.3",
    "total >= 10000 and $record.status == 'draft'",
    "$record.owner == $user.id or $record.department in $user.department.descendants",
    "sum(lines.amount) > 0.25 and 'supplies' in lines.type",
    "$record.form == 'expense_claim' and not ($record.status in ['submitted'])",
]


@pytest.mark.parametrize("source", SCOPES)
def test_scopes_over_saved_records(claims, source: str) -> None:
    version, users, records = claims
    form = catalogue.compiled_form(version)
    env = TypeEnv(form.type_env.fields, context=SCOPE_CONTEXT)
    viewer = users[1]
    context = {
        "user": {"id": viewer.id, "department": viewer.department_id, "roles": []},
        "user.department.descendants": [viewer.department_id],
    }
    compiled = compile_expression(source, env)
    expected = set()
    for record in records:
        scope = {key: typed_value(record.data.get(key), t) for key, t in env.fields.items()}
        columns = {
            "id": record.id,
            "form": record.form_key,
            "status": record.status,
            "owner": record.owner_id,
            "department": record.department_id,
        }
        if compiled.test(scope, None, {**context, "record": columns}):
            expected.add(record.id)
    scope_sql = compile_sql_filter(source, env, RecordColumns.of(Record.__table__), db.engine.dialect.name)
    found = set(db.session.scalars(select(Record.id).where(scope_sql.bind(context))))
    assert found == expected
    assert expected  # every scope here matches something, so the comparison means something
